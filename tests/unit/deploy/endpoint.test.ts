import 'aws-sdk-client-mock-jest';

import {
  CreateEndpointCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  DescribeModelPackageCommand,
  SageMakerClient,
  SageMakerServiceException,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { JobToken } from '../../../shared/aws/dynamodb';
import { ModelPackageNotApprovedError } from '../../../shared/errors';
import {
  advanceEndpointDeploy,
  decideEndpoint,
  deploymentConfig,
  normalizeEndpointStatus,
  reconcileEndpointDeploys,
  startEndpointDeploy,
} from '../../../shared/deploy/endpoint';
import { DEPLOY_EXECUTION_ARN, GROUP, MODEL_PACKAGE_ARN, stageInput, TASK_TOKEN } from '../../helpers/deploy';

const sagemaker = mockClient(SageMakerClient);
const sfn = mockClient(SFNClient);
const dynamo = mockClient(DynamoDBDocumentClient);

const TABLE = 'sluice-test-job-tokens';
const PROD = `${GROUP}-prod`;
const STAGING = `${GROUP}-staging`;
const NOW = new Date('2026-11-23T10:00:00Z');

/** The token table as one item that Put/Update change and Get reads, like DynamoDB would. */
let stored: JobToken | undefined;

function notFound() {
  return new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: `Could not find endpoint "${PROD}".`, $metadata: {} });
}

function endpoint(status: string, config: string, extra: Partial<DescribeEndpointCommandOutput> = {}): Partial<DescribeEndpointCommandOutput> {
  return { EndpointName: PROD, EndpointStatus: status as DescribeEndpointCommandOutput['EndpointStatus'], EndpointConfigName: config, ...extra };
}

