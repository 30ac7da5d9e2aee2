import * as z from './zod';

import { InvalidInputError } from '../errors';

/**
 * Inbound EventBridge events, one schema per `detail-type`. Shapes follow the real events AWS
 * documents (copies in events/samples/, each parsed by tests/unit/event-samples.test.ts).
 * Schemas check what Sluice relies on and pass everything else through.
 */

export const EVENT_SOURCES = {
  codecommit: 'aws.codecommit',
  sagemaker: 'aws.sagemaker',
  states: 'aws.states',
  events: 'aws.events',
  s3: 'aws.s3',
  sluice: 'sluice',
} as const;

export const DETAIL_TYPES = {
  repositoryStateChange: 'CodeCommit Repository State Change',
  trainingJobStateChange: 'SageMaker Training Job State Change',
  processingJobStateChange: 'SageMaker Processing Job State Change',
  tuningJobStateChange: 'SageMaker HyperParameter Tuning Job State Change',
  transformJobStateChange: 'SageMaker Transform Job State Change',
  modelPackageStateChange: 'SageMaker Model Package State Change',
  endpointStateChange: 'SageMaker Endpoint State Change',
  modelBuildStarted: 'Model Build Started',
  modelBuildSucceeded: 'Model Build Succeeded',
  modelBuildFailed: 'Model Build Failed',
  modelPackageRegistered: 'Model Package Registered',
  modelDeployed: 'Model Deployed',
  modelDeployFailed: 'Model Deploy Failed',
  modelPromotionApproved: 'Model Promotion Approved',
  modelBuildRequested: 'Model Build Requested',
  objectCreated: 'Object Created',
  executionStatusChange: 'Step Functions Execution Status Change',
  scheduledEvent: 'Scheduled Event',
} as const;

/**
 * EventBridge envelope around a typed `detail`, as Powertools' parser envelopes do. Each event's
 * schema is built lazily (z.lazy), on its first parse: a function pays at cold start only for the
 * events it reads, not for every event Sluice knows (README "Performance").
 */
function eventBridgeEnvelope<S extends string, T extends string, D extends z.ZodMiniType>(source: S, detailType: T, detail: D) {
  return z.looseObject({
    version: z.string(),
    id: z.string().check(z.minLength(1)),
    'detail-type': z.literal(detailType),
    source: z.literal(source),
    account: z.string(),
    time: z.string(),
    region: z.string(),
    resources: z.array(z.string()),
    detail,
  });
}

const commitId = z.string().check(z.regex(/^[0-9A-Za-z]{1,64}$/, 'must be a commit id'));

export const repositoryStateChangeSchema = z.lazy(() =>
  eventBridgeEnvelope(
    EVENT_SOURCES.codecommit,
    DETAIL_TYPES.repositoryStateChange,
    z.looseObject({
      event: z.string().check(z.minLength(1)),
      repositoryName: z.string().check(z.minLength(1), z.maxLength(100)),
      referenceType: z.string().check(z.minLength(1)),
      referenceName: z.string().check(z.minLength(1)),
      referenceFullName: z.optional(z.string()),
      commitId: z.optional(commitId),
      oldCommitId: z.optional(commitId),
    }),
  ),
);

export type RepositoryStateChange = z.infer<typeof repositoryStateChangeSchema>;

/** A terminal or intermediate job status; SageMaker's documented values plus anything newer. */
const jobStatus = z.string().check(z.minLength(1));

export const trainingJobStateChangeSchema = z.lazy(() =>
  eventBridgeEnvelope(
    EVENT_SOURCES.sagemaker,
    DETAIL_TYPES.trainingJobStateChange,
    z.looseObject({
      TrainingJobName: z.string().check(z.minLength(1)),
      TrainingJobStatus: jobStatus,
      FailureReason: z.optional(z.string()),
    }),
  ),
);

export const processingJobStateChangeSchema = z.lazy(() =>
  eventBridgeEnvelope(
    EVENT_SOURCES.sagemaker,
    DETAIL_TYPES.processingJobStateChange,
    z.looseObject({
      ProcessingJobName: z.string().check(z.minLength(1)),
      ProcessingJobStatus: jobStatus,
      FailureReason: z.optional(z.string()),
    }),
  ),
);

