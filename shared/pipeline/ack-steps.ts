import { InvalidConfigError } from '../errors';
import { type AckConversion, type AckKind, ackFieldName, isObject, parseAckManifest } from './ack-manifests';
import { PROCESSING_INPUT_ROOT, PROCESSING_OUTPUT_ROOT } from './job-requests';

/**
 * ACK manifests as pipeline steps. A step of mlops.yaml Version 2 may name a manifest of the ACK
 * SageMaker controller instead of spelling its job out:
 *
 *   train: { Type: Training, Manifest: k8s/train.yaml, Channels: { train: { From: split/train } } }
 *
 * At push the manifest (read from the same commit) is converted to its SageMaker request
 * (ack-manifests.ts: stage-owned fields ignored with a warning, VPC and KMS keys refused) and the
 * request to the fields of the step type (Processing ← ProcessingJob, Training ← TrainingJob,
 * Tuning ← HyperParameterTuningJob, Transform ← TransformJob, RegisterModel ← ModelPackage). The
 * fields written beside `Manifest` are then laid over them, object by object (mlops.yaml wins): that
 * is how a step wires its inputs to datasets and other steps' outputs, and how it adds what Sluice
 * needs and a manifest does not say (e.g. MetricDefinitions of a built-in algorithm). The result is
 * an ordinary step, checked by the schema, the graph and the stage policy like any other.
 *
 * Rules a manifest meets here, each refused with a message naming the manifest's field:
 * - every S3 input the manifest reads (processing inputs, channels, the transform's data, a model
 *   package's model data) must be wired in mlops.yaml by its name: a repository never chooses a
 *   bucket, so the manifest's `s3URI` is not used;
 * - processing paths follow Sluice's layout: input `<name>` at /opt/ml/processing/input/<name>,
 *   output `<name>` from /opt/ml/processing/output/<name>;
 * - request fields no Sluice step models (debugger, profiler, checkpoints, spot training,
 *   experiments, warm start…) are refused rather than silently dropped; `retryStrategy` is ignored
 *   with a warning (the step's RetryPolicies retry it).
 * Pure: the caller reads the files (start-build.ts reads them at the pushed commit).
 */

/** A manifest file's text by its path in the repository; undefined when the commit has no such file. */
export type ManifestFiles = Readonly<Record<string, string | undefined>>;

/** The ACK kind each step type takes. */
const KIND_OF_STEP: Readonly<Record<string, AckKind>> = {
  Processing: 'ProcessingJob',
  Training: 'TrainingJob',
  Tuning: 'HyperParameterTuningJob',
  Transform: 'TransformJob',
  RegisterModel: 'ModelPackage',
};

/** A path inside the repository: relative, no `..`, no empty segment. */
const MANIFEST_PATH = /^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._/-]{1,1024}$/;

type Json = Record<string, unknown>;

/** Where manifest steps can sit: the top-level Steps, and the Steps of a ForEach step. */
function stepTables(document: unknown): { at: string; steps: Json }[] {
  if (!isObject(document) || !isObject(document.Steps)) return [];
  const tables = [{ at: 'Steps', steps: document.Steps }];
  for (const [name, step] of Object.entries(document.Steps)) {
    if (isObject(step) && step.Type === 'ForEach' && isObject(step.Steps)) tables.push({ at: `Steps.${name}.Steps`, steps: step.Steps });
  }
  return tables;
}

/**
 * The manifests a parsed mlops.yaml names (`Steps.<step>.Manifest`, also inside a ForEach's Steps),
 * as written; a value that is not a repository path is left to {@link expandManifestSteps} to refuse. Pure.
 */
export function manifestPaths(document: unknown): string[] {
  const paths = new Set<string>();
  for (const { steps } of stepTables(document)) {
    for (const step of Object.values(steps)) if (isObject(step) && typeof step.Manifest === 'string' && MANIFEST_PATH.test(step.Manifest)) paths.add(step.Manifest);
  }
  return [...paths].sort();
}

/** What a conversion found beyond the step itself. */
interface Findings {
  issues: string[];
  warnings: string[];
}

/** Lays `over` on `base`: objects merged key by key, anything else replaced. Pure. */
function overlay(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over;
  const merged: Json = { ...base };
  for (const [key, value] of Object.entries(over)) merged[key] = Object.hasOwn(base, key) ? overlay(base[key], value) : value;
  return merged;
}

