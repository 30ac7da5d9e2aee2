import 'aws-sdk-client-mock-jest';

import { S3Client } from '@aws-sdk/client-s3';
import {
  CreateProcessingJobCommand,
  CreateTrainingJobCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  SageMakerClient,
  SageMakerServiceException,
} from '@aws-sdk/client-sagemaker';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { handler as startJobHandler } from '../../../functions/start-job';
import { jobName } from '../../../shared/naming';
import { BUCKET, exampleConfig, ROLE_ARN } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';
import {
  CACHE_TABLE,
  fakeS3,
  type FakeS3,
  fakeTable,
  newRun,
  preprocessResult,
  startJobInput,
  stepsBefore,
  storeDataset,
  storeManifest,
  storePipeline,
  TASK_TOKEN,
  type TestRun,
  TOKEN_TABLE,
} from '../../helpers/step-tasks';

const sagemaker = mockClient(SageMakerClient);
const sfn = mockClient(SFNClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);

let handler: typeof startJobHandler;

beforeAll(async () => {
  process.env.SAGEMAKER_ROLE_ARN = ROLE_ARN;
  process.env.ARTIFACTS_BUCKET = BUCKET;
  process.env.MAX_RUNTIME_SECONDS = '1800';
  process.env.MODEL_PACKAGE_GROUP_PREFIX = 'sluice-test';
  process.env.MAX_INSTANCE_COUNT = '4';
  process.env.MAX_VOLUME_SIZE_GB = '512';
  process.env.ALLOWED_INSTANCE_TYPES = 'ml.m5.xlarge';
  process.env.JOB_TOKEN_TABLE = TOKEN_TABLE;
  process.env.STEP_CACHE_TABLE = CACHE_TABLE;
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../../functions/start-job'));
});

let store: FakeS3;
let run: TestRun;

/** The task input the compiled pipeline's `<step>` state builds (`Payload`). */
function taskInput(step: 'Preprocess' | 'Train' | 'Evaluate' = 'Evaluate'): Record<string, unknown> {
  return { ...startJobInput(run, step, { steps: stepsBefore(step, run) }) };
}

beforeEach(() => {
  sagemaker.reset();
  sfn.reset();
  dynamo.reset();
  s3.reset();
  store = fakeS3(s3);
  fakeTable(dynamo, TOKEN_TABLE, 'jobName');
  fakeTable(dynamo, CACHE_TABLE, 'cacheKey');
  run = newRun();
  storePipeline(store, run, exampleConfig());
  storeManifest(store, run);
  storeDataset(store);
  sagemaker.on(CreateProcessingJobCommand).resolves({});
  sagemaker.on(CreateTrainingJobCommand).resolves({});
  const notFound = new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: 'Requested resource not found.', $metadata: {} });
  sagemaker.on(DescribeProcessingJobCommand).rejects(notFound);
  sagemaker.on(DescribeTrainingJobCommand).rejects(notFound);
  sfn.on(SendTaskSuccessCommand).resolves({});
});

describe('start-job handler', () => {
  it('returns the outcome, name and kind of the job it started', async () => {
    await expect(handler(taskInput('Train'), lambdaContext())).resolves.toEqual({ outcome: 'started', jobName: jobName('sluice-test', 'abalone', 'Train', run.executionArn), kind: 'training' });
  });

  it('parks the task token in the table named by JOB_TOKEN_TABLE', async () => {
    await handler(taskInput(), lambdaContext());

    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: TOKEN_TABLE,
      Item: expect.objectContaining({ jobName: jobName('sluice-test', 'abalone', 'Evaluate', run.executionArn), taskToken: TASK_TOKEN, kind: 'processing' }),
    });
  });

  it('creates the job under the stage role, bucket and maximum runtime from the environment', async () => {
    await handler(taskInput(), lambdaContext());

    expect(sagemaker).toHaveReceivedCommandWith(CreateProcessingJobCommand, {
      RoleArn: ROLE_ARN,
      StoppingCondition: { MaxRuntimeInSeconds: 1800 },
      ProcessingOutputConfig: { Outputs: [expect.objectContaining({ S3Output: expect.objectContaining({ S3Uri: `${run.prefix}Evaluate/evaluation/` }) })] },
    });
  });

  it('fails a parameter override to an instance type outside ALLOWED_INSTANCE_TYPES with InvalidConfig', async () => {
    const pipeline = exampleConfig();
    pipeline.Parameters.InstanceType = { Type: 'String', Default: 'ml.m5.xlarge' };
    Object.assign(pipeline.Steps.Evaluate!, { ProcessingResources: { ClusterConfig: { InstanceType: { Get: 'Parameters.InstanceType' }, InstanceCount: 1, VolumeSizeInGB: 30 } } });
    const overridden = newRun();
    storePipeline(store, overridden, pipeline);
    run = overridden;

    await expect(handler({ ...taskInput(), parameters: { InstanceType: 'ml.m5.large' } }, lambdaContext())).rejects.toMatchObject({
      name: 'InvalidConfig',
      message: expect.stringContaining('Steps.Evaluate.ProcessingResources.ClusterConfig.InstanceType: instance type "ml.m5.large" is not allowed on this stage (allowed: ml.m5.xlarge)'),
    });
    expect(sagemaker).not.toHaveReceivedCommand(CreateProcessingJobCommand);
  });

  it('completes a carried-over step at once', async () => {
    const source = newRun();

    await expect(handler({ ...taskInput('Preprocess'), reuse: { Preprocess: { ...preprocessResult(source), ReusedFrom: source.executionArn } } }, lambdaContext())).resolves.toEqual({
      outcome: 'reused',
      from: source.executionArn,
    });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN });
    expect(sagemaker).not.toHaveReceivedAnyCommand();
  });

  it('looks a cached step up in the table named by STEP_CACHE_TABLE', async () => {
    const pipeline = exampleConfig();
    Object.assign(pipeline.Steps.Evaluate!, { Cache: { ExpireAfter: 'P30D' } });
    const cached = newRun();
    storePipeline(store, cached, pipeline);
    storeManifest(store, cached);
    run = cached;

    await handler(taskInput(), lambdaContext());

    expect(dynamo).toHaveReceivedCommandWith(GetCommand, { TableName: CACHE_TABLE, Key: { cacheKey: expect.stringMatching(/^abalone#[0-9a-f]{64}$/) } });
  });

  it('rejects an invalid task input with InvalidInput and creates nothing', async () => {
    const input = taskInput();
    delete input.taskToken;

    await expect(handler(input, lambdaContext())).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('taskToken') });

    expect(dynamo).not.toHaveReceivedAnyCommand();
    expect(sagemaker).not.toHaveReceivedAnyCommand();
  });

  it('rejects a step result of an unknown type with InvalidInput naming the field', async () => {
    const input = { ...taskInput(), steps: { Preprocess: { Type: 'Transform', TransformJobName: 'x' } } };

    await expect(handler(input, lambdaContext())).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('steps.Preprocess') });
  });

  it('rejects with RetryableError when SageMaker throttles, so the state machine retries', async () => {
    sagemaker.on(CreateProcessingJobCommand).rejects(new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: {} }));

    await expect(handler(taskInput(), lambdaContext())).rejects.toMatchObject({ name: 'RetryableError' });
  });
});
