import * as z from 'zod';

import { SAGEMAKER_NAME } from '../naming';
import { deployConfigSchema } from './deploy';

/**
 * `mlops.yaml`: the model repository's build definition. Job settings use SageMaker API field
 * names (AppSpecification, ProcessingResources, AlgorithmSpecification, HyperParameters,
 * ResourceConfig, StoppingCondition, Environment, InferenceSpecification, …); the only Sluice
 * layer is how steps are wired together (`Inputs`, `Outputs`, `Channels`, `Report`).
 * The stage, not this file, chooses the IAM role, VPC, KMS keys and buckets: the schema has no
 * field for them and rejects unknown keys. The reference is README.md#mlopsyaml-reference.
 */

export const CONFIG_FILE = 'mlops.yaml';

const envMap = z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,255}$/, 'must be a valid environment variable name'), z.string().max(10240));

/** Where a step input comes from: a dataset under the stage bucket, or an earlier step's output. */
const inputSource = z.union([
  z.strictObject({
    /** Training channels only: the channel's ContentType (e.g. text/csv for XGBoost). */
    ContentType: z.string().max(256).optional(),
    Dataset: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9._/-]{0,255}$/, 'must be a relative key under the stage bucket\'s datasets/ prefix')
      .refine((key) => !key.split('/').includes('..'), 'must not contain ".."'),
  }),
  z.strictObject({
    ContentType: z.string().max(256).optional(),
    From: z.string().regex(/^(preprocess|train)\/[a-zA-Z0-9_-]+$/, 'must be "<step>/<output>", e.g. preprocess/train or train/model'),
  }),
]);

const outputName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');

const stoppingCondition = z.strictObject({ MaxRuntimeInSeconds: z.number().int().positive() });

const processingStep = z.strictObject({
  AppSpecification: z.strictObject({
    ImageUri: z.string().min(1).max(255),
    ContainerEntrypoint: z.array(z.string().min(1).max(256)).min(1).max(100).optional(),
    ContainerArguments: z.array(z.string().min(1).max(256)).max(100).optional(),
  }),
  ProcessingResources: z.strictObject({
    ClusterConfig: z.strictObject({
      InstanceType: z.string(),
      InstanceCount: z.number().int().min(1).max(100).default(1),
      VolumeSizeInGB: z.number().int().min(1).max(16384).default(30),
    }),
  }),
  StoppingCondition: stoppingCondition.optional(),
  Environment: envMap.optional(),
  /** Input name → source; mounted at /opt/ml/processing/input/<name>. The source tree is always at /opt/ml/processing/input/code. */
  Inputs: z.record(outputName, inputSource).default({}),
  /** Output names; each is read from /opt/ml/processing/output/<name> and kept under the build's prefix. */
  Outputs: z.array(outputName).default([]),
});

export type ProcessingStepConfig = z.infer<typeof processingStep>;

const trainStep = z.strictObject({
  AlgorithmSpecification: z.strictObject({
    TrainingImage: z.string().min(1).max(255),
    TrainingInputMode: z.enum(['File', 'Pipe', 'FastFile']).default('File'),
    MetricDefinitions: z
      .array(z.strictObject({ Name: z.string().min(1).max(255), Regex: z.string().min(1).max(500) }))
      .max(40)
      .optional(),
  }),
  HyperParameters: z.record(z.string().max(256), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
  ResourceConfig: z.strictObject({
    InstanceType: z.string(),
    InstanceCount: z.number().int().min(1).max(100).default(1),
    VolumeSizeInGB: z.number().int().min(1).max(16384).default(30),
  }),
  StoppingCondition: stoppingCondition.optional(),
  Environment: envMap.optional(),
  /** Script mode: the program inside the source tree that a SageMaker framework container runs (sagemaker_program). */
  EntryPoint: z.string().min(1).max(256).optional(),
  /** Channel name → source, as SageMaker's InputDataConfig channels (/opt/ml/input/data/<channel>). */
  Channels: z.record(outputName, inputSource).refine((c) => Object.keys(c).length > 0, 'needs at least one channel'),
});

export type TrainStepConfig = z.infer<typeof trainStep>;

const evaluateStep = processingStep.extend({
  /** `<output>/<file>` of the evaluation report among this step's Outputs, e.g. evaluation/evaluation.json. */
  Report: z.string().regex(/^[a-zA-Z0-9_-]{1,64}\/[^/].*\.json$/, 'must be "<output>/<file>.json"'),
});

export const GATE_OPERATORS = ['<', '<=', '>', '>='] as const;

const qualityGate = z.strictObject({
  /** Dotted path into evaluation.json, e.g. regression_metrics.mse.value. */
  Metric: z.string().regex(/^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/, 'must be a dotted path such as regression_metrics.mse.value'),
  Operator: z.enum(GATE_OPERATORS),
  Threshold: z.number().finite(),
});

const register = z.strictObject({
  ModelPackageGroupName: z.string().regex(SAGEMAKER_NAME, 'must match SageMaker\'s name rule ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}').optional(),
  ModelPackageDescription: z.string().max(1024).optional(),
  ModelApprovalStatus: z.enum(['PendingManualApproval', 'Approved']).default('PendingManualApproval'),
  InferenceSpecification: z
    .strictObject({
      /** Defaults to the training image. */
      Image: z.string().min(1).max(255).optional(),
      Environment: envMap.optional(),
      SupportedContentTypes: z.array(z.string()).min(1).default(['text/csv']),
      SupportedResponseMIMETypes: z.array(z.string()).min(1).default(['text/csv']),
      SupportedRealtimeInferenceInstanceTypes: z.array(z.string()).optional(),
      SupportedTransformInstanceTypes: z.array(z.string()).optional(),
    })
    .default({ SupportedContentTypes: ['text/csv'], SupportedResponseMIMETypes: ['text/csv'] }),
});

/** Local runtime only: which command stands for which image URI (ignored by AWS). */
export const localSectionSchema = z
  .strictObject({
    Images: z.record(
      z.string().min(1),
      z.strictObject({ Command: z.array(z.string().min(1)).min(1), Environment: envMap.optional() }),
    ),
  })
  .optional();

export const mlopsConfigSchema = z.strictObject({
  Version: z.literal(1),
  Preprocess: processingStep,
  Train: trainStep,
  Evaluate: evaluateStep,
  QualityGate: qualityGate,
  Register: register.default({
    ModelApprovalStatus: 'PendingManualApproval',
    InferenceSpecification: { SupportedContentTypes: ['text/csv'], SupportedResponseMIMETypes: ['text/csv'] },
  }),
  /** How approved versions are hosted (model-deploy); required only when a version is deployed. */
  Deploy: deployConfigSchema.optional(),
  Local: localSectionSchema,
});

export type MlopsConfig = z.infer<typeof mlopsConfigSchema>;
export type LocalImages = NonNullable<z.infer<typeof localSectionSchema>>['Images'];

/** What the stage allows; the repository's file can only choose within it. */
export interface StagePolicy {
  allowedInstanceTypes: readonly string[];
  maxRuntimeSeconds: number;
  /** Endpoint instance types the stage hosts; when given, `Deploy` is checked against it at build time too. */
  allowedEndpointInstanceTypes?: readonly string[];
}

