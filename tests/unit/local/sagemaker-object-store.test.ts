/**
 * createS3ObjectStore: the ObjectStore the runtime gives the local SageMaker, over a real S3 client
 * (mocked at the Command level). Layout rules: an exact object lands under its base name, objects
 * below a prefix keep their path below it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

import { createS3ObjectStore, parseS3Uri, relativeKey } from '../../../local/sagemaker/object-store';

const s3 = mockClient(S3Client);
let dir: string;

beforeEach(() => {
  s3.reset();
  dir = mkdtempSync(join(tmpdir(), 'sluice-objects-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A GetObject Body as the SDK returns it in Node: a Readable with the transformTo* helpers. */
function body(text: string) {
  return Object.assign(Readable.from([Buffer.from(text)]), {
    transformToByteArray: async () => new Uint8Array(Buffer.from(text)),
    transformToString: async () => text,
    transformToWebStream: () => {
      throw new Error('not used');
    },
  });
}

describe('createS3ObjectStore', () => {
  it('downloads every object under a prefix, keeping paths below it, across pages', async () => {
    s3.on(ListObjectsV2Command, { Bucket: 'b', Prefix: 'datasets/raw/' })
      .resolvesOnce({ Contents: [{ Key: 'datasets/raw/a.csv' }, { Key: 'datasets/raw/' }], IsTruncated: true, NextContinuationToken: 't1' })
      .resolvesOnce({ Contents: [{ Key: 'datasets/raw/sub/b.csv' }], IsTruncated: false });
    s3.on(GetObjectCommand, { Key: 'datasets/raw/a.csv' }).callsFake(() => ({ Body: body('a') }));
    s3.on(GetObjectCommand, { Key: 'datasets/raw/sub/b.csv' }).callsFake(() => ({ Body: body('b') }));

    const count = await createS3ObjectStore(new S3Client({ region: 'us-east-1' })).download('s3://b/datasets/raw/', dir);

    expect(count).toBe(2);
    expect(readFileSync(join(dir, 'a.csv'), 'utf8')).toBe('a');
    expect(readFileSync(join(dir, 'sub', 'b.csv'), 'utf8')).toBe('b');
  });

  it('downloads a single object (e.g. model.tar.gz) under its base name', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'train/job/output/model.tar.gz' }] });
    s3.on(GetObjectCommand).callsFake(() => ({ Body: body('tgz') }));

    await createS3ObjectStore(new S3Client({ region: 'us-east-1' })).download('s3://b/train/job/output/model.tar.gz', dir);

    expect(readFileSync(join(dir, 'model.tar.gz'), 'utf8')).toBe('tgz');
  });

  it('refuses keys that would escape the target directory', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'p/../../etc/x' }] });

    await expect(createS3ObjectStore(new S3Client({ region: 'us-east-1' })).download('s3://b/p/', dir)).rejects.toThrow(/does not fit/);
  });

  it('uploads every file under a directory below the prefix', async () => {
    await mkdir(join(dir, 'nested'), { recursive: true });
    await writeFile(join(dir, 'train.csv'), '1');
    await writeFile(join(dir, 'nested', 'x.csv'), '2');
    s3.on(PutObjectCommand).resolves({});

    await createS3ObjectStore(new S3Client({ region: 'us-east-1' })).upload(dir, 's3://b/builds/e1/preprocess/train/');

    expect(s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input.Key).sort()).toEqual(['builds/e1/preprocess/train/nested/x.csv', 'builds/e1/preprocess/train/train.csv']);
  });

  it('parses s3:// URIs and computes relative keys', () => {
    expect(parseS3Uri('s3://bucket/a/b')).toEqual({ bucket: 'bucket', key: 'a/b' });
    expect(parseS3Uri('s3://bucket')).toEqual({ bucket: 'bucket', key: '' });
    expect(() => parseS3Uri('https://x')).toThrow();
    expect(relativeKey('a/b', 'a/b/c.csv')).toBe('c.csv');
    expect(relativeKey('a/b.csv', 'a/b.csv')).toBe('b.csv');
  });
});
