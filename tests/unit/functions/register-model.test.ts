import 'aws-sdk-client-mock-jest';

import { CreateModelPackageCommand, DescribeModelPackageGroupCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';

import type { handler as registerModelHandler } from '../../../functions/register-model';
import { BUCKET, buildContext, EXECUTION_ARN, exampleConfig } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';

const sagemaker = mockClient(SageMakerClient);

const BUILD_PREFIX = `s3://${BUCKET}/builds/${buildContext().executionName}/`;
const PACKAGE_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/sluice-test-abalone/1';

let handler: typeof registerModelHandler;

beforeAll(async () => {
  process.env.MODEL_PACKAGE_GROUP_PREFIX = 'sluice-test';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../../functions/register-model'));
});

/** The task input the state machine's RegisterModel state builds. */
function taskInput(): Record<string, unknown> {
  return {
    executionArn: EXECUTION_ARN,
    build: buildContext(),
    config: exampleConfig(),
    jobs: {
      train: { jobName: 'abalone-train-0123456789ab', status: 'Completed', modelArtifacts: `${BUILD_PREFIX}train/model.tar.gz`, finalMetrics: [] },
      evaluate: { jobName: 'abalone-evaluate-0123456789ab', status: 'Completed', outputs: { evaluation: `${BUILD_PREFIX}evaluate/evaluation/` } },
    },
    gate: { value: 4.2, metric: 'regression_metrics.mse.value' },
  };
}

beforeEach(() => {
  sagemaker.reset();
  sagemaker.on(DescribeModelPackageGroupCommand).resolves({ ModelPackageGroupName: 'sluice-test-abalone' });
  sagemaker.on(CreateModelPackageCommand).resolves({ ModelPackageArn: PACKAGE_ARN });
});

describe('register-model handler', () => {
  it('registers the model in the group namespaced by MODEL_PACKAGE_GROUP_PREFIX', async () => {
    await expect(handler(taskInput(), lambdaContext())).resolves.toEqual({
      modelPackageArn: PACKAGE_ARN,
      modelPackageGroupName: 'sluice-test-abalone',
      modelApprovalStatus: 'PendingManualApproval',
    });

    expect(sagemaker).toHaveReceivedCommandWith(CreateModelPackageCommand, { ModelPackageGroupName: 'sluice-test-abalone' });
  });

  it('rejects an invalid task input with InvalidInput and registers nothing', async () => {
    const input = taskInput();
    input.gate = { value: 'low' };

    await expect(handler(input, lambdaContext())).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('gate.value') });

    expect(sagemaker).not.toHaveReceivedAnyCommand();
  });
});
