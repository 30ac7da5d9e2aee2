import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

import { createDynamoDbService, type DynamoDbService } from '../../../local/dynamodb/service';
import { createS3Service, rewriteCredential } from '../../../local/s3/service';
import { serviceContext } from '../../helpers/service-context';

/** S3 (s3rver) and DynamoDB (dynalite) behind one endpoint, through the real SDK clients. */

const TABLE = { logicalId: 'JobTokenTable', name: 'sluice-test-tokens', keySchema: [{ AttributeName: 'jobName', KeyType: 'HASH' }], attributeDefinitions: [{ AttributeName: 'jobName', AttributeType: 'S' }] };

interface Running {
  endpoint: string;
  server: Server;
  dynamo: DynamoDbService;
}

async function start(dataDir: string): Promise<Running> {
  let handler: (request: IncomingMessage, response: ServerResponse) => void = () => undefined;
  const server = createServer((request, response) => handler(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ctx = (name: string) => serviceContext(join(dataDir, name), [], endpoint);
  const s3 = createS3Service(ctx('s3'), { buckets: ['test-artifacts'] });
  const dynamo = createDynamoDbService(ctx('dynamodb'), { tables: [TABLE] });
  handler = (request, response) => (request.headers['x-amz-target'] ? dynamo.handle(request, response) : s3.handle(request, response));
  await s3.start();
  await dynamo.start();
  return { endpoint, server, dynamo };
}

async function stop(running: Running): Promise<void> {
  running.server.closeAllConnections();
  await new Promise<void>((resolve) => running.server.close(() => resolve()));
  await running.dynamo.stop();
}

let dataDir: string;
let running: Running;

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-storage-'));
  running = await start(dataDir);
});

afterEach(async () => {
  await stop(running);
  rmSync(dataDir, { recursive: true, force: true });
});

const s3For = (endpoint: string, accessKeyId: string) => new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey: 'anything' } });

describe('local S3', () => {
  it('stores and lists objects in the template buckets whatever the access key', async () => {
    const s3 = s3For(running.endpoint, 'AKIAEXAMPLE123');

    await s3.send(new PutObjectCommand({ Bucket: 'test-artifacts', Key: 'builds/run-1/source.tar.gz', Body: 'tarball' }));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'test-artifacts', Prefix: 'builds/' }));
    const body = await (await s3.send(new GetObjectCommand({ Bucket: 'test-artifacts', Key: 'builds/run-1/source.tar.gz' }))).Body!.transformToString();

    expect(listed.Contents?.map((object) => object.Key)).toEqual(['builds/run-1/source.tar.gz']);
    expect(body).toBe('tarball');
    s3.destroy();
  });

  it('answers NoSuchKey for a missing object, as S3 does', async () => {
    const s3 = s3For(running.endpoint, 'local');

    await expect(s3.send(new GetObjectCommand({ Bucket: 'test-artifacts', Key: 'missing' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    s3.destroy();
  });

  it('keeps objects across a restart', async () => {
    const s3 = s3For(running.endpoint, 'local');
    await s3.send(new PutObjectCommand({ Bucket: 'test-artifacts', Key: 'kept.txt', Body: 'still here' }));
    s3.destroy();
    await stop(running);

    running = await start(dataDir);
    const again = s3For(running.endpoint, 'local');
    const body = await (await again.send(new GetObjectCommand({ Bucket: 'test-artifacts', Key: 'kept.txt' }))).Body!.transformToString();

    expect(body).toBe('still here');
    again.destroy();
  });
});

describe('rewriteCredential', () => {
  it('rewrites the access key id in the Authorization header and in presigned URLs', () => {
    const request = {
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIAXYZ/20261123/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc' },
      url: '/b/k?X-Amz-Credential=AKIAXYZ%2F20261123%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abc',
    } as unknown as IncomingMessage;

    rewriteCredential(request);

    expect(request.headers.authorization).toContain('Credential=S3RVER/20261123/');
    expect(request.url).toContain('X-Amz-Credential=S3RVER%2F20261123');
  });
});

describe('local DynamoDB', () => {
  it('creates the template tables at start and serves conditional writes', async () => {
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: running.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }));

    await documents.send(new PutCommand({ TableName: TABLE.name, Item: { jobName: 'job-1', token: 't1' }, ConditionExpression: 'attribute_not_exists(jobName)' }));
    const second = documents.send(new PutCommand({ TableName: TABLE.name, Item: { jobName: 'job-1', token: 't2' }, ConditionExpression: 'attribute_not_exists(jobName)' }));

    await expect(second).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect((await documents.send(new GetCommand({ TableName: TABLE.name, Key: { jobName: 'job-1' } }))).Item).toEqual({ jobName: 'job-1', token: 't1' });
    documents.destroy();
  });

  it('keeps items across a restart (start() keeps existing tables)', async () => {
    const client = () => DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: running.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }));
    const before = client();
    await before.send(new PutCommand({ TableName: TABLE.name, Item: { jobName: 'job-2', token: 't' } }));
    before.destroy();
    await stop(running);

    running = await start(dataDir);
    const after = client();

    expect((await after.send(new GetCommand({ TableName: TABLE.name, Key: { jobName: 'job-2' } }))).Item).toEqual({ jobName: 'job-2', token: 't' });
    after.destroy();
  });
});