/** `spec.<ack path>` of an API path, for messages: `ProcessingInputs[0].S3Input.LocalPath` → `spec.processingInputs[0].s3Input.localPath`. */
function ackPath(apiPath: string): string {
  return `spec.${apiPath.replace(/[A-Za-z0-9]+/g, (part) => ackFieldName(part))}`;
}

/** Refuses the members of `value` outside `handled`, except `ignored` ones (a warning each). */
function onlyHandled(value: Json | undefined, apiAt: string, handled: readonly string[], ignored: Readonly<Record<string, string>>, found: Findings, stepType: string): void {
  for (const [member, item] of Object.entries(value ?? {})) {
    if (handled.includes(member) || item === undefined) continue;
    const path = ackPath(apiAt === '' ? member : `${apiAt}.${member}`);
    if (Object.hasOwn(ignored, member)) found.warnings.push(`${path} is ignored: ${ignored[member]}`);
    else found.issues.push(`${path}: a ${stepType} step has no equivalent; remove it from the manifest`);
  }
}

function pick(value: Json | undefined, members: readonly string[]): Json {
  return Object.fromEntries(members.filter((member) => value?.[member] !== undefined).map((member) => [member, value![member]]));
}

function samePath(a: unknown, b: string): boolean {
  return typeof a === 'string' && a.replace(/\/+$/, '') === b;
}

const RETRY_IGNORED = { RetryStrategy: 'the step\'s RetryPolicies decide retries' };

function processingStep(request: Json, found: Findings): { step: Json; inputs: string[] } {
  onlyHandled(request, '', ['AppSpecification', 'ProcessingResources', 'StoppingCondition', 'Environment', 'ProcessingInputs', 'ProcessingOutputConfig', 'NetworkConfig'], {}, found, 'Processing');
  const app = request.AppSpecification as Json | undefined;
  onlyHandled(app, 'AppSpecification', ['ImageUri', 'ContainerEntrypoint', 'ContainerArguments'], {}, found, 'Processing');
  const inputs: string[] = [];
  ((request.ProcessingInputs as Json[] | undefined) ?? []).forEach((input, index) => {
    const at = `ProcessingInputs[${index}]`;
    const name = String(input.InputName);
    const s3 = input.S3Input as Json | undefined;
    if (!s3) return found.issues.push(`${ackPath(`${at}.S3Input`)}: required (Sluice inputs are S3 prefixes)`);
    if (!samePath(s3.LocalPath, `${PROCESSING_INPUT_ROOT}/${name}`)) {
      found.issues.push(`${ackPath(`${at}.S3Input.LocalPath`)}: Sluice mounts input "${name}" at ${PROCESSING_INPUT_ROOT}/${name}, not ${String(s3.LocalPath)}; change the path (and where the container reads it)`);
    }
    if (s3.S3InputMode !== undefined && s3.S3InputMode !== 'File') found.issues.push(`${ackPath(`${at}.S3Input.S3InputMode`)}: Sluice mounts inputs in File mode`);
    if (s3.S3DataType !== undefined && s3.S3DataType !== 'S3Prefix') found.issues.push(`${ackPath(`${at}.S3Input.S3DataType`)}: Sluice inputs are S3 prefixes (S3Prefix)`);
    inputs.push(name);
  });
  const outputs = (((request.ProcessingOutputConfig as Json | undefined)?.Outputs as Json[] | undefined) ?? []).map((output, index) => {
    const name = String(output.OutputName);
    const local = (output.S3Output as Json | undefined)?.LocalPath;
    if (!samePath(local, `${PROCESSING_OUTPUT_ROOT}/${name}`)) {
      found.issues.push(`${ackPath(`ProcessingOutputConfig.Outputs[${index}].S3Output.LocalPath`)}: Sluice uploads output "${name}" from ${PROCESSING_OUTPUT_ROOT}/${name}, not ${String(local)}; change the path (and where the container writes it)`);
    }
    return name;
  });
  return {
    step: {
      AppSpecification: pick(app, ['ImageUri', 'ContainerEntrypoint', 'ContainerArguments']),
      ...(request.ProcessingResources ? { ProcessingResources: { ClusterConfig: pick((request.ProcessingResources as Json).ClusterConfig as Json, ['InstanceType', 'InstanceCount', 'VolumeSizeInGB']) } } : {}),
      ...stoppingCondition(request),
      ...pick(request, ['Environment']),
      ...(outputs.length > 0 ? { Outputs: outputs } : {}),
    },
    inputs,
  };
}

