import 'aws-sdk-client-mock-jest';

import { S3Client } from '@aws-sdk/client-s3';
import { DescribeProcessingJobCommand, DescribeTrainingJobCommand, DescribeTransformJobCommand, SageMakerClient, SageMakerServiceException } from '@aws-sdk/client-sagemaker';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { handler as onJobStateChangeHandler } from '../../../functions/on-job-state-change';
import type { JobToken } from '../../../shared/aws/dynamodb';
import { EXECUTION_ARN, loadFixture, loadSample } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';
import { CACHE_TABLE, fakeS3, type FakeS3 } from '../../helpers/step-tasks';

const sagemaker = mockClient(SageMakerClient);
const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);

const TABLE = 'sluice-test-job-tokens';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/sluice-test-dead-letter';
const TASK_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAeMc1xG0Vn7-test-token';

/** Names in the real AWS sample and in the processing fixture. */
const TRAINING_JOB = '89c96cc8-dded-4739-afcc-6f1dc936701d';
const PROCESSING_JOB = 'abalone-preprocess-0a1b2c3d4e5f';

interface JobEvent {
  'detail-type': string;
  detail: Record<string, unknown>;
}

let handler: typeof onJobStateChangeHandler;

beforeAll(async () => {
  process.env.JOB_TOKEN_TABLE = TABLE;
  process.env.STEP_CACHE_TABLE = CACHE_TABLE;
  process.env.DEAD_LETTER_QUEUE_URL = QUEUE_URL;
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../../functions/on-job-state-change'));
});

function token(jobName: string, kind: JobToken['kind']): JobToken {
  return { jobName, kind, taskToken: TASK_TOKEN, executionArn: EXECUTION_ARN, step: kind === 'training' ? 'Train' : 'Preprocess', createdAt: 1_795_000_000, expiresAt: 1_795_100_000 };
}

const MODEL = `s3://sluice-test-artifacts/builds/x/Train/${TRAINING_JOB}/output/model.tar.gz`;
const TRAIN_SPLIT = 's3://sluice-test-artifacts/builds/x/Preprocess/train/';

let store: FakeS3;

