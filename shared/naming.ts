import { createHash } from 'node:crypto';

/**
 * Deterministic names. The same inputs always give the same name, which is what makes a
 * repeated event or a retried task find the resource it already created instead of making a
 * second one (see STYLE.md habit 9).
 */

/** Short, stable hex digest of the parts (sha256, first `length` hex chars). */
export function shortHash(parts: readonly string[], length = 8): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, length);
}

/** JSON with object keys sorted, so equal content always serialises the same (hashes of content). Pure. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * Reduces free text (a repository or branch name) to SageMaker's resource-name alphabet:
 * letters, digits and single hyphens, starting and ending with a letter or digit
 * (`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`), at most `maxLength` characters. Never returns ''
 * (falls back to 'x').
 */
export function toSageMakerSlug(text: string, maxLength: number): string {
  const slug = text
    .replace(/[^a-zA-Z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength)
    .replace(/-+$/g, '');
  return slug === '' ? 'x' : slug;
}

/** SageMaker's name rule for jobs, models, endpoint configs, endpoints and package groups. */
export const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/**
 * Step Functions execution name for a build of `commit` in `repository`: one commit builds once,
 * whichever branch it was pushed to. At most 80 characters of `[A-Za-z0-9-_]`.
 */
export function buildExecutionName(repository: string, commit: string): string {
  const repo = toSageMakerSlug(repository, 30);
  return `${repo}-${commit.slice(0, 40)}-${shortHash([repository, commit], 6)}`;
}

/**
 * A repository's own part of the artifacts bucket, `builds/<repository key>/`: its name made
 * key-safe (at most 32 characters) and a hash of the whole name, so two repositories never share a
 * prefix (`abalone-1a2b3c/` is not a prefix of `abalone-age-4d5e6f/`). Each repository's execution
 * role may read and write only there (serverless.yml, events/stage-params.js).
 */
export function repositoryKey(repository: string): string {
  return `${toSageMakerSlug(repository, 32)}-${shortHash([repository], 6)}`;
}

/** Key prefix of everything one build run writes: `builds/<repository key>/<execution>/`. */
export function buildKeyPrefix(repository: string, executionName: string): string {
  return `builds/${repositoryKey(repository)}/${executionName}/`;
}

/**
 * Where a repository's source tree is snapshotted, by its git tree id:
 * `builds/<repository key>/sources/<tree>/` (no execution is named `sources`). A new commit with the
 * same files finds the snapshot already there.
 */
export function sourceSnapshotPrefix(repository: string, treeId: string): string {
  return `builds/${repositoryKey(repository)}/sources/${treeId}/`;
}

/**
 * Step Functions execution name for a build started by hand (`Model Build Requested`): the
 * request id makes it, so a repeated request starts nothing new. At most 80 characters.
 */
export function requestedBuildExecutionName(repository: string, commit: string, requestId: string): string {
  return `${toSageMakerSlug(repository, 30)}-${commit.slice(0, 12)}-run-${shortHash([repository, commit, requestId], 12)}`;
}

/**
 * The state machine a pipeline is compiled into: `<prefix><repository>-<8 hex of the definition>`.
 * One per distinct definition of a repository, so the name alone says "this exact pipeline" and
 * CreateStateMachine's idempotency makes a repeated push find it. At most 80 characters.
 */
export function pipelineStateMachineName(prefix: string, repository: string, definitionHash: string): string {
  const suffix = `-${definitionHash.slice(0, 8)}`;
  return `${prefix}${toSageMakerSlug(repository, 80 - prefix.length - suffix.length)}${suffix}`;
}

/**
 * SageMaker job name for one attempt of one step of one build execution, e.g.
 * `sluice-dev--abalone-train-1a2b3c4d5e6f` (attempt 1) or `…-1a2b3c4d5e6f-2`. It starts with the
 * stage (stageResourcePrefix), so the job-state rule and IAM take only this stage's jobs; it is
 * lower case, as SageMaker writes job names in ARNs, so IAM patterns match it as written. Derived
 * from the execution ARN and the step, so a repeated task finds the job it already created; a retry
 * or a redrive after a failed job takes the next attempt (SageMaker never reuses a job name).
 * Valid for processing and training jobs (≤ 63 chars, SageMaker's alphabet).
 */
export function jobName(stagePrefix: string, repository: string, step: string, executionArn: string, attempt = 1): string {
  const stage = stageResourcePrefix(stagePrefix).toLowerCase();
  const suffix = `-${shortHash([executionArn, step], 12)}${attempt > 1 ? `-${attempt}` : ''}`;
  const room = 63 - stage.length - suffix.length - 1;
  const stepSlug = toSageMakerSlug(step.toLowerCase(), Math.min(24, room - 1));
  const repo = toSageMakerSlug(repository.toLowerCase(), room - stepSlug.length);
  return `${stage}${repo}-${stepSlug}${suffix}`;
}

/** SageMaker's limit for HyperParameterTuningJobName. */
const TUNING_JOB_NAME_MAX = 32;

/**
 * HyperParameterTuningJobName for one attempt of a Tuning step of one build execution:
 * `<stage resource prefix><base-36 hash>` (e.g. `sluice-dev--k3x9q0f1m2a7pz4c`), `-<attempt>` after
 * the first, at most 32 characters (SageMaker's limit), lower case. The hash covers the repository,
 * the execution and the step, so a repeated task finds its job and the name stays under the stage's
 * job prefix (IAM, the job-state rule); the training jobs SageMaker launches for it
 * (`<name>-<NNN>-<8 hex>`) do too. Throws Error when the stage prefix leaves no room for an
 * 8-character hash. Pure.
 */
export function tuningJobName(stagePrefix: string, repository: string, step: string, executionArn: string, attempt = 1): string {
  const stage = stageResourcePrefix(stagePrefix).toLowerCase();
  const suffix = attempt > 1 ? `-${attempt}` : '';
  const room = Math.min(16, TUNING_JOB_NAME_MAX - stage.length - suffix.length);
  if (room < 8) throw new Error(`stage prefix "${stage}" is too long for tuning job names (at most ${TUNING_JOB_NAME_MAX} characters with an 8-character hash)`);
  const digest = createHash('sha256').update([repository, executionArn, step].join('\u0000')).digest();
  const hash = BigInt(`0x${digest.subarray(0, 16).toString('hex')}`).toString(36).padStart(room, '0').slice(-room);
  return `${stage}${hash}${suffix}`;
}

/**
 * The SageMaker model a Transform step's job runs: `<stage resource prefix><repository>-<12 hex>-<step>`,
 * `-<attempt>` after the first, at most 63 characters, lower case, deterministic from the
 * repository, execution, step and attempt (describe before create finds it again). The hash comes
 * right after the repository, so no such name starts with a deploy model's `<group>-v` prefix
 * (hex has no `v`) and deploy cleanup never lists one. Pure.
 */
export function transformModelName(stagePrefix: string, repository: string, step: string, executionArn: string, attempt = 1): string {
  const stage = stageResourcePrefix(stagePrefix).toLowerCase();
  const hash = shortHash([repository, executionArn, step, 'transform-model'], 12);
  const suffix = attempt > 1 ? `-${attempt}` : '';
  const room = SAGEMAKER_NAME_MAX - stage.length - hash.length - suffix.length - 2;
  const stepSlug = toSageMakerSlug(step.toLowerCase(), Math.min(24, room - 1));
  const repo = toSageMakerSlug(repository.toLowerCase(), room - stepSlug.length);
  return `${stage}${repo}-${hash}-${stepSlug}${suffix}`;
}

/**
 * The start of every name a stage gives its SageMaker resources: `<service>-<stage>--`. The `--`
 * ends the stage (stage names hold single hyphens only: shared/config.ts), so stage `dev`'s names
 * (`sluice-dev--…`) and IAM patterns never cover stage `dev-eu`'s (`sluice-dev-eu--…`).
 */
export function stageResourcePrefix(stagePrefix: string): string {
  return `${stagePrefix}--`;
}

/**
 * Model package group name: the configured one, or the repository's name, made valid, after the
 * stage's prefix (`sluice-dev--abalone`), so that two stages never share one.
 */
export function modelPackageGroupName(stagePrefix: string, configured: string): string {
  // A valid configured name keeps its `--` (a repository's namespace separator, shared/pipeline/tenancy.ts).
  const part = SAGEMAKER_NAME.test(configured) ? configured : toSageMakerSlug(configured, 63);
  return `${stageResourcePrefix(stagePrefix)}${part}`.slice(0, 63).replace(/-+$/, '');
}

/** SageMaker's limit for model, endpoint config and endpoint names. */
const SAGEMAKER_NAME_MAX = 63;

/**
 * The model package group as the first part of a deploy resource name, leaving `reserve`
 * characters for the suffix. A group too long for that is cut and followed by an 8-hex hash of
 * the whole group, so two long groups never share a name and every name of one group shares a
 * stable prefix (cleanup lists by prefix).
 */
function groupPart(group: string, reserve: number): string {
  if (group.length + reserve <= SAGEMAKER_NAME_MAX) return group;
  // Cut, not re-slugged: the group's `--` (after the stage, before a repository's further group) must stay.
  return `${group.slice(0, SAGEMAKER_NAME_MAX - reserve - 9).replace(/-+$/, '')}-${shortHash([group])}`;
}

/** Room kept for `-staging` / `-prod` and for `-v<version>` up to six digits. */
const ENDPOINT_RESERVE = '-staging'.length;
const MODEL_RESERVE = '-v999999'.length;
const ENDPOINT_CONFIG_RESERVE = '-staging-v999999'.length;

export type DeployStageName = 'staging' | 'prod';

/** Endpoint of a group on a stage: `<group>-<stage>`, e.g. `sluice-dev-abalone-prod`. */
export function endpointName(group: string, stage: DeployStageName): string {
  return `${groupPart(group, ENDPOINT_RESERVE)}-${stage}`;
}

/** SageMaker model of one version (shared by both stages): `<group>-v<version>`. */
export function deployModelName(group: string, version: number): string {
  return `${modelNamePrefix(group)}${version}`;
}

/** Every model name of the group starts with this (`<group>-v`). */
export function modelNamePrefix(group: string): string {
  return `${groupPart(group, MODEL_RESERVE)}-v`;
}

/** Endpoint config of one version on one stage: `<group>-<stage>-v<version>`. */
export function endpointConfigName(group: string, stage: DeployStageName, version: number): string {
  return `${endpointConfigNamePrefix(group, stage)}${version}`;
}

/** Every endpoint config name of the group's stage starts with this (`<group>-<stage>-v`). */
export function endpointConfigNamePrefix(group: string, stage: DeployStageName): string {
  return `${groupPart(group, ENDPOINT_CONFIG_RESERVE)}-${stage}-v`;
}

/** CloudWatch alarms that roll a prod update back: `<endpoint>-5xx` and `<endpoint>-model-latency`. */
export function endpointAlarmNames(endpoint: string): { errors: string; latency: string } {
  return { errors: `${endpoint}-5xx`, latency: `${endpoint}-model-latency` };
}

/** Step Functions execution names: at most 80 characters of `[A-Za-z0-9-_]`. */
const EXECUTION_NAME_MAX = 80;

function executionName(group: string, middle: string, stamp: string): string {
  const suffix = `-${middle}-${shortHash([group, middle, stamp])}`;
  const room = EXECUTION_NAME_MAX - suffix.length;
  // A group's name is already valid here; cut, not re-slugged, it keeps its `--`.
  const head = SAGEMAKER_NAME.test(group) ? group.slice(0, room).replace(/-+$/, '') : toSageMakerSlug(group, room);
  return `${head}${suffix}`;
}

/**
 * model-deploy execution for an approval of `version`: `<group>-v<version>-<8 hex>`. `stamp` is
 * the package's LastModifiedTime, so a duplicated event names the same run and a re-approval
 * after a rejection a new one.
 */
export function deployExecutionName(group: string, version: number, stamp: string): string {
  return executionName(group, `v${version}`, stamp);
}

/** model-deploy execution rolling back from the rejected `version`: `<group>-rollback-v<version>-<8 hex>`. */
export function rollbackExecutionName(group: string, rejectedVersion: number, stamp: string): string {
  return executionName(group, `rollback-v${rejectedVersion}`, stamp);
}

/** A versioned model package ARN: `arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version>`. */
export const MODEL_PACKAGE_ARN = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package\/([A-Za-z0-9-]+)\/(\d+)$/;

/** Group and version of a versioned model package ARN; undefined for anything else. Pure. */
export function parseModelPackageArn(arn: string): { group: string; version: number } | undefined {
  const match = MODEL_PACKAGE_ARN.exec(arn);
  return match ? { group: match[1]!, version: Number(match[2]) } : undefined;
}
