import * as z from './zod';

import { mlopsConfigSchema } from './mlops-config';

/**
 * Inputs of the Lambda tasks of statemachines/model-build.asl.yaml, one schema per task. The
 * state machine builds them with `Parameters`; the functions validate them before acting.
 */

/** What the build is about. Set once by on-source-push as the execution's input `build`. */
export const buildContextSchema = z.strictObject({
  repository: z.string().check(z.minLength(1), z.maxLength(100)),
  branch: z.string().check(z.minLength(1), z.maxLength(256)),
  commit: z.string().check(z.regex(/^[0-9A-Za-z]{1,64}$/)),
  executionName: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,80}$/)),
  /** s3:// URI of the commit's source.tar.gz snapshot. */
  sourceUri: z.string().check(z.startsWith('s3://')),
  /** s3:// prefix holding the same files unpacked (mounted as processing code input). */
  sourcePrefix: z.string().check(z.startsWith('s3://')),
  /** Upper bound for each job wait (the stage's maximum runtime plus queueing margin). */
  taskTimeoutSeconds: z.int().check(z.positive()),
});

export type BuildContext = z.infer<typeof buildContextSchema>;

/** The result a processing step's task completes with. */
export const processingResultSchema = z.strictObject({
  jobName: z.string(),
  jobArn: z.optional(z.string()),
  status: z.literal('Completed'),
  outputs: z.record(z.string(), z.string()),
  startTime: z.optional(z.string()),
  endTime: z.optional(z.string()),
  durationSeconds: z.optional(z.number()),
});

export type ProcessingResult = z.infer<typeof processingResultSchema>;

/** The result the training step's task completes with. */
export const trainingResultSchema = z.strictObject({
  jobName: z.string(),
  jobArn: z.optional(z.string()),
  status: z.literal('Completed'),
  modelArtifacts: z.string().check(z.startsWith('s3://')),
  finalMetrics: z.array(z.strictObject({ MetricName: z.string(), Value: z.number() })),
  trainingTimeSeconds: z.optional(z.number()),
  billableTimeSeconds: z.optional(z.number()),
  startTime: z.optional(z.string()),
  endTime: z.optional(z.string()),
});

export type TrainingResult = z.infer<typeof trainingResultSchema>;

const jobsSchema = z.strictObject({
  preprocess: z.optional(processingResultSchema),
  train: z.optional(trainingResultSchema),
  evaluate: z.optional(processingResultSchema),
});

export type JobResults = z.infer<typeof jobsSchema>;

/** Input of start-job: create the step's SageMaker job and park the task token until it ends. */
export const startJobInputSchema = z.strictObject({
  taskToken: z.string().check(z.minLength(1)),
  step: z.enum(['preprocess', 'train', 'evaluate']),
  executionArn: z.string().check(z.startsWith('arn:')),
  build: buildContextSchema,
  config: mlopsConfigSchema,
  jobs: z._default(jobsSchema, {}),
});

export type StartJobInput = z.infer<typeof startJobInputSchema>;

/** Input of read-metric: the evaluation report of a finished build and the gate's metric. */
export const readMetricInputSchema = z.strictObject({
  config: mlopsConfigSchema,
  jobs: z.extend(jobsSchema, { evaluate: processingResultSchema }),
});

export type ReadMetricInput = z.infer<typeof readMetricInputSchema>;

/** Input of register-model: everything needed for CreateModelPackage and its lineage. */
export const registerModelInputSchema = z.strictObject({
  executionArn: z.string().check(z.startsWith('arn:')),
  build: buildContextSchema,
  config: mlopsConfigSchema,
  jobs: z.extend(jobsSchema, { train: trainingResultSchema, evaluate: processingResultSchema }),
  gate: z.looseObject({ value: z.number() }),
});

export type RegisterModelInput = z.infer<typeof registerModelInputSchema>;
