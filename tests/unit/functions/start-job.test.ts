import 'aws-sdk-client-mock-jest';

import {
  CreateProcessingJobCommand,
  CreateTrainingJobCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  SageMakerClient,
  SageMakerServiceException,
} from '@aws-sdk/client-sagemaker';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { handler as startJobHandler } from '../../../functions/start-job';
import { jobName } from '../../../shared/naming';
import { BUCKET, buildContext, EXECUTION_ARN, exampleConfig, ROLE_ARN } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';

const sagemaker = mockClient(SageMakerClient);
const sfn = mockClient(SFNClient);
const dynamo = mockClient(DynamoDBDocumentClient);

const TABLE = 'sluice-test-job-tokens';
const TASK_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAeMc1xG0Vn7-test-token';
const BUILD_PREFIX = `s3://${BUCKET}/builds/${buildContext().executionName}/`;

let handler: typeof startJobHandler;

beforeAll(async () => {
  process.env.SAGEMAKER_ROLE_ARN = ROLE_ARN;
  process.env.ARTIFACTS_BUCKET = BUCKET;
  process.env.MAX_RUNTIME_SECONDS = '600';
  process.env.JOB_TOKEN_TABLE = TABLE;
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../../functions/start-job'));
});

/** The task input the state machine's StartPreprocess state builds. */
function taskInput(step: 'preprocess' | 'train' = 'preprocess'): Record<string, unknown> {
  return {
    taskToken: TASK_TOKEN,
    step,
    executionArn: EXECUTION_ARN,
    build: buildContext(),
    config: exampleConfig(),
    jobs: {
      preprocess: {
        jobName: jobName('abalone', 'preprocess', EXECUTION_ARN),
        status: 'Completed',
        outputs: { train: `${BUILD_PREFIX}preprocess/train/`, validation: `${BUILD_PREFIX}preprocess/validation/`, test: `${BUILD_PREFIX}preprocess/test/` },
      },
    },
  };
}

beforeEach(() => {
  sagemaker.reset();
  sfn.reset();
  dynamo.reset();
  dynamo.on(PutCommand).resolves({});
  dynamo.on(GetCommand).resolves({});
  sagemaker.on(CreateProcessingJobCommand).resolves({});
  sagemaker.on(CreateTrainingJobCommand).resolves({});
  sagemaker.on(DescribeProcessingJobCommand).resolves({ ProcessingJobStatus: 'InProgress' });
  sagemaker.on(DescribeTrainingJobCommand).resolves({ TrainingJobStatus: 'InProgress' });
});

describe('start-job handler', () => {
  it('returns the name and kind of the job it started', async () => {
    await expect(handler(taskInput('train'), lambdaContext())).resolves.toEqual({ jobName: jobName('abalone', 'train', EXECUTION_ARN), kind: 'training' });
  });

  it('parks the task token in the table named by JOB_TOKEN_TABLE', async () => {
    await handler(taskInput(), lambdaContext());

    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: expect.objectContaining({ jobName: jobName('abalone', 'preprocess', EXECUTION_ARN), taskToken: TASK_TOKEN, kind: 'processing' }),
    });
  });

  it('creates the job under the stage role, bucket and maximum runtime from the environment', async () => {
    await handler(taskInput(), lambdaContext());

    expect(sagemaker).toHaveReceivedCommandWith(CreateProcessingJobCommand, {
      RoleArn: ROLE_ARN,
      StoppingCondition: { MaxRuntimeInSeconds: 600 },
      ProcessingOutputConfig: { Outputs: expect.arrayContaining([expect.objectContaining({ S3Output: expect.objectContaining({ S3Uri: `${BUILD_PREFIX}preprocess/train/` }) })]) },
    });
  });

  it('rejects an invalid task input with InvalidInput and creates nothing', async () => {
    const input = taskInput();
    delete input.taskToken;

    await expect(handler(input, lambdaContext())).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('taskToken') });

    expect(dynamo).not.toHaveReceivedAnyCommand();
    expect(sagemaker).not.toHaveReceivedAnyCommand();
  });

  it('rejects with RetryableError when SageMaker throttles, so the state machine retries', async () => {
    sagemaker.on(CreateProcessingJobCommand).rejects(new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: {} }));

    await expect(handler(taskInput(), lambdaContext())).rejects.toMatchObject({ name: 'RetryableError' });
  });
});
