import 'aws-sdk-client-mock-jest';

import { S3Client } from '@aws-sdk/client-s3';
import { CreateModelPackageCommand, DescribeModelPackageGroupCommand, ListTagsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { handler as registerModelHandler } from '../../../functions/register-model';
import { exampleConfig } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';
import { CACHE_TABLE, fakeS3, type FakeS3, fakeTable, newRun, stepInput, stepsBefore, storePipeline, type TestRun } from '../../helpers/step-tasks';

const sagemaker = mockClient(SageMakerClient);
const s3 = mockClient(S3Client);
const dynamo = mockClient(DynamoDBDocumentClient);

const PACKAGE_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/sluice-test--abalone/1';
const GROUP_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package-group/sluice-test--abalone';

let handler: typeof registerModelHandler;

beforeAll(async () => {
  process.env.MODEL_PACKAGE_GROUP_PREFIX = 'sluice-test';
  process.env.STEP_CACHE_TABLE = CACHE_TABLE;
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../../functions/register-model'));
});

let store: FakeS3;
let run: TestRun;

/** The task input the compiled pipeline's Register state builds (`Parameters`). */
function taskInput(): Record<string, unknown> {
  return { ...stepInput(run, 'Register', { steps: stepsBefore('Register', run) }) };
}

beforeEach(() => {
  sagemaker.reset();
  s3.reset();
  dynamo.reset();
  store = fakeS3(s3);
  fakeTable(dynamo, CACHE_TABLE, 'cacheKey');
  run = newRun();
  storePipeline(store, run, exampleConfig());
  sagemaker.on(DescribeModelPackageGroupCommand).resolves({ ModelPackageGroupName: 'sluice-test--abalone', ModelPackageGroupArn: GROUP_ARN });
  sagemaker.on(ListTagsCommand, { ResourceArn: GROUP_ARN }).resolves({ Tags: [{ Key: 'sluice:repository', Value: 'abalone' }] });
  sagemaker.on(CreateModelPackageCommand).resolves({ ModelPackageArn: PACKAGE_ARN });
});

describe('register-model handler', () => {
  it('registers the model in the group namespaced by MODEL_PACKAGE_GROUP_PREFIX', async () => {
    await expect(handler(taskInput(), lambdaContext())).resolves.toEqual({
      Type: 'RegisterModel',
      ModelPackageArn: PACKAGE_ARN,
      ModelPackageGroupName: 'sluice-test--abalone',
      ModelApprovalStatus: 'PendingManualApproval',
      CachedFrom: null,
    });

    expect(sagemaker).toHaveReceivedCommandWith(CreateModelPackageCommand, { ModelPackageGroupName: 'sluice-test--abalone' });
  });

  it('looks a cached registration up in the table named by STEP_CACHE_TABLE', async () => {
    const pipeline = exampleConfig();
    Object.assign(pipeline.Steps.Register!, { Cache: { ExpireAfter: 'P7D' } });
    run = newRun();
    storePipeline(store, run, pipeline);

    await handler(taskInput(), lambdaContext());

    expect(dynamo).toHaveReceivedCommandWith(GetCommand, { TableName: CACHE_TABLE });
  });

  it('rejects an invalid task input with InvalidInput and registers nothing', async () => {
    const input = taskInput();
    input.steps = { ...(input.steps as Record<string, unknown>), Train: { Type: 'Training', TrainingJobName: 'abalone-train-0123456789ab', ModelArtifacts: 'http://elsewhere/model.tar.gz' } };

    await expect(handler(input, lambdaContext())).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('steps.Train.ModelArtifacts') });

    expect(sagemaker).not.toHaveReceivedAnyCommand();
  });
});