function stoppingCondition(request: Json): Json {
  const stopping = request.StoppingCondition as Json | undefined;
  return stopping?.MaxRuntimeInSeconds === undefined ? {} : { StoppingCondition: { MaxRuntimeInSeconds: stopping.MaxRuntimeInSeconds } };
}

/** A training job's (or a tuning job's training definition's) fields, as the Training step spells them. */
function trainingFields(definition: Json, apiAt: string, hyperParameters: 'HyperParameters' | 'StaticHyperParameters', found: Findings, stepType: string): { fields: Json; channels: Record<string, Json> } {
  const own = [hyperParameters, 'AlgorithmSpecification', 'ResourceConfig', 'StoppingCondition', 'Environment', 'InputDataConfig', 'OutputDataConfig'];
  onlyHandled(definition, apiAt, own, RETRY_IGNORED, found, stepType);
  const algorithm = definition.AlgorithmSpecification as Json | undefined;
  onlyHandled(algorithm, `${apiAt ? `${apiAt}.` : ''}AlgorithmSpecification`, ['TrainingImage', 'TrainingInputMode', 'MetricDefinitions'], {}, found, stepType);
  const channels: Record<string, Json> = {};
  for (const channel of (definition.InputDataConfig as Json[] | undefined) ?? []) {
    channels[String(channel.ChannelName)] = channel.ContentType === undefined ? {} : { ContentType: channel.ContentType };
  }
  const resources = definition.ResourceConfig as Json | undefined;
  return {
    fields: {
      AlgorithmSpecification: pick(algorithm, ['TrainingImage', 'TrainingInputMode', 'MetricDefinitions']),
      ...(definition[hyperParameters] === undefined ? {} : { [hyperParameters]: definition[hyperParameters] }),
      ...(resources ? { ResourceConfig: pick(resources, ['InstanceType', 'InstanceCount', 'VolumeSizeInGB']) } : {}),
      ...stoppingCondition(definition),
      ...pick(definition, ['Environment']),
    },
    channels,
  };
}

function tuningStep(request: Json, found: Findings): { fields: Json; channels: Record<string, Json> } {
  onlyHandled(request, '', ['HyperParameterTuningJobConfig', 'TrainingJobDefinition'], {}, found, 'Tuning');
  const config = (request.HyperParameterTuningJobConfig as Json | undefined) ?? {};
  onlyHandled(config, 'HyperParameterTuningJobConfig', ['Strategy', 'HyperParameterTuningJobObjective', 'ResourceLimits', 'ParameterRanges', 'TrainingJobEarlyStoppingType', 'RandomSeed'], {}, found, 'Tuning');
  const ranges = (config.ParameterRanges as Json | undefined) ?? {};
  // Empty lists (as ACK's samples write them) say nothing.
  const parameterRanges = Object.fromEntries(Object.entries(ranges).filter(([, list]) => !Array.isArray(list) || list.length > 0));
  const training = trainingFields((request.TrainingJobDefinition as Json | undefined) ?? {}, 'TrainingJobDefinition', 'StaticHyperParameters', found, 'Tuning');
  return {
    fields: {
      HyperParameterTuningJobConfig: { ...pick(config, ['Strategy', 'HyperParameterTuningJobObjective', 'ResourceLimits', 'TrainingJobEarlyStoppingType', 'RandomSeed']), ParameterRanges: parameterRanges },
      TrainingJobDefinition: training.fields,
    },
    channels: training.channels,
  };
}