beforeEach(() => {
  sagemaker.reset();
  sfn.reset();
  sqs.reset();
  dynamo.reset();
  s3.reset();
  store = fakeS3(s3);
  store.put(MODEL, 'model.tar.gz bytes');
  store.put(`${TRAIN_SPLIT}train.csv`, '15,0,0,1,0.455,0.365\n');
  dynamo.on(GetCommand, { Key: { jobName: TRAINING_JOB } }).resolves({ Item: token(TRAINING_JOB, 'training') });
  dynamo.on(GetCommand, { Key: { jobName: PROCESSING_JOB } }).resolves({ Item: token(PROCESSING_JOB, 'processing') });
  dynamo.on(DeleteCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  sagemaker.on(DescribeTrainingJobCommand).resolves({
    TrainingJobName: TRAINING_JOB,
    TrainingJobStatus: 'Completed',
    ModelArtifacts: { S3ModelArtifacts: MODEL },
    FinalMetricDataList: [{ MetricName: 'validation:rmse', Value: 2.1 }],
  });
  sagemaker.on(DescribeProcessingJobCommand).resolves({
    ProcessingJobName: PROCESSING_JOB,
    ProcessingJobStatus: 'Completed',
    ProcessingOutputConfig: { Outputs: [{ OutputName: 'train', S3Output: { S3Uri: TRAIN_SPLIT, LocalPath: '/opt/ml/processing/output/train', S3UploadMode: 'EndOfJob' } }] },
  });
});

describe('on-job-state-change handler', () => {
  it('completes the waiting task for the real Completed training job event', async () => {
    const event = loadSample('sagemaker-training-job-state-change.json');

    await expect(handler(event, lambdaContext())).resolves.toEqual({ jobName: TRAINING_JOB, result: 'completed' });

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN, output: expect.stringContaining('model.tar.gz') });
    const output = JSON.parse(sfn.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input.output!);
    expect(output).toMatchObject({ Type: 'Training', TrainingJobName: TRAINING_JOB, ModelArtifacts: MODEL, ModelArtifactsHash: expect.stringMatching(/^[0-9a-f]{64}$/), FinalMetrics: { 'validation:rmse': 2.1 } });
  });

  it('stores a cached step\'s result in the table named by STEP_CACHE_TABLE, for ExpireAfter from the job\'s end', async () => {
    const key = 'abalone#5e8d0c5a7b3f4e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d';
    const thirtyDays = 30 * 86_400;
    dynamo.on(GetCommand, { Key: { jobName: TRAINING_JOB } }).resolves({ Item: { ...token(TRAINING_JOB, 'training'), cache: { key, maxAgeSeconds: thirtyDays } } });
    const before = Math.floor(Date.now() / 1000);

    await handler(loadSample('sagemaker-training-job-state-change.json'), lambdaContext());

    const item = dynamo.commandCalls(PutCommand, { TableName: CACHE_TABLE })[0]?.args[0].input.Item;
    expect(item).toMatchObject({ cacheKey: key, step: 'Train' });
    expect(item?.createdAt).toBeGreaterThanOrEqual(before);
    expect(item?.createdAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(item?.expiresAt).toBe(item?.createdAt + thirtyDays);
  });

  it('completes the waiting task with the outputs for a Completed processing job event', async () => {
    const event = loadFixture('processing-job-state-change.json');

    await expect(handler(event, lambdaContext())).resolves.toEqual({ jobName: PROCESSING_JOB, result: 'completed' });

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN, output: expect.stringContaining(`"Outputs":{"train":"${TRAIN_SPLIT}"}`) });
  });

  it('completes the waiting task of a Transform step for the real Completed transform job event', async () => {
    const transformJob = '4b52bd8f-e034-4345-818d-884bdd7c9724';
    const output = 's3://sluice-test-artifacts/builds/x/score/output/';
    store.put(`${output}test.csv.out`, '1\n2\n');
    dynamo.on(GetCommand, { Key: { jobName: transformJob } }).resolves({ Item: { ...token(transformJob, 'transform'), step: 'score' } });
    sagemaker.on(DescribeTransformJobCommand).resolves({ TransformJobName: transformJob, TransformJobStatus: 'Completed', ModelName: 'm', TransformOutput: { S3OutputPath: output } });

    await expect(handler(loadSample('sagemaker-transform-job-state-change.json'), lambdaContext())).resolves.toEqual({ jobName: transformJob, result: 'completed' });

    const sent = JSON.parse(sfn.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input.output!);
    expect(sent).toMatchObject({ Type: 'Transform', TransformJobName: transformJob, Output: output, OutputHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('ignores the tuning sample, whose status is the documentation\'s placeholder', async () => {
    await expect(handler(loadSample('sagemaker-hyperparameter-tuning-job-state-change.json'), lambdaContext())).resolves.toEqual({ jobName: '016bffd3-6d71-4d3a-9710-0a332b2759fc', result: 'ignored' });
    expect(sagemaker).not.toHaveReceivedAnyCommand();
  });

  it('fails the waiting task with SageMakerJobFailed for a Failed training job', async () => {
    const event = loadSample<JobEvent>('sagemaker-training-job-state-change.json');
    event.detail.TrainingJobStatus = 'Failed';
    sagemaker.on(DescribeTrainingJobCommand).resolves({ TrainingJobName: TRAINING_JOB, TrainingJobStatus: 'Failed', FailureReason: 'ClientError: no data in channel train' });

    await expect(handler(event, lambdaContext())).resolves.toEqual({ jobName: TRAINING_JOB, result: 'failed' });

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { error: 'SageMakerJobFailed', cause: expect.stringContaining('no data in channel train') });
  });

  it.each(['InProgress', 'Stopping'])('ignores a %s event without reading the table or SageMaker', async (status) => {
    const event = loadSample<JobEvent>('sagemaker-training-job-state-change.json');
    event.detail.TrainingJobStatus = status;

    await expect(handler(event, lambdaContext())).resolves.toEqual({ jobName: TRAINING_JOB, result: 'ignored' });

    expect(dynamo).not.toHaveReceivedAnyCommand();
    expect(sagemaker).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('sends SendTaskSuccess once for a triplicated Completed event', async () => {
    dynamo.on(GetCommand, { Key: { jobName: TRAINING_JOB } }).resolvesOnce({ Item: token(TRAINING_JOB, 'training') }).resolves({});

    const results: unknown[] = [];
    for (let copy = 0; copy < 3; copy += 1) results.push(await handler(loadSample('sagemaker-training-job-state-change.json'), lambdaContext()));

    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(results).toEqual([{ jobName: TRAINING_JOB, result: 'completed' }, { jobName: TRAINING_JOB, result: 'untracked' }, { jobName: TRAINING_JOB, result: 'untracked' }]);
  });

  it('does nothing for a job Sluice does not wait on', async () => {
    dynamo.on(GetCommand, { Key: { jobName: TRAINING_JOB } }).resolves({});

    await expect(handler(loadSample('sagemaker-training-job-state-change.json'), lambdaContext())).resolves.toEqual({ jobName: TRAINING_JOB, result: 'untracked' });

    expect(sagemaker).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('parks an invalid event in the dead-letter queue with the reason and resolves', async () => {
    const event = loadSample<JobEvent>('sagemaker-training-job-state-change.json');
    delete event.detail.TrainingJobName;

    await expect(handler(event, lambdaContext())).resolves.toMatchObject({ rejected: true });

    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: QUEUE_URL, MessageBody: expect.stringContaining('detail.TrainingJobName') });
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('parks an event of another detail-type in the dead-letter queue and resolves', async () => {
    await expect(handler(loadSample('sagemaker-endpoint-state-change.json'), lambdaContext())).resolves.toMatchObject({ rejected: true });

    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: QUEUE_URL, MessageBody: expect.stringContaining('detail-type') });
  });

  it('rejects with RetryableError on throttling, leaving the retry to Lambda rather than the dead-letter queue', async () => {
    sagemaker.on(DescribeTrainingJobCommand).rejects(new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: {} }));

    await expect(handler(loadSample('sagemaker-training-job-state-change.json'), lambdaContext())).rejects.toMatchObject({ name: 'RetryableError' });

    expect(sqs).not.toHaveReceivedAnyCommand();
  });
});
