import type {
  CreateProcessingJobCommandInput,
  CreateTrainingJobCommandInput,
  ProcessingInstanceType,
  Tag,
  TrainingInstanceType,
} from '@aws-sdk/client-sagemaker';

import { InvalidConfigError } from '../errors';
import { jobName } from '../naming';
import type { ProcessingStepConfig } from '../schemas/mlops-config';
import type { BuildContext, JobResults, StartJobInput } from '../schemas/task-inputs';

/**
 * Turns a build step of `mlops.yaml` into the SageMaker Create*Job request. Pure. The role, the
 * bucket and the output locations come from the stage (`StageSettings`), never from the file.
 */

/** What the stage decides for every job. */
export interface StageSettings {
  roleArn: string;
  artifactsBucket: string;
  maxRuntimeSeconds: number;
}

/** Where the code is mounted in processing containers (SageMaker's usual /opt/ml/processing layout). */
export const PROCESSING_CODE_PATH = '/opt/ml/processing/input/code';
const PROCESSING_INPUT_ROOT = '/opt/ml/processing/input';
const PROCESSING_OUTPUT_ROOT = '/opt/ml/processing/output';

/** s3:// prefix under which a build keeps everything it produces. */
export function buildPrefix(bucket: string, executionName: string): string {
  return `s3://${bucket}/builds/${executionName}/`;
}

/** Tag values allow letters, digits, spaces and `_.:/=+-@`; anything else becomes `_`. */
export function tagValue(value: string): string {
  return value.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_').slice(0, 256);
}

/** Lineage tags on every job, so a job in the console leads back to its commit and run. */
export function lineageTags(build: BuildContext, executionArn: string): Tag[] {
  return [
    { Key: 'sluice:repository', Value: tagValue(build.repository) },
    { Key: 'sluice:branch', Value: tagValue(build.branch) },
    { Key: 'sluice:commit', Value: tagValue(build.commit) },
    { Key: 'sluice:execution', Value: tagValue(executionArn) },
  ];
}

/** Resolves a step input to the S3 URI it reads. Throws InvalidConfigError for a missing upstream output. */
function resolveSource(source: { Dataset?: string; From?: string }, jobs: JobResults, stage: StageSettings, field: string): string {
  if (source.Dataset !== undefined) return `s3://${stage.artifactsBucket}/datasets/${source.Dataset}`;
  const [step, output] = (source.From ?? '').split('/') as [string, string];
  if (step === 'train' && output === 'model') {
    if (!jobs.train) throw new InvalidConfigError(`${field}: train/model is not available before the train step`);
    return jobs.train.modelArtifacts;
  }
  // Own keys only: an output named like an Object.prototype member must not resolve.
  const outputs = step === 'preprocess' ? jobs.preprocess?.outputs : undefined;
  const uri = outputs && Object.hasOwn(outputs, output) ? outputs[output] : undefined;
  if (!uri) throw new InvalidConfigError(`${field}: "${source.From}" has no output in this build`);
  return uri;
}

function stoppingCondition(configured: { MaxRuntimeInSeconds: number } | undefined, stage: StageSettings) {
  return { MaxRuntimeInSeconds: Math.min(configured?.MaxRuntimeInSeconds ?? stage.maxRuntimeSeconds, stage.maxRuntimeSeconds) };
}

/** The output URIs a processing step writes to, by output name. */
export function processingOutputUris(step: 'preprocess' | 'evaluate', outputs: readonly string[], build: BuildContext, stage: StageSettings): Record<string, string> {
  const prefix = buildPrefix(stage.artifactsBucket, build.executionName);
  return Object.fromEntries(outputs.map((name) => [name, `${prefix}${step}/${name}/`]));
}

/** CreateProcessingJob request for the preprocess or evaluate step. Throws InvalidConfigError for unresolvable inputs. */
export function processingJobRequest(input: StartJobInput & { step: 'preprocess' | 'evaluate' }, stage: StageSettings): CreateProcessingJobCommandInput {
  const { build, config, jobs, step, executionArn } = input;
  const settings: ProcessingStepConfig = step === 'preprocess' ? config.Preprocess : config.Evaluate;
  const section = step === 'preprocess' ? 'Preprocess' : 'Evaluate';
  const outputUris = processingOutputUris(step, settings.Outputs, build, stage);
  return {
    ProcessingJobName: jobName(build.repository, step, executionArn),
    RoleArn: stage.roleArn,
    AppSpecification: settings.AppSpecification,
    // InstanceType was checked against the stage's allowlist by parseMlopsConfig.
    ProcessingResources: { ClusterConfig: { ...settings.ProcessingResources.ClusterConfig, InstanceType: settings.ProcessingResources.ClusterConfig.InstanceType as ProcessingInstanceType } },
    StoppingCondition: stoppingCondition(settings.StoppingCondition, stage),
    Environment: settings.Environment,
    ProcessingInputs: [
      {
        InputName: 'code',
        S3Input: { S3Uri: build.sourcePrefix, LocalPath: PROCESSING_CODE_PATH, S3DataType: 'S3Prefix', S3InputMode: 'File' },
      },
      ...Object.entries(settings.Inputs).map(([name, source]) => ({
        InputName: name,
        S3Input: {
          S3Uri: resolveSource(source, jobs, stage, `${section}.Inputs.${name}`),
          LocalPath: `${PROCESSING_INPUT_ROOT}/${name}`,
          S3DataType: 'S3Prefix' as const,
          S3InputMode: 'File' as const,
        },
      })),
    ],
    ProcessingOutputConfig: {
      Outputs: settings.Outputs.map((name) => ({
        OutputName: name,
        S3Output: { S3Uri: outputUris[name]!, LocalPath: `${PROCESSING_OUTPUT_ROOT}/${name}`, S3UploadMode: 'EndOfJob' as const },
      })),
    },
    Tags: lineageTags(build, executionArn),
  };
}

/** CreateTrainingJob request for the train step. Throws InvalidConfigError for unresolvable channels. */
export function trainingJobRequest(input: StartJobInput, stage: StageSettings): CreateTrainingJobCommandInput {
  const { build, config, jobs, executionArn } = input;
  const train = config.Train;
  const hyperParameters: Record<string, string> = { ...train.HyperParameters };
  if (train.EntryPoint) {
    // SageMaker framework containers' script mode: JSON-encoded program and code archive.
    hyperParameters.sagemaker_program = JSON.stringify(train.EntryPoint);
    hyperParameters.sagemaker_submit_directory = JSON.stringify(build.sourceUri);
  }
  return {
    TrainingJobName: jobName(build.repository, 'train', executionArn),
    RoleArn: stage.roleArn,
    AlgorithmSpecification: train.AlgorithmSpecification,
    HyperParameters: hyperParameters,
    InputDataConfig: Object.entries(train.Channels).map(([name, source]) => ({
      ChannelName: name,
      ContentType: source.ContentType,
      DataSource: {
        S3DataSource: {
          S3DataType: 'S3Prefix' as const,
          S3Uri: resolveSource(source, jobs, stage, `Train.Channels.${name}`),
          S3DataDistributionType: 'FullyReplicated' as const,
        },
      },
    })),
    OutputDataConfig: { S3OutputPath: `${buildPrefix(stage.artifactsBucket, build.executionName)}train/` },
    ResourceConfig: { ...train.ResourceConfig, InstanceType: train.ResourceConfig.InstanceType as TrainingInstanceType },
    StoppingCondition: stoppingCondition(train.StoppingCondition, stage),
    Environment: train.Environment,
    Tags: lineageTags(build, executionArn),
  };
}
