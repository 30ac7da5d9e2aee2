import * as z from './zod';

import { SAGEMAKER_NAME } from '../naming';
import { deployConfigSchema } from './deploy';
import type { TenancyPolicy } from '../pipeline/tenancy';
import { DATASET_KEY } from './patterns';
import { scheduleExpressionProblem } from '../pipeline/schedule-expression';

/**
 * `mlops.yaml`: the model repository's build definition. Job settings use SageMaker API field
 * names (AppSpecification, ProcessingResources, AlgorithmSpecification, HyperParameters,
 * ResourceConfig, StoppingCondition, Environment, InferenceSpecification, …); the only Sluice
 * layer is how steps are wired together (`Inputs`, `Outputs`, `Channels`, `Report`).
 * The stage, not this file, chooses the IAM role, VPC, KMS keys and buckets: the schema has no
 * field for them and rejects unknown keys. The reference is README.md#mlopsyaml-reference.
 */

/** An environment variable name as the OS allows it. */
export const envVarName = z.string().check(z.regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,255}$/, 'must be a valid environment variable name'));

/** Environment variables of a job or container (values up to 10 KiB). */
export const envMap = z.record(envVarName, z.string().check(z.maxLength(10240)));

/** A dataset key under the stage bucket's `datasets/` prefix, never leaving it. */
export const datasetKey = z.string().check(
  z.regex(DATASET_KEY, 'must be a relative key under the stage bucket\'s datasets/ prefix'),
  z.refine((key) => !key.split('/').includes('..'), 'must not contain ".."'),
);

/** Output, input and channel names. */
export const outputName = z.string().check(z.regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'));

export const stoppingCondition = z.strictObject({ MaxRuntimeInSeconds: z.int().check(z.positive()) });

/** Approval statuses a build may register a version with. */
export const APPROVAL_STATUSES = ['PendingManualApproval', 'Approved'] as const;

export const GATE_OPERATORS = ['<', '<=', '>', '>='] as const;

/** What SageMaker hosts a registered version with (V1 `Register.InferenceSpecification`, V2 RegisterModel steps). */
export const inferenceSpecification = z._default(
  z.strictObject({
    /** Defaults to the training image. */
    Image: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
    Environment: z.optional(envMap),
    SupportedContentTypes: z._default(z.array(z.string()).check(z.minLength(1)), ['text/csv']),
    SupportedResponseMIMETypes: z._default(z.array(z.string()).check(z.minLength(1)), ['text/csv']),
    SupportedRealtimeInferenceInstanceTypes: z.optional(z.array(z.string())),
    SupportedTransformInstanceTypes: z.optional(z.array(z.string())),
  }),
  { SupportedContentTypes: ['text/csv'], SupportedResponseMIMETypes: ['text/csv'] },
);

/** A model package group name as mlops.yaml writes it (the stage prefixes it). */
export const modelPackageGroupField = z.string().check(z.regex(SAGEMAKER_NAME, 'must match SageMaker\'s name rule ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}'));

/** Local runtime only: which command stands for which image URI (ignored by AWS). */
export const localSectionSchema = z.optional(
  z.strictObject({
    Images: z.record(
      z.string().check(z.minLength(1)),
      z.strictObject({ Command: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)), Environment: z.optional(envMap) }),
    ),
  }),
);

/**
 * When a repository builds besides on a push (README "Scheduled and data-arrival runs"): on an
 * EventBridge schedule, and when data lands under a dataset it reads. Both versions share it.
 */
export const triggersSectionSchema = z.optional(
  z.strictObject({
    /** rate(...) or cron(...), as an EventBridge rule's ScheduleExpression (UTC): rebuilds the branch's latest commit. */
    Schedule: z.optional(
      z.string().check(
        z.superRefine((expression, ctx) => {
          const problem = scheduleExpressionProblem(expression);
          if (problem) ctx.addIssue({ code: 'custom', message: `"${expression}" is not an EventBridge schedule: ${problem}`, input: expression });
        }),
      ),
    ),
    /** Objects created under a dataset the pipeline reads (datasets/<name>/) rebuild the latest commit. Default true. */
    DataArrival: z._default(z.boolean(), true),
  }),
);

/**
 * mlops.yaml Version 1: the fixed Preprocess → Train → Evaluate → QualityGate → Register shape. Its
 * schemas are built on first use (README "Performance"), like Version 2's.
 */
