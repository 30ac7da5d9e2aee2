import {
  CreateHyperParameterTuningJobRequest$,
  type CreateHyperParameterTuningJobCommandInput,
  CreateModelPackageInput$,
  type CreateModelPackageCommandInput,
  CreateProcessingJobRequest$,
  type CreateProcessingJobCommandInput,
  CreateTrainingJobRequest$,
  type CreateTrainingJobCommandInput,
  CreateTransformJobRequest$,
  type CreateTransformJobCommandInput,
} from '@aws-sdk/client-sagemaker';
import { NormalizedSchema } from '@smithy/core/schema';
import { CORE_SCHEMA, loadAll, YAMLException } from 'js-yaml';

import { InvalidConfigError } from '../errors';

/**
 * Reads a manifest of the ACK SageMaker controller (AWS Controllers for Kubernetes,
 * `apiVersion: sagemaker.services.k8s.aws/v1alpha1`) and turns its `spec` into the SageMaker API
 * request it stands for: ProcessingJob → CreateProcessingJob, TrainingJob → CreateTrainingJob,
 * HyperParameterTuningJob → CreateHyperParameterTuningJob, TransformJob → CreateTransformJob,
 * ModelPackage → CreateModelPackage. Pure: no I/O.
 *
 * Field names. ACK generates its CRDs from the API model with `names.New(member).CamelLower`
 * (aws-controllers-k8s/pkg `names`): the API name with its first word lower-cased, the initialisms
 * of a fixed list upper-cased (`RoleArn` → `roleARN`, `S3Uri` → `s3URI`, `KmsKeyId` → `kmsKeyID`,
 * `SecurityGroupIds` → `securityGroupIDs`, `ModelDataUrl` → `modelDataURL`) and `_` appended to Go
 * keywords (`Type` → `type_`). The sagemaker-controller's generator.yaml renames no field of these
 * five kinds. So an ACK name differs from the API's only in letter case and that trailing `_`:
 * each key is matched to the API member it spells, case-insensitively, against the request shape
 * the SDK itself ships (its runtime schemas, walked with @smithy/core's NormalizedSchema), so no
 * field-name table is kept here and a new API field is known as soon as the SDK knows it.
 * {@link ackFieldName} gives ACK's exact spelling, for messages and for the tests that check the
 * rule against real manifests. Values are checked against the shape too (a string where the API
 * takes a string, a number where it takes a number…), as the CRD's schema would in a cluster.
 *
 * Stage-owned fields. The stage, not the manifest, decides who the job runs as, where it writes,
 * its network and its keys. A manifest copied from a cluster usually sets some of these, so:
 * - ignored, with a warning naming the field (the stage's value always replaces it, so dropping it
 *   changes nothing the author can rely on): the job's name (`spec.trainingJobName`…; and
 *   `spec.modelPackageName`: versions go to the pipeline's group), every role
 *   (`roleARN`, `validationRole`), every output location (`s3OutputPath` anywhere,
 *   `processingOutputConfig.outputs[].s3Output.s3URI`, `checkpointConfig.s3URI` at any depth), the top-level
 *   `tags` (Sluice tags jobs with their lineage), `enableNetworkIsolation` and
 *   `enableInterContainerTrafficEncryption` (the stage's isolation settings apply to every job), and
 *   a TransformJob's `modelName` (the step creates the model from the artifacts it is wired to);
 * - refused, with an error naming the field: `vpcConfig` and every KMS key (`kmsKeyID`,
 *   `volumeKMSKeyID`) anywhere in the spec. These name concrete subnets and keys of some account;
 *   silently running the job in another network or encrypting with another key would break what
 *   the author asked for, so they move to the stage's isolation settings instead.
 *   Also refused: a processing input's `datasetDefinition` (Athena/Redshift queries) and a
 *   processing output's `featureStoreOutput`, which the stage's execution role is not allowed.
 * Inputs (`s3URI` of processing inputs, training channels, transform input, `modelDataURL`) are
 * kept: the pipeline may rewire them to other steps' outputs. `modelPackageGroupName` and
 * `modelApprovalStatus` are kept for the RegisterModel step, whose tenancy rules judge them.
 *
 * Invalid manifests (not YAML, several documents, wrong apiVersion or kind, no spec, unknown
 * fields, values of the wrong type, a field the API requires missing while the stage does not
 * supply it) throw InvalidConfigError naming every bad field's path, all at once.
 */

