import 'aws-sdk-client-mock-jest';

import { CodeCommitClient, FileTooLargeException, GetBlobCommand, GetFolderCommand } from '@aws-sdk/client-codecommit';
import { HeadObjectCommand, NotFound, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

import type { handler as snapshotSourceHandler } from '../../../functions/snapshot-source';
import { InvalidInputError, RetryableError, SourceTooLargeError } from '../../../shared/errors';
import { sourceSnapshotPrefix } from '../../../shared/naming';
import { BUCKET, buildContext, COMMIT, COMMIT_TREE } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';

/** functions/snapshot-source: the first task of every build run, given `{ build }` by the compiled pipeline's `Source snapshot` state. */

const codecommit = mockClient(CodeCommitClient);
const s3 = mockClient(S3Client);

/** The stage's limit, as serverless.yml passes it (small here, so a test can exceed it). */
const MAX_SOURCE_BYTES = 200;
/** A run's build as on-source-push starts it: its snapshot lives by the commit's tree, apart from the run's builds/<executionName>/. */
const BUILD = buildContext();
const PREFIX = sourceSnapshotPrefix(BUILD.repository, COMMIT_TREE);

/** The commit's tree: path → content (well under the limit together). */
const TREE: Record<string, string> = {
  'mlops.yaml': 'Version: 1\n',
  'train.js': "module.exports = require('./model');\n",
};

let handler: typeof snapshotSourceHandler;

beforeAll(async () => {
  // Only what the function reads: the bucket and the limit (not the build settings on-source-push reads).
  Object.assign(process.env, { ARTIFACTS_BUCKET: BUCKET, MAX_SOURCE_BYTES: String(MAX_SOURCE_BYTES), POWERTOOLS_LOG_LEVEL: 'SILENT' });
  ({ handler } = await import('../../../functions/snapshot-source'));
});

/** Serves TREE at the root of the commit, each file's blob holding `content` (default: TREE's). */
function serveTree(content: Record<string, string> = TREE): void {
  codecommit.on(GetFolderCommand, { folderPath: '/' }).resolves({
    commitId: COMMIT,
    folderPath: '/',
    files: Object.keys(content).map((path) => ({ absolutePath: path, relativePath: path, blobId: `blob:${path}`, fileMode: 'NORMAL' })),
  });
  for (const [path, text] of Object.entries(content)) codecommit.on(GetBlobCommand, { blobId: `blob:${path}` }).resolves({ content: new TextEncoder().encode(text) });
}

/** Keys of every PutObject, sorted. */
function writtenKeys(): string[] {
  return s3
    .commandCalls(PutObjectCommand)
    .map((call) => call.args[0].input.Key ?? '')
    .sort();
}

beforeEach(() => {
  codecommit.reset();
  s3.reset();
  s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }));
  s3.on(PutObjectCommand).resolves({});
  serveTree();
});

