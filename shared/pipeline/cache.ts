import { createHash } from 'node:crypto';

import type { Channel } from '@aws-sdk/client-sagemaker';

import { type CacheEntry, getCacheEntry, putCacheEntry } from '../aws/dynamodb';
import { getObjectText, listObjects, parseS3Uri } from '../aws/s3';
import { InvalidConfigError } from '../errors';
import { canonicalJson } from '../naming';
import { ISO_DURATION } from '../schemas/patterns';
import type { JobResult } from '../schemas/task-inputs';
import type { InputOrigin, ResolvedJob } from './job-requests';

/**
 * Step caching. A step with `Cache` reuses an earlier successful result when its key matches. The
 * key is content only: the image and the resolved request (arguments, hyperparameters,
 * environment, resources, input and output names), the content of every input (a hash of the keys,
 * ETags and sizes of the objects under it — for another step's output, the hash that step recorded
 * when its job ended) and the content of the code (the commit's files by git blob id, or only the
 * paths the step declares it reads). Never a name, time, run, commit or output location: those are
 * what broke SageMaker Pipelines' caching (its issues #2736, #3384, #4246). The key is scoped to
 * the repository, so one repository never reuses another's results.
 */

/** The source manifest on-source-push writes next to the snapshot. */
export interface SourceManifest {
  files: { path: string; blobId: string; mode: string }[];
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}


/** ISO-8601 duration in seconds (weeks, days, hours, minutes, seconds). Throws InvalidConfigError otherwise. */
export function durationSeconds(iso: string): number {
  const match = ISO_DURATION.exec(iso);
  if (!match) throw new InvalidConfigError(`"${iso}" is not an ISO-8601 duration in weeks, days, hours, minutes or seconds`);
  const number = (part: string | undefined) => (part === undefined ? 0 : Number(part.slice(0, -1)));
  return number(match[1]) * 604_800 + number(match[2]) * 86_400 + number(match[4]) * 3600 + number(match[5]) * 60 + number(match[6]);
}

/** Hash of what lies under an S3 prefix (or one object): relative keys, ETags and sizes. Pure. */
export function listingHash(prefix: string, objects: readonly { key: string; etag: string; size: number }[]): string {
  return sha256(objects.map((object) => `${object.key.slice(prefix.length)}\t${object.etag}\t${object.size}`).join('\n'));
}

/** Hash of what an s3:// URI holds now. Throws RetryableError on throttling. */
export async function contentHash(uri: string): Promise<string> {
  const { bucket, key } = parseS3Uri(uri);
  return listingHash(key, await listObjects(bucket, key));
}

/** Hash of the code: every file's path, mode and blob id, or only those under `paths`. Throws InvalidConfigError when a path matches nothing. */
export function codeHash(manifest: SourceManifest, paths: readonly string[] | undefined, field: string): string {
  let files = manifest.files;
  if (paths) {
    // `.`, `./` and `/` mean the whole tree; `./src/` is `src`.
    const normalised = paths.map((path) => path.replace(/^\.?\//, '').replace(/\/+$/, '').replace(/^\.$/, ''));
    normalised.forEach((path, index) => {
      if (!manifest.files.some((file) => file.path === path || file.path.startsWith(`${path}/`) || path === '')) throw new InvalidConfigError(`${field}[${index}]: "${paths[index]}" matches no file of the commit`);
    });
    files = manifest.files.filter((file) => normalised.some((path) => path === '' || file.path === path || file.path.startsWith(`${path}/`)));
  }
  return sha256([...files].sort((a, b) => (a.path < b.path ? -1 : 1)).map((file) => `${file.path}\t${file.mode}\t${file.blobId}`).join('\n'));
}

/**
 * The content the key covers, for a resolved job: the request without anything run-specific,
 * with each input replaced by its content hash and the code by its hash. Pure; exported so tests
 * can show what is (and is not) in a key.
 */
export function keyMaterial(job: ResolvedJob, inputHashes: Record<string, string>, code: string): Record<string, unknown> {
  if (job.kind === 'processing') {
    const { AppSpecification, ProcessingResources, Environment, ProcessingInputs, ProcessingOutputConfig } = job.request;
    return {
      kind: job.kind,
      AppSpecification,
      ClusterConfig: ProcessingResources?.ClusterConfig,
      Environment,
      Inputs: (ProcessingInputs ?? []).map((input) => ({
        name: input.InputName,
        localPath: input.S3Input?.LocalPath,
        content: input.InputName === 'code' ? code : inputHashes[input.InputName ?? ''],
      })),
      Outputs: (ProcessingOutputConfig?.Outputs ?? []).map((output) => ({ name: output.OutputName, localPath: output.S3Output?.LocalPath })),
    };
  }
  const channels = (config: readonly Channel[] | undefined) => (config ?? []).map((channel) => ({ name: channel.ChannelName, contentType: channel.ContentType, content: inputHashes[channel.ChannelName ?? ''] }));
  const withoutRunSpecific = (hyperParameters: Record<string, string> | undefined) => {
    const { sagemaker_submit_directory: _runSpecific, ...rest } = hyperParameters ?? {};
    return rest;
  };
  if (job.kind === 'tuning') {
    const { HyperParameterTuningJobConfig, TrainingJobDefinition } = job.request;
    return {
      kind: job.kind,
      HyperParameterTuningJobConfig,
      AlgorithmSpecification: TrainingJobDefinition?.AlgorithmSpecification,
      StaticHyperParameters: withoutRunSpecific(TrainingJobDefinition?.StaticHyperParameters),
      ResourceConfig: TrainingJobDefinition?.ResourceConfig,
      Environment: TrainingJobDefinition?.Environment,
      Channels: channels(TrainingJobDefinition?.InputDataConfig),
      code,
    };
  }
  if (job.kind === 'transform') {
    // The model's image, environment and artifacts' content; the job's settings without its S3 locations. No code: a transform runs none of the commit.
    const { TransformInput, TransformOutput, TransformResources, BatchStrategy, MaxPayloadInMB, MaxConcurrentTransforms, Environment } = job.request;
    return {
      kind: job.kind,
      Model: { Image: job.model.PrimaryContainer?.Image, Environment: job.model.PrimaryContainer?.Environment, content: inputHashes.model },
      Input: { ContentType: TransformInput?.ContentType, SplitType: TransformInput?.SplitType, CompressionType: TransformInput?.CompressionType, content: inputHashes.input },
      Output: { Accept: TransformOutput?.Accept, AssembleWith: TransformOutput?.AssembleWith },
      TransformResources,
      BatchStrategy,
      MaxPayloadInMB,
      MaxConcurrentTransforms,
      Environment,
    };
  }
  const { AlgorithmSpecification, HyperParameters, ResourceConfig, Environment, InputDataConfig } = job.request;
  return {
    kind: job.kind,
    AlgorithmSpecification,
    HyperParameters: withoutRunSpecific(HyperParameters),
    ResourceConfig,
    Environment,
    Channels: channels(InputDataConfig),
    code,
  };
}

/** The cache key: `<repository>#<sha256 of the key material>`. Pure. */
export function cacheKey(repository: string, material: Record<string, unknown>): string {
  return `${repository}#${sha256(canonicalJson(material))}`;
}

/** The content hash of each input: datasets listed now, other steps' outputs from their recorded hashes. Throws RetryableError on throttling. */
export async function inputHashes(inputs: readonly InputOrigin[]): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const input of inputs) {
    if (input.kind === 'code') continue;
    hashes[input.name] = input.kind === 'step' && input.hash ? input.hash : await contentHash(input.uri);
  }
  return hashes;
}

