/**
 * The local SageMaker's batch transform jobs: the model's `serve` (tests/fixtures/local-images/
 * transformer.cjs, a CSV regressor) as a real child process, S3 faked by a directory.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { tarGzDirectory } from '../../../local/sagemaker/archive';
import { DETAIL_TYPE_TRANSFORM } from '../../../local/sagemaker/jobs';
import { ACCOUNT, createHarness, type Harness, isAlive, REGION, ROLE_ARN, waitFor } from '../../fixtures/local-images/harness';

const BUCKET = 'artifacts';
const TRANSFORMER = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/transformer:latest`;
const TERMINAL = ['Completed', 'Failed', 'Stopped'];
const AWS_SAMPLE = join(__dirname, '../../fixtures/conformance/aws-events/sagemaker-transform-job-completed.json');

let h: Harness;
let requestLog: string;

beforeEach(() => {
  h = createHarness();
  requestLog = join(h.root, 'requests.jsonl');
});

afterEach(async () => {
  await h.cleanup();
});

/** A model.tar.gz holding model.json {scale}, and a model over it running `image`. */
async function createModel(name: string, environment: Record<string, string> = {}, image = TRANSFORMER): Promise<void> {
  const dir = mkdtempSync(join(h.root, 'model-'));
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ scale: 2 }));
  const tarball = join(h.root, `${name}.tar.gz`);
  await tarGzDirectory(dir, tarball);
  mkdirSync(join(h.s3Root, BUCKET, 'models', name), { recursive: true });
  await copyFile(tarball, join(h.s3Root, BUCKET, 'models', name, 'model.tar.gz'));
  await h.call('CreateModel', {
    ModelName: name,
    ExecutionRoleArn: ROLE_ARN,
    PrimaryContainer: { Image: image, ModelDataUrl: `s3://${BUCKET}/models/${name}/model.tar.gz`, Environment: { REQUEST_LOG: requestLog, ...environment } },
  });
}

async function seedInput(): Promise<void> {
  await h.putObject(`s3://${BUCKET}/batch/in/part-1.csv`, '1,2\n3,4\n5,6\n');
  await h.putObject(`s3://${BUCKET}/batch/in/day=2/part-2.csv`, '10,1\n20,2\n');
}

function transformRequest(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    TransformJobName: name,
    ModelName: 'regressor',
    BatchStrategy: 'MultiRecord',
    MaxPayloadInMB: 6,
    TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/batch/in/` } }, ContentType: 'text/csv', SplitType: 'Line' },
    TransformOutput: { S3OutputPath: `s3://${BUCKET}/batch/out/`, Accept: 'text/csv', AssembleWith: 'Line' },
    TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
    Tags: [{ Key: 'sluice:repository', Value: 'abalone' }],
    ...overrides,
  };
}

const describeJob = (name: string) => () => h.call('DescribeTransformJob', { TransformJobName: name });
const done = (job: Record<string, unknown>) => TERMINAL.includes(job.TransformJobStatus as string);
const requests = () => (existsSync(requestLog) ? readFileSync(requestLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>) : []);
const transformEvents = () => h.events.filter((e) => e.DetailType === DETAIL_TYPE_TRANSFORM);

