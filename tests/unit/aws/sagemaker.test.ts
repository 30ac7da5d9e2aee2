import {
  CreateHyperParameterTuningJobCommand,
  type CreateHyperParameterTuningJobCommandInput,
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  CreateProcessingJobCommand,
  type CreateProcessingJobCommandInput,
  CreateTrainingJobCommand,
  type CreateTrainingJobCommandInput,
  CreateTransformJobCommand,
  type CreateTransformJobCommandInput,
  DescribeHyperParameterTuningJobCommand,
  DescribeModelCommand,
  DescribeModelPackageGroupCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  DescribeTransformJobCommand,
  ResourceInUse,
  ResourceLimitExceeded,
  ResourceNotFound,
  SageMakerClient,
  StopHyperParameterTuningJobCommand,
  StopTransformJobCommand,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

import {
  createHyperParameterTuningJob,
  createModelPackage,
  createProcessingJob,
  createTrainingJob,
  createTransformJob,
  describeHyperParameterTuningJob,
  describeModel,
  describeProcessingJob,
  describeTrainingJob,
  describeTransformJob,
  ensureModelPackageGroup,
  stopHyperParameterTuningJob,
  stopTransformJob,
} from '../../../shared/aws/sagemaker';
import { RetryableError, SageMakerResourceLimitError } from '../../../shared/errors';
import { ROLE_ARN } from '../../helpers/fixtures';

const sagemaker = mockClient(SageMakerClient);

const TRAINING_JOB = 'abalone-train-0123456789ab';
const PROCESSING_JOB = 'abalone-preprocess-0123456789ab';
const GROUP = 'sluice-dev-abalone';
const GROUP_ARN = `arn:aws:sagemaker:us-east-1:123456789012:model-package-group/${GROUP}`;
const PACKAGE_ARN = `arn:aws:sagemaker:us-east-1:123456789012:model-package/${GROUP}/1`;

const TRAINING_INPUT: CreateTrainingJobCommandInput = {
  TrainingJobName: TRAINING_JOB,
  RoleArn: ROLE_ARN,
  AlgorithmSpecification: { TrainingImage: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3', TrainingInputMode: 'File' },
  OutputDataConfig: { S3OutputPath: 's3://sluice-test-artifacts/builds/x/train/' },
  ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 },
  StoppingCondition: { MaxRuntimeInSeconds: 3600 },
};

const PROCESSING_INPUT: CreateProcessingJobCommandInput = {
  ProcessingJobName: PROCESSING_JOB,
  RoleArn: ROLE_ARN,
  AppSpecification: { ImageUri: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:0.23-1-cpu-py3' },
  ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 } },
};

function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' });
}

/** SageMaker reports many conditions as a plain ValidationException with a sentence. */
function validation(message: string): Error {
  return Object.assign(new Error(message), { name: 'ValidationException', $fault: 'client' });
}

beforeEach(() => {
  sagemaker.reset();
});

describe('createTrainingJob', () => {
  it('creates the job from the given request', async () => {
    sagemaker.on(CreateTrainingJobCommand).resolves({ TrainingJobArn: `arn:aws:sagemaker:us-east-1:123456789012:training-job/${TRAINING_JOB}` });

    await createTrainingJob(TRAINING_INPUT);

    expect(sagemaker).toHaveReceivedCommandWith(CreateTrainingJobCommand, TRAINING_INPUT);
  });

  it('treats ResourceInUse (a job of that name exists) as created', async () => {
    sagemaker.on(CreateTrainingJobCommand).rejects(
      new ResourceInUse({
        message: `Training job names must be unique within an AWS account and region, and a training job with this name already exists (arn:aws:sagemaker:us-east-1:123456789012:training-job/${TRAINING_JOB})`,
        $metadata: {},
      }),
    );

    await expect(createTrainingJob(TRAINING_INPUT)).resolves.toBeUndefined();
  });

  it('passes other validation errors through unchanged, as terminal', async () => {
    const invalid = validation('1 validation error detected: Value null at \'roleArn\' failed to satisfy constraint');
    sagemaker.on(CreateTrainingJobCommand).rejects(invalid);

    await expect(createTrainingJob(TRAINING_INPUT)).rejects.toBe(invalid);
  });

  it('names a resource limit SageMakerResourceLimit (RetryPolicies may retry it), keeping SageMaker\'s message', async () => {
    const limit = new ResourceLimitExceeded({ message: "The account-level service limit 'ml.m5.xlarge for training job usage' is 0 Instances", $metadata: {} });
    sagemaker.on(CreateTrainingJobCommand).rejects(limit);

    await expect(createTrainingJob(TRAINING_INPUT)).rejects.toThrow(SageMakerResourceLimitError);
    await expect(createTrainingJob(TRAINING_INPUT)).rejects.toThrow("is 0 Instances");
  });

  it('throws RetryableError when SageMaker throttles', async () => {
    sagemaker.on(CreateTrainingJobCommand).rejects(throttling());

    await expect(createTrainingJob(TRAINING_INPUT)).rejects.toThrow(RetryableError);
  });
});

