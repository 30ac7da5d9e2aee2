import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateModelCommand, CreateTransformJobCommand, DescribeTransformJobCommand, type DescribeTransformJobCommandOutput, SageMakerClient } from '@aws-sdk/client-sagemaker';

import { tarGzDirectory } from '../../local/sagemaker/archive';
import { awsCliJson } from '../helpers/aws-cli';
import { ROOT } from '../helpers/fixtures';
import { type RuntimeProcess, runtimeEvents, startRuntime, waitUntil } from '../helpers/runtime-process';

/**
 * Batch transform on the local runtime, as a user drives it: `sluice up`, a model whose image is
 * the CSV regressor fixture (tests/fixtures/local-images/transformer.cjs, mapped by --images), a
 * transform job over two CSV files through the real SDK, the `.out` files read back from S3, the
 * job described by the real AWS CLI, and its state-change events on the bus; then a model whose
 * serve process cannot start.
 */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/transformer:latest';
const ROLE = 'arn:aws:iam::123456789012:role/sluice-transform-test';
const BUCKET = 'transform-test';
const TRANSFORMER = join(ROOT, 'tests', 'fixtures', 'local-images', 'transformer.cjs');
const TERMINAL = ['Completed', 'Failed', 'Stopped'];

let root: string;
let runtime: RuntimeProcess;
let sageMaker: SageMakerClient;
let s3: S3Client;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sluice-e2e-transform-'));
  const images = join(root, 'images.yaml');
  writeFileSync(images, JSON.stringify({ [IMAGE]: { Command: [process.execPath, TRANSFORMER] } }));
  runtime = await startRuntime({ dataDir: join(root, 'runtime'), images });
  sageMaker = new SageMakerClient({ endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  s3 = new S3Client({ endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const modelDir = join(root, 'model');
  mkdirSync(modelDir);
  writeFileSync(join(modelDir, 'model.json'), JSON.stringify({ scale: 3 }));
  await tarGzDirectory(modelDir, join(root, 'model.tar.gz'));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'models/regressor/model.tar.gz', Body: readFileSync(join(root, 'model.tar.gz')) }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'batch/in/part-1.csv', Body: '1,2\n3,4\n5,6\n' }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'batch/in/part-2.csv', Body: '10,0\n0,20\n' }));
}, 300_000);

afterAll(async () => {
  sageMaker?.destroy();
  s3?.destroy();
  await runtime?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
}, 60_000);

async function createModel(name: string, environment: Record<string, string> = {}): Promise<void> {
  await sageMaker.send(new CreateModelCommand({ ModelName: name, ExecutionRoleArn: ROLE, PrimaryContainer: { Image: IMAGE, ModelDataUrl: `s3://${BUCKET}/models/regressor/model.tar.gz`, Environment: environment } }));
}

