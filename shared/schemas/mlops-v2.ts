import * as z from './zod';

import { deployConfigSchema } from './deploy';
import {
  APPROVAL_STATUSES,
  datasetKey,
  envVarName,
  inferenceSpecification,
  localSectionSchema,
  modelPackageGroupField,
  outputName,
  triggersSectionSchema,
} from './mlops-config';
import { FOR_EACH_FROM_REF, FOR_EACH_ITEM_KEY, FROM_REF, ISO_DURATION, MAX_FOR_EACH_ITEMS } from './patterns';
import { conditionSchema, getSchema, integerField, jsonGetSchema, PARAMETER_NAME, propertyFileRefSchema, STEP_NAME, textField, valueSchema } from './pipeline-values';

/**
 * mlops.yaml Version 2: the repository's own pipeline — typed parameters and any number of named
 * steps (Processing, Training, Tuning, Transform, Condition, Fail, RegisterModel, ForEach) wired by references. Job settings
 * keep SageMaker API field names; references, conditions and property files use SageMaker
 * Pipelines' vocabulary (Get, Std:JsonGet, Std:Join, PropertyFiles, RetryPolicies). Structure only:
 * references, cycles, branches and types are checked by shared/pipeline/graph.ts, the stage policy
 * by parse-mlops-config.ts. A Version 1 file reads as one of these (shared/pipeline/from-v1.ts).
 */

/** SageMaker Pipelines' retryable exception types, and what each retries. */
export const RETRYABLE_EXCEPTIONS = ['SageMaker.CAPACITY_ERROR', 'SageMaker.JOB_INTERNAL_ERROR', 'SageMaker.RESOURCE_LIMIT', 'Step.THROTTLING', 'Step.SERVICE_FAULT'] as const;

/**
 * Every schema of Version 2, built on first use (a function that never parses mlops.yaml, or parses
 * it late, does not pay at cold start for a few hundred schema objects: README "Performance").
 */
