import 'aws-sdk-client-mock-jest';

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  CreateProcessingJobCommand,
  CreateTrainingJobCommand,
  DescribeProcessingJobCommand,
  type DescribeProcessingJobCommandOutput,
  DescribeTrainingJobCommand,
  type DescribeTrainingJobCommandOutput,
  ProcessingJobStatus,
  ResourceInUse,
  ResourceNotFound,
  SageMakerClient,
  SageMakerServiceException,
  TrainingJobStatus,
} from '@aws-sdk/client-sagemaker';
import { InvalidToken, SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { JobToken } from '../../../shared/aws/dynamodb';
import { reconcileJobs, settleJob, startJob } from '../../../shared/pipeline/jobs';
import type { StageSettings } from '../../../shared/pipeline/job-requests';
import { RetryableError } from '../../../shared/errors';
import { jobName, SAGEMAKER_NAME } from '../../../shared/naming';
import type { StartJobInput } from '../../../shared/schemas/task-inputs';
import { BUCKET, buildContext, EXECUTION_ARN, exampleConfig, ROLE_ARN } from '../../helpers/fixtures';

const sagemaker = mockClient(SageMakerClient);
const sfn = mockClient(SFNClient);
const dynamo = mockClient(DynamoDBDocumentClient);

const TABLE = 'sluice-test-job-tokens';
const TASK_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAeMc1xG0Vn7-test-token';
const NOW = new Date('2026-11-23T10:00:00Z');
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);
const STAGE: StageSettings = { roleArn: ROLE_ARN, artifactsBucket: BUCKET, maxRuntimeSeconds: 7200 };
const TRAINING_JOB = jobName('abalone', 'train', EXECUTION_ARN);
const PREPROCESS_JOB = jobName('abalone', 'preprocess', EXECUTION_ARN);
const BUILD_PREFIX = `s3://${BUCKET}/builds/${buildContext().executionName}/`;

function startInput(step: StartJobInput['step'], overrides: Partial<StartJobInput> = {}): StartJobInput {
  return {
    taskToken: TASK_TOKEN,
    step,
    executionArn: EXECUTION_ARN,
    build: buildContext(),
    config: exampleConfig(),
    jobs: {
      preprocess: {
        jobName: PREPROCESS_JOB,
        status: 'Completed',
        outputs: {
          train: `${BUILD_PREFIX}preprocess/train/`,
          validation: `${BUILD_PREFIX}preprocess/validation/`,
          test: `${BUILD_PREFIX}preprocess/test/`,
        },
      },
    },
    ...overrides,
  };
}

function token(overrides: Partial<JobToken> = {}): JobToken {
  return {
    jobName: TRAINING_JOB,
    kind: 'training',
    taskToken: TASK_TOKEN,
    executionArn: EXECUTION_ARN,
    step: 'train',
    createdAt: NOW_SECONDS - 600,
    expiresAt: NOW_SECONDS + 100_000,
    ...overrides,
  };
}

function trainingJob(overrides: Partial<DescribeTrainingJobCommandOutput> = {}): Partial<DescribeTrainingJobCommandOutput> {
  return {
    TrainingJobName: TRAINING_JOB,
    TrainingJobArn: `arn:aws:sagemaker:us-east-1:123456789012:training-job/${TRAINING_JOB}`,
    TrainingJobStatus: TrainingJobStatus.COMPLETED,
    ModelArtifacts: { S3ModelArtifacts: `${BUILD_PREFIX}train/${TRAINING_JOB}/output/model.tar.gz` },
    FinalMetricDataList: [{ MetricName: 'validation:rmse', Value: 2.1, Timestamp: NOW }],
    TrainingTimeInSeconds: 300,
    BillableTimeInSeconds: 300,
    TrainingStartTime: new Date('2026-11-23T09:50:00Z'),
    TrainingEndTime: new Date('2026-11-23T09:55:00Z'),
    ...overrides,
  };
}

function processingJob(overrides: Partial<DescribeProcessingJobCommandOutput> = {}): Partial<DescribeProcessingJobCommandOutput> {
  return {
    ProcessingJobName: PREPROCESS_JOB,
    ProcessingJobArn: `arn:aws:sagemaker:us-east-1:123456789012:processing-job/${PREPROCESS_JOB}`,
    ProcessingJobStatus: ProcessingJobStatus.COMPLETED,
    ProcessingOutputConfig: {
      Outputs: [
        { OutputName: 'train', S3Output: { S3Uri: `${BUILD_PREFIX}preprocess/train/`, LocalPath: '/opt/ml/processing/output/train', S3UploadMode: 'EndOfJob' } },
        { OutputName: 'test', S3Output: { S3Uri: `${BUILD_PREFIX}preprocess/test/`, LocalPath: '/opt/ml/processing/output/test', S3UploadMode: 'EndOfJob' } },
      ],
    },
    ProcessingStartTime: new Date('2026-11-23T09:50:00Z'),
    ProcessingEndTime: new Date('2026-11-23T09:52:30Z'),
    ...overrides,
  };
}