async function transform(name: string, modelName: string, outputPath: string): Promise<DescribeTransformJobCommandOutput> {
  await sageMaker.send(
    new CreateTransformJobCommand({
      TransformJobName: name,
      ModelName: modelName,
      BatchStrategy: 'MultiRecord',
      MaxPayloadInMB: 1,
      TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/batch/in/` } }, ContentType: 'text/csv', SplitType: 'Line' },
      TransformOutput: { S3OutputPath: outputPath, Accept: 'text/csv', AssembleWith: 'Line' },
      TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
    }),
  );
  return waitUntil(
    runtime,
    () => sageMaker.send(new DescribeTransformJobCommand({ TransformJobName: name })),
    (job) => TERMINAL.includes(job.TransformJobStatus ?? ''),
    60_000,
    `transform job ${name} to end`,
  );
}

async function read(key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return object.Body!.transformToString();
}

describe('batch transform on the local runtime', () => {
  it("transforms two CSV files line by line through the model's serve process and writes one .out per file", async () => {
    await createModel('regressor');

    const job = await transform('batch-abalone', 'regressor', `s3://${BUCKET}/batch/out/`);

    expect(job.FailureReason).toBeUndefined();
    expect(job.TransformJobStatus).toBe('Completed');
    expect(await read('batch/out/part-1.csv.out')).toBe('9\n21\n33\n');
    expect(await read('batch/out/part-2.csv.out')).toBe('30\n60\n');
  }, 90_000);

  it('answers `aws sagemaker describe-transform-job` and list-transform-jobs with AWS shapes', async () => {
    const described = await awsCliJson<Record<string, unknown>>(runtime.endpoint, 'sagemaker', 'describe-transform-job', '--transform-job-name', 'batch-abalone');
    const listed = await awsCliJson<{ TransformJobSummaries: Record<string, unknown>[] }>(runtime.endpoint, 'sagemaker', 'list-transform-jobs', '--status-equals', 'Completed');

    expect(described).toMatchObject({
      TransformJobName: 'batch-abalone',
      TransformJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:transform-job/batch-abalone',
      TransformJobStatus: 'Completed',
      ModelName: 'regressor',
      BatchStrategy: 'MultiRecord',
      TransformInput: { SplitType: 'Line', ContentType: 'text/csv' },
      TransformOutput: { AssembleWith: 'Line', Accept: 'text/csv' },
    });
    // The CLI prints timestamps as ISO strings once it has parsed them as the model's timestamps.
    expect(new Date(described.TransformEndTime as string).getTime()).toBeGreaterThanOrEqual(new Date(described.TransformStartTime as string).getTime());
    expect(listed.TransformJobSummaries.map((summary) => summary.TransformJobName)).toContain('batch-abalone');
  }, 60_000);

  it('publishes the SageMaker Transform Job State Change events InProgress then Completed', () => {
    const events = runtimeEvents(join(root, 'runtime')).filter((event) => event['detail-type'] === 'SageMaker Transform Job State Change' && event.detail.TransformJobName === 'batch-abalone');

    expect(events.map((event) => event.detail.TransformJobStatus)).toEqual(['InProgress', 'Completed']);
    expect(events[1]).toMatchObject({ source: 'aws.sagemaker', resources: ['arn:aws:sagemaker:us-east-1:123456789012:transform-job/batch-abalone'] });
  });

  it("writes the serve process's output to /aws/sagemaker/TransformJobs", async () => {
    const streams = await awsCliJson<{ logStreams: { logStreamName: string }[] }>(runtime.endpoint, 'logs', 'describe-log-streams', '--log-group-name', '/aws/sagemaker/TransformJobs', '--log-stream-name-prefix', 'batch-abalone/');

    const names = streams.logStreams.map((stream) => stream.logStreamName);
    expect(names).toContainEqual(expect.stringMatching(/^batch-abalone\/i-[0-9a-f]{17}-\d+$/));
    expect(names).toContainEqual(expect.stringMatching(/^batch-abalone\/i-[0-9a-f]{17}-\d+\/data-log$/));
  }, 60_000);

  it('fails the job with a FailureReason naming the serve process when it cannot start, and writes no output', async () => {
    await createModel('broken-regressor', { FAIL_TO_START: '1' });

    const job = await transform('batch-broken', 'broken-regressor', `s3://${BUCKET}/batch/broken-out/`);

    expect(job.TransformJobStatus).toBe('Failed');
    expect(job.FailureReason).toContain('did not pass the ping health check (the serve process exited with exit code 4: cannot load the model: FAIL_TO_START)');
    const outputs = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'batch/broken-out/' }));
    expect(outputs.KeyCount ?? 0).toBe(0);
    const events = runtimeEvents(join(root, 'runtime')).filter((event) => event['detail-type'] === 'SageMaker Transform Job State Change' && event.detail.TransformJobName === 'batch-broken');
    expect(events.at(-1)?.detail).toMatchObject({ TransformJobStatus: 'Failed', FailureReason: job.FailureReason });
  }, 90_000);
});
