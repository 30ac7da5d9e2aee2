import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';

import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { listFiles } from './archive';
import type { ObjectStore, RoleCredentials } from './types';

/**
 * An S3 failure as a FailureReason tail: the S3 error code first (`AccessDenied: User: … is not
 * authorized to perform: s3:PutObject …`), as SageMaker reports S3 errors in its ClientError reasons.
 */
export function s3Error(error: unknown): string {
  const { name, message } = error as Error;
  return name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}

/** Splits `s3://bucket/key` into its parts. Throws for anything else. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) throw new Error(`not an s3:// URI: ${uri}`);
  return { bucket: match[1]!, key: match[2]! };
}

/** Where an object lands under `directory`; keys that would escape it (`..`) are refused. */
export function localTarget(directory: string, relativeKey: string): string {
  const root = resolve(directory);
  const target = resolve(root, relativeKey);
  if (target === root || !target.startsWith(root + sep)) throw new Error(`object key ${relativeKey} does not fit under ${directory}`);
  return target;
}

/**
 * The key of an object relative to the prefix it was listed under: the exact object becomes its
 * base name, anything below the prefix keeps its path below it (SageMaker's S3Prefix layout).
 */
export function relativeKey(prefix: string, key: string): string {
  if (key === prefix) return key.slice(key.lastIndexOf('/') + 1);
  return key.slice(prefix.length).replace(/^\/+/, '');
}

/** `prefix` joined with a relative path, with exactly one `/` between them. */
export function joinKey(prefix: string, path: string): string {
  if (prefix === '') return path;
  return `${prefix.replace(/\/+$/, '')}/${path}`;
}

/**
 * The ObjectStore over a real S3 client (the runtime points it at its own S3). Downloads list the
 * prefix page by page; files are read whole, which is fine for the sizes a local run handles.
 * `clientFor` makes a client signing with a role's credentials, for `as()`; without it the store
 * has no `as()` and always acts as `client`.
 */
export function createS3ObjectStore(client: S3Client, clientFor?: (credentials: RoleCredentials) => S3Client): ObjectStore {
  const store = storeOver(client);
  if (!clientFor) return store;
  return {
    ...store,
    as(credentials) {
      const scoped = clientFor(credentials);
      return { ...storeOver(scoped), close: () => scoped.destroy() };
    },
  };
}

function storeOver(client: S3Client): ObjectStore {
  return {
    async download(s3Uri, directory) {
      const { bucket, key: prefix } = parseS3Uri(s3Uri);
      await mkdir(directory, { recursive: true });
      let count = 0;
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const object of page.Contents ?? []) {
          if (!object.Key || object.Key.endsWith('/')) continue;
          const target = localTarget(directory, relativeKey(prefix, object.Key));
          const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
          if (!body.Body) throw new Error(`s3://${bucket}/${object.Key} has no body`);
          await mkdir(dirname(target), { recursive: true });
          await writeFile(target, await body.Body.transformToByteArray());
          count += 1;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return count;
    },
    async upload(directory, s3Uri) {
      const { bucket, key: prefix } = parseS3Uri(s3Uri);
      for (const file of await listFiles(directory)) {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: joinKey(prefix, file), Body: await readFile(join(directory, file)) }));
      }
    },
    async putObject(s3Uri, body) {
      const { bucket, key } = parseS3Uri(s3Uri);
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
  };
}