/** The only apiVersion the ACK SageMaker controller serves. */
export const ACK_SAGEMAKER_API_VERSION = 'sagemaker.services.k8s.aws/v1alpha1';

const KINDS = {
  ProcessingJob: { schema: CreateProcessingJobRequest$, name: 'ProcessingJobName' },
  TrainingJob: { schema: CreateTrainingJobRequest$, name: 'TrainingJobName' },
  HyperParameterTuningJob: { schema: CreateHyperParameterTuningJobRequest$, name: 'HyperParameterTuningJobName' },
  TransformJob: { schema: CreateTransformJobRequest$, name: 'TransformJobName' },
  ModelPackage: { schema: CreateModelPackageInput$, name: 'ModelPackageName' },
} as const;

/** The ACK kinds Sluice accepts as steps. */
export type AckKind = keyof typeof KINDS;
/** {@link AckKind}'s values, in the order messages list them. */
export const ACK_KINDS = Object.keys(KINDS) as AckKind[];

/** The request a manifest stands for, less what the stage supplies (hence Partial). */
export type AckRequest =
  | { kind: 'ProcessingJob'; request: Partial<CreateProcessingJobCommandInput> }
  | { kind: 'TrainingJob'; request: Partial<CreateTrainingJobCommandInput> }
  | { kind: 'HyperParameterTuningJob'; request: Partial<CreateHyperParameterTuningJobCommandInput> }
  | { kind: 'TransformJob'; request: Partial<CreateTransformJobCommandInput> }
  | { kind: 'ModelPackage'; request: Partial<CreateModelPackageCommandInput> };

/** A converted manifest: its request, and one warning per stage-owned field it set and that was ignored. */
export type AckConversion = AckRequest & {
  /** `metadata.name`, when set: for messages only (the job's name comes from the pipeline). */
  name?: string;
  warnings: string[];
  /** Manifest paths of the ignored fields (`spec.roleARN`, `spec.outputDataConfig.s3OutputPath`…). */
  ignored: string[];
};

type Policy = { action: 'ignore' | 'refuse'; why: string };

/**
 * What the stage owns, by API path (list items as `[]`, e.g. `ProcessingOutputConfig.Outputs[].S3Output.S3Uri`).
 * Returns undefined for a field the manifest may set.
 */
function stagePolicy(kind: AckKind, apiPath: string): Policy | undefined {
  const member = apiPath.slice(apiPath.lastIndexOf('.') + 1);
  if (apiPath === KINDS[kind].name) {
    return { action: 'ignore', why: kind === 'ModelPackage' ? 'versions are created in the pipeline\'s model package group' : 'the job\'s name comes from the pipeline (stage, run, step and attempt)' };
  }
  if (member === 'VpcConfig') return { action: 'refuse', why: 'networking comes from the stage\'s isolation settings; remove it from the manifest' };
  if (member === 'KmsKeyId' || member === 'VolumeKmsKeyId') return { action: 'refuse', why: 'encryption keys come from the stage\'s isolation settings; remove it from the manifest' };
  if (apiPath === 'ProcessingInputs[].DatasetDefinition') return { action: 'refuse', why: 'Athena and Redshift inputs are not supported (the stage\'s execution role cannot query them); give an s3Input' };
  if (apiPath === 'ProcessingOutputConfig.Outputs[].FeatureStoreOutput') return { action: 'refuse', why: 'Feature Store outputs are not supported; outputs are written to S3 under the run\'s prefix' };
  if (member === 'RoleArn' || member === 'ValidationRole') return { action: 'ignore', why: 'jobs run as the stage\'s execution role for this repository' };
  if (member === 'S3OutputPath' || apiPath === 'ProcessingOutputConfig.Outputs[].S3Output.S3Uri' || /(^|\.)CheckpointConfig\.S3Uri$/.test(apiPath)) {
    return { action: 'ignore', why: 'outputs are written under the run\'s prefix in the stage\'s bucket' };
  }
  if (apiPath === 'Tags') return { action: 'ignore', why: 'jobs are tagged with their lineage (repository, commit, run, step)' };
  if (member === 'EnableNetworkIsolation' || member === 'EnableInterContainerTrafficEncryption') return { action: 'ignore', why: 'the stage\'s isolation settings apply to every job' };
  if (kind === 'TransformJob' && apiPath === 'ModelName') return { action: 'ignore', why: 'the step creates the model from the model artifacts it is wired to' };
  return undefined;
}