/** Its detail mirrors DescribeHyperParameterTuningJob (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-hpo). */
export const tuningJobStateChangeSchema = z.lazy(() =>
  eventBridgeEnvelope(
    EVENT_SOURCES.sagemaker,
    DETAIL_TYPES.tuningJobStateChange,
    z.looseObject({
      HyperParameterTuningJobName: z.string().check(z.minLength(1)),
      HyperParameterTuningJobStatus: jobStatus,
      FailureReason: z.optional(z.nullable(z.string())),
    }),
  ),
);

/** Its detail mirrors DescribeTransformJob (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-transform). */
export const transformJobStateChangeSchema = z.lazy(() =>
  eventBridgeEnvelope(
    EVENT_SOURCES.sagemaker,
    DETAIL_TYPES.transformJobStateChange,
    z.looseObject({
      TransformJobName: z.string().check(z.minLength(1)),
      TransformJobStatus: jobStatus,
      FailureReason: z.optional(z.nullable(z.string())),
    }),
  ),
);

export const modelPackageStateChangeSchema = z.lazy(() =>
  eventBridgeEnvelope(
    EVENT_SOURCES.sagemaker,
    DETAIL_TYPES.modelPackageStateChange,
    z.looseObject({
      ModelPackageGroupName: z.string().check(z.minLength(1)),
      ModelPackageVersion: z.int().check(z.positive()),
      ModelPackageArn: z.string().check(z.startsWith('arn:')),
      ModelApprovalStatus: z.string().check(z.minLength(1)),
      ModelPackageStatus: z.optional(z.string()),
    }),
  ),
);

export type ModelPackageStateChange = z.infer<typeof modelPackageStateChangeSchema>;

export const endpointStateChangeSchema = z.lazy(() =>
  eventBridgeEnvelope(
    EVENT_SOURCES.sagemaker,
    DETAIL_TYPES.endpointStateChange,
    z.looseObject({
      EndpointName: z.string().check(z.minLength(1)),
      EndpointStatus: z.string().check(z.minLength(1)),
      EndpointConfigName: z.optional(z.string()),
      FailureReason: z.optional(z.string()),
    }),
  ),
);

export type EndpointStateChange = z.infer<typeof endpointStateChangeSchema>;

/** Published on the service bus by `sluice promote` and the CodePipeline action: let the version's run go on to prod. */
export const modelPromotionApprovedSchema = z.lazy(() =>
  eventBridgeEnvelope(
    EVENT_SOURCES.sluice,
    DETAIL_TYPES.modelPromotionApproved,
    z.looseObject({
      modelPackageArn: z.string().check(z.startsWith('arn:')),
      approvedBy: z.optional(z.string().check(z.maxLength(256))),
    }),
  ),
);

export type ModelPromotionApproved = z.infer<typeof modelPromotionApprovedSchema>;

/**
 * Published on the service bus to start a build by hand (the CLI's `sluice run`): a repository's
 * branch head or commit, with parameter overrides, optionally from a step on, reusing an earlier
 * run's results for the steps before it (SageMaker's selective execution).
 */
export const modelBuildRequestedSchema = z.lazy(() =>
  eventBridgeEnvelope(
    EVENT_SOURCES.sluice,
    DETAIL_TYPES.modelBuildRequested,
    z.strictObject({
      repository: z.string().check(z.minLength(1), z.maxLength(100)),
      branch: z._default(z.string().check(z.minLength(1), z.maxLength(256)), 'main'),
      /** Default: the branch's head. */
      commit: z.optional(commitId),
      /** Parameter name → value; checked against the pipeline's Parameters. */
      parameters: z._default(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])), {}),
      /** Run this step and everything after it; reuse the other steps' results from `sourceExecutionArn`. */
      fromStep: z.optional(z.string().check(z.minLength(1), z.maxLength(48))),
      sourceExecutionArn: z.optional(z.string().check(z.startsWith('arn:'))),
      /** Names the run: the same request id never starts two runs. */
      requestId: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -')),
    }).check(
      z.refine((detail) => (detail.fromStep === undefined) === (detail.sourceExecutionArn === undefined), {
        message: 'fromStep and sourceExecutionArn go together',
        path: ['fromStep'],
      }),
    ),
  ),
);

export type ModelBuildRequested = z.infer<typeof modelBuildRequestedSchema>;

/**
 * S3's `Object Created` on the default bus (a bucket with EventBridge notifications enabled).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html
 */
