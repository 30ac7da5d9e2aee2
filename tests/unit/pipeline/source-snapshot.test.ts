import { gunzipSync } from 'node:zlib';

import { CodeCommitClient, FileTooLargeException, GetBlobCommand, GetFolderCommand } from '@aws-sdk/client-codecommit';
import { HeadObjectCommand, NotFound, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { extract } from 'tar-stream';

import { sourceSnapshotPrefix } from '../../../shared/naming';
import { createTarGz, SNAPSHOT_RESERVE_MS, snapshotBuildSource, snapshotSource } from '../../../shared/pipeline/source-snapshot';
import { InvalidInputError, RetryableError, SourceTooLargeError } from '../../../shared/errors';
import { BUCKET, buildContext, COMMIT, COMMIT_TREE } from '../../helpers/fixtures';

const codecommit = mockClient(CodeCommitClient);
const s3 = mockClient(S3Client);

const REPOSITORY = 'abalone';
const PREFIX = 'builds/abalone-0123456789abcdef0123456789abcdef01234567-a1b2c3/';
const LOCATION = { bucket: BUCKET, prefix: PREFIX };
const ARCHIVE_KEY = `${PREFIX}source.tar.gz`;
const MANIFEST_KEY = `${PREFIX}source-manifest.json`;
const LIMIT = 1_000_000;

/** The commit's tree: path → content and CodeCommit file mode. */
const TREE: Record<string, { content: string; mode: 'NORMAL' | 'EXECUTABLE' }> = {
  'mlops.yaml': { content: 'Version: 1\n', mode: 'NORMAL' },
  'run.sh': { content: '#!/bin/sh\npython3 preprocess.py\n', mode: 'EXECUTABLE' },
  'src/preprocess.py': { content: 'import pandas\n', mode: 'NORMAL' },
  'src/lib/features.py': { content: 'def one_hot(sex): ...\n', mode: 'NORMAL' },
};
const TREE_BYTES = Object.values(TREE).reduce((sum, file) => sum + Buffer.byteLength(file.content), 0);

interface ArchiveEntry {
  mode: number;
  type: string;
  content: string;
}

/** Decodes a .tar.gz the way `tar -xzf` would: gunzip, then read every tar entry. */
async function untar(archive: Uint8Array): Promise<Map<string, ArchiveEntry>> {
  const entries = new Map<string, ArchiveEntry>();
  const extractor = extract();
  extractor.end(gunzipSync(archive));
  for await (const entry of extractor) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    entries.set(entry.header.name, { mode: entry.header.mode ?? 0, type: entry.header.type ?? 'file', content: Buffer.concat(chunks).toString('utf8') });
  }
  return entries;
}

/** Serves TREE through GetFolder / GetBlob as CodeCommit shapes them (paths without a leading slash). */
function mockCodeCommitTree(): void {
  codecommit.on(GetFolderCommand, { folderPath: '/' }).resolves({
    commitId: COMMIT,
    folderPath: '/',
    files: [
      { absolutePath: 'mlops.yaml', relativePath: 'mlops.yaml', blobId: 'blob:mlops.yaml', fileMode: 'NORMAL' },
      { absolutePath: 'run.sh', relativePath: 'run.sh', blobId: 'blob:run.sh', fileMode: 'EXECUTABLE' },
    ],
    subFolders: [{ absolutePath: 'src', relativePath: 'src' }],
  });
  codecommit.on(GetFolderCommand, { folderPath: 'src' }).resolves({
    commitId: COMMIT,
    folderPath: 'src',
    files: [{ absolutePath: 'src/preprocess.py', relativePath: 'preprocess.py', blobId: 'blob:src/preprocess.py', fileMode: 'NORMAL' }],
    subFolders: [{ absolutePath: 'src/lib', relativePath: 'lib' }],
  });
  codecommit.on(GetFolderCommand, { folderPath: 'src/lib' }).resolves({
    commitId: COMMIT,
    folderPath: 'src/lib',
    files: [{ absolutePath: 'src/lib/features.py', relativePath: 'features.py', blobId: 'blob:src/lib/features.py', fileMode: 'NORMAL' }],
  });
  for (const [path, file] of Object.entries(TREE)) {
    codecommit.on(GetBlobCommand, { repositoryName: REPOSITORY, blobId: `blob:${path}` }).resolves({ content: new TextEncoder().encode(file.content) });
  }
}

/** Keys of every PutObject, in the order they were sent. */
function writtenKeys(): string[] {
  return s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input.Key ?? '');
}

function writtenBody(key: string): Uint8Array {
  const call = s3.commandCalls(PutObjectCommand).find((c) => c.args[0].input.Key === key);
  if (!call) throw new Error(`nothing was written to ${key}`);
  return call.args[0].input.Body as Uint8Array;
}

