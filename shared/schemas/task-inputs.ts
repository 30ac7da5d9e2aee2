import * as z from './zod';

/**
 * The contract between a compiled pipeline state machine (shared/pipeline/compile.ts) and its Lambda
 * tasks: the execution input, what every step's task receives, and what each step type leaves in
 * `$.steps['<name>']`. The functions validate their input against these before acting.
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
  /** s3:// URI of the source manifest: every file's path and git blob id (the content part of cache keys). */
  sourceManifestUri: z.string().check(z.startsWith('s3://')),
  /** s3:// URI of the parsed pipeline (pipeline.json): the steps' settings, kept out of the execution's state. */
  pipelineUri: z.string().check(z.startsWith('s3://')),
  /** Upper bound for each job wait (the stage's maximum runtime plus queueing margin). */
  taskTimeoutSeconds: z.int().check(z.positive()),
});

export type BuildContext = z.infer<typeof buildContextSchema>;

/** Input of snapshot-source, the first task of every build run. */
export const snapshotInputSchema = z.strictObject({ build: buildContextSchema });

const cachedFrom = z.optional(z.nullable(z.string()));

/** What a Processing step leaves in `$.steps`: its job and its outputs' URIs and content hashes. */
export const processingResultSchema = z.strictObject({
  Type: z.literal('Processing'),
  ProcessingJobName: z.string(),
  ProcessingJobArn: z.optional(z.string()),
  /** Output name → s3:// prefix. */
  Outputs: z.record(z.string(), z.string()),
  /** Output name → hash of what the job wrote there (keys, ETags, sizes): the content later cache keys use. */
  OutputHashes: z._default(z.record(z.string(), z.string()), {}),
  StartTime: z.optional(z.string()),
  EndTime: z.optional(z.string()),
  DurationSeconds: z.optional(z.number()),
  /** The execution whose identical job this result reuses (cache hit), or null. */
  CachedFrom: cachedFrom,
  /** The execution this result was carried over from (a run started from a later step), or null. */
  ReusedFrom: cachedFrom,
});

/** What a Training step leaves in `$.steps`: its job, model artifacts and final metrics. */
export const trainingResultSchema = z.strictObject({
  Type: z.literal('Training'),
  TrainingJobName: z.string(),
  TrainingJobArn: z.optional(z.string()),
  ModelArtifacts: z.string().check(z.startsWith('s3://')),
  /** Hash of the model artifact object (ETag and size). */
  ModelArtifactsHash: z.optional(z.string()),
  /** Metric name → final value (MetricDefinitions). */
  FinalMetrics: z._default(z.record(z.string(), z.number()), {}),
  TrainingTimeSeconds: z.optional(z.number()),
  BillableTimeSeconds: z.optional(z.number()),
  StartTime: z.optional(z.string()),
  EndTime: z.optional(z.string()),
  CachedFrom: cachedFrom,
  ReusedFrom: cachedFrom,
});

/** What a Tuning step leaves in `$.steps`: its tuning job, its best training job and how its trials ended. */
export const tuningResultSchema = z.strictObject({
  Type: z.literal('Tuning'),
  HyperParameterTuningJobName: z.string(),
  HyperParameterTuningJobArn: z.optional(z.string()),
  BestTrainingJob: z.strictObject({
    TrainingJobName: z.string(),
    TrainingJobArn: z.optional(z.string()),
    /** The best job's model artifacts (DescribeTrainingJob at settle time). */
    ModelArtifacts: z.string().check(z.startsWith('s3://')),
    /** Hash of the model artifact object (ETag and size). */
    ModelArtifactsHash: z.optional(z.string()),
    ObjectiveMetricName: z.string(),
    FinalObjectiveValue: z.number(),
    TunedHyperParameters: z.record(z.string(), z.string()),
  }),
  /** From TrainingJobStatusCounters; Failed = RetryableError + NonRetryableError. */
  TrainingJobCounts: z.strictObject({ Completed: z.int(), Failed: z.int(), Stopped: z.int() }),
  StartTime: z.optional(z.string()),
  EndTime: z.optional(z.string()),
  CachedFrom: cachedFrom,
  ReusedFrom: cachedFrom,
});

/** What a Transform step leaves in `$.steps`: its transform job, the model it ran, and the prefix of its `.out` files. */
export const transformResultSchema = z.strictObject({
  Type: z.literal('Transform'),
  TransformJobName: z.string(),
  TransformJobArn: z.optional(z.string()),
  ModelName: z.string(),
  /** s3:// prefix of the `<input file>.out` files (TransformOutput.S3OutputPath). */
  Output: z.string().check(z.startsWith('s3://')),
  /** Hash of what the job wrote there (keys, ETags, sizes). */
  OutputHash: z.optional(z.string()),
  StartTime: z.optional(z.string()),
  EndTime: z.optional(z.string()),
  DurationSeconds: z.optional(z.number()),
  CachedFrom: cachedFrom,
  ReusedFrom: cachedFrom,
});