function sentOutput(): Record<string, unknown> {
  const call = sfn.commandCalls(SendTaskSuccessCommand)[0];
  return JSON.parse(call?.args[0].input.output ?? 'null') as Record<string, unknown>;
}

const notFound = () => new ResourceNotFound({ message: 'Requested resource not found.', $metadata: {} });
const throttled = () => new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: {} });

beforeEach(() => {
  sagemaker.reset();
  sfn.reset();
  dynamo.reset();
  dynamo.on(PutCommand).resolves({});
  dynamo.on(DeleteCommand).resolves({});
  dynamo.on(GetCommand).resolves({ Item: token() });
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
});

describe('startJob', () => {
  it('records the task token before it creates the job', async () => {
    const order: string[] = [];
    dynamo.on(PutCommand).callsFake(() => {
      order.push('PutItem');
      return {};
    });
    sagemaker.on(CreateProcessingJobCommand).callsFake(() => {
      order.push('CreateProcessingJob');
      return { ProcessingJobArn: 'arn' };
    });
    dynamo.on(GetCommand).resolves({ Item: token({ jobName: PREPROCESS_JOB, kind: 'processing', step: 'preprocess' }) });
    sagemaker.on(DescribeProcessingJobCommand).resolves(processingJob({ ProcessingJobStatus: ProcessingJobStatus.IN_PROGRESS }));

    await startJob(startInput('preprocess'), STAGE, TABLE, NOW);

    expect(order).toEqual(['PutItem', 'CreateProcessingJob']);
  });

  it('records the token under the job name with its execution, step and an expiry one day past the task timeout', async () => {
    dynamo.on(GetCommand).resolves({});

    await startJob(startInput('train'), STAGE, TABLE, NOW);

    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: {
        jobName: TRAINING_JOB,
        kind: 'training',
        taskToken: TASK_TOKEN,
        executionArn: EXECUTION_ARN,
        step: 'train',
        createdAt: NOW_SECONDS,
        expiresAt: NOW_SECONDS + buildContext().taskTimeoutSeconds + 86_400,
      },
    });
  });

  it('gives a retried task the same valid job name as the first attempt', async () => {
    dynamo.on(GetCommand).resolves({});

    const first = await startJob(startInput('preprocess'), STAGE, TABLE, NOW);
    const second = await startJob(startInput('preprocess', { taskToken: 'a-newer-token' }), STAGE, TABLE, NOW);

    const names = sagemaker.commandCalls(CreateProcessingJobCommand).map((call) => call.args[0].input.ProcessingJobName);
    expect(names).toEqual([first.jobName, first.jobName]);
    expect(second).toEqual({ jobName: first.jobName, kind: 'processing' });
    expect(first.jobName).toMatch(SAGEMAKER_NAME);
  });

  it('gives each execution its own job name', async () => {
    dynamo.on(GetCommand).resolves({});

    const first = await startJob(startInput('preprocess'), STAGE, TABLE, NOW);
    const other = await startJob(startInput('preprocess', { executionArn: `${EXECUTION_ARN}-2` }), STAGE, TABLE, NOW);

    expect(other.jobName).not.toBe(first.jobName);
  });

  it('treats ResourceInUse from CreateTrainingJob as the job already created', async () => {
    sagemaker.on(CreateTrainingJobCommand).rejects(new ResourceInUse({ message: `Training job names must be unique. ${TRAINING_JOB} exists`, $metadata: {} }));
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob({ TrainingJobStatus: TrainingJobStatus.IN_PROGRESS }));

    await expect(startJob(startInput('train'), STAGE, TABLE, NOW)).resolves.toEqual({ jobName: TRAINING_JOB, kind: 'training' });
  });

  it('settles the new token at once when the existing job has already completed', async () => {
    sagemaker.on(CreateTrainingJobCommand).rejects(new ResourceInUse({ message: 'exists', $metadata: {} }));
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob());

    await startJob(startInput('train'), STAGE, TABLE, NOW);

    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN });
  });

  it('leaves the token waiting while the new job is in progress', async () => {
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob({ TrainingJobStatus: TrainingJobStatus.IN_PROGRESS }));

    await startJob(startInput('train'), STAGE, TABLE, NOW);

    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });

  it('rejects with RetryableError when CreateTrainingJob is throttled', async () => {
    sagemaker.on(CreateTrainingJobCommand).rejects(throttled());

    await expect(startJob(startInput('train'), STAGE, TABLE, NOW)).rejects.toThrow(RetryableError);
  });
});