function writtenText(key: string): string {
  const body: unknown = writtenBody(key);
  return typeof body === 'string' ? body : new TextDecoder().decode(body as Uint8Array);
}

beforeEach(() => {
  codecommit.reset();
  s3.reset();
  s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }));
  s3.on(PutObjectCommand).resolves({});
  mockCodeCommitTree();
});

describe('snapshotSource', () => {
  it('returns the archive URI, the unpacked prefix and the manifest URI', async () => {
    const snapshot = await snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT });

    expect(snapshot).toEqual({
      sourceUri: `s3://${BUCKET}/${ARCHIVE_KEY}`,
      sourcePrefix: `s3://${BUCKET}/${PREFIX}source/`,
      manifestUri: `s3://${BUCKET}/${MANIFEST_KEY}`,
      files: 4,
      bytes: TREE_BYTES,
      reused: false,
    });
  });

  it('writes source-manifest.json listing every file\'s path, mode and blob id, sorted by path', async () => {
    await snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT });

    expect(JSON.parse(writtenText(MANIFEST_KEY))).toEqual({
      files: [
        { path: 'mlops.yaml', mode: 'NORMAL', blobId: 'blob:mlops.yaml' },
        { path: 'run.sh', mode: 'EXECUTABLE', blobId: 'blob:run.sh' },
        { path: 'src/lib/features.py', mode: 'NORMAL', blobId: 'blob:src/lib/features.py' },
        { path: 'src/preprocess.py', mode: 'NORMAL', blobId: 'blob:src/preprocess.py' },
      ],
    });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Key: MANIFEST_KEY, ContentType: 'application/json' });
  });

  it('writes the manifest before the archive, so a complete snapshot always has one', async () => {
    await snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT });

    expect(writtenKeys().indexOf(MANIFEST_KEY)).toBeLessThan(writtenKeys().indexOf(ARCHIVE_KEY));
    expect(writtenKeys().at(-1)).toBe(ARCHIVE_KEY);
  });

  it('snapshots files from every subfolder, recursively', async () => {
    await snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT });

    expect(writtenKeys()).toEqual(expect.arrayContaining(Object.keys(TREE).map((path) => `${PREFIX}source/${path}`)));
    expect(codecommit).toHaveReceivedCommandWith(GetFolderCommand, { repositoryName: REPOSITORY, commitSpecifier: COMMIT, folderPath: 'src/lib' });
  });

  it('writes each unpacked file with its content from the commit', async () => {
    await snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT });

    expect(new TextDecoder().decode(writtenBody(`${PREFIX}source/src/lib/features.py`))).toBe(TREE['src/lib/features.py']?.content);
  });

  it('writes the archive as a gzipped tar holding every file with its content', async () => {
    await snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT });

    const entries = await untar(writtenBody(ARCHIVE_KEY));
    expect([...entries.keys()].sort()).toEqual(Object.keys(TREE).sort());
    for (const [path, file] of Object.entries(TREE)) expect(entries.get(path)?.content).toBe(file.content);
  });

  it('labels the archive application/gzip', async () => {
    await snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT });

    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Key: ARCHIVE_KEY, ContentType: 'application/gzip' });
  });

  it('keeps the executable bit of EXECUTABLE files (0755) and gives others 0644', async () => {
    await snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT });

    const entries = await untar(writtenBody(ARCHIVE_KEY));
    expect(entries.get('run.sh')?.mode).toBe(0o755);
    expect(entries.get('mlops.yaml')?.mode).toBe(0o644);
  });

  it('finishes writing every unpacked file before it starts writing the archive, which marks the snapshot complete', async () => {
    const log: string[] = [];
    s3.on(PutObjectCommand).callsFake(async (input: { Key?: string }) => {
      log.push(`start ${input.Key}`);
      // Slow unpacked uploads, so an archive written concurrently with them would start before they finish.
      await new Promise((resolve) => setTimeout(resolve, input.Key === ARCHIVE_KEY ? 0 : 100));
      log.push(`done ${input.Key}`);
      return {};
    });

    await snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT });

    const archiveStart = log.indexOf(`start ${ARCHIVE_KEY}`);
    const unpackedDone = Object.keys(TREE).map((path) => log.indexOf(`done ${PREFIX}source/${path}`));
    expect(archiveStart).toBeGreaterThan(-1);
    expect(unpackedDone.every((index) => index > -1 && index < archiveStart)).toBe(true);
  });

  it('does not write the archive when an unpacked file fails to upload', async () => {
    s3.on(PutObjectCommand, { Key: `${PREFIX}source/run.sh` }).rejects(Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $fault: 'server' }));

    await expect(snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT })).rejects.toThrow(RetryableError);
    expect(writtenKeys()).not.toContain(ARCHIVE_KEY);
  });

  it('reuses an existing archive without reading CodeCommit or writing anything', async () => {
    s3.on(HeadObjectCommand, { Bucket: BUCKET, Key: ARCHIVE_KEY }).resolves({ ContentLength: 1234 });

    const snapshot = await snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT });

    expect(snapshot).toMatchObject({ reused: true, sourceUri: `s3://${BUCKET}/${ARCHIVE_KEY}`, sourcePrefix: `s3://${BUCKET}/${PREFIX}source/`, manifestUri: `s3://${BUCKET}/${MANIFEST_KEY}` });
    expect(codecommit.calls()).toHaveLength(0);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('accepts a tree of exactly the limit', async () => {
    await expect(snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: TREE_BYTES })).resolves.toMatchObject({ bytes: TREE_BYTES });
  });

  it('throws SourceTooLargeError when the tree exceeds the limit', async () => {
    await expect(snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: TREE_BYTES - 1 })).rejects.toThrow(SourceTooLargeError);
  });

  it('names the limit in bytes in the size error', async () => {
    await expect(snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: 20 })).rejects.toThrow('exceeds the stage limit of 20 bytes');
  });

  it('writes nothing when the tree exceeds the limit', async () => {
    await expect(snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: 20 })).rejects.toThrow(SourceTooLargeError);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('throws SourceTooLargeError, naming the file, when CodeCommit refuses to serve a blob as too large', async () => {
    codecommit.on(GetBlobCommand, { blobId: 'blob:src/preprocess.py' }).rejects(
      new FileTooLargeException({ message: 'The specified file exceeds the file size limit for CodeCommit.', $metadata: {} }),
    );

    await expect(snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT })).rejects.toThrow(SourceTooLargeError);
    await expect(snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT })).rejects.toThrow('src/preprocess.py');
  });

  it('throws SourceTooLargeError naming the count and the limit for a tree of more files than allowed, before reading any blob', async () => {
    const snapshot = snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT, maxFiles: 3 });

    await expect(snapshot).rejects.toThrow(SourceTooLargeError);
    await expect(snapshot).rejects.toThrow('has 4 files, above the limit of 3');
    expect(codecommit).not.toHaveReceivedCommand(GetBlobCommand);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('accepts a tree of exactly maxFiles files', async () => {
    await expect(snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT, maxFiles: 4 })).resolves.toMatchObject({ files: 4 });
  });

  // https://docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html: getRemainingTimeInMillis, the time before the invocation times out.
  it('stops with SourceTooLargeError naming the time budget, writing no archive, when the time left falls below what the archive needs (nodejs-context)', async () => {
    const snapshot = snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT, remainingMs: () => SNAPSHOT_RESERVE_MS - 1 });

    await expect(snapshot).rejects.toThrow(SourceTooLargeError);
    await expect(snapshot).rejects.toThrow(/could not be snapshotted within the function's time/);
    expect(writtenKeys()).not.toContain(ARCHIVE_KEY);
  });

  it('stops between files once time runs short, rather than at the end', async () => {
    let left = SNAPSHOT_RESERVE_MS + 1;
    const snapshot = snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT, remainingMs: () => left-- });

    await expect(snapshot).rejects.toThrow(/stopped while reading files from CodeCommit/);
    expect(codecommit.commandCalls(GetBlobCommand).length).toBeLessThan(4);
  });

  it('reads blobs several at a time, never more than 8 at once', async () => {
    const paths = Array.from({ length: 40 }, (_value, index) => `file${String(index).padStart(2, '0')}.txt`);
    codecommit.reset();
    codecommit.on(GetFolderCommand, { folderPath: '/' }).resolves({ commitId: COMMIT, folderPath: '/', files: paths.map((path) => ({ absolutePath: path, relativePath: path, blobId: `blob:${path}`, fileMode: 'NORMAL' })) });
    let inFlight = 0;
    let most = 0;
    codecommit.on(GetBlobCommand).callsFake(async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return { content: new TextEncoder().encode('x') };
    });

    await expect(snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT })).resolves.toMatchObject({ files: 40, bytes: 40 });
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(8);
  });

  it('throws RetryableError when CodeCommit throttles', async () => {
    codecommit.on(GetBlobCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' }));

    await expect(snapshotSource(REPOSITORY, COMMIT, LOCATION, { maxBytes: LIMIT })).rejects.toThrow(RetryableError);
  });
});

