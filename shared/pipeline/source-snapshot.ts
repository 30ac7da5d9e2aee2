import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';

import { getBlob, listFilesAtCommit } from '../aws/codecommit';
import { objectExists, putObject } from '../aws/s3';
import { InvalidInputError, isAwsError, SourceTooLargeError } from '../errors';
import type { BuildContext } from '../schemas/task-inputs';
import type { SourceManifest } from './cache';

/**
 * Snapshots a commit's source tree to S3 twice: as `source.tar.gz` (what SageMaker framework
 * containers' script mode downloads) and unpacked under `source/` (mounted as the processing
 * jobs' code input), plus `source-manifest.json` (every file's path, mode and git blob id: the
 * code's content for cache keys). The archive is written last and marks a finished snapshot, so a
 * repeated call finds it and does nothing.
 */

export interface SnapshotLocation {
  bucket: string;
  /** Key prefix ending in `/`, e.g. `builds/sources/<repository>-<hash>/<tree>/` (naming.ts sourceSnapshotPrefix). */
  prefix: string;
}

export interface Snapshot {
  sourceUri: string;
  sourcePrefix: string;
  manifestUri: string;
  files: number;
  bytes: number;
  reused: boolean;
}

/** Builds a gzipped tar archive of the files in memory (mode 0644, or 0755 for EXECUTABLE). */
export async function createTarGz(files: readonly { path: string; content: Uint8Array; executable: boolean }[]): Promise<Buffer> {
  const archive = pack();
  const gzip = createGzip();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
    gzip.on('end', () => resolve(Buffer.concat(chunks)));
    gzip.on('error', reject);
    archive.on('error', reject);
  });
  archive.pipe(gzip);
  for (const file of files) {
    archive.entry({ name: file.path, size: file.content.byteLength, mode: file.executable ? 0o755 : 0o644, mtime: new Date(0) }, Buffer.from(file.content));
  }
  archive.finalize();
  return done;
}

/** What bounds one snapshot: the stage's bytes, a file count, and the invocation's time. */
export interface SnapshotLimits {
  /** The stage's `maxSourceBytes`: the tree's size, uncompressed. */
  maxBytes: number;
  /** Files in the tree (default {@link MAX_SOURCE_FILES}). */
  maxFiles?: number;
  /** Milliseconds left before the invocation times out (Lambda's `context.getRemainingTimeInMillis`); unbounded when absent. */
  remainingMs?: () => number;
}

/**
 * At most this many files are snapshotted: each is one GetBlob and one PutObject, and 8 at a time
 * take about a minute for 10 000 files, well within snapshot-source's 300 s.
 */
export const MAX_SOURCE_FILES = 10_000;
/** CodeCommit GetBlob and S3 PutObject calls in flight at once. */
const CONCURRENCY = 8;
/**
 * Time kept for what follows the copies (manifest, archive: gzip of up to maxSourceBytes in memory
 * and one upload). Below it the snapshot stops with SourceTooLarge, which fails the run visibly,
 * rather than letting Lambda's timeout fail the task with no word on why.
 */
export const SNAPSHOT_RESERVE_MS = 20_000;

/**
 * Runs `work` on every item, `limit` at a time. The first failure stops new work and is thrown
 * once the calls in flight have settled. Results keep the items' order.
 */
async function boundedMap<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index]!);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/**
 * Snapshots `repository@commit`, reading blobs and writing files 8 at a time. Throws
 * SourceTooLargeError (terminal) when the tree exceeds `limits.maxBytes` uncompressed, holds more
 * than `limits.maxFiles` files or a file too large for CodeCommit's API, or when the time left
 * (`limits.remainingMs`) falls below what the archive needs; RetryableError on throttling. Idempotent.
 */