beforeEach(() => {
  sagemaker.reset();
  sfn.reset();
  dynamo.reset();
  stored = undefined;
  dynamo.on(PutCommand).callsFake((input: { Item: JobToken }) => {
    stored = input.Item;
    return {};
  });
  dynamo.on(GetCommand).callsFake(() => ({ Item: stored }));
  dynamo.on(UpdateCommand).callsFake((input: { ExpressionAttributeValues: { ':phase': JobToken['phase'] } }) => {
    if (stored) stored = { ...stored, phase: input.ExpressionAttributeValues[':phase'] };
    return {};
  });
  dynamo.on(DeleteCommand).callsFake(() => {
    stored = undefined;
    return {};
  });
  sagemaker.on(DescribeModelPackageCommand).resolves({ ModelApprovalStatus: 'Approved' });
  sagemaker.on(CreateEndpointCommand).resolves({ EndpointArn: 'arn' });
  sagemaker.on(UpdateEndpointCommand).resolves({ EndpointArn: 'arn' });
  sagemaker.on(DeleteEndpointCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
});

describe('startEndpointDeploy', () => {
  it('records the token under endpoint:<name> before acting', async () => {
    sagemaker.on(DescribeEndpointCommand).rejects(notFound());

    await startEndpointDeploy(TABLE, { ...stageInput('prod'), taskToken: TASK_TOKEN }, NOW);

    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: expect.objectContaining({ jobName: `endpoint:${PROD}`, kind: 'endpoint', taskToken: TASK_TOKEN, endpointConfigName: `${GROUP}-prod-v3`, phase: 'waiting', step: 'prod' }),
    });
  });

  it('creates the endpoint with lineage tags on a first deploy into an empty account, and waits for its event', async () => {
    sagemaker.on(DescribeEndpointCommand).rejects(notFound());

    await expect(startEndpointDeploy(TABLE, { ...stageInput('prod'), taskToken: TASK_TOKEN }, NOW)).resolves.toEqual({ endpointName: PROD, result: 'created' });

    expect(sagemaker).toHaveReceivedCommandWith(CreateEndpointCommand, {
      EndpointName: PROD,
      EndpointConfigName: `${GROUP}-prod-v3`,
      Tags: expect.arrayContaining([
        { Key: 'sluice:model-package', Value: MODEL_PACKAGE_ARN },
        { Key: 'sluice:execution', Value: DEPLOY_EXECUTION_ARN },
        { Key: 'sluice:repository', Value: 'abalone' },
        { Key: 'sluice:commit', Value: expect.any(String) },
      ]),
    });
    expect(stored?.phase).toBe('deploying');
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('completes the task at once with alreadyDeployed when the endpoint already serves this version', async () => {
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint('InService', `${GROUP}-prod-v3`));

    await expect(startEndpointDeploy(TABLE, { ...stageInput('prod'), taskToken: TASK_TOKEN }, NOW)).resolves.toEqual({ endpointName: PROD, result: 'succeeded' });

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: TASK_TOKEN,
      output: JSON.stringify({ endpointName: PROD, endpointConfigName: `${GROUP}-prod-v3`, status: 'InService', alreadyDeployed: true }),
    });
    expect(sagemaker).not.toHaveReceivedCommand(CreateEndpointCommand);
    expect(sagemaker).not.toHaveReceivedCommand(UpdateEndpointCommand);
    expect(stored).toBeUndefined();
  });

  it('updates prod blue/green: CANARY 10 %, the bake, no termination wait, rolled back by both alarms', async () => {
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint('InService', `${GROUP}-prod-v2`));

    await expect(startEndpointDeploy(TABLE, { ...stageInput('prod'), taskToken: TASK_TOKEN }, NOW)).resolves.toMatchObject({ result: 'updated' });

    expect(sagemaker).toHaveReceivedCommandWith(UpdateEndpointCommand, {
      EndpointName: PROD,
      EndpointConfigName: `${GROUP}-prod-v3`,
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 }, WaitIntervalInSeconds: 300 },
          TerminationWaitInSeconds: 0,
        },
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: `${PROD}-5xx` }, { AlarmName: `${PROD}-model-latency` }] },
      },
    });
  });

  it('updates staging without a DeploymentConfig', async () => {
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint('InService', `${GROUP}-staging-v2`, { EndpointName: STAGING }));

    await startEndpointDeploy(TABLE, { ...stageInput('staging'), taskToken: TASK_TOKEN }, NOW);

    expect(sagemaker.commandCalls(UpdateEndpointCommand)[0]?.args[0].input).toEqual({ EndpointName: STAGING, EndpointConfigName: `${GROUP}-staging-v3` });
  });

  it('waits, without acting, for an endpoint stuck Creating', async () => {
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint('Creating', `${GROUP}-prod-v2`));

    await expect(startEndpointDeploy(TABLE, { ...stageInput('prod'), taskToken: TASK_TOKEN }, NOW)).resolves.toMatchObject({ result: 'waiting' });

    expect(sagemaker).not.toHaveReceivedCommand(CreateEndpointCommand);
    expect(sagemaker).not.toHaveReceivedCommand(UpdateEndpointCommand);
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(stored?.phase).toBe('waiting');
  });

  it('fails with ModelPackageNotApproved, touching nothing, when the version was rejected while the run waited', async () => {
    sagemaker.on(DescribeModelPackageCommand).resolves({ ModelApprovalStatus: 'Rejected' });

    await expect(startEndpointDeploy(TABLE, { ...stageInput('prod'), taskToken: TASK_TOKEN }, NOW)).rejects.toThrow(ModelPackageNotApprovedError);

    expect(sagemaker).not.toHaveReceivedCommand(DescribeEndpointCommand);
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
  });

  it('does not re-check approval for a rollback (its target is chosen among Approved versions)', async () => {
    sagemaker.on(DescribeEndpointCommand).rejects(notFound());

    await startEndpointDeploy(TABLE, { ...stageInput('prod', {}, { mode: 'rollback' }), taskToken: TASK_TOKEN }, NOW);

    expect(sagemaker).not.toHaveReceivedCommand(DescribeModelPackageCommand);
  });

  it('recreates a Failed endpoint: deletes it, then creates it once it is gone', async () => {
    sagemaker.on(DescribeEndpointCommand).resolvesOnce(endpoint('Failed', `${GROUP}-prod-v2`, { FailureReason: 'bad image' })).rejects(notFound());

    await expect(startEndpointDeploy(TABLE, { ...stageInput('prod'), taskToken: TASK_TOKEN }, NOW)).resolves.toMatchObject({ result: 'deleted' });
    await expect(advanceEndpointDeploy(TABLE, PROD)).resolves.toBe('created');

    expect(sagemaker).toHaveReceivedCommandWith(DeleteEndpointCommand, { EndpointName: PROD });
    expect(sagemaker).toHaveReceivedCommandWith(CreateEndpointCommand, { EndpointName: PROD, EndpointConfigName: `${GROUP}-prod-v3` });
  });
});