// ACK's initialisms (aws-controllers-k8s/pkg names.go) that can occur in SageMaker member names, in
// its order: `Ids` before `Id`, `Https` is matched by `Http(?!s)` not firing, `Vpce` before `Vpc`.
const INITIALISMS: ReadonlyArray<readonly [RegExp, string]> = [
  [/Ids/g, 'IDs'],
  [/Id(?!entifier|le|entity|entities|empotency)/g, 'ID'],
  [/Ip(?!art|am)/g, 'IP'],
  [/Acl/g, 'ACL'],
  [/Api/g, 'API'],
  [/Arn/g, 'ARN'],
  [/Aws/g, 'AWS'],
  [/Cidr/g, 'CIDR'],
  [/Cpu/g, 'CPU'],
  [/Dns/g, 'DNS'],
  [/Ebs/g, 'EBS'],
  [/Ec2/g, 'EC2'],
  [/Ecr(?!et|ease)/g, 'ECR'],
  [/Efs/g, 'EFS'],
  [/Eks/g, 'EKS'],
  [/Fpga/g, 'FPGA'],
  [/Gpu/g, 'GPU'],
  [/Http(?!s)/g, 'HTTP'],
  [/Https/g, 'HTTPS'],
  [/Iam/g, 'IAM'],
  [/Json/g, 'JSON'],
  [/Kms/g, 'KMS'],
  [/Sdk/g, 'SDK'],
  [/Sns/g, 'SNS'],
  [/Sql/g, 'SQL'],
  [/Sqs/g, 'SQS'],
  [/Sse/g, 'SSE'],
  [/Ssl/g, 'SSL'],
  [/Tls/g, 'TLS'],
  [/Uri/g, 'URI'],
  [/Url/g, 'URL'],
  [/Uuid/g, 'UUID'],
  [/U[Ii](?![Dd])/g, 'UI'],
  [/Vpce/g, 'VPCE'],
  [/Vpc(?!e)/g, 'VPC'],
  [/Xml/g, 'XML'],
  [/Yaml/g, 'YAML'],
];

const GO_KEYWORDS = new Set(['break', 'case', 'chan', 'const', 'continue', 'default', 'defer', 'else', 'fallthrough', 'for', 'func', 'go', 'goto', 'if', 'import', 'interface', 'map', 'package', 'range', 'return', 'select', 'struct', 'switch', 'type', 'var']);

/**
 * ACK's spelling of an API member name (`names.New(name).CamelLower`): `RoleArn` → `roleARN`,
 * `KmsKeyId` → `kmsKeyID`, `VolumeSizeInGB` → `volumeSizeInGB`, `Type` → `type_`. Pure.
 */
export function ackFieldName(apiName: string): string {
  let leading: string | undefined;
  let name = apiName;
  for (const [pattern, upper] of INITIALISMS) {
    pattern.lastIndex = 0;
    if (leading === undefined && pattern.exec(name)?.index === 0) leading = upper;
    name = name.replace(pattern, upper);
  }
  // A leading initialism is lower-cased whole (`KMSKeyID` → `kmsKeyID`); otherwise only the first letter.
  name = leading === undefined ? name.charAt(0).toLowerCase() + name.slice(1) : leading.toLowerCase() + name.slice(leading.length);
  return GO_KEYWORDS.has(name) ? `${name}_` : name;
}

/** The API member an ACK key spells: same letters ignoring case, less the `_` ACK adds to Go keywords. */
function memberFor(schema: NormalizedSchema, key: string): string | undefined {
  const bare = key.endsWith('_') && GO_KEYWORDS.has(key.slice(0, -1).toLowerCase()) ? key.slice(0, -1) : key;
  const wanted = bare.toLowerCase();
  for (const [member] of schema.structIterator()) if (member.toLowerCase() === wanted) return member;
  return undefined;
}

