import type {
  CreateHyperParameterTuningJobCommandInput,
  CreateModelCommandInput,
  CreateProcessingJobCommandInput,
  CreateTrainingJobCommandInput,
  CreateTransformJobCommandInput,
  ProcessingInstanceType,
  Tag,
  TrainingInstanceType,
  TransformInstanceType,
} from '@aws-sdk/client-sagemaker';

import { InvalidConfigError } from '../errors';
import type { StageIsolation } from '../isolation';
import { buildKeyPrefix } from '../naming';
import type { InputSource, JobStep, ProcessingStep, TrainingStep, TransformStep, TuningStep } from '../schemas/mlops-v2';
import { datasetKeyProblem, FOR_EACH_FROM_REF, FROM_REF } from '../schemas/patterns';
import type { Value } from '../schemas/pipeline-values';
import type { BuildContext, StepResult } from '../schemas/task-inputs';
import { type ItemContext, itemStepPath } from './for-each';
import { instanceCountIssue, instanceTypeIssue, runtimeIssue, volumeSizeIssue } from './stage-policy';
import { type ExecutionRoles, executionRoleArn } from './tenancy';
import { resolveInteger, resolveText, resolveValue, type ValueContext } from './values';

/**
 * Turns a job step of the pipeline (Processing, Training, Tuning, Transform) into the SageMaker Create*Job request, with every value
 * resolved for this run and checked against the stage policy. The role, the bucket and the output
 * locations come from the stage (`StageSettings`), never from the file. The job's name and tags are
 * left to the caller (the name depends on the attempt). Also says where each input comes from, for
 * the cache key (shared/pipeline/cache.ts).
 */

/** What the stage decides for every job. */
export interface StageSettings extends ExecutionRoles {
  /** `<service>-<stage>`: the start of every job name (naming.ts jobName). */
  stagePrefix: string;
  artifactsBucket: string;
  maxRuntimeSeconds: number;
  allowedInstanceTypes: readonly string[];
  maxInstanceCount: number;
  maxVolumeSizeInGB: number;
  /** Network isolation, VPC and KMS keys, applied to every job at creation (not part of its cache key). */
  isolation: StageIsolation;
}

/** Where the code is mounted in processing containers (SageMaker's usual /opt/ml/processing layout). */
export const PROCESSING_CODE_PATH = '/opt/ml/processing/input/code';
/** Where processing inputs are mounted (`<root>/<input name>`) and outputs uploaded from (`<root>/<output name>`). */
export const PROCESSING_INPUT_ROOT = '/opt/ml/processing/input';
export const PROCESSING_OUTPUT_ROOT = '/opt/ml/processing/output';

/** s3:// prefix under which a build keeps everything it produces: `builds/<repository key>/<execution>/`. */
export function buildPrefix(bucket: string, build: Pick<BuildContext, 'repository' | 'executionName'>): string {
  return `s3://${bucket}/${buildKeyPrefix(build.repository, build.executionName)}`;
}

/** Tag values allow letters, digits, spaces and `_.:/=+-@`; anything else becomes `_`. */
export function tagValue(value: string): string {
  return value.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_').slice(0, 256);
}

/** Lineage tags on every job, so a job in the console leads back to its commit, run and step. */
export function lineageTags(build: BuildContext, executionArn: string, step?: string): Tag[] {
  return [
    { Key: 'sluice:repository', Value: tagValue(build.repository) },
    { Key: 'sluice:branch', Value: tagValue(build.branch) },
    { Key: 'sluice:commit', Value: tagValue(build.commit) },
    { Key: 'sluice:execution', Value: tagValue(executionArn) },
    ...(step === undefined ? [] : [{ Key: 'sluice:step', Value: tagValue(step) }]),
  ];
}

/** Where one input of a job comes from: what the cache key hashes instead of the (run-specific) URI. */
export type InputOrigin =
  | { name: string; kind: 'dataset'; uri: string }
  | { name: string; kind: 'step'; uri: string; step: string; output: string; hash?: string }
  | { name: string; kind: 'code' };