export async function snapshotSource(repository: string, commit: string, location: SnapshotLocation, limits: SnapshotLimits): Promise<Snapshot> {
  const { maxBytes, maxFiles = MAX_SOURCE_FILES, remainingMs = () => Infinity } = limits;
  const archiveKey = `${location.prefix}source.tar.gz`;
  const sourcePrefix = `${location.prefix}source/`;
  const manifestKey = `${location.prefix}source-manifest.json`;
  const result = { sourceUri: `s3://${location.bucket}/${archiveKey}`, sourcePrefix: `s3://${location.bucket}/${sourcePrefix}`, manifestUri: `s3://${location.bucket}/${manifestKey}` };
  if (await objectExists(location.bucket, archiveKey)) return { ...result, files: 0, bytes: 0, reused: true };

  const advice = 'keep data sets out of the repository and read them as Dataset inputs';
  const tree = await listFilesAtCommit(repository, commit);
  if (tree.length > maxFiles) throw new SourceTooLargeError(`source of ${repository}@${commit} has ${tree.length} files, above the limit of ${maxFiles}; ${advice}`);
  const inTime = (doing: string) => {
    if (remainingMs() < SNAPSHOT_RESERVE_MS) {
      throw new SourceTooLargeError(`source of ${repository}@${commit} (${tree.length} files) could not be snapshotted within the function's time: stopped while ${doing}, keeping ${SNAPSHOT_RESERVE_MS / 1000} s for the archive; ${advice}`);
    }
  };
  let bytes = 0;
  const files = await boundedMap(tree, CONCURRENCY, async (file) => {
    inTime('reading files from CodeCommit');
    const content = await getBlob(repository, file.blobId).catch((error: unknown) => {
      // CodeCommit's API serves files up to 6 MB: a larger one (typically a committed data set) can never be snapshotted.
      if (isAwsError(error, 'FileTooLargeException')) {
        throw new SourceTooLargeError(`source of ${repository}@${commit} cannot be snapshotted: ${file.path} exceeds CodeCommit's per-file API limit of 6 MB; ${advice}`, { cause: error });
      }
      throw error;
    });
    bytes += content.byteLength;
    if (bytes > maxBytes) throw new SourceTooLargeError(`source of ${repository}@${commit} exceeds the stage limit of ${maxBytes} bytes (reached at ${file.path}); ${advice}`);
    return { path: file.path, content, executable: file.mode === 'EXECUTABLE' };
  });
  // Unpacked copy first, then the archive: the archive's presence means the snapshot is complete.
  await boundedMap(files, CONCURRENCY, async (file) => {
    inTime('writing files to S3');
    await putObject(location.bucket, `${sourcePrefix}${file.path}`, file.content);
  });
  const manifest: SourceManifest = { files: tree.map(({ path, mode, blobId }) => ({ path, mode, blobId })) };
  await putObject(location.bucket, manifestKey, JSON.stringify(manifest), 'application/json');
  await putObject(location.bucket, archiveKey, await createTarGz(files), 'application/gzip');
  return { ...result, files: files.length, bytes, reused: false };
}

/** The key of a snapshot's archive: `builds/<at least one folder>/source.tar.gz`; group 1 is its prefix. */
const SNAPSHOT_ARCHIVE = /^(builds\/.+\/)source\.tar\.gz$/;

/**
 * A run's Source snapshot: `build.sourceUri` (chosen by on-source-push, by the commit's tree id)
 * names where; it must be a `source.tar.gz` under the stage bucket's `builds/`. Throws
 * InvalidInputError when it is not, and as {@link snapshotSource}. Idempotent.
 */
export async function snapshotBuildSource(build: BuildContext, bucket: string, limits: SnapshotLimits): Promise<Snapshot> {
  // Matched rather than parsed with parseS3Uri, whose plain Error for `s3://bucket` would not name the field.
  const root = `s3://${bucket}/`;
  const prefix = build.sourceUri.startsWith(root) ? SNAPSHOT_ARCHIVE.exec(build.sourceUri.slice(root.length))?.[1] : undefined;
  if (!prefix) throw new InvalidInputError(`build.sourceUri: ${build.sourceUri} is not a source snapshot in s3://${bucket}/builds/`);
  return snapshotSource(build.repository, build.commit, { bucket, prefix }, limits);
}