const manifests = new Map<string, SourceManifest>();

/** Reads the source manifest (cached per URI: a manifest never changes). Throws InvalidConfigError when it is missing. */
export async function readManifest(uri: string): Promise<SourceManifest> {
  const known = manifests.get(uri);
  if (known) return known;
  const { bucket, key } = parseS3Uri(uri);
  const text = await getObjectText(bucket, key);
  if (text === undefined) throw new InvalidConfigError(`the source manifest ${uri} is missing`);
  const manifest = JSON.parse(text) as SourceManifest;
  manifests.set(uri, manifest);
  return manifest;
}

/** The content hashes a job result records for its outputs. Throws RetryableError on throttling. */
export async function outputHashes(result: JobResult): Promise<JobResult> {
  if (result.Type === 'Training') return { ...result, ModelArtifactsHash: await contentHash(result.ModelArtifacts) };
  if (result.Type === 'Tuning') return { ...result, BestTrainingJob: { ...result.BestTrainingJob, ModelArtifactsHash: await contentHash(result.BestTrainingJob.ModelArtifacts) } };
  if (result.Type === 'Transform') return { ...result, OutputHash: await contentHash(result.Output) };
  const hashes: Record<string, string> = {};
  for (const [name, uri] of Object.entries(result.Outputs)) hashes[name] = await contentHash(uri);
  return { ...result, OutputHashes: hashes };
}

/** True when what a cached result points at is still there, unchanged. Throws RetryableError on throttling. */
async function stillThere(result: JobResult): Promise<boolean> {
  if (result.Type === 'Training') return result.ModelArtifactsHash !== undefined && (await contentHash(result.ModelArtifacts)) === result.ModelArtifactsHash;
  if (result.Type === 'Tuning') {
    const best = result.BestTrainingJob;
    return best.ModelArtifactsHash !== undefined && (await contentHash(best.ModelArtifacts)) === best.ModelArtifactsHash;
  }
  if (result.Type === 'Transform') return result.OutputHash !== undefined && (await contentHash(result.Output)) === result.OutputHash;
  for (const [name, uri] of Object.entries(result.Outputs)) {
    if (result.OutputHashes[name] === undefined || (await contentHash(uri)) !== result.OutputHashes[name]) return false;
  }
  return true;
}

/**
 * The cached result for `key` when there is one younger than `maxAgeSeconds` whose outputs are
 * still there unchanged, marked `CachedFrom` its run; else undefined. Throws RetryableError on throttling.
 */
export async function findCachedResult(table: string, key: string, maxAgeSeconds: number, now = new Date()): Promise<JobResult | undefined> {
  const entry = await getCacheEntry(table, key);
  if (!entry || Math.floor(now.getTime() / 1000) - entry.createdAt > maxAgeSeconds) return undefined;
  const result = JSON.parse(entry.result) as JobResult;
  if (!(await stillThere(result))) return undefined;
  return { ...result, CachedFrom: entry.executionArn, ReusedFrom: null };
}

/** Records a successful job result under its key until `expiresAt`. Idempotent. Throws RetryableError on throttling. */
export async function storeCachedResult(table: string, entry: Omit<CacheEntry, 'result'> & { result: JobResult }): Promise<void> {
  await putCacheEntry(table, { ...entry, result: JSON.stringify({ ...entry.result, CachedFrom: null, ReusedFrom: null }) });
}
