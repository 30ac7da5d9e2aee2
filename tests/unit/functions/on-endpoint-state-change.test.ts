import 'aws-sdk-client-mock-jest';

import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { handler as onEndpointStateChangeHandler } from '../../../functions/on-endpoint-state-change';
import type { JobToken } from '../../../shared/aws/dynamodb';
import { DEPLOY_EXECUTION_ARN, TASK_TOKEN } from '../../helpers/deploy';
import { loadSample } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';

const sagemaker = mockClient(SageMakerClient);
const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);
const dynamo = mockClient(DynamoDBDocumentClient);

/** Names in the real AWS sample. */
const ENDPOINT = 'MyEndpoint';
const CONFIG = 'MyEndpointConfig';

interface EndpointEvent {
  detail: Record<string, unknown>;
}

let handler: typeof onEndpointStateChangeHandler;

beforeAll(async () => {
  process.env.JOB_TOKEN_TABLE = 'sluice-test-job-tokens';
  process.env.DEAD_LETTER_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/sluice-test-dead-letter';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../../functions/on-endpoint-state-change'));
});

const token: JobToken = { jobName: `endpoint:${ENDPOINT}`, kind: 'endpoint', taskToken: TASK_TOKEN, executionArn: DEPLOY_EXECUTION_ARN, step: 'prod', createdAt: 1_795_000_000, expiresAt: 1_795_300_000, endpointConfigName: CONFIG, phase: 'deploying' };

beforeEach(() => {
  sagemaker.reset();
  sfn.reset();
  sqs.reset();
  dynamo.reset();
  dynamo.on(GetCommand, { Key: { jobName: `endpoint:${ENDPOINT}` } }).resolves({ Item: token });
  dynamo.on(DeleteCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  sagemaker.on(DescribeEndpointCommand).resolves({ EndpointName: ENDPOINT, EndpointStatus: 'InService', EndpointConfigName: CONFIG });
});

describe('on-endpoint-state-change handler', () => {
  it('completes the waiting deploy for the real IN_SERVICE event, from the described endpoint', async () => {
    await expect(handler(loadSample('sagemaker-endpoint-state-change.json'), lambdaContext())).resolves.toEqual({ endpointName: ENDPOINT, result: 'succeeded' });

    expect(sagemaker).toHaveReceivedCommandWith(DescribeEndpointCommand, { EndpointName: ENDPOINT });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN, output: expect.stringContaining('"status":"InService"') });
    expect(dynamo).toHaveReceivedCommand(DeleteCommand);
  });

  it('fails the deploy with EndpointDeployFailed for a FAILED event, with the FailureReason', async () => {
    const event = loadSample<EndpointEvent>('sagemaker-endpoint-state-change.json');
    event.detail.EndpointStatus = 'FAILED';
    sagemaker.on(DescribeEndpointCommand).resolves({ EndpointName: ENDPOINT, EndpointStatus: 'Failed', EndpointConfigName: CONFIG, FailureReason: 'Image does not exist' });

    await expect(handler(event, lambdaContext())).resolves.toEqual({ endpointName: ENDPOINT, result: 'failed' });

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { error: 'EndpointDeployFailed', cause: expect.stringContaining('Image does not exist') });
  });

  it('fails the deploy with DeployRolledBack for a ROLLING_BACK event', async () => {
    const event = loadSample<EndpointEvent>('sagemaker-endpoint-state-change.json');
    event.detail.EndpointStatus = 'ROLLING_BACK';
    sagemaker.on(DescribeEndpointCommand).resolves({ EndpointName: ENDPOINT, EndpointStatus: 'RollingBack', EndpointConfigName: CONFIG });

    await handler(event, lambdaContext());

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { error: 'DeployRolledBack' });
  });

  it.each(['CREATING', 'UPDATING'])('ignores a %s event without reading the table or SageMaker', async (status) => {
    const event = loadSample<EndpointEvent>('sagemaker-endpoint-state-change.json');
    event.detail.EndpointStatus = status;

    await expect(handler(event, lambdaContext())).resolves.toEqual({ endpointName: ENDPOINT, result: 'ignored' });

    expect(dynamo).not.toHaveReceivedAnyCommand();
    expect(sagemaker).not.toHaveReceivedAnyCommand();
  });

  it('does nothing for an endpoint no deploy waits on', async () => {
    dynamo.on(GetCommand, { Key: { jobName: `endpoint:${ENDPOINT}` } }).resolves({});

    await expect(handler(loadSample('sagemaker-endpoint-state-change.json'), lambdaContext())).resolves.toEqual({ endpointName: ENDPOINT, result: 'untracked' });

    expect(sagemaker).not.toHaveReceivedAnyCommand();
  });

  it('parks an event without EndpointName in the dead-letter queue and resolves', async () => {
    const event = loadSample<EndpointEvent>('sagemaker-endpoint-state-change.json');
    delete event.detail.EndpointName;

    await expect(handler(event, lambdaContext())).resolves.toMatchObject({ rejected: true });

    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, { MessageBody: expect.stringContaining('detail.EndpointName') });
  });
});