interface Walk {
  kind: AckKind;
  errors: string[];
  warnings: string[];
  ignored: string[];
}

/** A JSON object (not null, not a list). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Records a problem; returns undefined so that the field is left out of the request. */
function fail(walk: Walk, problem: string): undefined {
  walk.errors.push(problem);
  return undefined;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (isObject(value)) return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Converts one value at `at` (manifest path) / `apiAt` (API path) to the shape `schema`; records problems in `walk`. */
function convertValue(value: unknown, schema: NormalizedSchema, at: string, apiAt: string, walk: Walk): unknown {
  if (schema.isStructSchema() || schema.isUnionSchema()) return convertStruct(value, schema, at, apiAt, walk);
  if (schema.isListSchema()) {
    if (!Array.isArray(value)) return fail(walk, `${at}: expected a list, got ${describe(value)}`);
    return value.map((item, index) => convertValue(item, schema.getValueSchema(), `${at}[${index}]`, `${apiAt}[]`, walk));
  }
  if (schema.isMapSchema()) {
    if (!isObject(value)) return fail(walk, `${at}: expected a map, got ${describe(value)}`);
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, convertValue(item, schema.getValueSchema(), `${at}.${key}`, `${apiAt}.*`, walk)]));
  }
  if (schema.isDocumentSchema()) return value;
  if (schema.isBooleanSchema()) return typeof value === 'boolean' ? value : fail(walk, `${at}: expected true or false, got ${describe(value)}`);
  if (schema.isNumericSchema()) return typeof value === 'number' ? value : fail(walk, `${at}: expected a number, got ${describe(value)}`);
  // Strings, enums, timestamps (ISO 8601 text in a manifest) and blobs (base64 text).
  return typeof value === 'string' ? value : fail(walk, `${at}: expected a string, got ${describe(value)}`);
}

/**
 * The members the API requires of a structure. The SDK's static schema lists required members
 * first and gives their count as its seventh element (as @smithy/core's own HTTP binding reads it).
 */
function requiredMembers(schema: NormalizedSchema): string[] {
  const raw: unknown = schema.getSchema();
  if (!Array.isArray(raw) || raw[0] !== 3 || !Array.isArray(raw[4]) || typeof raw[6] !== 'number') return [];
  return (raw[4] as string[]).slice(0, raw[6]);
}

/**
 * Whether the manifest must give `member` of a structure: the API requires it and the stage does
 * not supply it (itself or, for a structure, every required part of it: e.g. a training job's
 * OutputDataConfig, whose only required field is the stage's output path).
 */
function neededFromManifest(kind: AckKind, schema: NormalizedSchema, apiPath: string, depth = 0): boolean {
  if (stagePolicy(kind, apiPath) !== undefined) return false;
  if (!schema.isStructSchema() || depth > 8) return true;
  return requiredMembers(schema).some((member) => neededFromManifest(kind, schema.getMemberSchema(member)!, `${apiPath}.${member}`, depth + 1));
}

function convertStruct(value: unknown, schema: NormalizedSchema, at: string, apiAt: string, walk: Walk): Record<string, unknown> | undefined {
  if (!isObject(value)) return fail(walk, `${at}: expected an object, got ${describe(value)}`);
  const out: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const [key, item] of Object.entries(value)) {
    const path = `${at}.${key}`;
    // YAML `key:` with nothing after it: absent, as Kubernetes treats a null field.
    if (item === null || item === undefined) continue;
    const member = memberFor(schema, key);
    if (member !== undefined) given.add(member);
    if (member === undefined) {
      const known = [...schema.structIterator()].map(([name]) => ackFieldName(name));
      walk.errors.push(`${path}: unknown field (${schema.getName()} has ${known.join(', ')})`);
      continue;
    }
    const apiPath = apiAt === '' ? member : `${apiAt}.${member}`;
    const policy = stagePolicy(walk.kind, apiPath);
    if (policy?.action === 'refuse') {
      walk.errors.push(`${path}: not allowed in a manifest: ${policy.why}`);
      continue;
    }
    if (policy?.action === 'ignore') {
      walk.ignored.push(path);
      walk.warnings.push(`${path} is ignored: ${policy.why}`);
      continue;
    }
    const converted = convertValue(item, schema.getMemberSchema(member)!, path, apiPath, walk);
    if (converted !== undefined) out[member] = converted;
  }
  for (const member of requiredMembers(schema)) {
    const apiPath = apiAt === '' ? member : `${apiAt}.${member}`;
    if (!given.has(member) && neededFromManifest(walk.kind, schema.getMemberSchema(member)!, apiPath)) walk.errors.push(`${at}.${ackFieldName(member)}: required`);
  }
  if (schema.isUnionSchema() && Object.keys(out).length > 1) walk.errors.push(`${at}: set only one of ${Object.keys(out).map(ackFieldName).join(', ')}`);
  return out;
}