/** A job request ready but for its name and tags, and its inputs' origins. */
export type ResolvedJob =
  | { kind: 'processing'; request: Omit<CreateProcessingJobCommandInput, 'ProcessingJobName' | 'Tags'>; inputs: InputOrigin[] }
  | { kind: 'training'; request: Omit<CreateTrainingJobCommandInput, 'TrainingJobName' | 'Tags'>; inputs: InputOrigin[] }
  | { kind: 'tuning'; request: Omit<CreateHyperParameterTuningJobCommandInput, 'HyperParameterTuningJobName' | 'Tags'>; inputs: InputOrigin[] }
  | {
      kind: 'transform';
      /** The model the job runs (CreateModel), created first. */
      model: Omit<CreateModelCommandInput, 'ModelName' | 'Tags'>;
      request: Omit<CreateTransformJobCommandInput, 'TransformJobName' | 'ModelName' | 'Tags'>;
      inputs: InputOrigin[];
    };

/** The URI of `<step>/<output>` in this run's results, and its content hash when known. */
export function fromOutput(from: string, steps: Record<string, StepResult>, field: string): { uri: string; step: string; output: string; hash?: string } {
  const [, step = '', output = ''] = FROM_REF.exec(from) ?? [];
  const result = Object.hasOwn(steps, step) ? steps[step] : undefined;
  if (result?.Type === 'Training' && output === 'model') return { uri: result.ModelArtifacts, step, output, hash: result.ModelArtifactsHash };
  if (result?.Type === 'Tuning' && output === 'model') return { uri: result.BestTrainingJob.ModelArtifacts, step, output, hash: result.BestTrainingJob.ModelArtifactsHash };
  if (result?.Type === 'Transform' && output === 'output') return { uri: result.Output, step, output, hash: result.OutputHash };
  if (result?.Type === 'Processing' && Object.hasOwn(result.Outputs, output)) return { uri: result.Outputs[output]!, step, output, hash: result.OutputHashes[output] };
  throw new InvalidConfigError(`${field}: "${from}" has no output in this run${result ? '' : ` (step "${step}" has not run)`}`);
}

/**
 * The URIs of `<ForEach>/<inner step>/<output>` for every item, in item order, with their content
 * hashes when known. Throws InvalidConfigError naming `field` when the ForEach has no results in
 * this run or an item's result lacks the output.
 */
export function forEachOutputs(from: string, steps: Record<string, StepResult>, field: string): { uri: string; step: string; output: string; hash?: string; index: number }[] {
  const [, forEach = '', inner = '', output = ''] = FOR_EACH_FROM_REF.exec(from) ?? [];
  const result = Object.hasOwn(steps, forEach) ? steps[forEach] : undefined;
  if (result?.Type !== 'ForEach' || !result.Results) throw new InvalidConfigError(`${field}: "${from}" has no output in this run (ForEach "${forEach}" has ${result ? 'no results' : 'not run'})`);
  return result.Results.map((items, index) => {
    const found = fromOutput(`${inner}/${output}`, items, `${field} (item ${index})`);
    return { ...found, step: `${forEach}/${index}/${inner}`, index };
  });
}

/** The field path of a step's settings: `Steps.<step>`, or `Steps.<ForEach>.Steps.<step>` inside a ForEach. */
function fieldOf(step: string, item: ItemContext | undefined): string {
  return item === undefined ? `Steps.${step}` : `Steps.${item.forEach}.Steps.${step}`;
}

async function resolveSource(name: string, source: InputSource, ctx: ValueContext, stage: StageSettings, field: string): Promise<InputOrigin & { uri: string }> {
  if ('From' in source) return { name, kind: 'step', ...fromOutput(source.From, ctx.steps, `${field}.From`) };
  const key = await resolveText(source.Dataset, ctx, `${field}.Dataset`);
  const problem = datasetKeyProblem(key);
  if (problem) throw new InvalidConfigError(`${field}.Dataset: "${key}" ${problem}`);
  return { name, kind: 'dataset', uri: `s3://${stage.artifactsBucket}/datasets/${key}` };
}

