import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { BucketNotifications, toEventBridgeEntry } from '../../../local/s3/notifications';
import { toEventBridgeEvent } from '../../../local/eventbridge/service';
import { objectCreatedSchema, parseEvent } from '../../../shared/schemas/events';

/** A record as s3rver emits it after a PutObject (lib/models/event.js). */
const PUT_RECORD = {
  eventName: 'ObjectCreated:Put',
  eventTime: '2026-12-04T16:00:00.000Z',
  requestParameters: { sourceIPAddress: '::ffff:127.0.0.1' },
  responseElements: { 'x-amz-request-id': '1A2B3C4D5E6F7A8B' },
  s3: { bucket: { name: 'sluice-local-artifacts' }, object: { key: 'datasets/abalone/part-1.csv', size: 6, eTag: 'b1946ac92492d2347c6235b4d2611184', sequencer: '18C3F0A1B2C' } },
};

/** A request with `body`, and a response that records what was written. */
function exchange(method: string, url: string, body = ''): { request: IncomingMessage; response: ServerResponse; sent: () => { status?: number; body: string } } {
  const request = Object.assign(Readable.from(body === '' ? [] : [Buffer.from(body)]), { method, url, headers: {} }) as unknown as IncomingMessage;
  let status: number | undefined;
  let written = '';
  const response = { writeHead: (code: number) => (status = code), end: (text?: string) => (written = text ?? '') } as unknown as ServerResponse;
  return { request, response, sent: () => ({ status, body: written }) };
}

describe('S3 object events to EventBridge, locally', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 's3-notifications-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('turns a PutObject into S3\'s Object Created event, which on-dataset-change\'s schema reads', () => {
    const entry = toEventBridgeEntry(PUT_RECORD, '123456789012')!;
    const event = toEventBridgeEvent(entry, { accountId: '123456789012', region: 'us-east-1' });

    expect(event).toMatchObject({ source: 'aws.s3', 'detail-type': 'Object Created', resources: ['arn:aws:s3:::sluice-local-artifacts'] });
    expect(event.detail).toEqual({
      version: '0',
      bucket: { name: 'sluice-local-artifacts' },
      object: { key: 'datasets/abalone/part-1.csv', size: 6, etag: 'b1946ac92492d2347c6235b4d2611184', sequencer: '18C3F0A1B2C' },
      'request-id': '1A2B3C4D5E6F7A8B',
      requester: '123456789012',
      'source-ip-address': '127.0.0.1',
      reason: 'PutObject',
    });
    expect(() => parseEvent(objectCreatedSchema, event)).not.toThrow();
  });

  it('turns a DeleteObject into Object Deleted, and a copy into Object Created with reason CopyObject', () => {
    expect(toEventBridgeEntry({ ...PUT_RECORD, eventName: 'ObjectRemoved:Delete' }, '123456789012')).toMatchObject({ DetailType: 'Object Deleted', Detail: { reason: 'DeleteObject', 'deletion-type': 'Permanently Deleted' } });
    expect(toEventBridgeEntry({ ...PUT_RECORD, eventName: 'ObjectCreated:Copy' }, '123456789012')).toMatchObject({ DetailType: 'Object Created', Detail: { reason: 'CopyObject' } });
  });

  it('sends the configured buckets\' events, and switches others with PutBucketNotificationConfiguration', async () => {
    const notifications = new BucketNotifications(dir, ['sluice-local-artifacts']);
    expect(notifications.sendsToEventBridge('sluice-local-artifacts')).toBe(true);
    expect(notifications.sendsToEventBridge('other')).toBe(false);

    const put = exchange('PUT', '/other?notification', '<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><EventBridgeConfiguration/></NotificationConfiguration>');
    await expect(notifications.handle(put.request, put.response)).resolves.toBe(true);
    expect(put.sent().status).toBe(200);
    expect(notifications.sendsToEventBridge('other')).toBe(true);

    const get = exchange('GET', '/other?notification');
    await notifications.handle(get.request, get.response);
    expect(get.sent().body).toContain('<EventBridgeConfiguration></EventBridgeConfiguration>');

    const off = exchange('PUT', '/other?notification', '<NotificationConfiguration/>');
    await notifications.handle(off.request, off.response);
    expect(notifications.sendsToEventBridge('other')).toBe(false);
  });

  it('leaves every other request to s3rver', async () => {
    const notifications = new BucketNotifications(dir, []);
    const object = exchange('PUT', '/bucket/key?notification');
    const listing = exchange('GET', '/bucket?list-type=2');

    await expect(notifications.handle(object.request, object.response)).resolves.toBe(false);
    await expect(notifications.handle(listing.request, listing.response)).resolves.toBe(false);
  });
});
