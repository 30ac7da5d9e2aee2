import 'aws-sdk-client-mock-jest';

import {
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  DescribeModelPackageGroupCommand,
  ResourceNotFound,
  SageMakerClient,
  SageMakerServiceException,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';

import { registerModel } from '../../../shared/pipeline/register';
import { RetryableError } from '../../../shared/errors';
import type { RegisterModelInput } from '../../../shared/schemas/task-inputs';
import { BUCKET, buildContext, COMMIT, EXECUTION_ARN, exampleConfig } from '../../helpers/fixtures';

const sagemaker = mockClient(SageMakerClient);

const PREFIX = 'sluice-test';
const GROUP = 'sluice-test-abalone';
const BUILD_PREFIX = `s3://${BUCKET}/builds/${buildContext().executionName}/`;
const MODEL_ARTIFACTS = `${BUILD_PREFIX}train/abalone-train-0123456789ab/output/model.tar.gz`;
const PACKAGE_ARN = `arn:aws:sagemaker:us-east-1:123456789012:model-package/${GROUP}/1`;

function registerInput(overrides: Partial<RegisterModelInput> = {}): RegisterModelInput {
  return {
    executionArn: EXECUTION_ARN,
    build: buildContext(),
    config: exampleConfig(),
    jobs: {
      train: {
        jobName: 'abalone-train-0123456789ab',
        status: 'Completed',
        modelArtifacts: MODEL_ARTIFACTS,
        finalMetrics: [{ MetricName: 'validation:rmse', Value: 2.1 }],
      },
      evaluate: { jobName: 'abalone-evaluate-0123456789ab', status: 'Completed', outputs: { evaluation: `${BUILD_PREFIX}evaluate/evaluation/` } },
    },
    gate: { value: 4.2 },
    ...overrides,
  };
}

function createdPackage() {
  const call = sagemaker.commandCalls(CreateModelPackageCommand)[0];
  if (!call) throw new Error('CreateModelPackage was not called');
  return call.args[0].input;
}

beforeEach(() => {
  sagemaker.reset();
  sagemaker.on(DescribeModelPackageGroupCommand).resolves({ ModelPackageGroupName: GROUP });
  sagemaker.on(CreateModelPackageGroupCommand).resolves({});
  sagemaker.on(CreateModelPackageCommand).resolves({ ModelPackageArn: PACKAGE_ARN });
});

describe('registerModel', () => {
  it('returns the new version\'s ARN, its group and approval status', async () => {
    await expect(registerModel(registerInput(), PREFIX)).resolves.toEqual({
      modelPackageArn: PACKAGE_ARN,
      modelPackageGroupName: GROUP,
      modelApprovalStatus: 'PendingManualApproval',
    });
  });

  it('does not create the model package group when it already exists', async () => {
    await registerModel(registerInput(), PREFIX);

    expect(sagemaker).toHaveReceivedCommandWith(DescribeModelPackageGroupCommand, { ModelPackageGroupName: GROUP });
    expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageGroupCommand);
  });

  it.each([
    ['ResourceNotFound', () => new ResourceNotFound({ message: `ModelPackageGroup ${GROUP} does not exist.`, $metadata: {} })],
    // What SageMaker actually answers for a missing group.
    ['ValidationException', () => new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: `ModelPackageGroup arn:aws:sagemaker:us-east-1:123456789012:model-package-group/${GROUP} does not exist.`, $metadata: {} })],
  ])('creates the model package group when DescribeModelPackageGroup answers %s', async (_name, error) => {
    sagemaker.on(DescribeModelPackageGroupCommand).rejects(error());

    await registerModel(registerInput(), PREFIX);

    expect(sagemaker).toHaveReceivedCommandWith(CreateModelPackageGroupCommand, { ModelPackageGroupName: GROUP });
  });

  it('does not create the group when DescribeModelPackageGroup is throttled, and rejects with RetryableError', async () => {
    sagemaker.on(DescribeModelPackageGroupCommand).rejects(new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: {} }));

    await expect(registerModel(registerInput(), PREFIX)).rejects.toThrow(RetryableError);

    expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageGroupCommand);
    expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageCommand);
  });

  it('registers the version when another build created the group in the meantime', async () => {
    sagemaker.on(DescribeModelPackageGroupCommand).rejects(new ResourceNotFound({ message: 'does not exist', $metadata: {} }));
    sagemaker.on(CreateModelPackageGroupCommand).rejects(new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: `Model Package Group already exists: ${GROUP}`, $metadata: {} }));

    await expect(registerModel(registerInput(), PREFIX)).resolves.toMatchObject({ modelPackageArn: PACKAGE_ARN });
  });

  it('names the group after the repository when mlops.yaml does not name one', async () => {
    const input = registerInput({ build: buildContext({ repository: 'fish_age' }) });
    delete input.config.Register.ModelPackageGroupName;

    await expect(registerModel(input, PREFIX)).resolves.toMatchObject({ modelPackageGroupName: 'sluice-test-fish-age' });
    expect(sagemaker).toHaveReceivedCommandWith(CreateModelPackageCommand, { ModelPackageGroupName: 'sluice-test-fish-age' });
  });

  it('sends the same ClientToken when the task is retried for the same execution', async () => {
    await registerModel(registerInput(), PREFIX);
    await registerModel(registerInput(), PREFIX);

    const [first, second] = sagemaker.commandCalls(CreateModelPackageCommand).map((call) => call.args[0].input.ClientToken);
    expect(first).toMatch(/^[a-zA-Z0-9-]{1,36}$/);
    expect(second).toBe(first);
  });

  it('sends a different ClientToken for another execution', async () => {
    await registerModel(registerInput(), PREFIX);
    await registerModel(registerInput({ executionArn: `${EXECUTION_ARN}-2` }), PREFIX);

    const [first, second] = sagemaker.commandCalls(CreateModelPackageCommand).map((call) => call.args[0].input.ClientToken);
    expect(second).not.toBe(first);
  });

  it('points ModelMetrics at the evaluation report', async () => {
    await registerModel(registerInput(), PREFIX);

    expect(createdPackage().ModelMetrics).toEqual({
      ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: `${BUILD_PREFIX}evaluate/evaluation/evaluation.json` } },
    });
  });

  it('registers the trained model data with the training image when no inference image is configured', async () => {
    await registerModel(registerInput(), PREFIX);

    expect(createdPackage().InferenceSpecification?.Containers).toEqual([
      expect.objectContaining({ Image: exampleConfig().Train.AlgorithmSpecification.TrainingImage, ModelDataUrl: MODEL_ARTIFACTS }),
    ]);
  });

  it('uses the configured approval status', async () => {
    const input = registerInput();
    input.config.Register.ModelApprovalStatus = 'Approved';

    await expect(registerModel(input, PREFIX)).resolves.toMatchObject({ modelApprovalStatus: 'Approved' });
    expect(createdPackage().ModelApprovalStatus).toBe('Approved');
  });

  it('records lineage in CustomerMetadataProperties with values SageMaker accepts', async () => {
    await registerModel(registerInput({ build: buildContext({ branch: 'feature/#7' }) }), PREFIX);

    expect(createdPackage().CustomerMetadataProperties).toEqual({
      'sluice:repository': 'abalone',
      'sluice:branch': 'feature/_7',
      'sluice:commit': COMMIT,
      'sluice:execution': EXECUTION_ARN,
      'sluice:training-job': 'abalone-train-0123456789ab',
    });
  });

  it('records the commit and execution in MetadataProperties', async () => {
    await registerModel(registerInput(), PREFIX);

    expect(createdPackage().MetadataProperties).toEqual({ Repository: 'abalone', CommitId: COMMIT, GeneratedBy: EXECUTION_ARN });
  });

  it('describes the version with the commit, branch and gate metric by default', async () => {
    await registerModel(registerInput(), PREFIX);

    expect(createdPackage().ModelPackageDescription).toBe(`abalone@${COMMIT.slice(0, 12)} (main); regression_metrics.mse.value=4.2; validation:rmse=2.1`);
  });

  it('rejects with RetryableError when CreateModelPackage is throttled', async () => {
    sagemaker.on(CreateModelPackageCommand).rejects(new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: {} }));

    await expect(registerModel(registerInput(), PREFIX)).rejects.toThrow(RetryableError);
  });
});
