import 'aws-sdk-client-mock-jest';

import { DeleteEndpointConfigCommand, DeleteModelCommand, DescribeEndpointCommand, ListEndpointConfigsCommand, ListModelsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import { finishStage } from '../../../shared/deploy/finish';
import { DEPLOY_EXECUTION_ARN, GROUP, MODEL_PACKAGE_ARN, stageInput } from '../../helpers/deploy';

const sagemaker = mockClient(SageMakerClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

const TABLE = 'sluice-test-deployments';
const NOW = new Date('2026-11-23T10:00:00Z');
const SETTINGS = { deploymentTable: TABLE, keepVersions: 3 };
const PROD = `${GROUP}-prod`;

beforeEach(() => {
  sagemaker.reset();
  dynamo.reset();
  sfn.reset();
  dynamo.on(PutCommand).resolves({});
  dynamo.on(DeleteCommand).resolves({});
  dynamo.on(GetCommand).resolves({});
  dynamo.on(GetCommand, { Key: { pk: `lock:${PROD}` } }).resolves({ Item: { pk: `lock:${PROD}`, endpointName: PROD, holder: { executionArn: DEPLOY_EXECUTION_ARN, version: 3, since: 1 }, revision: 2 } });
  sfn.on(SendTaskSuccessCommand).resolves({});
  sagemaker.on(DescribeEndpointCommand).resolves({ EndpointName: PROD, EndpointStatus: 'InService', EndpointConfigName: `${GROUP}-prod-v3` });
  sagemaker.on(ListEndpointConfigsCommand).resolves({ EndpointConfigs: [1, 2, 3].map((v) => ({ EndpointConfigName: `${GROUP}-prod-v${v}`, EndpointConfigArn: 'a', CreationTime: NOW })) });
  sagemaker.on(ListModelsCommand).resolves({ Models: [1, 2, 3].map((v) => ({ ModelName: `${GROUP}-v${v}`, ModelArn: 'a', CreationTime: NOW })) });
  sagemaker.on(DeleteEndpointConfigCommand).resolves({});
  sagemaker.on(DeleteModelCommand).resolves({});
});

describe('finishStage', () => {
  it('records the live version of the endpoint', async () => {
    await finishStage(stageInput('prod'), SETTINGS, NOW);

    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: { pk: `live:${PROD}`, endpointName: PROD, stage: 'prod', modelPackageArn: MODEL_PACKAGE_ARN, version: 3, endpointConfigName: `${GROUP}-prod-v3`, modelName: `${GROUP}-v3`, deployedAt: NOW.toISOString(), executionArn: DEPLOY_EXECUTION_ARN },
    });
  });

  it('deletes nothing while there are no more than KEEP_VERSIONS versions', async () => {
    await expect(finishStage(stageInput('prod'), SETTINGS, NOW)).resolves.toMatchObject({ deleted: { endpointConfigs: [], models: [] } });
  });

  it('deletes configs and models beyond the newest three, but never a version live on the other stage', async () => {
    sagemaker.on(ListEndpointConfigsCommand).resolves({ EndpointConfigs: [1, 2, 3, 4, 5].map((v) => ({ EndpointConfigName: `${GROUP}-prod-v${v}`, EndpointConfigArn: 'a', CreationTime: NOW })) });
    sagemaker.on(ListModelsCommand).resolves({ Models: [1, 2, 3, 4, 5].map((v) => ({ ModelName: `${GROUP}-v${v}`, ModelArn: 'a', CreationTime: NOW })) });
    dynamo.on(GetCommand, { Key: { pk: `live:${GROUP}-staging` } }).resolves({ Item: { pk: `live:${GROUP}-staging`, version: 1 } });

    const result = await finishStage(stageInput('prod'), SETTINGS, NOW);

    expect(result.deleted).toEqual({ endpointConfigs: [`${GROUP}-prod-v2`, `${GROUP}-prod-v1`], models: [`${GROUP}-v2`] });
  });

  it('never deletes the config the endpoint runs on', async () => {
    sagemaker.on(ListEndpointConfigsCommand).resolves({ EndpointConfigs: [1, 4, 5, 6].map((v) => ({ EndpointConfigName: `${GROUP}-prod-v${v}`, EndpointConfigArn: 'a', CreationTime: NOW })) });
    sagemaker.on(DescribeEndpointCommand).resolves({ EndpointName: PROD, EndpointStatus: 'InService', EndpointConfigName: `${GROUP}-prod-v1` });

    const result = await finishStage(stageInput('prod'), SETTINGS, NOW);

    expect(result.deleted.endpointConfigs).toEqual([]);
  });

  it('releases the endpoint lock last', async () => {
    await expect(finishStage(stageInput('prod'), SETTINGS, NOW)).resolves.toMatchObject({ lock: 'released' });

    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { Key: { pk: `lock:${PROD}` } });
  });
});