describe('createProcessingJob', () => {
  it('creates the job from the given request', async () => {
    sagemaker.on(CreateProcessingJobCommand).resolves({ ProcessingJobArn: `arn:aws:sagemaker:us-east-1:123456789012:processing-job/${PROCESSING_JOB}` });

    await createProcessingJob(PROCESSING_INPUT);

    expect(sagemaker).toHaveReceivedCommandWith(CreateProcessingJobCommand, PROCESSING_INPUT);
  });

  it('treats ResourceInUse (a job of that name exists) as created', async () => {
    sagemaker.on(CreateProcessingJobCommand).rejects(new ResourceInUse({ message: 'Job name must be unique within an AWS account and region, and a job with this name already exists', $metadata: {} }));

    await expect(createProcessingJob(PROCESSING_INPUT)).resolves.toBeUndefined();
  });

  it('treats a ValidationException saying the job already exists as created', async () => {
    sagemaker.on(CreateProcessingJobCommand).rejects(validation(`Job ${PROCESSING_JOB} already exists`));

    await expect(createProcessingJob(PROCESSING_INPUT)).resolves.toBeUndefined();
  });

  it('throws RetryableError when SageMaker throttles', async () => {
    sagemaker.on(CreateProcessingJobCommand).rejects(throttling());

    await expect(createProcessingJob(PROCESSING_INPUT)).rejects.toThrow(RetryableError);
  });
});

describe('describeTrainingJob', () => {
  it('returns the description', async () => {
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: TRAINING_JOB }).resolves({ TrainingJobName: TRAINING_JOB, TrainingJobStatus: 'InProgress' });

    await expect(describeTrainingJob(TRAINING_JOB)).resolves.toMatchObject({ TrainingJobName: TRAINING_JOB, TrainingJobStatus: 'InProgress' });
  });

  it('returns undefined when SageMaker says "Requested resource not found."', async () => {
    sagemaker.on(DescribeTrainingJobCommand).rejects(validation('Requested resource not found.'));

    await expect(describeTrainingJob(TRAINING_JOB)).resolves.toBeUndefined();
  });

  it('returns undefined on ResourceNotFound', async () => {
    sagemaker.on(DescribeTrainingJobCommand).rejects(new ResourceNotFound({ message: 'Resource Not Found', $metadata: {} }));

    await expect(describeTrainingJob(TRAINING_JOB)).resolves.toBeUndefined();
  });

  it('passes other validation errors through unchanged', async () => {
    const invalid = validation("1 validation error detected: Value 'bad name' at 'trainingJobName' failed to satisfy constraint");
    sagemaker.on(DescribeTrainingJobCommand).rejects(invalid);

    await expect(describeTrainingJob('bad name')).rejects.toBe(invalid);
  });

  it('throws RetryableError when SageMaker throttles', async () => {
    sagemaker.on(DescribeTrainingJobCommand).rejects(throttling());

    await expect(describeTrainingJob(TRAINING_JOB)).rejects.toThrow(RetryableError);
  });
});