/** Resolves and checks the fields every job has: instance type, count, volume, runtime. Throws InvalidConfigError. */
async function resources(
  at: string,
  settings: { InstanceType: Value; InstanceCount: Value; VolumeSizeInGB: Value },
  runtime: Value | undefined,
  ctx: ValueContext,
  stage: StageSettings,
): Promise<{ InstanceType: string; InstanceCount: number; VolumeSizeInGB: number; MaxRuntimeInSeconds: number }> {
  const InstanceType = await resolveText(settings.InstanceType, ctx, `${at}.InstanceType`);
  const InstanceCount = await resolveInteger(settings.InstanceCount, ctx, `${at}.InstanceCount`);
  const VolumeSizeInGB = await resolveInteger(settings.VolumeSizeInGB, ctx, `${at}.VolumeSizeInGB`);
  const runtimeField = at.replace(/\.(ProcessingResources\.ClusterConfig|ResourceConfig)$/, '.StoppingCondition.MaxRuntimeInSeconds');
  const MaxRuntimeInSeconds = runtime === undefined ? stage.maxRuntimeSeconds : await resolveInteger(runtime, ctx, runtimeField);
  const issues = [
    instanceTypeIssue(`${at}.InstanceType`, InstanceType, stage),
    runtimeIssue(runtimeField, MaxRuntimeInSeconds, stage),
    InstanceCount < 1 ? `${at}.InstanceCount: must be at least 1, got ${InstanceCount}` : instanceCountIssue(`${at}.InstanceCount`, InstanceCount, stage),
    VolumeSizeInGB < 1 ? `${at}.VolumeSizeInGB: must be at least 1, got ${VolumeSizeInGB}` : volumeSizeIssue(`${at}.VolumeSizeInGB`, VolumeSizeInGB, stage),
    MaxRuntimeInSeconds < 1 ? `${runtimeField}: must be at least 1, got ${MaxRuntimeInSeconds}` : undefined,
  ].filter((issue): issue is string => issue !== undefined);
  if (issues.length > 0) throw new InvalidConfigError(issues.join('; '));
  return { InstanceType, InstanceCount, VolumeSizeInGB, MaxRuntimeInSeconds };
}

async function environment(env: Record<string, Value> | undefined, ctx: ValueContext, field: string): Promise<Record<string, string> | undefined> {
  if (!env) return undefined;
  const entries = await Promise.all(Object.entries(env).map(async ([key, value]) => [key, await resolveText(value, ctx, `${field}.${key}`)] as const));
  return Object.fromEntries(entries);
}

async function texts(values: readonly Value[] | undefined, ctx: ValueContext, field: string): Promise<string[] | undefined> {
  if (!values) return undefined;
  return Promise.all(values.map((value, index) => resolveText(value, ctx, `${field}[${index}]`)));
}

/** The output URIs a processing step writes to, by output name: `builds/<repository key>/<execution>/<step>/<output>/`. */
export function processingOutputUris(step: string, outputs: readonly string[], build: BuildContext, bucket: string): Record<string, string> {
  const prefix = buildPrefix(bucket, build);
  return Object.fromEntries(outputs.map((name) => [name, `${prefix}${step}/${name}/`]));
}

/**
 * A processing step's inputs: one per source, mounted at `/opt/ml/processing/input/<name>`; a
 * `<ForEach>/<inner step>/<output>` source gives one per item, `<name>-<index>` at `<name>/<index>`.
 */
async function processingInputs(spec: ProcessingStep, ctx: ValueContext, stage: StageSettings, at: string): Promise<(InputOrigin & { uri: string; localPath: string })[]> {
  const perSource = await Promise.all(
    Object.entries(spec.Inputs).map(async ([name, source]) => {
      const field = `${at}.Inputs.${name}`;
      if ('From' in source && FOR_EACH_FROM_REF.test(source.From)) {
        return forEachOutputs(source.From, ctx.steps, `${field}.From`).map(({ index, ...found }) => ({ name: `${name}-${index}`, kind: 'step' as const, ...found, localPath: `${PROCESSING_INPUT_ROOT}/${name}/${index}` }));
      }
      return [{ ...(await resolveSource(name, source, ctx, stage, field)), localPath: `${PROCESSING_INPUT_ROOT}/${name}` }];
    }),
  );
  return perSource.flat();
}