describe('transform jobs', () => {
  it("runs the model's serve over every object under the prefix and writes <key>.out as SageMaker assembles it", async () => {
    // Prepare
    await createModel('regressor');
    await seedInput();

    // Act
    const created = await h.call('CreateTransformJob', transformRequest('batch-1'));
    const job = await waitFor(describeJob('batch-1'), done);

    // Assess
    expect(created.TransformJobArn).toBe('arn:aws:sagemaker:us-east-1:123456789012:transform-job/batch-1');
    expect(job).toMatchObject({ TransformJobStatus: 'Completed', TransformJobName: 'batch-1', ModelName: 'regressor', BatchStrategy: 'MultiRecord', MaxPayloadInMB: 6 });
    expect(job.TransformOutput).toEqual(transformRequest('batch-1').TransformOutput);
    expect(job.TransformEndTime as number).toBeGreaterThanOrEqual(job.TransformStartTime as number);
    expect((await h.readObject(`s3://${BUCKET}/batch/out/part-1.csv.out`)).toString()).toBe('6\n14\n22\n');
    expect((await h.readObject(`s3://${BUCKET}/batch/out/day=2/part-2.csv.out`)).toString()).toBe('22\n44\n');
    // MultiRecord: one request per object here, each with every line, and the batch settings in the environment.
    expect(requests()).toEqual([
      { contentType: 'text/csv', accept: 'text/csv', lines: 2, batch: 'true', strategy: 'MULTI_RECORD', maxPayload: '6' },
      { contentType: 'text/csv', accept: 'text/csv', lines: 3, batch: 'true', strategy: 'MULTI_RECORD', maxPayload: '6' },
    ]);
  });

  it('sends one request per line with SingleRecord and concatenates responses with AssembleWith None', async () => {
    await createModel('regressor');
    await h.putObject(`s3://${BUCKET}/batch/one.csv`, '1,1\n2,2\n3,3\n');

    await h.call(
      'CreateTransformJob',
      transformRequest('batch-single', {
        BatchStrategy: 'SingleRecord',
        TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/batch/one.csv` } }, ContentType: 'text/csv', SplitType: 'Line' },
        TransformOutput: { S3OutputPath: `s3://${BUCKET}/batch/single-out`, Accept: 'application/json', AssembleWith: 'None' },
      }),
    );
    const job = await waitFor(describeJob('batch-single'), done);

    expect(job.TransformJobStatus).toBe('Completed');
    expect((await h.readObject(`s3://${BUCKET}/batch/single-out/one.csv.out`)).toString()).toBe('[4][8][12]');
    expect(requests().map((r) => [r.lines, r.strategy, r.accept])).toEqual([
      [1, 'SINGLE_RECORD', 'application/json'],
      [1, 'SINGLE_RECORD', 'application/json'],
      [1, 'SINGLE_RECORD', 'application/json'],
    ]);
  });

  it('publishes InProgress and Completed events shaped like AWS\'s sample, with the tags', async () => {
    await createModel('regressor');
    await seedInput();

    await h.call('CreateTransformJob', transformRequest('batch-events'));
    await waitFor(describeJob('batch-events'), done);

    const events = transformEvents();
    expect(events.map((e) => e.Detail.TransformJobStatus)).toEqual(['InProgress', 'Completed']);
    const sample = JSON.parse(readFileSync(AWS_SAMPLE, 'utf8')) as { detail: Record<string, unknown> };
    const awsKeys = Object.keys(sample.detail).filter((key) => !['Environment', 'MaxConcurrentTransforms', 'FailureReason'].includes(key));
    expect(Object.keys(events[1]!.Detail)).toEqual(expect.arrayContaining(awsKeys));
    expect(events[1]).toMatchObject({ Source: 'aws.sagemaker', Resources: ['arn:aws:sagemaker:us-east-1:123456789012:transform-job/batch-events'] });
    expect(events[1]!.Detail).toMatchObject({ TransformJobName: 'batch-events', Tags: { 'sluice:repository': 'abalone' } });
    expect(events[1]!.Detail.TransformEndTime as number).toBeGreaterThan(1e12);
  });

  it('fails naming the ping health check and the exit when the serve process dies at start; writes no output', async () => {
    await createModel('regressor', { FAIL_TO_START: '1' });
    await seedInput();

    await h.call('CreateTransformJob', transformRequest('batch-nostart'));
    const job = await waitFor(describeJob('batch-nostart'), done);

    expect(job.TransformJobStatus).toBe('Failed');
    expect(job.FailureReason).toMatch(/^ClientError: The model container did not pass the ping health check \(the serve process exited with exit code 4: cannot load the model: FAIL_TO_START\)/);
    expect(existsSync(join(h.s3Root, BUCKET, 'batch', 'out'))).toBe(false);
    expect(transformEvents().at(-1)?.Detail).toMatchObject({ TransformJobStatus: 'Failed', FailureReason: job.FailureReason });
  });

  it('fails naming the object and the status when an invocation answers 5xx, after InvocationsMaxRetries retries', async () => {
    await createModel('regressor', { INVOKE_STATUS: '500' });
    await h.putObject(`s3://${BUCKET}/batch/in/part-1.csv`, '1,2\n');

    await h.call('CreateTransformJob', transformRequest('batch-500', { ModelClientConfig: { InvocationsMaxRetries: 1, InvocationsTimeoutInSeconds: 60 } }));
    const job = await waitFor(describeJob('batch-500'), done);

    expect(job.TransformJobStatus).toBe('Failed');
    expect(job.FailureReason).toContain('ClientError: part-1.csv: POST /invocations failed: the model answered 500: model crashed on this batch');
    expect(requests()).toHaveLength(2);
    expect(existsSync(join(h.s3Root, BUCKET, 'batch', 'out', 'part-1.csv.out'))).toBe(false);
  });

  it('fails naming the exit when the serve process dies during an invocation, and says so in the data-log', async () => {
    await h.cleanup();
    const lines: { stream: string; message: string }[] = [];
    h = createHarness({ logs: { put: (_group, stream, message) => lines.push({ stream, message }) } });
    requestLog = join(h.root, 'requests.jsonl');
    await createModel('regressor', { CRASH_ON_INVOKE: '1' });
    await h.putObject(`s3://${BUCKET}/batch/in/part-1.csv`, '1,2\n');

    await h.call('CreateTransformJob', transformRequest('batch-crash'));
    const job = await waitFor(describeJob('batch-crash'), done);

    expect(job.TransformJobStatus).toBe('Failed');
    expect(job.FailureReason).toBe(
      'ClientError: part-1.csv: POST /invocations failed: the serve process exited with exit code 5: segmentation fault in the model (CRASH_ON_INVOKE). See the data-log stream in /aws/sagemaker/TransformJobs',
    );
    expect(requests()).toHaveLength(1);
    expect(lines.find((line) => line.stream.endsWith('/data-log'))?.message).toBe('part-1.csv: POST /invocations failed: the serve process exited with exit code 5: segmentation fault in the model (CRASH_ON_INVOKE)');
  });

  it('fails naming the timeout when an invocation outlasts InvocationsTimeoutInSeconds', async () => {
    await createModel('regressor', { INVOKE_DELAY_MS: '3000' });
    await h.putObject(`s3://${BUCKET}/batch/in/part-1.csv`, '1,2\n');

    await h.call('CreateTransformJob', transformRequest('batch-slow', { ModelClientConfig: { InvocationsTimeoutInSeconds: 1, InvocationsMaxRetries: 0 } }));
    const job = await waitFor(describeJob('batch-slow'), done);

    expect(job.FailureReason).toContain('part-1.csv: POST /invocations failed: the model did not answer: the model did not answer within 1 s');
  });

  it('fails with ClientError when the input prefix holds no object', async () => {
    await createModel('regressor');

    await h.call('CreateTransformJob', transformRequest('batch-empty'));
    const job = await waitFor(describeJob('batch-empty'), done);

    expect(job).toMatchObject({ TransformJobStatus: 'Failed' });
    expect(job.FailureReason).toContain(`No S3 objects found under S3 URL "s3://${BUCKET}/batch/in/"`);
  });

  it('fails an object whose record is larger than MaxPayloadInMB, naming the object and the record', async () => {
    await createModel('regressor');
    await h.putObject(`s3://${BUCKET}/batch/in/big.csv`, `1,2\n${'9'.repeat(1024 * 1024 + 1)}\n`);

    await h.call('CreateTransformJob', transformRequest('batch-big', { MaxPayloadInMB: 1 }));
    const job = await waitFor(describeJob('batch-big'), done);

    expect(job.FailureReason).toBe('ClientError: big.csv: record 2 is 1048577 bytes, more than MaxPayloadInMB (1 MB)');
  });

  it('decompresses Gzip objects (CompressionType Gzip) before splitting them, and writes <key>.out uncompressed', async () => {
    await createModel('regressor');
    await h.putObject(`s3://${BUCKET}/batch/in/part-1.csv.gz`, gzipSync('1,2\n3,4\n5,6\n'));
    const gzip = (name: string) => transformRequest(name, { TransformInput: { ...(transformRequest(name).TransformInput as object), CompressionType: 'Gzip' } });

    await h.call('CreateTransformJob', gzip('batch-gzip'));
    const job = await waitFor(describeJob('batch-gzip'), done);
    await h.putObject(`s3://${BUCKET}/batch/in/plain.csv`, '1,2\n');
    await h.call('CreateTransformJob', { ...gzip('batch-not-gzip'), TransformOutput: { S3OutputPath: `s3://${BUCKET}/batch/not-gzip/`, AssembleWith: 'Line' } });
    const notGzip = await waitFor(describeJob('batch-not-gzip'), done);

    expect(job).toMatchObject({ TransformJobStatus: 'Completed', TransformInput: { CompressionType: 'Gzip' } });
    expect((await h.readObject(`s3://${BUCKET}/batch/out/part-1.csv.gz.out`)).toString()).toBe('6\n14\n22\n');
    expect(notGzip.FailureReason).toBe('ClientError: plain.csv: CompressionType is Gzip but the object is not gzip data (incorrect header check)');
  });

  it('applies DataProcessing: the model gets rows without their ID column, and the .out pairs each ID with its prediction', async () => {
    await createModel('regressor');
    await h.putObject(`s3://${BUCKET}/batch/in/ids.csv`, 'a-1,1,2\na-2,3,4\n"b,3",5,6\n');
    const request = transformRequest('batch-ids', { DataProcessing: { InputFilter: '$[1:]', JoinSource: 'Input', OutputFilter: '$[0,-1]' } });

    await h.call('CreateTransformJob', request);
    const job = await waitFor(describeJob('batch-ids'), done);

    expect(job).toMatchObject({ TransformJobStatus: 'Completed', DataProcessing: { InputFilter: '$[1:]', JoinSource: 'Input', OutputFilter: '$[0,-1]' } });
    expect((await h.readObject(`s3://${BUCKET}/batch/out/ids.csv.out`)).toString()).toBe('a-1,6\na-2,14\n"b,3",22\n');
  });

  it.each([
    ['a filter outside the supported JSONPath', { InputFilter: '$..id' }, {}, 'DataProcessing.InputFilter $..id: cannot read "..id"'],
    ['a JoinSource that is not None or Input', { JoinSource: 'Output' }, {}, "at 'dataProcessing.joinSource' failed to satisfy constraint: Member must satisfy enum value set: [Input, None]"],
    ['a content type it cannot read', { JoinSource: 'Input' }, { ContentType: 'application/x-recordio-protobuf' }, 'TransformInput.ContentType must be one of text/csv, application/json, application/jsonlines'],
    ['records not split by line', { JoinSource: 'Input' }, { SplitType: 'None' }, 'DataProcessing is applied by the local runtime to SplitType Line records only'],
  ])('refuses DataProcessing with %s, naming the field', async (_what, dataProcessing, input, message) => {
    await createModel('regressor');
    const request = transformRequest('batch-dp-bad');

    const created = h.call('CreateTransformJob', { ...request, DataProcessing: dataProcessing, TransformInput: { ...(request.TransformInput as object), ...input } });

    await expect(created).rejects.toMatchObject({ code: 'ValidationException', message: expect.stringContaining(message) });
  });

  it('StopTransformJob stops the serve process and ends Stopped', async () => {
    const pidFile = join(h.root, 'serve.pid');
    await createModel('regressor', { INVOKE_DELAY_MS: '60000', PID_FILE: pidFile });
    await seedInput();
    await h.call('CreateTransformJob', transformRequest('batch-stop'));
    await waitFor(async () => requests().length, (count) => count > 0);

    await h.call('StopTransformJob', { TransformJobName: 'batch-stop' });
    const job = await waitFor(describeJob('batch-stop'), done);

    expect(job.TransformJobStatus).toBe('Stopped');
    expect(job.FailureReason).toBeUndefined();
    expect(isAlive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
    expect(transformEvents().map((e) => e.Detail.TransformJobStatus)).toEqual(['InProgress', 'Stopped']);
    await expect(h.call('StopTransformJob', { TransformJobName: 'batch-stop' })).rejects.toThrow('The request was rejected because the transform job is in status Stopped.');
  });

  it('runs a job again from the beginning when the runtime restarted while it ran', async () => {
    // Prepare: the serve process holds the request long enough for the runtime to go away.
    await createModel('regressor', { INVOKE_DELAY_MS: '1500' });
    await h.putObject(`s3://${BUCKET}/batch/in/part-1.csv`, '1,2\n');
    await h.call('CreateTransformJob', transformRequest('batch-restart'));
    await waitFor(async () => requests().length, (count) => count > 0);
    await h.service.stop();
    expect((await h.call('DescribeTransformJob', { TransformJobName: 'batch-restart' })).TransformJobStatus).toBe('InProgress');
    const before = h.events.length;

    // Act
    const restarted = h.restart();
    await restarted.start();
    const job = await waitFor(() => h.call('DescribeTransformJob', { TransformJobName: 'batch-restart' }, restarted), done);

    // Assess
    expect(job.TransformJobStatus).toBe('Completed');
    expect((await h.readObject(`s3://${BUCKET}/batch/out/part-1.csv.out`)).toString()).toBe('6\n');
    expect(h.events.slice(before).map((e) => e.Detail.TransformJobStatus)).toEqual(['InProgress', 'Completed']);
  });

  it('puts the container output in /aws/sagemaker/TransformJobs, stream <job>/<instance id>-<epoch seconds>, and a data-log', async () => {
    await h.cleanup();
    const lines: { group: string; stream: string; message: string }[] = [];
    h = createHarness({ logs: { put: (group, stream, message) => lines.push({ group, stream, message }) } });
    requestLog = join(h.root, 'requests.jsonl');
    await createModel('regressor');
    await seedInput();

    await h.call('CreateTransformJob', transformRequest('batch-logs'));
    await waitFor(describeJob('batch-logs'), done);

    const container = lines.filter((line) => line.message.startsWith('transformer serving'));
    expect(container).toHaveLength(1);
    expect(container[0]!.group).toBe('/aws/sagemaker/TransformJobs');
    const [, epoch] = /^batch-logs\/i-[0-9a-f]{17}-(\d+)$/.exec(container[0]!.stream) ?? [];
    expect(Math.abs(Number(epoch) - Date.now() / 1000)).toBeLessThan(60);
    const dataLog = lines.filter((line) => line.stream === `${container[0]!.stream}/data-log`).map((line) => line.message);
    expect(dataLog).toEqual([`day=2/part-2.csv: 1 request(s) transformed, written to s3://${BUCKET}/batch/out/day=2/part-2.csv.out`, `part-1.csv: 1 request(s) transformed, written to s3://${BUCKET}/batch/out/part-1.csv.out`]);
  });
});

describe('transform job API', () => {
  it('refuses a duplicate job name with ResourceInUse', async () => {
    await createModel('regressor');
    await seedInput();
    await h.call('CreateTransformJob', transformRequest('batch-dup'));

    await expect(h.call('CreateTransformJob', transformRequest('batch-dup'))).rejects.toMatchObject({ code: 'ResourceInUse' });
    await waitFor(describeJob('batch-dup'), done);
  });

  it('refuses a model that does not exist, naming it', async () => {
    await expect(h.call('CreateTransformJob', transformRequest('batch-nomodel'))).rejects.toThrow('Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/regressor".');
    await expect(h.call('DescribeTransformJob', { TransformJobName: 'batch-nomodel' })).rejects.toThrow('Could not find requested job with name batch-nomodel');
  });

  it.each([
    ['SplitType', { TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://b/in' } }, SplitType: 'Lines' } }, "at 'transformInput.splitType' failed to satisfy constraint: Member must satisfy enum value set: [Line, None, RecordIO, TFRecord]"],
    ['RecordIO', { TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://b/in' } }, SplitType: 'RecordIO' } }, 'TransformInput.SplitType RecordIO is not supported by the local runtime (None and Line are)'],
    ['ManifestFile', { TransformInput: { DataSource: { S3DataSource: { S3DataType: 'ManifestFile', S3Uri: 's3://b/manifest' } } } }, 'S3DataType ManifestFile is not supported by the local runtime (S3Prefix is)'],
    ['S3OutputPath', { TransformOutput: { Accept: 'text/csv' } }, "Value at 'transformOutput.s3OutputPath'"],
    ['BatchStrategy', { BatchStrategy: 'Multi' }, "at 'batchStrategy' failed to satisfy constraint"],
    ['MaxPayloadInMB', { MaxPayloadInMB: 101 }, "Value '101' at 'maxPayloadInMB' failed to satisfy constraint: Member must be an integer between 0 and 100"],
    ['TransformResources', { TransformResources: undefined }, "Value at 'transformResources'"],
  ])('refuses a bad %s with a ValidationException naming the field', async (_field, overrides, message) => {
    await createModel('regressor');

    await expect(h.call('CreateTransformJob', transformRequest('batch-bad', overrides))).rejects.toMatchObject({ code: 'ValidationException', message: expect.stringContaining(message) });
  });

  it('answers Stop of an unknown job with ResourceNotFound', async () => {
    await expect(h.call('StopTransformJob', { TransformJobName: 'nope' })).rejects.toMatchObject({ code: 'ResourceNotFound' });
  });

  it('lists jobs with their summaries, a status filter and paging', async () => {
    await createModel('regressor');
    await seedInput();
    await h.call('CreateTransformJob', transformRequest('list-a'));
    await waitFor(describeJob('list-a'), done);
    await h.call('CreateTransformJob', transformRequest('list-b', { TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/nothing/` } } } }));
    await waitFor(describeJob('list-b'), done);

    const completed = await h.call('ListTransformJobs', { StatusEquals: 'Completed' });
    const page = await h.call('ListTransformJobs', { MaxResults: 1, SortBy: 'Name', SortOrder: 'Descending' });

    expect(completed.TransformJobSummaries).toEqual([
      expect.objectContaining({ TransformJobName: 'list-a', TransformJobStatus: 'Completed', TransformJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:transform-job/list-a', LastModifiedTime: expect.any(Number), TransformEndTime: expect.any(Number) }),
    ]);
    expect(page).toMatchObject({ TransformJobSummaries: [expect.objectContaining({ TransformJobName: 'list-b', TransformJobStatus: 'Failed' })], NextToken: '1' });
  });

  it('AddTags and ListTags know transform jobs', async () => {
    await createModel('regressor');
    await seedInput();
    const { TransformJobArn } = await h.call('CreateTransformJob', transformRequest('batch-tags'));
    await waitFor(describeJob('batch-tags'), done);

    await h.call('AddTags', { ResourceArn: TransformJobArn, Tags: [{ Key: 'team', Value: 'ml' }] });

    expect((await h.call('ListTags', { ResourceArn: TransformJobArn })).Tags).toEqual([
      { Key: 'sluice:repository', Value: 'abalone' },
      { Key: 'team', Value: 'ml' },
    ]);
  });
});