describe('describeProcessingJob', () => {
  it('returns the description', async () => {
    sagemaker.on(DescribeProcessingJobCommand, { ProcessingJobName: PROCESSING_JOB }).resolves({ ProcessingJobName: PROCESSING_JOB, ProcessingJobStatus: 'Completed' });

    await expect(describeProcessingJob(PROCESSING_JOB)).resolves.toMatchObject({ ProcessingJobStatus: 'Completed' });
  });

  it('returns undefined on ResourceNotFound', async () => {
    sagemaker.on(DescribeProcessingJobCommand).rejects(new ResourceNotFound({ message: 'Resource Not Found', $metadata: {} }));

    await expect(describeProcessingJob(PROCESSING_JOB)).resolves.toBeUndefined();
  });

  it('returns undefined on a ValidationException saying the job does not exist', async () => {
    sagemaker.on(DescribeProcessingJobCommand).rejects(validation(`Processing job ${PROCESSING_JOB} does not exist.`));

    await expect(describeProcessingJob(PROCESSING_JOB)).resolves.toBeUndefined();
  });

  it('throws RetryableError on a server fault', async () => {
    sagemaker.on(DescribeProcessingJobCommand).rejects(Object.assign(new Error('Internal failure'), { name: 'InternalFailure', $fault: 'server' }));

    await expect(describeProcessingJob(PROCESSING_JOB)).rejects.toThrow(RetryableError);
  });
});

describe('ensureModelPackageGroup', () => {
  it('creates nothing when the group exists', async () => {
    sagemaker.on(DescribeModelPackageGroupCommand).resolves({ ModelPackageGroupName: GROUP, ModelPackageGroupArn: GROUP_ARN });

    await ensureModelPackageGroup(GROUP, 'Models built by Sluice from abalone', []);

    expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageGroupCommand);
  });

  it('creates the group when SageMaker says it does not exist', async () => {
    sagemaker.on(DescribeModelPackageGroupCommand).rejects(validation(`ModelPackageGroup ${GROUP_ARN} does not exist.`));
    sagemaker.on(CreateModelPackageGroupCommand).resolves({ ModelPackageGroupArn: GROUP_ARN });
    const tags = [{ Key: 'sluice:repository', Value: 'abalone' }];

    await ensureModelPackageGroup(GROUP, 'Models built by Sluice from abalone', tags);

    expect(sagemaker).toHaveReceivedCommandWith(CreateModelPackageGroupCommand, {
      ModelPackageGroupName: GROUP,
      ModelPackageGroupDescription: 'Models built by Sluice from abalone',
      Tags: tags,
    });
  });

  it('returns the existing group, not created by this call', async () => {
    sagemaker.on(DescribeModelPackageGroupCommand).resolves({ ModelPackageGroupName: GROUP, ModelPackageGroupArn: GROUP_ARN });

    await expect(ensureModelPackageGroup(GROUP, 'description', [])).resolves.toEqual({ arn: GROUP_ARN, created: false });
  });

  it('returns the group it created, created by this call', async () => {
    sagemaker.on(DescribeModelPackageGroupCommand).rejects(validation(`ModelPackageGroup ${GROUP_ARN} does not exist.`));
    sagemaker.on(CreateModelPackageGroupCommand).resolves({ ModelPackageGroupArn: GROUP_ARN });

    await expect(ensureModelPackageGroup(GROUP, 'description', [])).resolves.toEqual({ arn: GROUP_ARN, created: true });
  });

  it('succeeds, as not created by this call, when another build created the group in between', async () => {
    sagemaker.on(DescribeModelPackageGroupCommand)
      .rejectsOnce(validation(`ModelPackageGroup ${GROUP_ARN} does not exist.`))
      .resolves({ ModelPackageGroupName: GROUP, ModelPackageGroupArn: GROUP_ARN });
    sagemaker.on(CreateModelPackageGroupCommand).rejects(validation(`Model Package Group already exists: ${GROUP_ARN}`));

    await expect(ensureModelPackageGroup(GROUP, 'description', [])).resolves.toEqual({ arn: GROUP_ARN, created: false });
  });

  it('throws RetryableError when describing the group is throttled, without creating it', async () => {
    sagemaker.on(DescribeModelPackageGroupCommand).rejects(throttling());

    await expect(ensureModelPackageGroup(GROUP, 'description', [])).rejects.toThrow(RetryableError);
    expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageGroupCommand);
  });

  it('throws RetryableError when creating the group is throttled', async () => {
    sagemaker.on(DescribeModelPackageGroupCommand).rejects(new ResourceNotFound({ message: 'not found', $metadata: {} }));
    sagemaker.on(CreateModelPackageGroupCommand).rejects(throttling());

    await expect(ensureModelPackageGroup(GROUP, 'description', [])).rejects.toThrow(RetryableError);
  });
});