async function processingJob(step: string, spec: ProcessingStep, build: BuildContext, ctx: ValueContext, stage: StageSettings): Promise<ResolvedJob> {
  const at = fieldOf(step, ctx.item);
  const cluster = await resources(`${at}.ProcessingResources.ClusterConfig`, spec.ProcessingResources.ClusterConfig, spec.StoppingCondition?.MaxRuntimeInSeconds, ctx, stage);
  const inputs = await processingInputs(spec, ctx, stage, at);
  const outputUris = processingOutputUris(itemStepPath(step, ctx.item), spec.Outputs, build, stage.artifactsBucket);
  const app = spec.AppSpecification;
  return {
    kind: 'processing',
    inputs: [{ name: 'code', kind: 'code' }, ...inputs.map(({ localPath: _localPath, ...origin }) => origin)],
    request: {
      RoleArn: executionRoleArn(build.repository, stage),
      AppSpecification: {
        ImageUri: await resolveText(app.ImageUri, ctx, `${at}.AppSpecification.ImageUri`),
        ContainerEntrypoint: await texts(app.ContainerEntrypoint, ctx, `${at}.AppSpecification.ContainerEntrypoint`),
        ContainerArguments: await texts(app.ContainerArguments, ctx, `${at}.AppSpecification.ContainerArguments`),
      },
      ProcessingResources: {
        ClusterConfig: { InstanceType: cluster.InstanceType as ProcessingInstanceType, InstanceCount: cluster.InstanceCount, VolumeSizeInGB: cluster.VolumeSizeInGB },
      },
      StoppingCondition: { MaxRuntimeInSeconds: cluster.MaxRuntimeInSeconds },
      Environment: await environment(spec.Environment, ctx, `${at}.Environment`),
      ProcessingInputs: [
        { InputName: 'code', S3Input: { S3Uri: build.sourcePrefix, LocalPath: PROCESSING_CODE_PATH, S3DataType: 'S3Prefix', S3InputMode: 'File' } },
        ...inputs.map((input) => ({
          InputName: input.name,
          S3Input: { S3Uri: input.uri, LocalPath: input.localPath, S3DataType: 'S3Prefix' as const, S3InputMode: 'File' as const },
        })),
      ],
      ProcessingOutputConfig: {
        Outputs: spec.Outputs.map((name) => ({
          OutputName: name,
          S3Output: { S3Uri: outputUris[name]!, LocalPath: `${PROCESSING_OUTPUT_ROOT}/${name}`, S3UploadMode: 'EndOfJob' as const },
        })),
      },
    },
  };
}

/** What a Training step and a Tuning step's TrainingJobDefinition both say. */
type TrainingDefinition = Pick<TrainingStep, 'AlgorithmSpecification' | 'ResourceConfig' | 'StoppingCondition' | 'Environment' | 'EntryPoint' | 'Channels'>;

/**
 * The request fields of a training definition at `at` (a Training step's job, or a Tuning step's
 * TrainingJobDefinition) but its hyperparameters, these as text (from `hyperParametersField`), and
 * its inputs' origins. Throws InvalidConfigError naming the field.
 */