export const objectCreatedSchema = z.lazy(() =>
  eventBridgeEnvelope(
    EVENT_SOURCES.s3,
    DETAIL_TYPES.objectCreated,
    z.looseObject({
      bucket: z.looseObject({ name: z.string().check(z.minLength(3), z.maxLength(63)) }),
      object: z.looseObject({ key: z.string().check(z.minLength(1), z.maxLength(1024)) }),
    }),
  ),
);

export type ObjectCreatedEvent = z.infer<typeof objectCreatedSchema>;

/** Step Functions' own event when an execution starts, ends or is redriven (on the default bus). */
export const executionStatusChangeSchema = z.lazy(() =>
  eventBridgeEnvelope(
    EVENT_SOURCES.states,
    DETAIL_TYPES.executionStatusChange,
    z.looseObject({
      executionArn: z.string().check(z.startsWith('arn:')),
      stateMachineArn: z.string().check(z.startsWith('arn:')),
      name: z.string(),
      status: z.string().check(z.minLength(1)),
      input: z.optional(z.nullable(z.string())),
      output: z.optional(z.nullable(z.string())),
      error: z.optional(z.nullable(z.string())),
      cause: z.optional(z.nullable(z.string())),
      redriveCount: z.optional(z.number()),
    }),
  ),
);

export type ExecutionStatusChange = z.infer<typeof executionStatusChangeSchema>;

/** What an EventBridge schedule rule delivers (`detail` is empty). */
export const scheduledEventSchema = z.lazy(() => eventBridgeEnvelope(EVENT_SOURCES.events, DETAIL_TYPES.scheduledEvent, z.looseObject({})));

/** The input of a CodePipeline Lambda invoke action (not an EventBridge envelope). */
export const codePipelineJobSchema = z.looseObject({
  'CodePipeline.job': z.looseObject({
    id: z.string().check(z.minLength(1)),
    accountId: z.string(),
    data: z.looseObject({
      actionConfiguration: z.looseObject({
        configuration: z.looseObject({ FunctionName: z.string(), UserParameters: z.optional(z.string()) }),
      }),
      continuationToken: z.optional(z.string()),
    }),
  }),
});

export type CodePipelineJob = z.infer<typeof codePipelineJobSchema>;

/** A SageMaker job event, reduced to what the token bookkeeping needs. */
export interface JobStateChange {
  kind: 'training' | 'processing' | 'tuning' | 'transform';
  jobName: string;
  status: string;
}

/**
 * Parses a SageMaker Training / Processing / HyperParameter Tuning / Transform Job State Change event.
 * Throws {@link InvalidInputError} naming the offending field when it is none of them.
 */
export function parseJobStateChange(event: unknown): JobStateChange {
  const detailType = (event as { 'detail-type'?: unknown } | null)?.['detail-type'];
  if (detailType === DETAIL_TYPES.trainingJobStateChange) {
    const { detail } = parseEvent(trainingJobStateChangeSchema, event);
    return { kind: 'training', jobName: detail.TrainingJobName, status: detail.TrainingJobStatus };
  }
  if (detailType === DETAIL_TYPES.processingJobStateChange) {
    const { detail } = parseEvent(processingJobStateChangeSchema, event);
    return { kind: 'processing', jobName: detail.ProcessingJobName, status: detail.ProcessingJobStatus };
  }
  if (detailType === DETAIL_TYPES.tuningJobStateChange) {
    const { detail } = parseEvent(tuningJobStateChangeSchema, event);
    return { kind: 'tuning', jobName: detail.HyperParameterTuningJobName, status: detail.HyperParameterTuningJobStatus };
  }
  if (detailType === DETAIL_TYPES.transformJobStateChange) {
    const { detail } = parseEvent(transformJobStateChangeSchema, event);
    return { kind: 'transform', jobName: detail.TransformJobName, status: detail.TransformJobStatus };
  }
  const expected = [DETAIL_TYPES.trainingJobStateChange, DETAIL_TYPES.processingJobStateChange, DETAIL_TYPES.tuningJobStateChange, DETAIL_TYPES.transformJobStateChange];
  throw new InvalidInputError(`detail-type: expected one of ${expected.map((type) => `"${type}"`).join(', ')}, got ${JSON.stringify(detailType)}`);
}

/**
 * Validates `input` against `schema`. Throws {@link InvalidInputError} whose message lists each
 * offending field path and the problem (e.g. `detail.repositoryName: expected string`).
 */
export function parseEvent<S extends z.ZodMiniType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
  throw new InvalidInputError(`invalid input: ${details.join('; ')}`);
}
