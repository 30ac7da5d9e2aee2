import 'aws-sdk-client-mock-jest';

import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { CreateEndpointConfigCommand, CreateModelCommand, SageMakerClient, SageMakerServiceException } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';

import { createStageEndpointConfig, createStageModel, ensureStageAlarms } from '../../../shared/deploy/resources';
import { RetryableError } from '../../../shared/errors';
import { NO_ISOLATION } from '../../../shared/isolation';
import { executionRoleArn } from '../../../shared/pipeline/tenancy';
import { DEPLOY_EXECUTION_ARN, GROUP, MODEL_PACKAGE_ARN, ROLE_ARN, stageInput } from '../../helpers/deploy';
import { BUCKET } from '../../helpers/fixtures';

const sagemaker = mockClient(SageMakerClient);
const cloudwatch = mockClient(CloudWatchClient);

function validation(message: string) {
  return new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message, $metadata: {} });
}

beforeEach(() => {
  sagemaker.reset();
  cloudwatch.reset();
  sagemaker.on(CreateModelCommand).resolves({ ModelArn: 'arn' });
  sagemaker.on(CreateEndpointConfigCommand).resolves({ EndpointConfigArn: 'arn' });
  cloudwatch.on(PutMetricAlarmCommand).resolves({});
});

describe('createStageModel', () => {
  it('creates the model from the model package under the stage\'s role, tagged with its lineage', async () => {
    await expect(createStageModel(stageInput('staging'), { roleArn: ROLE_ARN }, NO_ISOLATION)).resolves.toEqual({ modelName: `${GROUP}-v3`, created: true });

    expect(sagemaker).toHaveReceivedCommandWith(CreateModelCommand, {
      ModelName: `${GROUP}-v3`,
      Containers: [{ ModelPackageName: MODEL_PACKAGE_ARN }],
      ExecutionRoleArn: ROLE_ARN,
      Tags: expect.arrayContaining([{ Key: 'sluice:model-package', Value: MODEL_PACKAGE_ARN }, { Key: 'sluice:execution', Value: DEPLOY_EXECUTION_ARN }]),
    });
  });

  it('reuses a model that already exists (created by the other stage or a retry)', async () => {
    sagemaker.on(CreateModelCommand).rejects(validation(`Cannot create already existing model "arn:aws:sagemaker:us-east-1:123456789012:model/${GROUP}-v3".`));

    await expect(createStageModel(stageInput('prod'), { roleArn: ROLE_ARN }, NO_ISOLATION)).resolves.toEqual({ modelName: `${GROUP}-v3`, created: false });
  });

  it('rejects with RetryableError on throttling', async () => {
    sagemaker.on(CreateModelCommand).rejects(new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: {} }));

    await expect(createStageModel(stageInput('prod'), { roleArn: ROLE_ARN }, NO_ISOLATION)).rejects.toThrow(RetryableError);
  });
});

describe('the stage\'s isolation settings on endpoints', () => {
  const isolation = { networkIsolation: true, vpc: { Subnets: ['subnet-0a1b2c3d'], SecurityGroupIds: ['sg-0a1b2c3d'] }, volumeKmsKeyId: 'alias/sluice-volumes', outputKmsKeyId: 'alias/sluice-outputs' };

  it('creates the model network-isolated in the stage\'s VPC', async () => {
    await createStageModel(stageInput('prod'), { roleArn: ROLE_ARN }, isolation);

    expect(sagemaker).toHaveReceivedCommandWith(CreateModelCommand, { EnableNetworkIsolation: true, VpcConfig: { Subnets: ['subnet-0a1b2c3d'], SecurityGroupIds: ['sg-0a1b2c3d'] } });
  });

  it('encrypts the endpoint config\'s volumes with the stage\'s volume key', async () => {
    await createStageEndpointConfig(stageInput('prod'), BUCKET, isolation);

    expect(sagemaker).toHaveReceivedCommandWith(CreateEndpointConfigCommand, { KmsKeyId: 'alias/sluice-volumes' });
  });
});

describe('createStageModel: the repository\'s own execution role', () => {
  it('runs the model as the role of the version\'s repository when the stage created one for it', async () => {
    const roles = { roleArn: ROLE_ARN, repositoryRoles: { arnPrefix: 'arn:aws:iam::123456789012:role/sluice-test-job-', repositories: ['abalone'] } };

    await createStageModel(stageInput('prod'), roles, NO_ISOLATION);

    expect(sagemaker).toHaveReceivedCommandWith(CreateModelCommand, { ExecutionRoleArn: executionRoleArn('abalone', roles) });
    expect(executionRoleArn('abalone', roles)).toMatch(/^arn:aws:iam::123456789012:role\/sluice-test-job-[0-9a-f]{10}$/);
  });
});

describe('createStageEndpointConfig', () => {
  it('creates one AllTraffic variant of the stage\'s instance type and count, without data capture by default', async () => {
    await expect(createStageEndpointConfig(stageInput('prod'), BUCKET, NO_ISOLATION)).resolves.toEqual({ endpointConfigName: `${GROUP}-prod-v3`, created: true });

    const input = sagemaker.commandCalls(CreateEndpointConfigCommand)[0]?.args[0].input;
    expect(input?.ProductionVariants).toEqual([{ VariantName: 'AllTraffic', ModelName: `${GROUP}-v3`, InstanceType: 'ml.m5.large', InitialInstanceCount: 2 }]);
    expect(input?.DataCaptureConfig).toBeUndefined();
  });

  it('captures requests and responses to s3://<bucket>/data-capture/<endpoint>/ when asked', async () => {
    await createStageEndpointConfig(stageInput('staging', { dataCaptureSamplingPercentage: 25 }), BUCKET, NO_ISOLATION);

    expect(sagemaker).toHaveReceivedCommandWith(CreateEndpointConfigCommand, {
      DataCaptureConfig: {
        EnableCapture: true,
        InitialSamplingPercentage: 25,
        DestinationS3Uri: `s3://${BUCKET}/data-capture/${GROUP}-staging/`,
        CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
      },
    });
  });

  it('reuses an endpoint config that already exists', async () => {
    sagemaker.on(CreateEndpointConfigCommand).rejects(validation('Cannot create already existing endpoint configuration "x".'));

    await expect(createStageEndpointConfig(stageInput('prod'), BUCKET, NO_ISOLATION)).resolves.toMatchObject({ created: false });
  });
});

describe('ensureStageAlarms', () => {
  it('puts a 5xx alarm: Invocation5XXErrors Sum >= 1 over one 60 s period, missing data not breaching', async () => {
    await ensureStageAlarms(stageInput('prod').stage, 500);

    expect(cloudwatch).toHaveReceivedCommandWith(PutMetricAlarmCommand, {
      AlarmName: `${GROUP}-prod-5xx`,
      Namespace: 'AWS/SageMaker',
      MetricName: 'Invocation5XXErrors',
      Dimensions: [{ Name: 'EndpointName', Value: `${GROUP}-prod` }, { Name: 'VariantName', Value: 'AllTraffic' }],
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('puts a latency alarm on ModelLatency Average in microseconds', async () => {
    await expect(ensureStageAlarms(stageInput('prod').stage, 500)).resolves.toEqual({ alarmNames: [`${GROUP}-prod-5xx`, `${GROUP}-prod-model-latency`] });

    expect(cloudwatch).toHaveReceivedCommandWith(PutMetricAlarmCommand, { AlarmName: `${GROUP}-prod-model-latency`, MetricName: 'ModelLatency', Statistic: 'Average', Threshold: 500_000, ComparisonOperator: 'GreaterThanThreshold' });
  });
});
