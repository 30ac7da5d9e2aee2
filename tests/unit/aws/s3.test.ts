import { Readable } from 'node:stream';

import { GetObjectCommand, type GetObjectCommandOutput, HeadObjectCommand, NoSuchKey, NotFound, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

import { getObjectText, objectExists, parseS3Uri, putObject } from '../../../shared/aws/s3';
import { RetryableError } from '../../../shared/errors';
import { BUCKET } from '../../helpers/fixtures';

const s3 = mockClient(S3Client);

const KEY = 'builds/abalone-0123456789abcdef0123456789abcdef01234567-a1b2c3/source.tar.gz';

function slowDown(): Error {
  return Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $fault: 'server' });
}

function accessDenied(): Error {
  return Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $fault: 'client' });
}

/** A GetObject body as the SDK returns it: a stream with the SDK's transform helpers. */
function body(text: string): GetObjectCommandOutput['Body'] {
  const stream = Object.assign(Readable.from([Buffer.from(text, 'utf8')]), {
    transformToString: async (encoding?: string) => Buffer.from(text, 'utf8').toString((encoding ?? 'utf8') as BufferEncoding),
    transformToByteArray: async () => new Uint8Array(Buffer.from(text, 'utf8')),
    transformToWebStream: () => {
      throw new Error('not used');
    },
  });
  return stream as unknown as GetObjectCommandOutput['Body'];
}

beforeEach(() => {
  s3.reset();
});

describe('parseS3Uri', () => {
  it('splits an s3:// URI into bucket and key', () => {
    expect(parseS3Uri(`s3://${BUCKET}/${KEY}`)).toEqual({ bucket: BUCKET, key: KEY });
  });

  it('accepts a bucket-only prefix with an empty key', () => {
    expect(parseS3Uri(`s3://${BUCKET}/`)).toEqual({ bucket: BUCKET, key: '' });
  });

  it('rejects anything that is not an s3:// URI, naming it', () => {
    expect(() => parseS3Uri(`https://${BUCKET}.s3.amazonaws.com/${KEY}`)).toThrow(`not an s3:// URI: https://${BUCKET}.s3.amazonaws.com/${KEY}`);
  });
});

describe('objectExists', () => {
  it('is true when HeadObject succeeds', async () => {
    s3.on(HeadObjectCommand, { Bucket: BUCKET, Key: KEY }).resolves({ ContentLength: 10 });

    await expect(objectExists(BUCKET, KEY)).resolves.toBe(true);
  });

  it('is false when HeadObject says NotFound', async () => {
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }));

    await expect(objectExists(BUCKET, KEY)).resolves.toBe(false);
  });

  it('is false when S3 says NoSuchKey', async () => {
    s3.on(HeadObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));

    await expect(objectExists(BUCKET, KEY)).resolves.toBe(false);
  });

  it('throws RetryableError when S3 asks to slow down', async () => {
    s3.on(HeadObjectCommand).rejects(slowDown());

    await expect(objectExists(BUCKET, KEY)).rejects.toThrow(RetryableError);
  });

  it('passes access denied through unchanged, as terminal', async () => {
    const denied = accessDenied();
    s3.on(HeadObjectCommand).rejects(denied);

    await expect(objectExists(BUCKET, KEY)).rejects.toBe(denied);
  });
});

describe('putObject', () => {
  it('writes the body with the given content type', async () => {
    s3.on(PutObjectCommand).resolves({});
    const content = new Uint8Array([1, 2, 3]);

    await putObject(BUCKET, KEY, content, 'application/gzip');

    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: BUCKET, Key: KEY, Body: content, ContentType: 'application/gzip' });
  });

  it('throws RetryableError when S3 asks to slow down', async () => {
    s3.on(PutObjectCommand).rejects(slowDown());

    await expect(putObject(BUCKET, KEY, 'x')).rejects.toThrow(RetryableError);
  });
});

describe('getObjectText', () => {
  it('returns the object as UTF-8 text', async () => {
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: 'evaluation.json' }).resolves({ Body: body('{"mse": 4.2, "note": "réussi"}') });

    await expect(getObjectText(BUCKET, 'evaluation.json')).resolves.toBe('{"mse": 4.2, "note": "réussi"}');
  });

  it('returns undefined when the key does not exist', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));

    await expect(getObjectText(BUCKET, 'evaluation.json')).resolves.toBeUndefined();
  });

  it('throws RetryableError when S3 asks to slow down', async () => {
    s3.on(GetObjectCommand).rejects(slowDown());

    await expect(getObjectText(BUCKET, 'evaluation.json')).rejects.toThrow(RetryableError);
  });
});