function build() {
  const MAX_STEPS = 100;

  const stepName = z.string().check(z.regex(STEP_NAME, 'must start with a letter and hold at most 48 letters, digits, _ or -'));


  const parameter = z.discriminatedUnion('Type', [
    z.strictObject({
      Type: z.literal('String'),
      Default: z.string().check(z.maxLength(1024)),
      /** The only values a run may set (SageMaker's ParameterString enum_values). */
      EnumValues: z.optional(z.array(z.string().check(z.maxLength(1024))).check(z.minLength(1), z.maxLength(100))),
      Description: z.optional(z.string().check(z.maxLength(1024))),
    }),
    z.strictObject({ Type: z.literal('Integer'), Default: z.int(), Description: z.optional(z.string().check(z.maxLength(1024))) }),
    z.strictObject({ Type: z.literal('Float'), Default: z.number(), Description: z.optional(z.string().check(z.maxLength(1024))) }),
    z.strictObject({ Type: z.literal('Boolean'), Default: z.boolean(), Description: z.optional(z.string().check(z.maxLength(1024))) }),
  ]);



  const retryPolicy = z.strictObject({
    ExceptionType: z.array(z.enum(RETRYABLE_EXCEPTIONS)).check(z.minLength(1)),
    IntervalSeconds: z._default(z.int().check(z.gte(1), z.lte(3600)), 10),
    BackoffRate: z._default(z.number().check(z.gte(1), z.lte(10)), 2),
    /** Retries after the first attempt (Step Functions' MaxAttempts). */
    MaxAttempts: z._default(z.int().check(z.gte(1), z.lte(20)), 3),
    /** The cap on one wait between attempts. */
    MaxDelaySeconds: z.optional(z.int().check(z.gte(1), z.lte(86_400))),
  });



  const cache = z.strictObject({
    /** How long a result may be reused, as an ISO-8601 duration (P30D); years and months are refused (use days). */
    ExpireAfter: z.string().check(z.regex(ISO_DURATION, 'must be an ISO-8601 duration in weeks, days, hours, minutes or seconds, e.g. P30D or PT12H')),
    /** Source paths (files or folders) the step reads; by default the whole commit's tree is part of the key. */
    Paths: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(1024))).check(z.minLength(1), z.maxLength(100))),
  });


  const dependsOn = z.optional(z.array(stepName).check(z.maxLength(MAX_STEPS)));
  /** What every job step (Processing, Training, Tuning, Transform) takes besides its job: ordering, retries, the step cache. */
  const jobStepControls = { DependsOn: dependsOn, RetryPolicies: z.optional(z.array(retryPolicy).check(z.maxLength(5))), Cache: z.optional(cache) };
  const description = z.optional(z.string().check(z.maxLength(1024)));
  const environment = z.optional(z.record(envVarName, textField(z.string().check(z.maxLength(10240)))));

  /** Where an input or channel comes from: a dataset under the stage bucket, or another step's output. */
  const inputSource = z.union([
    z.strictObject({ Dataset: textField(datasetKey), ContentType: z.optional(z.string().check(z.maxLength(256))) }),
    z.strictObject({
      From: z.string().check(
        z.refine((from) => FROM_REF.test(from) || FOR_EACH_FROM_REF.test(from), 'must be "<step>/<output>", "<training step>/model" or "<ForEach step>/<inner step>/<output>"'),
      ),
      ContentType: z.optional(z.string().check(z.maxLength(256))),
    }),
  ]);


  /** A job's instances: ProcessingResources.ClusterConfig and ResourceConfig share the fields. */
  const resources = z.strictObject({
    InstanceType: textField(),
    InstanceCount: z._default(integerField(1, 100), 1),
    VolumeSizeInGB: z._default(integerField(1, 16_384), 30),
  });

  const stoppingCondition = z.optional(z.strictObject({ MaxRuntimeInSeconds: integerField(1, 2_419_200) }));

  const processingStep = z.strictObject({
    Type: z.literal('Processing'),
    Description: description,
    AppSpecification: z.strictObject({
      ImageUri: textField(z.string().check(z.minLength(1), z.maxLength(255))),
      ContainerEntrypoint: z.optional(z.array(textField(z.string().check(z.minLength(1), z.maxLength(256)))).check(z.minLength(1), z.maxLength(100))),
      ContainerArguments: z.optional(z.array(textField(z.string().check(z.minLength(1), z.maxLength(256)))).check(z.maxLength(100))),
    }),
    ProcessingResources: z.strictObject({ ClusterConfig: resources }),
    StoppingCondition: stoppingCondition,
    Environment: environment,
    /** Input name → source; mounted at /opt/ml/processing/input/<name>. The source tree is always at /opt/ml/processing/input/code. */
    Inputs: z._default(z.record(outputName, inputSource), {}),
    /** Output names; each is uploaded from /opt/ml/processing/output/<name>. */
    Outputs: z._default(z.array(outputName).check(z.maxLength(20)), []),
    /** JSON reports among the outputs that conditions, Fail messages and RegisterModel read (SageMaker's PropertyFile). */
    PropertyFiles: z._default(
      z.array(
        z.strictObject({
          PropertyFileName: z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'must start with a letter: letters, digits, _ or -')),
          OutputName: outputName,
          FilePath: z.string().check(z.regex(/^[^/].*\.json$/, 'must be a relative path to a .json file inside the output')),
        }),
      ).check(z.maxLength(20)),
      [],
    ),
    ...jobStepControls,
  });

  /** What a training job's output means: a regex per metric over its log (SageMaker's MetricDefinitions). */
  const metricDefinitions = z.array(z.strictObject({ Name: z.string().check(z.minLength(1), z.maxLength(255)), Regex: z.string().check(z.minLength(1), z.maxLength(500)) }));
  const hyperParameterName = z.string().check(z.minLength(1), z.maxLength(256));
  /** Channel name → source, as SageMaker's InputDataConfig channels (/opt/ml/input/data/<channel>). */
  const channels = z.record(outputName, inputSource).check(z.refine((channels) => Object.keys(channels).length > 0, 'needs at least one channel'));
  /** Script mode: the program inside the source tree that a SageMaker framework container runs (sagemaker_program). */
  const entryPoint = z.optional(z.string().check(z.minLength(1), z.maxLength(256)));

  const trainingStep = z.strictObject({
    Type: z.literal('Training'),
    Description: description,
    AlgorithmSpecification: z.strictObject({
      TrainingImage: textField(z.string().check(z.minLength(1), z.maxLength(255))),
      TrainingInputMode: z._default(z.enum(['File', 'Pipe', 'FastFile']), 'File'),
      MetricDefinitions: z.optional(metricDefinitions.check(z.maxLength(40))),
    }),
    HyperParameters: z._default(z.record(hyperParameterName, valueSchema), {}),
    ResourceConfig: resources,
    StoppingCondition: stoppingCondition,
    Environment: environment,
    EntryPoint: entryPoint,
    Channels: channels,
    ...jobStepControls,
  });

  /** A range bound: a number, its text, or a parameter (sent to SageMaker as text). */
  const rangeBound = z.union([z.number(), z.string().check(z.minLength(1), z.maxLength(256)), getSchema]);
  const scalingType = z._default(z.enum(['Auto', 'Linear', 'Logarithmic', 'ReverseLogarithmic']), 'Auto');
  const numericRange = z.strictObject({ Name: hyperParameterName, MinValue: rangeBound, MaxValue: rangeBound, ScalingType: scalingType });

  /** CreateHyperParameterTuningJob: a Training step's definition, run many times over hyperparameter ranges. */
  const tuningStep = z.strictObject({
    Type: z.literal('Tuning'),
    Description: description,
    HyperParameterTuningJobConfig: z.strictObject({
      Strategy: z._default(z.enum(['Bayesian', 'Random', 'Grid', 'Hyperband']), 'Bayesian'),
      /** The metric to optimise: one of TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions. */
      HyperParameterTuningJobObjective: z.strictObject({ Type: z.enum(['Maximize', 'Minimize']), MetricName: z.string().check(z.minLength(1), z.maxLength(255)) }),
      ResourceLimits: z.strictObject({
        /** Optional for Grid (the grid's size decides). */
        MaxNumberOfTrainingJobs: z.optional(integerField(1, 10_000)),
        MaxParallelTrainingJobs: integerField(1, 100),
        /** The whole tuning job's limit (all its training jobs); default and maximum: the stage's maxRuntimeSeconds. */
        MaxRuntimeInSeconds: z.optional(integerField(120, 15_552_000)),
      }),
      ParameterRanges: z.strictObject({
        IntegerParameterRanges: z._default(z.array(numericRange).check(z.maxLength(30)), []),
        ContinuousParameterRanges: z._default(z.array(numericRange).check(z.maxLength(30)), []),
        CategoricalParameterRanges: z._default(
          z.array(z.strictObject({ Name: hyperParameterName, Values: z.array(z.string().check(z.minLength(1), z.maxLength(256))).check(z.minLength(1), z.maxLength(30)) })).check(z.maxLength(30)),
          [],
        ),
      }),
      TrainingJobEarlyStoppingType: z._default(z.enum(['Off', 'Auto']), 'Off'),
      /** Same seed, same trials (HyperParameterTuningJobConfig.RandomSeed). */
      RandomSeed: z.optional(z.int().check(z.gte(0), z.lte(2_147_483_647))),
    }),
    /** The Training step's own fields, with StaticHyperParameters for HyperParameters; MetricDefinitions required. */
    TrainingJobDefinition: z.strictObject({
      AlgorithmSpecification: z.strictObject({
        TrainingImage: textField(z.string().check(z.minLength(1), z.maxLength(255))),
        TrainingInputMode: z._default(z.enum(['File', 'Pipe', 'FastFile']), 'File'),
        MetricDefinitions: metricDefinitions.check(z.minLength(1), z.maxLength(40)),
      }),
      StaticHyperParameters: z._default(z.record(hyperParameterName, valueSchema), {}),
      ResourceConfig: resources,
      /** Per training job. */
      StoppingCondition: stoppingCondition,
      Environment: environment,
      EntryPoint: entryPoint,
      Channels: channels,
    }),
    ...jobStepControls,
  });

  /** A DataProcessing filter: a JSONPath of at most 63 characters (CreateTransformJob's limit). */
  const jsonPathFilter = z.string().check(z.minLength(1), z.maxLength(63), z.regex(/^\$/, 'must be a JSONPath starting with $'));

  /** CreateModel from a step's model artifacts, then CreateTransformJob over an S3 prefix. */
  const transformStep = z.strictObject({
    Type: z.literal('Transform'),
    Description: description,
    Model: z.strictObject({
      /** `{From: <Training or Tuning step>/model}`. */
      ModelData: z.strictObject({ From: z.string().check(z.regex(FROM_REF, 'must be "<training or tuning step>/model"')) }),
      /** The repository's inference image. */
      Image: textField(z.string().check(z.minLength(1), z.maxLength(255))),
      /** The model container's environment. */
      Environment: environment,
    }),
    TransformInput: z.strictObject({
      /** The S3 prefix transformed: a dataset, or another step's output. */
      DataSource: z.union([z.strictObject({ Dataset: textField(datasetKey) }), z.strictObject({ From: z.string().check(z.regex(FROM_REF, 'must be "<step>/<output>"')) })]),
      ContentType: z.optional(z.string().check(z.maxLength(256))),
      SplitType: z._default(z.enum(['None', 'Line']), 'None'),
      CompressionType: z._default(z.enum(['None', 'Gzip']), 'None'),
    }),
    TransformOutput: z._default(z.strictObject({ Accept: z.optional(z.string().check(z.maxLength(256))), AssembleWith: z._default(z.enum(['None', 'Line']), 'None') }), { AssembleWith: 'None' as const }),
    TransformResources: z.strictObject({ InstanceType: textField(), InstanceCount: z._default(integerField(1, 100), 1) }),
    BatchStrategy: z.optional(z.enum(['SingleRecord', 'MultiRecord'])),
    MaxPayloadInMB: z.optional(integerField(0, 100)),
    MaxConcurrentTransforms: z.optional(integerField(0, 1000)),
    /** CreateTransformJob's DataProcessing: JSONPath filters (at most 63 characters) over CSV or JSON records, and the join of each record with its prediction. */
    DataProcessing: z.optional(
      z.strictObject({
        InputFilter: z.optional(jsonPathFilter),
        OutputFilter: z.optional(jsonPathFilter),
        JoinSource: z.optional(z.enum(['None', 'Input'])),
      }),
    ),
    /** The transform job's environment (at most 16 variables). */
    Environment: z.optional(z.record(envVarName, textField(z.string().check(z.maxLength(10240)))).check(z.refine((env) => Object.keys(env).length <= 16, 'holds at most 16 variables'))),
    ...jobStepControls,
  });

  const conditionStep = z.strictObject({
    Type: z.literal('Condition'),
    Description: description,
    Condition: conditionSchema,
    /** Steps that run only when the condition holds. A step belongs to one branch: a nested Condition's branch steps are listed there, not here. */
    If: z._default(z.array(stepName).check(z.maxLength(MAX_STEPS)), []),
    /** Steps that run only when it does not. */
    Else: z._default(z.array(stepName).check(z.maxLength(MAX_STEPS)), []),
    DependsOn: dependsOn,
  });

  const failStep = z.strictObject({
    Type: z.literal('Fail'),
    Description: description,
    /** The run's error name (default PipelineFailed). */
    Error: z._default(
      z.string().check(
        z.regex(/^[A-Za-z][A-Za-z0-9_.]{0,63}$/, 'must be a name such as QualityGateFailed'),
        z.refine((name) => !name.startsWith('States.'), 'must not start with "States." (reserved by Step Functions)'),
      ),
      'PipelineFailed',
    ),
    /** The run's cause: text built from parameters, report values and step properties. */
    ErrorMessage: textField(z.string().check(z.minLength(1), z.maxLength(4096))),
    DependsOn: dependsOn,
  });

  const registerModelStep = z.strictObject({
    Type: z.literal('RegisterModel'),
    Description: description,
    /** The training (or tuning: its best job's) step whose model artifacts this version holds: `{From: <step>/model}`. */
    ModelData: z.strictObject({ From: z.string().check(z.regex(FROM_REF, 'must be "<training or tuning step>/model"')) }),
    ModelPackageGroupName: z.optional(modelPackageGroupField),
    ModelPackageDescription: z.optional(textField(z.string().check(z.maxLength(1024)))),
    ModelApprovalStatus: z._default(z.enum(APPROVAL_STATUSES), 'PendingManualApproval'),
    /** The report shown as the version's model quality (ModelMetrics.ModelQuality.Statistics). */
    ModelMetrics: z.optional(z.strictObject({ ModelQuality: z.strictObject({ Statistics: propertyFileRefSchema }) })),
    InferenceSpecification: inferenceSpecification,
    DependsOn: dependsOn,
    Cache: z.optional(cache),
  });

  /** The steps a ForEach runs per item (Condition, Fail and nested ForEach are refused by graph.ts with a message). */
  const innerStepSchema = z.discriminatedUnion('Type', [processingStep, trainingStep, conditionStep, failStep, registerModelStep, tuningStep, transformStep]);

  /** One item of a literal ForEach list: a scalar, or a flat object of scalars (read as `ForEach.Item.<key>`). */
  const forEachItem = z.union([
    z.string().check(z.maxLength(1024)),
    z.number(),
    z.boolean(),
    z.record(z.string().check(z.regex(FOR_EACH_ITEM_KEY, 'must start with a letter: letters, digits or _ (at most 64)')), z.union([z.string().check(z.maxLength(1024)), z.number(), z.boolean()])),
  ]);

  const forEachStep = z.strictObject({
    Type: z.literal('ForEach'),
    Description: description,
    /** A literal list, a String parameter holding a JSON list, or a JSON list a step's report holds (Std:JsonGet). */
    Items: z.union([z.array(forEachItem).check(z.minLength(1), z.maxLength(MAX_FOR_EACH_ITEMS)), getSchema, jsonGetSchema]),
    /** Iterations at once (Step Functions' inline Map MaxConcurrency; 40 is its practical ceiling). */
    MaxConcurrency: z._default(z.int().check(z.gte(1), z.lte(40)), 10),
    /** The sub-graph run once per item; names are unique across the whole pipeline. */
    Steps: z
      .record(stepName, innerStepSchema)
      .check(
        z.refine((steps) => Object.keys(steps).length > 0, 'needs at least one step'),
        z.refine((steps) => Object.keys(steps).length <= MAX_STEPS, `holds at most ${MAX_STEPS} steps`),
      ),
    DependsOn: dependsOn,
  });

  const stepSchema = z.discriminatedUnion('Type', [processingStep, trainingStep, conditionStep, failStep, registerModelStep, tuningStep, transformStep, forEachStep]);


  const mlopsV2Schema = z.strictObject({
    Version: z.literal(2),
    /** Typed run parameters with defaults; a run started by hand may override them. */
    Parameters: z._default(z.record(z.string().check(z.regex(PARAMETER_NAME, 'must start with a letter: letters, digits or _')), parameter), {}),
    /** The steps, by name. Order does not matter: references and DependsOn decide it. */
    Steps: z
      .record(stepName, stepSchema)
      .check(
        z.refine((steps) => Object.keys(steps).length > 0, 'needs at least one step'),
        z.refine((steps) => Object.keys(steps).length <= MAX_STEPS, `holds at most ${MAX_STEPS} steps`),
      ),
    /** How approved versions are hosted (model-deploy); required only when a version is deployed. */
    Deploy: z.optional(deployConfigSchema),
    /** Builds besides pushes: a schedule, and data arriving under the datasets the steps read. */
    Triggers: triggersSectionSchema,
    Local: localSectionSchema,
  });

  return { parameter, retryPolicy, cache, inputSource, processingStep, trainingStep, conditionStep, failStep, registerModelStep, tuningStep, transformStep, forEachItem, forEachStep, innerStepSchema, stepSchema, mlopsV2Schema };
}