function buildV1() {
  /** Where a step input comes from: a dataset under the stage bucket, or an earlier step's output. */
  const inputSource = z.union([
    z.strictObject({
      /** Training channels only: the channel's ContentType (e.g. text/csv for XGBoost). */
      ContentType: z.optional(z.string().check(z.maxLength(256))),
      Dataset: datasetKey,
    }),
    z.strictObject({
      ContentType: z.optional(z.string().check(z.maxLength(256))),
      From: z.string().check(z.regex(/^(preprocess|train)\/[a-zA-Z0-9_-]+$/, 'must be "<step>/<output>", e.g. preprocess/train or train/model')),
    }),
  ]);

  const processingStep = z.strictObject({
    AppSpecification: z.strictObject({
      ImageUri: z.string().check(z.minLength(1), z.maxLength(255)),
      ContainerEntrypoint: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(256))).check(z.minLength(1), z.maxLength(100))),
      ContainerArguments: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(256))).check(z.maxLength(100))),
    }),
    ProcessingResources: z.strictObject({
      ClusterConfig: z.strictObject({
        InstanceType: z.string(),
        InstanceCount: z._default(z.int().check(z.gte(1), z.lte(100)), 1),
        VolumeSizeInGB: z._default(z.int().check(z.gte(1), z.lte(16384)), 30),
      }),
    }),
    StoppingCondition: z.optional(stoppingCondition),
    Environment: z.optional(envMap),
    /** Input name → source; mounted at /opt/ml/processing/input/<name>. The source tree is always at /opt/ml/processing/input/code. */
    Inputs: z._default(z.record(outputName, inputSource), {}),
    /** Output names; each is read from /opt/ml/processing/output/<name> and kept under the build's prefix. */
    Outputs: z._default(z.array(outputName), []),
  });


  const trainStep = z.strictObject({
    AlgorithmSpecification: z.strictObject({
      TrainingImage: z.string().check(z.minLength(1), z.maxLength(255)),
      TrainingInputMode: z._default(z.enum(['File', 'Pipe', 'FastFile']), 'File'),
      MetricDefinitions: z.optional(
        z
          .array(z.strictObject({ Name: z.string().check(z.minLength(1), z.maxLength(255)), Regex: z.string().check(z.minLength(1), z.maxLength(500)) }))
          .check(z.maxLength(40)),
      ),
    }),
    HyperParameters: z._default(z.record(z.string().check(z.maxLength(256)), z.pipe(z.union([z.string(), z.number(), z.boolean()]), z.transform(String))), {}),
    ResourceConfig: z.strictObject({
      InstanceType: z.string(),
      InstanceCount: z._default(z.int().check(z.gte(1), z.lte(100)), 1),
      VolumeSizeInGB: z._default(z.int().check(z.gte(1), z.lte(16384)), 30),
    }),
    StoppingCondition: z.optional(stoppingCondition),
    Environment: z.optional(envMap),
    /** Script mode: the program inside the source tree that a SageMaker framework container runs (sagemaker_program). */
    EntryPoint: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
    /** Channel name → source, as SageMaker's InputDataConfig channels (/opt/ml/input/data/<channel>). */
    Channels: z.record(outputName, inputSource).check(z.refine((c) => Object.keys(c).length > 0, 'needs at least one channel')),
  });


  const evaluateStep = z.extend(processingStep, {
    /** `<output>/<file>` of the evaluation report among this step's Outputs, e.g. evaluation/evaluation.json. */
    Report: z.string().check(z.regex(/^[a-zA-Z0-9_-]{1,64}\/[^/].*\.json$/, 'must be "<output>/<file>.json"')),
  });

  const qualityGate = z.strictObject({
    /** Dotted path into evaluation.json, e.g. regression_metrics.mse.value. */
    Metric: z.string().check(z.regex(/^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/, 'must be a dotted path such as regression_metrics.mse.value')),
    Operator: z.enum(GATE_OPERATORS),
    Threshold: z.number(),
  });

  const register = z.strictObject({
    ModelPackageGroupName: z.optional(modelPackageGroupField),
    ModelPackageDescription: z.optional(z.string().check(z.maxLength(1024))),
    ModelApprovalStatus: z._default(z.enum(APPROVAL_STATUSES), 'PendingManualApproval'),
    InferenceSpecification: inferenceSpecification,
  });

  return z.strictObject({
    Version: z.literal(1),
    Preprocess: processingStep,
    Train: trainStep,
    Evaluate: evaluateStep,
    QualityGate: qualityGate,
    Register: z._default(register, {
      ModelApprovalStatus: 'PendingManualApproval',
      InferenceSpecification: { SupportedContentTypes: ['text/csv'], SupportedResponseMIMETypes: ['text/csv'] },
    }),
    /** How approved versions are hosted (model-deploy); required only when a version is deployed. */
    Deploy: z.optional(deployConfigSchema),
    Triggers: triggersSectionSchema,
    Local: localSectionSchema,
  });
}

let v1Built: ReturnType<typeof buildV1> | undefined;

/** The whole Version 1 file. */
export const mlopsV1Schema = z.lazy(() => (v1Built ??= buildV1()));

export type MlopsV1Config = z.infer<typeof mlopsV1Schema>;
export type LocalImages = NonNullable<z.infer<typeof localSectionSchema>>['Images'];

/** Where the stage's jobs and models may take their images from (shared/pipeline/stage-policy.ts imageIssue). */
export interface ImagePolicy {
  /** The stack's own account: its ECR repositories are always allowed. */
  accountId: string;
  /** Stage parameter imageAccountIds: other accounts the execution roles may pull from. */
  imageAccountIds: readonly string[];
  /** Stage parameter awsImageAccountIds: SageMaker's own image accounts (pulled with SageMaker's credentials). */
  awsImageAccountIds: readonly string[];
  /** True where mlops.yaml's Local.Images run (the local runtime): their keys are allowed as images. */
  localImages: boolean;
}

/** What the stage allows; the repository's file can only choose within it. */
export interface StagePolicy extends TenancyPolicy {
  allowedInstanceTypes: readonly string[];
  maxRuntimeSeconds: number;
  /** Instances per job (InstanceCount). */
  maxInstanceCount: number;
  /** Storage volume per instance (VolumeSizeInGB). */
  maxVolumeSizeInGB: number;
  /** Endpoint instance types the stage hosts; when given, `Deploy` is checked against it at build time too. */
  allowedEndpointInstanceTypes?: readonly string[];
  /** Instances per endpoint variant (InitialInstanceCount); checked with `allowedEndpointInstanceTypes`. */
  maxEndpointInstanceCount?: number;
  /** Where images may come from; when given, every image the file fixes is checked against it. */
  images?: ImagePolicy;
}