async function trainingDefinition(
  at: string,
  definition: TrainingDefinition,
  hyperParametersField: 'HyperParameters' | 'StaticHyperParameters',
  hyperParameters: Record<string, Value>,
  step: string,
  build: BuildContext,
  ctx: ValueContext,
  stage: StageSettings,
) {
  const resourceConfig = await resources(`${at}.ResourceConfig`, definition.ResourceConfig, definition.StoppingCondition?.MaxRuntimeInSeconds, ctx, stage);
  const channels = await Promise.all(Object.entries(definition.Channels).map(async ([name, source]) => ({ source, origin: await resolveSource(name, source, ctx, stage, `${at}.Channels.${name}`) })));
  const fields = {
    RoleArn: executionRoleArn(build.repository, stage),
    AlgorithmSpecification: { ...definition.AlgorithmSpecification, TrainingImage: await resolveText(definition.AlgorithmSpecification.TrainingImage, ctx, `${at}.AlgorithmSpecification.TrainingImage`) },
    InputDataConfig: channels.map(({ source, origin }) => ({
      ChannelName: origin.name,
      ContentType: source.ContentType,
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix' as const, S3Uri: origin.uri, S3DataDistributionType: 'FullyReplicated' as const } },
    })),
    OutputDataConfig: { S3OutputPath: `${buildPrefix(stage.artifactsBucket, build)}${itemStepPath(step, ctx.item)}/` },
    ResourceConfig: { InstanceType: resourceConfig.InstanceType as TrainingInstanceType, InstanceCount: resourceConfig.InstanceCount, VolumeSizeInGB: resourceConfig.VolumeSizeInGB },
    StoppingCondition: { MaxRuntimeInSeconds: resourceConfig.MaxRuntimeInSeconds },
    Environment: await environment(definition.Environment, ctx, `${at}.Environment`),
  };
  const texts = await hyperParameterTexts(hyperParameters, definition.EntryPoint, build, ctx, `${at}.${hyperParametersField}`);
  const inputs: InputOrigin[] = [{ name: 'code', kind: 'code' }, ...channels.map(({ origin }) => origin)];
  return { fields, hyperParameters: texts, inputs };
}

async function trainingJob(step: string, spec: TrainingStep, build: BuildContext, ctx: ValueContext, stage: StageSettings): Promise<ResolvedJob> {
  const { fields, hyperParameters, inputs } = await trainingDefinition(fieldOf(step, ctx.item), spec, 'HyperParameters', spec.HyperParameters, step, build, ctx, stage);
  return { kind: 'training', inputs, request: { ...fields, HyperParameters: hyperParameters } };
}

/** The hyperparameters of a training definition as SageMaker takes them (text), with script mode's two when EntryPoint is set. */
async function hyperParameterTexts(values: Record<string, Value>, entryPoint: string | undefined, build: BuildContext, ctx: ValueContext, field: string): Promise<Record<string, string>> {
  const texts: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) texts[key] = String(await resolveValue(value, ctx, `${field}.${key}`));
  if (entryPoint) {
    // SageMaker framework containers' script mode: JSON-encoded program and code archive.
    texts.sagemaker_program = JSON.stringify(entryPoint);
    texts.sagemaker_submit_directory = JSON.stringify(build.sourceUri);
  }
  return texts;
}

/** A range bound as SageMaker takes it (text of a finite number; an integer for IntegerParameterRanges). Throws InvalidConfigError. */
async function rangeBound(value: Value, integer: boolean, ctx: ValueContext, field: string): Promise<{ text: string; number: number }> {
  const resolved = await resolveValue(value, ctx, field);
  const number = typeof resolved === 'number' ? resolved : typeof resolved === 'string' && resolved.trim() !== '' ? Number(resolved) : Number.NaN;
  if (!Number.isFinite(number)) throw new InvalidConfigError(`${field}: needs a number, got ${JSON.stringify(resolved)}`);
  if (integer && !Number.isInteger(number)) throw new InvalidConfigError(`${field}: an IntegerParameterRanges bound must be an integer, got ${number}`);
  return { text: String(number), number };
}

