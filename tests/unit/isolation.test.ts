import type { CreateHyperParameterTuningJobCommandInput, CreateProcessingJobCommandInput, CreateTrainingJobCommandInput, CreateTransformJobCommandInput } from '@aws-sdk/client-sagemaker';

import { isolateEndpointConfig, isolateModel, isolateProcessingJob, isolateTrainingJob, isolateTransformJob, isolateTuningJob, NO_ISOLATION, type StageIsolation } from '../../shared/isolation';

const FULL: StageIsolation = {
  networkIsolation: true,
  vpc: { Subnets: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'], SecurityGroupIds: ['sg-0a1b2c3d'] },
  volumeKmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  outputKmsKeyId: 'alias/sluice-outputs',
};

const TRAINING: CreateTrainingJobCommandInput = {
  TrainingJobName: 'abalone-train-0123456789ab',
  RoleArn: 'arn:aws:iam::123456789012:role/sluice-test-sagemaker',
  AlgorithmSpecification: { TrainingImage: 'xgboost', TrainingInputMode: 'File' },
  OutputDataConfig: { S3OutputPath: 's3://sluice-test-artifacts/builds/run/train/' },
  ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 },
  StoppingCondition: { MaxRuntimeInSeconds: 3600 },
};

const PROCESSING: CreateProcessingJobCommandInput = {
  ProcessingJobName: 'abalone-prepare-0123456789ab',
  RoleArn: 'arn:aws:iam::123456789012:role/sluice-test-sagemaker',
  AppSpecification: { ImageUri: 'sklearn' },
  ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 } },
  ProcessingOutputConfig: { Outputs: [{ OutputName: 'train', S3Output: { S3Uri: 's3://b/builds/run/prepare/train/', LocalPath: '/opt/ml/processing/output/train', S3UploadMode: 'EndOfJob' } }] },
};

describe('isolateTrainingJob', () => {
  it('leaves the request unchanged when the stage sets nothing', () => {
    expect(isolateTrainingJob(TRAINING, NO_ISOLATION)).toEqual(TRAINING);
  });

  it('adds network isolation, the VPC, the volume key and the output key where CreateTrainingJob takes them', () => {
    expect(isolateTrainingJob(TRAINING, FULL)).toEqual({
      ...TRAINING,
      EnableNetworkIsolation: true,
      VpcConfig: FULL.vpc,
      ResourceConfig: { ...TRAINING.ResourceConfig, VolumeKmsKeyId: FULL.volumeKmsKeyId },
      OutputDataConfig: { ...TRAINING.OutputDataConfig, KmsKeyId: 'alias/sluice-outputs' },
    });
  });
});

describe('isolateTuningJob', () => {
  const tuning: CreateHyperParameterTuningJobCommandInput = {
    HyperParameterTuningJobName: 'sluice-test--k3x9q0f1m2a7pz4c',
    HyperParameterTuningJobConfig: { Strategy: 'Random', ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2 } },
    TrainingJobDefinition: {
      RoleArn: TRAINING.RoleArn!,
      AlgorithmSpecification: { TrainingImage: 'xgboost', TrainingInputMode: 'File' },
      OutputDataConfig: TRAINING.OutputDataConfig!,
      ResourceConfig: TRAINING.ResourceConfig,
      StoppingCondition: TRAINING.StoppingCondition!,
    },
  };

  it('leaves the request unchanged when the stage sets nothing', () => {
    expect(isolateTuningJob(tuning, NO_ISOLATION)).toEqual(tuning);
  });

  it('isolates the training definition as isolateTrainingJob isolates a training job', () => {
    const { TrainingJobName: _name, ...isolated } = isolateTrainingJob({ ...tuning.TrainingJobDefinition!, TrainingJobName: 'x' }, FULL);

    expect(isolateTuningJob(tuning, FULL)).toEqual({ ...tuning, TrainingJobDefinition: isolated });
  });
});

describe('isolateTransformJob', () => {
  const transform: CreateTransformJobCommandInput = {
    TransformJobName: 'sluice-test--abalone-score-0123456789ab',
    ModelName: 'sluice-test--abalone-0123456789ab-score',
    TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://b/datasets/batch/' } } },
    TransformOutput: { S3OutputPath: 's3://b/builds/run/score/output/' },
    TransformResources: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1 },
  };

  it('adds the volume key and the output key, and nothing of the network (the model\'s)', () => {
    expect(isolateTransformJob(transform, NO_ISOLATION)).toEqual(transform);
    expect(isolateTransformJob(transform, FULL)).toEqual({
      ...transform,
      TransformResources: { ...transform.TransformResources, VolumeKmsKeyId: FULL.volumeKmsKeyId },
      TransformOutput: { ...transform.TransformOutput, KmsKeyId: 'alias/sluice-outputs' },
    });
  });
});

describe('isolateProcessingJob', () => {
  it('leaves the request unchanged when the stage sets nothing', () => {
    expect(isolateProcessingJob(PROCESSING, NO_ISOLATION)).toEqual(PROCESSING);
  });

  it('puts network isolation and the VPC in NetworkConfig, the keys in ClusterConfig and ProcessingOutputConfig', () => {
    const isolated = isolateProcessingJob(PROCESSING, FULL);

    expect(isolated.NetworkConfig).toEqual({ EnableNetworkIsolation: true, VpcConfig: FULL.vpc });
    expect(isolated.ProcessingResources?.ClusterConfig?.VolumeKmsKeyId).toBe(FULL.volumeKmsKeyId);
    expect(isolated.ProcessingOutputConfig?.KmsKeyId).toBe('alias/sluice-outputs');
    expect(isolated.ProcessingOutputConfig?.Outputs).toEqual(PROCESSING.ProcessingOutputConfig?.Outputs);
  });

  it('sets only the VPC when the stage has a VPC but no network isolation', () => {
    expect(isolateProcessingJob(PROCESSING, { networkIsolation: false, vpc: FULL.vpc }).NetworkConfig).toEqual({ VpcConfig: FULL.vpc });
  });
});

describe('isolateModel and isolateEndpointConfig', () => {
  it('isolate the model\'s containers and put them in the VPC', () => {
    expect(isolateModel({ ModelName: 'm' }, FULL)).toEqual({ ModelName: 'm', EnableNetworkIsolation: true, VpcConfig: FULL.vpc });
  });

  it('encrypt the endpoint\'s volumes and its captured data', () => {
    const config = isolateEndpointConfig({ EndpointConfigName: 'c', ProductionVariants: [], DataCaptureConfig: { InitialSamplingPercentage: 10, DestinationS3Uri: 's3://b/data-capture/e/', CaptureOptions: [] } }, FULL);

    expect([config.KmsKeyId, config.DataCaptureConfig?.KmsKeyId]).toEqual([FULL.volumeKmsKeyId, 'alias/sluice-outputs']);
  });
});