describe('createModelPackage', () => {
  it('returns the new version ARN', async () => {
    sagemaker.on(CreateModelPackageCommand).resolves({ ModelPackageArn: PACKAGE_ARN });

    await expect(createModelPackage({ ModelPackageGroupName: GROUP, ClientToken: 'token-1' })).resolves.toBe(PACKAGE_ARN);
  });

  it('fails when SageMaker returns no ARN', async () => {
    sagemaker.on(CreateModelPackageCommand).resolves({});

    await expect(createModelPackage({ ModelPackageGroupName: GROUP, ClientToken: 'token-1' })).rejects.toThrow('CreateModelPackage returned no ModelPackageArn');
  });

  it('throws RetryableError when SageMaker throttles', async () => {
    sagemaker.on(CreateModelPackageCommand).rejects(throttling());

    await expect(createModelPackage({ ModelPackageGroupName: GROUP, ClientToken: 'token-1' })).rejects.toThrow(RetryableError);
  });
});

describe('tuning and transform job wrappers', () => {
  const TUNING_JOB = 'sluice-dev--k3x9q0f1m2a7pz4c';
  const TRANSFORM_JOB = 'sluice-dev--abalone-score-0123456789ab';
  const tuningInput: CreateHyperParameterTuningJobCommandInput = {
    HyperParameterTuningJobName: TUNING_JOB,
    HyperParameterTuningJobConfig: { Strategy: 'Random', ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2 } },
  };
  const transformInput: CreateTransformJobCommandInput = {
    TransformJobName: TRANSFORM_JOB,
    ModelName: 'sluice-dev--abalone-0123456789ab-score',
    TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://b/datasets/batch/' } } },
    TransformOutput: { S3OutputPath: 's3://b/builds/x/score/output/' },
    TransformResources: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1 },
  };

  beforeEach(() => sagemaker.reset());

  it('treats a tuning or transform job that already exists as created (a repeated task)', async () => {
    sagemaker.on(CreateHyperParameterTuningJobCommand).rejects(new ResourceInUse({ message: `Hyperparameter tuning job ${TUNING_JOB} already exists`, $metadata: {} }));
    sagemaker.on(CreateTransformJobCommand).rejects(new ResourceInUse({ message: 'Job name must be unique within an AWS account and region', $metadata: {} }));

    await expect(createHyperParameterTuningJob(tuningInput)).resolves.toBeUndefined();
    await expect(createTransformJob(transformInput)).resolves.toBeUndefined();
  });

  it('turns throttling into RetryableError and an account limit into SageMakerResourceLimitError', async () => {
    sagemaker.on(CreateHyperParameterTuningJobCommand).rejects(throttling());
    sagemaker.on(CreateTransformJobCommand).rejects(new ResourceLimitExceeded({ message: 'The account-level service limit for ml.m5.xlarge for transform job usage is 0', $metadata: {} }));

    await expect(createHyperParameterTuningJob(tuningInput)).rejects.toBeInstanceOf(RetryableError);
    await expect(createTransformJob(transformInput)).rejects.toBeInstanceOf(SageMakerResourceLimitError);
  });

  it('describes a missing tuning job, transform job or model as undefined', async () => {
    sagemaker.on(DescribeHyperParameterTuningJobCommand).rejects(new ResourceNotFound({ message: `Amazon SageMaker can't find a tuning job with name ${TUNING_JOB}`, $metadata: {} }));
    sagemaker.on(DescribeTransformJobCommand).rejects(validation(`Could not find requested job with name ${TRANSFORM_JOB}`));
    sagemaker.on(DescribeModelCommand).rejects(validation('Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/m".'));

    await expect(describeHyperParameterTuningJob(TUNING_JOB)).resolves.toBeUndefined();
    await expect(describeTransformJob(TRANSFORM_JOB)).resolves.toBeUndefined();
    await expect(describeModel('m')).resolves.toBeUndefined();
  });

  it('leaves a tuning or transform job that no longer runs as it is when asked to stop it', async () => {
    sagemaker.on(StopHyperParameterTuningJobCommand).rejects(validation(`The hyperparameter tuning job ${TUNING_JOB} has status Completed and cannot be stopped`));
    sagemaker.on(StopTransformJobCommand).rejects(validation('Job status is Completed, not InProgress'));

    await expect(stopHyperParameterTuningJob(TUNING_JOB)).resolves.toBeUndefined();
    await expect(stopTransformJob(TRANSFORM_JOB)).resolves.toBeUndefined();
    expect(sagemaker).toHaveReceivedCommandWith(StopHyperParameterTuningJobCommand, { HyperParameterTuningJobName: TUNING_JOB });
  });
});