/**
 * Converts a parsed ACK manifest (an object as read from YAML or JSON) to its SageMaker request.
 * `file` names the manifest in messages. Pure and deterministic.
 * @throws InvalidConfigError naming every problem's path (wrong apiVersion or kind, no spec,
 *   unknown fields, wrong value types, stage-owned fields that are refused).
 */
export function convertAckManifest(manifest: unknown, file: string): AckConversion {
  if (!isObject(manifest)) throw new InvalidConfigError(`${file}: expected a Kubernetes manifest (an object with apiVersion, kind and spec), got ${describe(manifest)}`);
  const { apiVersion, kind, metadata, spec } = manifest;
  const problems: string[] = [];
  const warnings: string[] = [];
  if (apiVersion !== ACK_SAGEMAKER_API_VERSION) problems.push(`apiVersion: expected "${ACK_SAGEMAKER_API_VERSION}", got ${apiVersion === undefined ? 'nothing' : describe(apiVersion)}`);
  const known = typeof kind === 'string' && Object.hasOwn(KINDS, kind);
  if (!known) problems.push(`kind: expected one of ${ACK_KINDS.join(', ')}, got ${kind === undefined ? 'nothing' : describe(kind)}`);
  if (spec === undefined || spec === null) problems.push('spec: missing');
  else if (!isObject(spec)) problems.push(`spec: expected an object, got ${describe(spec)}`);
  if (metadata !== undefined && !isObject(metadata)) problems.push(`metadata: expected an object, got ${describe(metadata)}`);
  for (const key of Object.keys(manifest)) {
    if (key === 'status') warnings.push('status is ignored: it is what a cluster observed, not part of the request');
    else if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(key)) problems.push(`${key}: unknown field (a manifest has apiVersion, kind, metadata, spec)`);
  }
  if (problems.length > 0 || !known) throw new InvalidConfigError(`${file}: ${problems.join('; ')}`);
  const ackKind = kind as AckKind;
  const walk: Walk = { kind: ackKind, errors: [], warnings, ignored: [] };
  const request = convertStruct(spec, NormalizedSchema.of(KINDS[ackKind].schema), 'spec', '', walk) ?? {};
  if (walk.errors.length > 0) throw new InvalidConfigError(`${file}: ${walk.errors.join('; ')}`);
  const name = isObject(metadata) && typeof metadata.name === 'string' ? metadata.name : undefined;
  // The walk checked every field against this kind's request shape, so the request has that shape.
  return { kind: ackKind, request, warnings: walk.warnings, ignored: walk.ignored, ...(name === undefined ? {} : { name }) } as AckConversion;
}

/**
 * Parses an ACK manifest's YAML (or JSON) text and converts it: see {@link convertAckManifest}.
 * js-yaml's core schema, as mlops.yaml is read (one YAML reader in the functions that parse pipelines).
 * @throws InvalidConfigError when the text is not one YAML document, or for any problem of the manifest.
 */
export function parseAckManifest(text: string, file: string): AckConversion {
  let documents: unknown[];
  try {
    documents = loadAll(text, undefined, { schema: CORE_SCHEMA }).filter((document) => document !== null && document !== undefined);
  } catch (error) {
    if (error instanceof YAMLException) throw new InvalidConfigError(`${file}: not valid YAML: ${error.message.split('\n')[0]}`, { cause: error });
    throw error;
  }
  if (documents.length !== 1) throw new InvalidConfigError(`${file}: expected one YAML document, found ${documents.length}`);
  return convertAckManifest(documents[0], file);
}