describe('advanceEndpointDeploy after Sluice asked for the change', () => {
  beforeEach(async () => {
    sagemaker.on(DescribeEndpointCommand).resolvesOnce(endpoint('InService', `${GROUP}-prod-v2`));
    await startEndpointDeploy(TABLE, { ...stageInput('prod'), taskToken: TASK_TOKEN }, NOW);
    sfn.reset();
    sfn.on(SendTaskSuccessCommand).resolves({});
    sfn.on(SendTaskFailureCommand).resolves({});
  });

  it('completes the task once the endpoint is InService on the new config', async () => {
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint('InService', `${GROUP}-prod-v3`));

    await expect(advanceEndpointDeploy(TABLE, PROD)).resolves.toBe('succeeded');

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { output: expect.stringContaining('"alreadyDeployed":false') });
  });

  it('fails the task with DeployRolledBack when the endpoint is back InService on the old config', async () => {
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint('InService', `${GROUP}-prod-v2`, { FailureReason: 'Alarm sluice-test-abalone-prod-5xx went off' }));

    await expect(advanceEndpointDeploy(TABLE, PROD)).resolves.toBe('failed');

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: TASK_TOKEN, error: 'DeployRolledBack', cause: expect.stringContaining('5xx went off') });
  });

  it('fails the task with DeployRolledBack while SageMaker rolls the update back', async () => {
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint('RollingBack', `${GROUP}-prod-v3`));

    await advanceEndpointDeploy(TABLE, PROD);

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { error: 'DeployRolledBack' });
  });

  it.each(['Failed', 'OutOfService', 'UpdateRollbackFailed'])('fails the task with EndpointDeployFailed and the FailureReason when the endpoint is %s', async (status) => {
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint(status, `${GROUP}-prod-v3`, { FailureReason: 'The primary container for production variant AllTraffic did not pass the ping health check.' }));

    await advanceEndpointDeploy(TABLE, PROD);

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { error: 'EndpointDeployFailed', cause: expect.stringContaining('did not pass the ping health check') });
    expect(stored).toBeUndefined();
  });

  it('reports already-settled when the token was settled before (duplicate event)', async () => {
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint('InService', `${GROUP}-prod-v3`));
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('Task Timed Out'), { name: 'TaskTimedOut' }));

    await expect(advanceEndpointDeploy(TABLE, PROD)).resolves.toBe('already-settled');
  });
});

describe('deploymentConfig', () => {
  it('shifts 33 % steps for LINEAR', () => {
    expect(deploymentConfig({ ...stageInput('prod').stage, strategy: 'LINEAR' })?.BlueGreenUpdatePolicy?.TrafficRoutingConfiguration).toEqual({
      Type: 'LINEAR',
      LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 33 },
      WaitIntervalInSeconds: 300,
    });
  });

  it('shifts everything then bakes for ALL_AT_ONCE', () => {
    expect(deploymentConfig({ ...stageInput('prod').stage, strategy: 'ALL_AT_ONCE' })?.BlueGreenUpdatePolicy?.TrafficRoutingConfiguration).toEqual({ Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 300 });
  });

  it('caps the bake at UpdateEndpoint\'s 3600 s', () => {
    expect(deploymentConfig({ ...stageInput('prod').stage, bakeSeconds: 7200 })?.BlueGreenUpdatePolicy?.TrafficRoutingConfiguration?.WaitIntervalInSeconds).toBe(3600);
  });

  it('gives staging none', () => {
    expect(deploymentConfig(stageInput('staging').stage)).toBeUndefined();
  });
});

describe('decideEndpoint', () => {
  it.each(['Creating', 'Updating', 'SystemUpdating', 'Deleting'])('waits while the endpoint is %s', (status) => {
    expect(decideEndpoint(endpoint(status, 'x') as DescribeEndpointCommandOutput, 'y', 'deploying')).toEqual({ action: 'wait' });
  });

  it('fails with EndpointDeployFailed when the endpoint disappears during the deploy', () => {
    expect(decideEndpoint(undefined, 'y', 'deploying')).toMatchObject({ action: 'fail', error: 'EndpointDeployFailed' });
  });
});

describe('normalizeEndpointStatus', () => {
  it.each([
    ['IN_SERVICE', 'InService'],
    ['ROLLING_BACK', 'RollingBack'],
    ['UPDATE_ROLLBACK_FAILED', 'UpdateRollbackFailed'],
    ['OUT_OF_SERVICE', 'OutOfService'],
    ['CREATING', 'Creating'],
    ['InService', 'InService'],
  ])('reads the event status %s as the API status %s', (event, api) => {
    expect(normalizeEndpointStatus(event)).toBe(api);
  });
});

describe('reconcileEndpointDeploys', () => {
  it('takes a step for endpoint tokens old enough and leaves job tokens alone', async () => {
    const createdAt = Math.floor(NOW.getTime() / 1000) - 900;
    stored = { jobName: `endpoint:${PROD}`, kind: 'endpoint', taskToken: TASK_TOKEN, executionArn: DEPLOY_EXECUTION_ARN, step: 'prod', createdAt, expiresAt: createdAt + 1000, endpointConfigName: `${GROUP}-prod-v3`, phase: 'deploying' };
    dynamo.on(ScanCommand).resolves({ Items: [stored, { jobName: 'abalone-train-x', kind: 'training', taskToken: 't', executionArn: 'arn:x', step: 'train', createdAt, expiresAt: createdAt + 1 }] });
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint('InService', `${GROUP}-prod-v3`));

    await expect(reconcileEndpointDeploys(TABLE, 120, NOW)).resolves.toEqual({ checked: 1, settled: 1, acted: 0, waiting: 0 });
  });
});