describe('settleJob', () => {
  it('completes a finished training job with its model artifacts and final metrics', async () => {
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob());

    await expect(settleJob(TABLE, TRAINING_JOB, 'training')).resolves.toBe('completed');

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN });
    expect(sentOutput()).toMatchObject({
      jobName: TRAINING_JOB,
      status: 'Completed',
      modelArtifacts: `${BUILD_PREFIX}train/${TRAINING_JOB}/output/model.tar.gz`,
      finalMetrics: [{ MetricName: 'validation:rmse', Value: 2.1 }],
      trainingTimeSeconds: 300,
    });
  });

  it('leaves out final metrics that have no value', async () => {
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob({ FinalMetricDataList: [{ MetricName: 'train:rmse' }, { MetricName: 'validation:rmse', Value: 2.1 }] }));

    await settleJob(TABLE, TRAINING_JOB, 'training');

    expect(sentOutput().finalMetrics).toEqual([{ MetricName: 'validation:rmse', Value: 2.1 }]);
  });

  it('completes a finished processing job with its outputs keyed by OutputName', async () => {
    dynamo.on(GetCommand).resolves({ Item: token({ jobName: PREPROCESS_JOB, kind: 'processing', step: 'preprocess' }) });
    sagemaker.on(DescribeProcessingJobCommand).resolves(processingJob());

    await expect(settleJob(TABLE, PREPROCESS_JOB, 'processing')).resolves.toBe('completed');

    expect(sentOutput()).toMatchObject({
      jobName: PREPROCESS_JOB,
      status: 'Completed',
      outputs: { train: `${BUILD_PREFIX}preprocess/train/`, test: `${BUILD_PREFIX}preprocess/test/` },
      durationSeconds: 150,
    });
  });

  it('fails the task with SageMakerJobFailed and the FailureReason when the job failed', async () => {
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob({ TrainingJobStatus: TrainingJobStatus.FAILED, FailureReason: 'AlgorithmError: out of memory' }));

    await expect(settleJob(TABLE, TRAINING_JOB, 'training')).resolves.toBe('failed');

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: TASK_TOKEN,
      error: 'SageMakerJobFailed',
      cause: expect.stringContaining('AlgorithmError: out of memory'),
    });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('fails the task with SageMakerJobFailed when a completed training job reports no model artifacts', async () => {
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob({ ModelArtifacts: undefined }));

    await expect(settleJob(TABLE, TRAINING_JOB, 'training')).resolves.toBe('failed');

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: TASK_TOKEN, error: 'SageMakerJobFailed', cause: expect.stringContaining('without ModelArtifacts') });
  });

  it('fails the task with SageMakerJobStopped when the job was stopped', async () => {
    dynamo.on(GetCommand).resolves({ Item: token({ jobName: PREPROCESS_JOB, kind: 'processing' }) });
    sagemaker.on(DescribeProcessingJobCommand).resolves(processingJob({ ProcessingJobStatus: ProcessingJobStatus.STOPPED }));

    await expect(settleJob(TABLE, PREPROCESS_JOB, 'processing')).resolves.toBe('failed');

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: TASK_TOKEN, error: 'SageMakerJobStopped', cause: expect.stringContaining(PREPROCESS_JOB) });
  });

  it('deletes the token record only if it still holds the settled token', async () => {
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob());

    await settleJob(TABLE, TRAINING_JOB, 'training');

    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: TABLE,
      Key: { jobName: TRAINING_JOB },
      ConditionExpression: expect.stringContaining('taskToken = :token'),
      ExpressionAttributeValues: { ':token': TASK_TOKEN },
    });
  });

  it('treats a record replaced by a newer token (ConditionalCheckFailed on delete) as done', async () => {
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob());
    dynamo.on(DeleteCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));

    await expect(settleJob(TABLE, TRAINING_JOB, 'training')).resolves.toBe('completed');
  });

  it('sends nothing and keeps the record while the job is in progress', async () => {
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob({ TrainingJobStatus: TrainingJobStatus.IN_PROGRESS }));

    await expect(settleJob(TABLE, TRAINING_JOB, 'training')).resolves.toBe('running');

    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });

  it('does nothing for a job Sluice does not wait on', async () => {
    dynamo.on(GetCommand).resolves({});

    await expect(settleJob(TABLE, 'someone-elses-job', 'training')).resolves.toBe('untracked');

    expect(sagemaker).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });

  it('reports a job that does not exist as missing and keeps its record', async () => {
    sagemaker.on(DescribeTrainingJobCommand).rejects(notFound());

    await expect(settleJob(TABLE, TRAINING_JOB, 'training')).resolves.toBe('missing');

    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });

  it.each([
    ['TaskTimedOut', () => new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} })],
    ['InvalidToken', () => new InvalidToken({ message: 'Invalid token', $metadata: {} })],
  ])('returns already-settled and deletes the record when SendTaskSuccess says %s', async (_name, error) => {
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob());
    sfn.on(SendTaskSuccessCommand).rejects(error());

    await expect(settleJob(TABLE, TRAINING_JOB, 'training')).resolves.toBe('already-settled');

    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { Key: { jobName: TRAINING_JOB } });
  });

  it('rejects with RetryableError and keeps the record when DescribeTrainingJob is throttled', async () => {
    sagemaker.on(DescribeTrainingJobCommand).rejects(throttled());

    await expect(settleJob(TABLE, TRAINING_JOB, 'training')).rejects.toThrow(RetryableError);

    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });

  it('rejects with RetryableError and keeps the record when SendTaskSuccess is throttled', async () => {
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob());
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(settleJob(TABLE, TRAINING_JOB, 'training')).rejects.toMatchObject({ name: 'RetryableError' });

    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });
});