describe('snapshot-source handler', () => {
  it('snapshots the build\'s commit where build.sourceUri says in ARTIFACTS_BUCKET (by tree): unpacked files, manifest and archive', async () => {
    await handler({ build: BUILD }, lambdaContext());

    expect(codecommit).toHaveReceivedCommandWith(GetFolderCommand, { repositoryName: BUILD.repository, commitSpecifier: BUILD.commit, folderPath: '/' });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: BUCKET });
    expect(writtenKeys()).toEqual([`${PREFIX}source-manifest.json`, `${PREFIX}source.tar.gz`, `${PREFIX}source/mlops.yaml`, `${PREFIX}source/train.js`]);
  });

  it('writes nothing under the run\'s own builds/<executionName>/: that holds its pipeline and outputs', async () => {
    await handler({ build: BUILD }, lambdaContext());

    expect(writtenKeys().filter((key) => key.startsWith(`builds/${BUILD.executionName}/`))).toEqual([]);
  });

  it('writes where the build context says the source is, and returns what it wrote', async () => {
    const bytes = Object.values(TREE).reduce((sum, text) => sum + Buffer.byteLength(text), 0);

    await expect(handler({ build: BUILD }, lambdaContext())).resolves.toEqual({
      sourceUri: BUILD.sourceUri,
      sourcePrefix: BUILD.sourcePrefix,
      manifestUri: BUILD.sourceManifestUri,
      files: 2,
      bytes,
      reused: false,
    });
  });

  it('reuses a finished snapshot (a retry, a redrive, or another commit with the same tree), reading no tree', async () => {
    s3.on(HeadObjectCommand, { Bucket: BUCKET, Key: `${PREFIX}source.tar.gz` }).resolves({ ContentLength: 321 });

    await expect(handler({ build: BUILD }, lambdaContext())).resolves.toMatchObject({ reused: true });

    expect(codecommit).not.toHaveReceivedAnyCommand();
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('fails the task with SourceTooLarge, naming the limit from MAX_SOURCE_BYTES, for a tree above it', async () => {
    serveTree({ ...TREE, 'data/abalone.csv': 'M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\n'.repeat(5) });

    const snapshot = handler({ build: BUILD }, lambdaContext());

    await expect(snapshot).rejects.toThrow(SourceTooLargeError);
    await expect(snapshot).rejects.toMatchObject({ name: 'SourceTooLarge', message: expect.stringContaining(`exceeds the stage limit of ${MAX_SOURCE_BYTES} bytes`) });
  });

  it('writes no partial snapshot for a tree above the limit', async () => {
    serveTree({ ...TREE, 'data/abalone.csv': 'x'.repeat(MAX_SOURCE_BYTES) });

    await expect(handler({ build: BUILD }, lambdaContext())).rejects.toThrow(SourceTooLargeError);

    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  // https://docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html
  it('fails the task with SourceTooLarge, not a Lambda timeout, when the invocation has too little time left (nodejs-context)', async () => {
    serveTree();
    const context = { ...lambdaContext(), getRemainingTimeInMillis: () => 1_000 };

    await expect(handler({ build: BUILD }, context)).rejects.toMatchObject({ name: 'SourceTooLarge', message: expect.stringContaining("within the function's time") });
  });

  it('fails the task with SourceTooLarge naming the file CodeCommit will not serve (a committed data set)', async () => {
    codecommit.on(GetBlobCommand, { blobId: 'blob:train.js' }).rejects(new FileTooLargeException({ message: 'The specified file exceeds the file size limit for CodeCommit.', $metadata: {} }));

    await expect(handler({ build: BUILD }, lambdaContext())).rejects.toMatchObject({ name: 'SourceTooLarge', message: expect.stringContaining('train.js') });
  });

  it('rejects with RetryableError, which the state retries, when CodeCommit throttles', async () => {
    codecommit.on(GetBlobCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' }));

    await expect(handler({ build: BUILD }, lambdaContext())).rejects.toThrow(RetryableError);
  });

  it.each([
    ['in another bucket', `s3://sluice-prod-artifacts/${PREFIX}source.tar.gz`],
    ['outside builds/', `s3://${BUCKET}/datasets/abalone/source.tar.gz`],
  ])('rejects a build.sourceUri %s with InvalidInput naming build.sourceUri, reading and writing nothing', async (_where, sourceUri) => {
    const snapshot = handler({ build: { ...BUILD, sourceUri } }, lambdaContext());

    await expect(snapshot).rejects.toThrow(InvalidInputError);
    await expect(snapshot).rejects.toThrow(`build.sourceUri: ${sourceUri}`);
    expect(codecommit).not.toHaveReceivedAnyCommand();
    expect(s3).not.toHaveReceivedAnyCommand();
  });

  it.each([
    ['no build', {}, 'build'],
    ['a build without its commit', { build: { ...BUILD, commit: undefined } }, 'build.commit'],
    ['fields beyond the build', { build: BUILD, steps: {} }, 'steps'],
  ])('rejects %s with InvalidInput naming the field, reading and writing nothing', async (_what, input, field) => {
    const snapshot = handler(input, lambdaContext());

    await expect(snapshot).rejects.toThrow(InvalidInputError);
    await expect(snapshot).rejects.toThrow(field);
    expect(codecommit).not.toHaveReceivedAnyCommand();
    expect(s3).not.toHaveReceivedAnyCommand();
  });
});