function transformStep(request: Json, found: Findings): Json {
  onlyHandled(request, '', ['TransformInput', 'TransformOutput', 'TransformResources', 'BatchStrategy', 'MaxPayloadInMB', 'MaxConcurrentTransforms', 'Environment', 'DataProcessing'], {}, found, 'Transform');
  const input = (request.TransformInput as Json | undefined) ?? {};
  onlyHandled(input, 'TransformInput', ['DataSource', 'ContentType', 'SplitType', 'CompressionType'], {}, found, 'Transform');
  return {
    TransformInput: pick(input, ['ContentType', 'SplitType', 'CompressionType']),
    ...(request.TransformOutput ? { TransformOutput: pick(request.TransformOutput as Json, ['Accept', 'AssembleWith']) } : {}),
    ...(request.TransformResources ? { TransformResources: pick(request.TransformResources as Json, ['InstanceType', 'InstanceCount']) } : {}),
    ...pick(request, ['BatchStrategy', 'MaxPayloadInMB', 'MaxConcurrentTransforms', 'Environment']),
    ...(request.DataProcessing ? { DataProcessing: pick(request.DataProcessing as Json, ['InputFilter', 'OutputFilter', 'JoinSource']) } : {}),
  };
}

function registerModelStep(request: Json, found: Findings): Json {
  onlyHandled(request, '', ['InferenceSpecification', 'ModelPackageDescription', 'ModelApprovalStatus', 'ModelPackageGroupName'], {}, found, 'RegisterModel');
  const inference = (request.InferenceSpecification as Json | undefined) ?? {};
  onlyHandled(inference, 'InferenceSpecification', ['Containers', 'SupportedContentTypes', 'SupportedResponseMIMETypes', 'SupportedRealtimeInferenceInstanceTypes', 'SupportedTransformInstanceTypes'], {}, found, 'RegisterModel');
  const containers = (inference.Containers as Json[] | undefined) ?? [];
  if (containers.length > 1) found.issues.push(`${ackPath('InferenceSpecification.Containers')}: a RegisterModel step registers one container, the manifest has ${containers.length}`);
  const container = containers[0] ?? {};
  onlyHandled(container, 'InferenceSpecification.Containers[0]', ['Image', 'Environment', 'ModelDataUrl'], {}, found, 'RegisterModel');
  return {
    InferenceSpecification: {
      ...pick(container, ['Image', 'Environment']),
      ...pick(inference, ['SupportedContentTypes', 'SupportedResponseMIMETypes', 'SupportedRealtimeInferenceInstanceTypes', 'SupportedTransformInstanceTypes']),
    },
    ...pick(request, ['ModelPackageDescription', 'ModelApprovalStatus', 'ModelPackageGroupName']),
  };
}

/** Names among `needed` that `wired` (the merged step's Inputs or Channels) does not take from a dataset or a step. */
function unwired(needed: readonly string[], wired: unknown): string[] {
  return needed.filter((name) => {
    const source = isObject(wired) ? wired[name] : undefined;
    return !isObject(source) || (source.Dataset === undefined && source.From === undefined);
  });
}