async function tuningJob(step: string, spec: TuningStep, build: BuildContext, ctx: ValueContext, stage: StageSettings): Promise<ResolvedJob> {
  const at = fieldOf(step, ctx.item);
  const def = `${at}.TrainingJobDefinition`;
  const definition = spec.TrainingJobDefinition;
  const config = spec.HyperParameterTuningJobConfig;
  const cfg = `${at}.HyperParameterTuningJobConfig`;
  const numeric = async (kind: 'IntegerParameterRanges' | 'ContinuousParameterRanges') =>
    Promise.all(
      config.ParameterRanges[kind].map(async (range, index) => {
        const field = `${cfg}.ParameterRanges.${kind}[${index}]`;
        const min = await rangeBound(range.MinValue, kind === 'IntegerParameterRanges', ctx, `${field}.MinValue`);
        const max = await rangeBound(range.MaxValue, kind === 'IntegerParameterRanges', ctx, `${field}.MaxValue`);
        if (min.number > max.number) throw new InvalidConfigError(`${field}: MinValue ${min.text} is greater than MaxValue ${max.text}`);
        if (range.ScalingType === 'Logarithmic' && min.number <= 0) throw new InvalidConfigError(`${field}.MinValue: Logarithmic scaling needs values above 0, got ${min.text}`);
        if (range.ScalingType === 'ReverseLogarithmic' && (min.number < 0 || max.number >= 1)) throw new InvalidConfigError(`${field}: ReverseLogarithmic scaling needs 0 <= values < 1, got ${min.text}..${max.text}`);
        return { Name: range.Name, MinValue: min.text, MaxValue: max.text, ScalingType: range.ScalingType };
      }),
    );
  const limit = async (value: Value | undefined, field: string) => (value === undefined ? undefined : resolveInteger(value, ctx, field));
  const maxJobs = await limit(config.ResourceLimits.MaxNumberOfTrainingJobs, `${cfg}.ResourceLimits.MaxNumberOfTrainingJobs`);
  const maxParallel = await resolveInteger(config.ResourceLimits.MaxParallelTrainingJobs, ctx, `${cfg}.ResourceLimits.MaxParallelTrainingJobs`);
  if (maxParallel < 1) throw new InvalidConfigError(`${cfg}.ResourceLimits.MaxParallelTrainingJobs: must be at least 1, got ${maxParallel}`);
  if (maxJobs !== undefined && maxJobs < 1) throw new InvalidConfigError(`${cfg}.ResourceLimits.MaxNumberOfTrainingJobs: must be at least 1, got ${maxJobs}`);
  // The whole tuning job within the stage's runtime cap: the step's task waits at most that long (plus queueing).
  const runtimeField = `${cfg}.ResourceLimits.MaxRuntimeInSeconds`;
  const maxRuntime = (await limit(config.ResourceLimits.MaxRuntimeInSeconds, runtimeField)) ?? stage.maxRuntimeSeconds;
  const runtimeProblem = maxRuntime < 120 ? `${runtimeField}: must be at least 120, got ${maxRuntime}` : runtimeIssue(runtimeField, maxRuntime, stage);
  if (runtimeProblem) throw new InvalidConfigError(runtimeProblem);
  const training = await trainingDefinition(def, definition, 'StaticHyperParameters', definition.StaticHyperParameters, step, build, ctx, stage);
  return {
    kind: 'tuning',
    inputs: training.inputs,
    request: {
      HyperParameterTuningJobConfig: {
        Strategy: config.Strategy,
        HyperParameterTuningJobObjective: config.HyperParameterTuningJobObjective,
        ResourceLimits: { ...(maxJobs === undefined ? {} : { MaxNumberOfTrainingJobs: maxJobs }), MaxParallelTrainingJobs: maxParallel, MaxRuntimeInSeconds: maxRuntime },
        ParameterRanges: {
          IntegerParameterRanges: await numeric('IntegerParameterRanges'),
          ContinuousParameterRanges: await numeric('ContinuousParameterRanges'),
          CategoricalParameterRanges: config.ParameterRanges.CategoricalParameterRanges.map((range) => ({ Name: range.Name, Values: range.Values })),
        },
        TrainingJobEarlyStoppingType: config.TrainingJobEarlyStoppingType,
        ...(config.RandomSeed === undefined ? {} : { RandomSeed: config.RandomSeed }),
      },
      TrainingJobDefinition: { ...training.fields, StaticHyperParameters: training.hyperParameters },
    },
  };
}

/** The output prefix of a Transform step: `builds/<repository key>/<execution>/<step>/output/`. */
export function transformOutputUri(step: string, build: Pick<BuildContext, 'repository' | 'executionName'>, bucket: string): string {
  return `${buildPrefix(bucket, build)}${step}/output/`;
}