/** A Condition step's outcome and the values it compared. */
export const conditionResultSchema = z.strictObject({
  Type: z.literal('Condition'),
  Outcome: z.boolean(),
  /** Each operand as written (e.g. `Steps.evaluate.PropertyFiles.Report regression_metrics.mse.value`) and its value. */
  Values: z.array(z.strictObject({ expression: z.string(), value: z.unknown() })),
});

/** A Fail step's error and message, read by its Fail state. */
export const failResultSchema = z.strictObject({ Type: z.literal('Fail'), Error: z.string(), Cause: z.string() });

/** A RegisterModel step's model package version. */
export const registerResultSchema = z.strictObject({
  Type: z.literal('RegisterModel'),
  ModelPackageArn: z.string(),
  ModelPackageGroupName: z.string(),
  ModelApprovalStatus: z.string(),
  /** Always present (null when registered by this run): the state machine's event reads it. */
  CachedFrom: z.nullable(z.string()),
});

/** What a step inside a ForEach leaves in its item's results (no nested ForEach). */
export const innerStepResultSchema = z.discriminatedUnion('Type', [processingResultSchema, trainingResultSchema, conditionResultSchema, failResultSchema, registerResultSchema, tuningResultSchema, transformResultSchema]);

const scalar = z.union([z.string(), z.number(), z.boolean()]);
/** One item of a ForEach: a scalar or a flat object of scalars. */
export const forEachItemValueSchema = z.union([scalar, z.record(z.string(), scalar)]);

/**
 * A ForEach step: its items (its own task resolves them), then, once its Map state has run, each
 * item's inner step results, in item order (`Results[i]['<inner step>']`).
 */
export const forEachResultSchema = z.strictObject({
  Type: z.literal('ForEach'),
  Items: z.array(forEachItemValueSchema),
  Results: z.optional(z.array(z.record(z.string(), innerStepResultSchema))),
  /** Always null: a ForEach is never served from the cache as a whole (its inner steps may be). */
  CachedFrom: cachedFrom,
  /** The execution this result was carried over from (a run started from a later step), or null. */
  ReusedFrom: cachedFrom,
});

export const stepResultSchema = z.discriminatedUnion('Type', [processingResultSchema, trainingResultSchema, conditionResultSchema, failResultSchema, registerResultSchema, tuningResultSchema, transformResultSchema, forEachResultSchema]);

export type ProcessingResult = z.infer<typeof processingResultSchema>;
export type TrainingResult = z.infer<typeof trainingResultSchema>;
export type ConditionResult = z.infer<typeof conditionResultSchema>;
export type FailResult = z.infer<typeof failResultSchema>;
export type RegisterResult = z.infer<typeof registerResultSchema>;
export type StepResult = z.infer<typeof stepResultSchema>;
export type TuningResult = z.infer<typeof tuningResultSchema>;
export type TransformResult = z.infer<typeof transformResultSchema>;
export type JobResult = ProcessingResult | TrainingResult | TuningResult | TransformResult;
export type InnerStepResult = z.infer<typeof innerStepResultSchema>;
export type ForEachResult = z.infer<typeof forEachResultSchema>;
export type ForEachItemValue = z.infer<typeof forEachItemValueSchema>;

const parameterValue = z.union([z.string(), z.number(), z.boolean()]);

/** The execution input of a compiled pipeline (on-source-push builds it). */
export const pipelineRunInputSchema = z.strictObject({
  build: buildContextSchema,
  /** Every parameter's value for this run (defaults with overrides applied). */
  parameters: z.record(z.string(), parameterValue),
  /** Results by step name; empty at the start. */
  steps: z.record(z.string(), stepResultSchema),
  /** Results carried over from an earlier run (a run started from a later step): those steps do not run again. */
  reuse: z.record(z.string(), stepResultSchema),
});

export type PipelineRunInput = z.infer<typeof pipelineRunInputSchema>;

/** What every step's task receives (compile.ts stepPayload). */
export const stepTaskInputSchema = z.strictObject({
  step: z.string().check(z.minLength(1)),
  executionArn: z.string().check(z.startsWith('arn:')),
  build: buildContextSchema,
  parameters: z.record(z.string(), parameterValue),
  steps: z.record(z.string(), stepResultSchema),
  reuse: z._default(z.record(z.string(), stepResultSchema), {}),
  /** Set for a step inside a ForEach: which ForEach, and the item this iteration runs (`$$.Map.Item`). */
  item: z.optional(z.strictObject({ forEach: z.string().check(z.minLength(1)), index: z.int().check(z.gte(0)), value: forEachItemValueSchema })),
});

export type StepTaskInput = z.infer<typeof stepTaskInputSchema>;

/** Input of start-job: a job step's task, with the token its SageMaker job's completion settles. */
export const startJobInputSchema = z.extend(stepTaskInputSchema, { taskToken: z.string().check(z.minLength(1)) });

export type StartJobInput = z.infer<typeof startJobInputSchema>;