/** The step a manifest step stands for. Adds to `found`; the caller refuses the file when issues were found. */
function expandStep(at: string, step: Json, files: ManifestFiles, found: Findings): Json | undefined {
  const { Manifest: file, ...written } = step;
  const type = typeof step.Type === 'string' ? step.Type : undefined;
  const kind = type === undefined ? undefined : KIND_OF_STEP[type];
  if (typeof file !== 'string' || !MANIFEST_PATH.test(file)) {
    found.issues.push(`${at}.Manifest: must be the path of a manifest file in the repository (relative, no ".."), got ${JSON.stringify(file)}`);
    return undefined;
  }
  if (kind === undefined) {
    found.issues.push(`${at}.Manifest: a ${type ?? 'step without a Type'} cannot be given as a manifest (only ${Object.keys(KIND_OF_STEP).join(', ')} steps)`);
    return undefined;
  }
  const text = Object.hasOwn(files, file) ? files[file] : undefined;
  if (text === undefined) {
    found.issues.push(`${at}.Manifest: ${file} is not in this commit`);
    return undefined;
  }
  let conversion: AckConversion;
  try {
    conversion = parseAckManifest(text, file);
  } catch (error) {
    if (!(error instanceof InvalidConfigError)) throw error;
    found.issues.push(`${at}.Manifest: ${error.message}`);
    return undefined;
  }
  if (conversion.kind !== kind) {
    found.issues.push(`${at}.Manifest: ${file} is a ${conversion.kind}; a ${type} step takes a ${kind}`);
    return undefined;
  }
  const own: Findings = { issues: [], warnings: conversion.warnings.map((warning) => `${at}.Manifest: ${file}: ${warning}`) };
  const request = conversion.request as Json;
  let expanded: Json;
  const wiring: { field: string; names: string[]; wired: (merged: Json) => unknown; what: string }[] = [];
  switch (conversion.kind) {
    case 'ProcessingJob': {
      const { step: fields, inputs } = processingStep(request, own);
      expanded = fields;
      wiring.push({ field: 'Inputs', names: inputs, wired: (merged) => merged.Inputs, what: 'processing input' });
      break;
    }
    case 'TrainingJob': {
      const { fields, channels } = trainingFields(request, '', 'HyperParameters', own, 'Training');
      expanded = { ...fields, Channels: channels };
      wiring.push({ field: 'Channels', names: Object.keys(channels), wired: (merged) => merged.Channels, what: 'channel' });
      break;
    }
    case 'HyperParameterTuningJob': {
      const { fields, channels } = tuningStep(request, own);
      expanded = overlay(fields, { TrainingJobDefinition: { Channels: channels } }) as Json;
      wiring.push({ field: 'TrainingJobDefinition.Channels', names: Object.keys(channels), wired: (merged) => (merged.TrainingJobDefinition as Json | undefined)?.Channels, what: 'channel' });
      break;
    }
    case 'TransformJob':
      expanded = transformStep(request, own);
      break;
    case 'ModelPackage':
      expanded = registerModelStep(request, own);
      break;
  }
  const merged = overlay(expanded, written) as Json;
  for (const { field, names, wired, what } of wiring) {
    for (const name of unwired(names, wired(merged))) {
      own.issues.push(`${at}.${field}.${name}: the manifest's ${what} "${name}" must be wired here ({Dataset: …} or {From: <step>/<output>}): a repository does not choose buckets, so its s3URI is not used`);
    }
  }
  if (conversion.kind === 'TransformJob' && !isObject((merged.TransformInput as Json | undefined)?.DataSource)) {
    own.issues.push(`${at}.TransformInput.DataSource: the manifest's input must be wired here ({Dataset: …} or {From: <step>/<output>}): its s3URI is not used`);
  }
  if (conversion.kind === 'TransformJob' && !isObject(merged.Model)) own.issues.push(`${at}.Model: required beside a TransformJob manifest (ModelData from a step, and the inference Image): its modelName is not used`);
  if (conversion.kind === 'ModelPackage' && !isObject(merged.ModelData)) own.issues.push(`${at}.ModelData: required beside a ModelPackage manifest ({From: <training or tuning step>/model}): its modelDataURL is not used`);
  found.issues.push(...own.issues.map((issue) => (issue.startsWith(at) ? issue : `${at}.Manifest: ${file}: ${issue}`)));
  found.warnings.push(...own.warnings.map((warning) => (warning.startsWith(at) ? warning : `${at}.Manifest: ${file}: ${warning}`)));
  return merged;
}

/**
 * Replaces every manifest step of a parsed mlops.yaml Version 2 document (top level and ForEach
 * steps) by the step it stands for; `files` holds the manifests' texts by path. Returns the new
 * document (the input is not changed), the problems found (each naming `Steps.<step>.…` and the
 * manifest's field) and the warnings (stage-owned fields the manifests set, which are ignored). Pure.
 */
export function expandManifestSteps(document: unknown, files: ManifestFiles): { document: unknown; issues: string[]; warnings: string[] } {
  const found: Findings = { issues: [], warnings: [] };
  if (!isObject(document) || !isObject(document.Steps)) return { document, issues: [], warnings: [] };
  const expandTable = (at: string, steps: Json): Json =>
    Object.fromEntries(
      Object.entries(steps).map(([name, step]) => {
        if (!isObject(step)) return [name, step];
        if (step.Type === 'ForEach' && isObject(step.Steps)) return [name, { ...step, Steps: expandTable(`${at}.${name}.Steps`, step.Steps) }];
        if (!Object.hasOwn(step, 'Manifest')) return [name, step];
        return [name, expandStep(`${at}.${name}`, step, files, found) ?? step];
      }),
    );
  return { document: { ...document, Steps: expandTable('Steps', document.Steps) }, ...found };
}