async function transformJob(step: string, spec: TransformStep, build: BuildContext, ctx: ValueContext, stage: StageSettings): Promise<ResolvedJob> {
  const at = fieldOf(step, ctx.item);
  const model = fromOutput(spec.Model.ModelData.From, ctx.steps, `${at}.Model.ModelData.From`);
  const data = await resolveSource('input', spec.TransformInput.DataSource, ctx, stage, `${at}.TransformInput.DataSource`);
  const InstanceType = await resolveText(spec.TransformResources.InstanceType, ctx, `${at}.TransformResources.InstanceType`);
  const InstanceCount = await resolveInteger(spec.TransformResources.InstanceCount, ctx, `${at}.TransformResources.InstanceCount`);
  const optionalInteger = async (value: Value | undefined, field: string, min: number, max: number) => {
    if (value === undefined) return undefined;
    const resolved = await resolveInteger(value, ctx, field);
    if (resolved < min || resolved > max) throw new InvalidConfigError(`${field}: must be between ${min} and ${max}, got ${resolved}`);
    return resolved;
  };
  const MaxPayloadInMB = await optionalInteger(spec.MaxPayloadInMB, `${at}.MaxPayloadInMB`, 0, 100);
  const MaxConcurrentTransforms = await optionalInteger(spec.MaxConcurrentTransforms, `${at}.MaxConcurrentTransforms`, 0, 1000);
  const issues = [
    instanceTypeIssue(`${at}.TransformResources.InstanceType`, InstanceType, stage),
    InstanceCount < 1 ? `${at}.TransformResources.InstanceCount: must be at least 1, got ${InstanceCount}` : instanceCountIssue(`${at}.TransformResources.InstanceCount`, InstanceCount, stage),
  ].filter((issue): issue is string => issue !== undefined);
  if (issues.length > 0) throw new InvalidConfigError(issues.join('; '));
  const input = spec.TransformInput;
  return {
    kind: 'transform',
    inputs: [{ name: 'model', kind: 'step', uri: model.uri, step: model.step, output: model.output, hash: model.hash }, data],
    model: {
      ExecutionRoleArn: executionRoleArn(build.repository, stage),
      PrimaryContainer: {
        Image: await resolveText(spec.Model.Image, ctx, `${at}.Model.Image`),
        ModelDataUrl: model.uri,
        Environment: await environment(spec.Model.Environment, ctx, `${at}.Model.Environment`),
      },
    },
    request: {
      TransformInput: {
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: data.uri } },
        ContentType: input.ContentType,
        SplitType: input.SplitType,
        CompressionType: input.CompressionType,
      },
      TransformOutput: { S3OutputPath: transformOutputUri(itemStepPath(step, ctx.item), build, stage.artifactsBucket), Accept: spec.TransformOutput.Accept, AssembleWith: spec.TransformOutput.AssembleWith },
      TransformResources: { InstanceType: InstanceType as TransformInstanceType, InstanceCount },
      BatchStrategy: spec.BatchStrategy,
      MaxPayloadInMB,
      MaxConcurrentTransforms,
      ...(spec.DataProcessing ? { DataProcessing: spec.DataProcessing } : {}),
      Environment: await environment(spec.Environment, ctx, `${at}.Environment`),
    },
  };
}

/**
 * The Create*Job request of a job step for this run. Throws InvalidConfigError naming the field
 * when a value cannot be resolved or breaks the stage policy, MetricNotFoundError when a report
 * value is missing.
 */
export async function resolveJob(step: string, spec: JobStep, build: BuildContext, ctx: ValueContext, stage: StageSettings): Promise<ResolvedJob> {
  switch (spec.Type) {
    case 'Processing':
      return processingJob(step, spec, build, ctx, stage);
    case 'Training':
      return trainingJob(step, spec, build, ctx, stage);
    case 'Tuning':
      return tuningJob(step, spec, build, ctx, stage);
    case 'Transform':
      return transformJob(step, spec, build, ctx, stage);
  }
}
