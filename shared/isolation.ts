import type {
  CreateEndpointConfigCommandInput,
  CreateHyperParameterTuningJobCommandInput,
  CreateModelCommandInput,
  CreateProcessingJobCommandInput,
  CreateTrainingJobCommandInput,
  CreateTransformJobCommandInput,
} from '@aws-sdk/client-sagemaker';

/**
 * The stage's network and encryption settings, applied to every job and endpoint SageMaker runs for
 * it: network isolation, the VPC, KMS keys for volumes and outputs. They come from the stage (its
 * environment), never from mlops.yaml, whose schemas have no field for them. A setting the stage
 * leaves unset leaves the request as it was, so requests (and cache keys) do not change until a
 * stage sets one. The stage's IAM requires the same values (serverless.yml, start-job's role). Pure.
 */

export interface StageIsolation {
  /** No network for the container (SageMaker's EnableNetworkIsolation). */
  networkIsolation: boolean;
  /** Subnets and security groups every job and endpoint runs in; none: SageMaker's own network. */
  vpc?: { Subnets: string[]; SecurityGroupIds: string[] };
  /** KMS key for the ML storage volumes. */
  volumeKmsKeyId?: string;
  /** KMS key for what jobs write to S3 (and endpoints' captured data). */
  outputKmsKeyId?: string;
}

/** No settings: requests as mlops.yaml makes them. */
export const NO_ISOLATION: StageIsolation = Object.freeze({ networkIsolation: false });

/** A CreateTrainingJob request under the stage's settings. */
export function isolateTrainingJob(request: CreateTrainingJobCommandInput, isolation: StageIsolation): CreateTrainingJobCommandInput {
  const { networkIsolation, vpc, volumeKmsKeyId, outputKmsKeyId } = isolation;
  return {
    ...request,
    ...(networkIsolation ? { EnableNetworkIsolation: true } : {}),
    ...(vpc ? { VpcConfig: vpc } : {}),
    ...(volumeKmsKeyId && request.ResourceConfig ? { ResourceConfig: { ...request.ResourceConfig, VolumeKmsKeyId: volumeKmsKeyId } } : {}),
    ...(outputKmsKeyId && request.OutputDataConfig ? { OutputDataConfig: { ...request.OutputDataConfig, KmsKeyId: outputKmsKeyId } } : {}),
  };
}

/** A CreateHyperParameterTuningJob request under the stage's settings: its training definition isolated as a training job is. */
export function isolateTuningJob(request: CreateHyperParameterTuningJobCommandInput, isolation: StageIsolation): CreateHyperParameterTuningJobCommandInput {
  const definition = request.TrainingJobDefinition;
  if (!definition) return request;
  const { networkIsolation, vpc, volumeKmsKeyId, outputKmsKeyId } = isolation;
  return {
    ...request,
    TrainingJobDefinition: {
      ...definition,
      ...(networkIsolation ? { EnableNetworkIsolation: true } : {}),
      ...(vpc ? { VpcConfig: vpc } : {}),
      ...(volumeKmsKeyId && definition.ResourceConfig ? { ResourceConfig: { ...definition.ResourceConfig, VolumeKmsKeyId: volumeKmsKeyId } } : {}),
      ...(outputKmsKeyId && definition.OutputDataConfig ? { OutputDataConfig: { ...definition.OutputDataConfig, KmsKeyId: outputKmsKeyId } } : {}),
    },
  };
}

/** A CreateTransformJob request under the stage's settings: its volumes' key and its output's (network and VPC are the model's: isolateModel). */
export function isolateTransformJob(request: CreateTransformJobCommandInput, isolation: StageIsolation): CreateTransformJobCommandInput {
  const { volumeKmsKeyId, outputKmsKeyId } = isolation;
  return {
    ...request,
    ...(volumeKmsKeyId && request.TransformResources ? { TransformResources: { ...request.TransformResources, VolumeKmsKeyId: volumeKmsKeyId } } : {}),
    ...(outputKmsKeyId && request.TransformOutput ? { TransformOutput: { ...request.TransformOutput, KmsKeyId: outputKmsKeyId } } : {}),
  };
}

/** A CreateProcessingJob request under the stage's settings. */
export function isolateProcessingJob(request: CreateProcessingJobCommandInput, isolation: StageIsolation): CreateProcessingJobCommandInput {
  const { networkIsolation, vpc, volumeKmsKeyId, outputKmsKeyId } = isolation;
  const cluster = request.ProcessingResources?.ClusterConfig;
  return {
    ...request,
    ...(networkIsolation || vpc ? { NetworkConfig: { ...(networkIsolation ? { EnableNetworkIsolation: true } : {}), ...(vpc ? { VpcConfig: vpc } : {}) } } : {}),
    ...(volumeKmsKeyId && cluster ? { ProcessingResources: { ClusterConfig: { ...cluster, VolumeKmsKeyId: volumeKmsKeyId } } } : {}),
    ...(outputKmsKeyId && request.ProcessingOutputConfig ? { ProcessingOutputConfig: { ...request.ProcessingOutputConfig, KmsKeyId: outputKmsKeyId } } : {}),
  };
}

/** A CreateModel request (what an endpoint's containers run as) under the stage's settings. */
export function isolateModel(request: CreateModelCommandInput, isolation: StageIsolation): CreateModelCommandInput {
  return {
    ...request,
    ...(isolation.networkIsolation ? { EnableNetworkIsolation: true } : {}),
    ...(isolation.vpc ? { VpcConfig: isolation.vpc } : {}),
  };
}

/** A CreateEndpointConfig request under the stage's settings: its volumes' key, and its captured data's. */
export function isolateEndpointConfig(request: CreateEndpointConfigCommandInput, isolation: StageIsolation): CreateEndpointConfigCommandInput {
  const { volumeKmsKeyId, outputKmsKeyId } = isolation;
  return {
    ...request,
    ...(volumeKmsKeyId ? { KmsKeyId: volumeKmsKeyId } : {}),
    ...(outputKmsKeyId && request.DataCaptureConfig ? { DataCaptureConfig: { ...request.DataCaptureConfig, KmsKeyId: outputKmsKeyId } } : {}),
  };
}
