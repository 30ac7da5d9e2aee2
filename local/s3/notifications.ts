import type { IncomingMessage, ServerResponse } from 'node:http';

import type { S3rverNotification } from 's3rver';

import type { LocalEventEntry } from '../context';
import { JsonStore } from '../store/json-store';

/**
 * S3 → EventBridge, as S3 does it for a bucket whose notification configuration has
 * `EventBridgeConfiguration`: every object created or deleted becomes an `Object Created` /
 * `Object Deleted` event (source `aws.s3`) on the default bus. The configuration is per bucket,
 * set by the template (NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled), by
 * the runtime for the stage's own buckets, or by PutBucketNotificationConfiguration; kept in the
 * data directory. https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html
 */

const REASONS: Record<string, string> = {
  'ObjectCreated:Put': 'PutObject',
  'ObjectCreated:Copy': 'CopyObject',
  // s3rver reports a completed multipart upload (what `aws s3 cp` sends for large files) and a POST form upload alike.
  'ObjectCreated:Post': 'CompleteMultipartUpload',
};

/** The EventBridge entry S3 puts for one s3rver notification record; undefined for other events. Pure. */
export function toEventBridgeEntry(record: S3rverNotification['Records'][number], accountId: string): LocalEventEntry | undefined {
  const { bucket, object } = record.s3;
  const common = {
    version: '0',
    bucket: { name: bucket.name },
    'request-id': record.responseElements['x-amz-request-id'],
    requester: accountId,
    'source-ip-address': (record.requestParameters.sourceIPAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
  };
  const resources = [`arn:aws:s3:::${bucket.name}`];
  if (record.eventName.startsWith('ObjectCreated:')) {
    return {
      Source: 'aws.s3',
      DetailType: 'Object Created',
      Resources: resources,
      Detail: { ...common, object: { key: object.key, size: object.size ?? 0, ...(object.eTag ? { etag: object.eTag } : {}), sequencer: object.sequencer }, reason: REASONS[record.eventName] ?? 'PutObject' },
    };
  }
  if (record.eventName.startsWith('ObjectRemoved:')) {
    return { Source: 'aws.s3', DetailType: 'Object Deleted', Resources: resources, Detail: { ...common, object: { key: object.key, sequencer: object.sequencer }, reason: 'DeleteObject', 'deletion-type': 'Permanently Deleted' } };
  }
  return undefined;
}

/** Which buckets send their events to EventBridge, and Put/GetBucketNotificationConfiguration for them. */
export class BucketNotifications {
  private readonly store: JsonStore<{ eventBridge: boolean }>;

  constructor(dataDir: string, enabled: readonly string[]) {
    this.store = new JsonStore(`${dataDir}/notifications`);
    // The template's and the stage's buckets are configured at every start, as CloudFormation would keep them.
    for (const bucket of enabled) this.store.put(bucket, { eventBridge: true });
  }

  /** True when `bucket` sends its events to EventBridge. */
  sendsToEventBridge(bucket: string): boolean {
    return this.store.get(bucket)?.eventBridge === true;
  }

  /**
   * Serves `PUT|GET /<bucket>?notification` (s3rver does not implement them) and returns true;
   * false for any other request. Only EventBridgeConfiguration is kept: the SNS/SQS/Lambda
   * configurations are accepted and not acted on (the runtime delivers through EventBridge).
   */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    const url = new URL(request.url ?? '/', 'http://local');
    const bucket = /^\/([^/]+)\/?$/.exec(url.pathname)?.[1];
    if (!bucket || !url.searchParams.has('notification') || (request.method !== 'PUT' && request.method !== 'GET')) return false;
    if (request.method === 'PUT') {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      this.store.put(bucket, { eventBridge: /<EventBridgeConfiguration\s*\/?>/.test(Buffer.concat(chunks).toString('utf8')) });
      response.writeHead(200, { 'Content-Length': 0 });
      response.end();
      return true;
    }
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${this.sendsToEventBridge(bucket) ? '<EventBridgeConfiguration></EventBridgeConfiguration>' : ''}</NotificationConfiguration>`;
    response.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
    response.end(body);
    return true;
  }
}