describe('snapshotBuildSource', () => {
  /** A run's build context as on-source-push writes it: the snapshot under the commit's tree. */
  const BUILD = buildContext();
  const TREE_PREFIX = sourceSnapshotPrefix(REPOSITORY, COMMIT_TREE);

  it('snapshots the build\'s commit where build.sourceUri says: under the tree\'s prefix, not the execution\'s', async () => {
    await snapshotBuildSource(BUILD, BUCKET, { maxBytes: LIMIT });

    expect(codecommit).toHaveReceivedCommandWith(GetFolderCommand, { repositoryName: BUILD.repository, commitSpecifier: BUILD.commit, folderPath: '/' });
    expect(writtenKeys().sort()).toEqual([`${TREE_PREFIX}source-manifest.json`, `${TREE_PREFIX}source.tar.gz`, ...Object.keys(TREE).map((path) => `${TREE_PREFIX}source/${path}`)].sort());
    expect(new Set(s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input.Bucket))).toEqual(new Set([BUCKET]));
  });

  it('returns the build\'s own sourceUri, sourcePrefix and sourceManifestUri', async () => {
    await expect(snapshotBuildSource(BUILD, BUCKET, { maxBytes: LIMIT })).resolves.toEqual({
      sourceUri: BUILD.sourceUri,
      sourcePrefix: BUILD.sourcePrefix,
      manifestUri: BUILD.sourceManifestUri,
      files: 4,
      bytes: TREE_BYTES,
      reused: false,
    });
  });

  it('reuses the snapshot another commit with the same tree took, reading no tree and writing nothing', async () => {
    s3.on(HeadObjectCommand, { Bucket: BUCKET, Key: `${TREE_PREFIX}source.tar.gz` }).resolves({ ContentLength: 1234 });
    const sameFiles = buildContext({ commit: 'fedcba9876543210fedcba9876543210fedcba98', executionName: 'abalone-fedcba9876543210fedcba9876543210fedcba98-0f1e2d' });

    await expect(snapshotBuildSource(sameFiles, BUCKET, { maxBytes: LIMIT })).resolves.toMatchObject({ reused: true, sourceUri: BUILD.sourceUri });

    expect(codecommit).not.toHaveReceivedAnyCommand();
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('applies the size limit it is given', async () => {
    await expect(snapshotBuildSource(BUILD, BUCKET, { maxBytes: TREE_BYTES - 1 })).rejects.toThrow(SourceTooLargeError);
  });

  it.each([
    ['another bucket', `s3://another-bucket/${TREE_PREFIX}source.tar.gz`],
    ['a bucket whose name begins with the stage bucket\'s', `s3://${BUCKET}-copy/${TREE_PREFIX}source.tar.gz`],
    ['a key outside builds/', `s3://${BUCKET}/datasets/abalone/source.tar.gz`],
    ['a key that only mentions builds/', `s3://${BUCKET}/models/builds/x/source.tar.gz`],
    ['an object other than source.tar.gz', `s3://${BUCKET}/${TREE_PREFIX}pipeline.json`],
    ['builds/source.tar.gz itself, in no folder', `s3://${BUCKET}/builds/source.tar.gz`],
    ['the bucket without a key', `s3://${BUCKET}`],
  ])('refuses a sourceUri in %s with InvalidInput naming build.sourceUri, reading and writing nothing', async (_where, sourceUri) => {
    const snapshot = snapshotBuildSource({ ...BUILD, sourceUri }, BUCKET, { maxBytes: LIMIT });

    await expect(snapshot).rejects.toThrow(InvalidInputError);
    await expect(snapshot).rejects.toThrow(`build.sourceUri: ${sourceUri} is not a source snapshot in s3://${BUCKET}/builds/`);
    expect(codecommit).not.toHaveReceivedAnyCommand();
    expect(s3).not.toHaveReceivedAnyCommand();
  });
});

describe('createTarGz', () => {
  it('gives the same bytes for the same files, so a rewritten archive is identical', async () => {
    const files = [{ path: 'a.py', content: new TextEncoder().encode('print(1)\n'), executable: false }];

    expect(Buffer.compare(await createTarGz(files), await createTarGz(files))).toBe(0);
  });

  it('keeps paths longer than the 100 characters of a plain tar header', async () => {
    const path = `${'deeply/'.repeat(20)}nested.py`;

    const entries = await untar(await createTarGz([{ path, content: new TextEncoder().encode('x = 1\n'), executable: false }]));

    expect(entries.get(path)?.content).toBe('x = 1\n');
  });

  it('writes an empty archive that still decodes when there are no files', async () => {
    await expect(untar(await createTarGz([]))).resolves.toEqual(new Map());
  });
});