type Built = ReturnType<typeof build>;
let built: Built | undefined;
const schemas = (): Built => (built ??= build());

export type ParameterSpec = z.infer<Built['parameter']>;
export type ParameterType = ParameterSpec['Type'];
export type RetryPolicy = z.infer<Built['retryPolicy']>;
export type CacheSettings = z.infer<Built['cache']>;
export type InputSource = z.infer<Built['inputSource']>;
export type StepSpec = z.infer<Built['stepSchema']>;
export type StepType = StepSpec['Type'];
export type ProcessingStep = z.infer<Built['processingStep']>;
export type TrainingStep = z.infer<Built['trainingStep']>;
export type ConditionStep = z.infer<Built['conditionStep']>;
export type FailStep = z.infer<Built['failStep']>;
export type RegisterModelStep = z.infer<Built['registerModelStep']>;
export type TuningStep = z.infer<Built['tuningStep']>;
export type TransformStep = z.infer<Built['transformStep']>;
export type JobStep = ProcessingStep | TrainingStep | TuningStep | TransformStep;
export type ForEachStep = z.infer<Built['forEachStep']>;
/** A step inside a ForEach's Steps. */
export type InnerStepSpec = z.infer<Built['innerStepSchema']>;
/** One item of a ForEach list (literal, or as resolved at run time). */
export type ForEachItem = z.infer<Built['forEachItem']>;

/** One step of `Steps` (any type). */
export const stepSchema = z.lazy(() => schemas().stepSchema);

/** The whole Version 2 file. */
export const mlopsV2Schema = z.lazy(() => schemas().mlopsV2Schema);

/** A pipeline as every part of Sluice after parsing sees it (a Version 1 file is converted to this). */
export type PipelineConfig = z.infer<Built['mlopsV2Schema']>;
export type ParameterValue = string | number | boolean;
