import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { classifyAwsError, isAwsError } from '../errors';
import { hasCustomEndpoint } from '../config';

// Pure: a function that never calls this adapter does not bundle its client.
// Path-style addressing only where a custom endpoint stands in for S3 (S3-compatible stores need it);
// against AWS, virtual-hosted style, which AWS recommends.
const client = /* @__PURE__ */ new S3Client({ forcePathStyle: hasCustomEndpoint('S3') });

/** Parses `s3://bucket/key` into its parts. Throws Error on anything else. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!match) throw new Error(`not an s3:// URI: ${uri}`);
  return { bucket: match[1]!, key: match[2]! };
}

/** True when the object exists. Throws RetryableError on throttling/5xx. */
export async function objectExists(bucket: string, key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (isAwsError(error, 'NotFound', 'NoSuchKey')) return false;
    throw classifyAwsError(error, `S3 HeadObject s3://${bucket}/${key}`);
  }
}

/** Writes an object (overwrites; idempotent for the same body). Throws RetryableError on throttling. */
export async function putObject(bucket: string, key: string, body: Uint8Array | string, contentType?: string): Promise<void> {
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  } catch (error) {
    throw classifyAwsError(error, `S3 PutObject s3://${bucket}/${key}`);
  }
}

/** Reads an object as UTF-8 text; undefined when it does not exist. Throws RetryableError on throttling. */
export async function getObjectText(bucket: string, key: string): Promise<string | undefined> {
  const bytes = await getObjectBytes(bucket, key);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}

/** Reads an object's bytes; undefined when it does not exist. Throws RetryableError on throttling. */
export async function getObjectBytes(bucket: string, key: string): Promise<Uint8Array | undefined> {
  try {
    const output = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await output.Body?.transformToByteArray()) ?? new Uint8Array();
  } catch (error) {
    if (isAwsError(error, 'NoSuchKey', 'NotFound')) return undefined;
    throw classifyAwsError(error, `S3 GetObject s3://${bucket}/${key}`);
  }
}

/** One object as a listing shows it. */
export interface ListedObject {
  key: string;
  etag: string;
  size: number;
}

/**
 * Every object under `prefix` (paginated ListObjectsV2), sorted by key. Throws RetryableError on
 * throttling. Read-only.
 */
export async function listObjects(bucket: string, prefix: string): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  let token: string | undefined;
  try {
    do {
      const output = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of output.Contents ?? []) {
        if (object.Key !== undefined) objects.push({ key: object.Key, etag: object.ETag ?? '', size: object.Size ?? 0 });
      }
      token = output.IsTruncated ? output.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    throw classifyAwsError(error, `S3 ListObjectsV2 s3://${bucket}/${prefix}`);
  }
  return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