describe('reconcileJobs', () => {
  function outstanding(...tokens: JobToken[]) {
    dynamo.on(ScanCommand).resolves({ Items: tokens });
    for (const item of tokens) dynamo.on(GetCommand, { Key: { jobName: item.jobName } }).resolves({ Item: item });
  }

  it('leaves tokens younger than the minimum age to the event path', async () => {
    outstanding(token({ createdAt: NOW_SECONDS - 30 }));
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob());

    await expect(reconcileJobs(TABLE, 120, NOW)).resolves.toEqual({ checked: 0, settled: 0, running: 0, abandoned: 0 });

    expect(sagemaker).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('settles a token whose job ended while its event was lost', async () => {
    outstanding(token({ createdAt: NOW_SECONDS - 600 }));
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob());

    await expect(reconcileJobs(TABLE, 120, NOW)).resolves.toEqual({ checked: 1, settled: 1, running: 0, abandoned: 0 });

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN });
  });

  it('counts jobs still in progress as running and leaves them alone', async () => {
    outstanding(
      token({ createdAt: NOW_SECONDS - 600 }),
      token({ jobName: PREPROCESS_JOB, kind: 'processing', step: 'preprocess', taskToken: 'other-token', createdAt: NOW_SECONDS - 900 }),
    );
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob({ TrainingJobStatus: TrainingJobStatus.IN_PROGRESS }));
    sagemaker.on(DescribeProcessingJobCommand).resolves(processingJob({ ProcessingJobStatus: ProcessingJobStatus.IN_PROGRESS }));

    await expect(reconcileJobs(TABLE, 120, NOW)).resolves.toEqual({ checked: 2, settled: 0, running: 2, abandoned: 0 });

    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('fails and removes a token whose job never came to exist once it is older than the abandon threshold', async () => {
    outstanding(token({ createdAt: NOW_SECONDS - 4000 }));
    sagemaker.on(DescribeTrainingJobCommand).rejects(notFound());

    await expect(reconcileJobs(TABLE, 120, NOW, 3600)).resolves.toEqual({ checked: 1, settled: 0, running: 0, abandoned: 1 });

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: TASK_TOKEN, error: 'SageMakerJobFailed', cause: expect.stringContaining(TRAINING_JOB) });
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { Key: { jobName: TRAINING_JOB }, ExpressionAttributeValues: { ':token': TASK_TOKEN } });
  });

  it('keeps a token whose job does not exist yet while it is younger than the abandon threshold', async () => {
    outstanding(token({ createdAt: NOW_SECONDS - 600 }));
    sagemaker.on(DescribeTrainingJobCommand).rejects(notFound());

    await expect(reconcileJobs(TABLE, 120, NOW, 3600)).resolves.toEqual({ checked: 1, settled: 0, running: 0, abandoned: 0 });

    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });
});
