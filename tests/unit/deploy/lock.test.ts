import 'aws-sdk-client-mock-jest';

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { EndpointLock } from '../../../shared/aws/dynamodb';
import { acquireEndpointLock, releaseEndpointLock } from '../../../shared/deploy/lock';
import { DEPLOY_EXECUTION_ARN, DEPLOY_STATE_MACHINE_ARN, GROUP } from '../../helpers/deploy';

const dynamo = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

const TABLE = 'sluice-test-deployments';
const ENDPOINT = `${GROUP}-prod`;
const NOW = new Date('2026-11-23T10:00:00Z');
const OTHER = DEPLOY_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:') + ':other-run';
const OLDER = DEPLOY_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:') + ':older-run';

function acquire(version = 3, taskToken = 'token-mine') {
  return { action: 'acquire' as const, taskToken, executionArn: DEPLOY_EXECUTION_ARN, endpointName: ENDPOINT, version };
}

const release = { action: 'release' as const, executionArn: DEPLOY_EXECUTION_ARN, endpointName: ENDPOINT };

function lock(overrides: Partial<EndpointLock> = {}): EndpointLock & { pk: string } {
  return { pk: `lock:${ENDPOINT}`, endpointName: ENDPOINT, holder: { executionArn: OTHER, version: 2, since: 1_795_000_000 }, revision: 4, ...overrides };
}

function conditionFailed() {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

beforeEach(() => {
  dynamo.reset();
  sfn.reset();
  dynamo.on(GetCommand).resolves({});
  dynamo.on(PutCommand).resolves({});
  dynamo.on(DeleteCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });
});

describe('acquireEndpointLock', () => {
  it('grants a free endpoint at once by completing the token with {granted: true}', async () => {
    await expect(acquireEndpointLock(TABLE, acquire(), NOW)).resolves.toBe('granted');

    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: { pk: `lock:${ENDPOINT}`, endpointName: ENDPOINT, holder: { executionArn: DEPLOY_EXECUTION_ARN, version: 3, since: NOW.getTime() / 1000 }, revision: 1 },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-mine', output: '{"granted":true}' });
  });

  it('queues the token when another running deploy holds the endpoint, writing only if the lock is unchanged', async () => {
    dynamo.on(GetCommand).resolves({ Item: lock() });

    await expect(acquireEndpointLock(TABLE, acquire(), NOW)).resolves.toBe('queued');

    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ holder: lock().holder, queued: { executionArn: DEPLOY_EXECUTION_ARN, version: 3, since: NOW.getTime() / 1000, taskToken: 'token-mine' }, revision: 5 }),
      ConditionExpression: 'revision = :revision',
      ExpressionAttributeValues: { ':revision': 4 },
    });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('supersedes an older queued version: takes its place and fails its token with DeploySuperseded', async () => {
    dynamo.on(GetCommand).resolves({ Item: lock({ queued: { executionArn: OLDER, version: 2, since: 1, taskToken: 'token-older' } }) });

    await expect(acquireEndpointLock(TABLE, acquire(3), NOW)).resolves.toBe('queued');

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'token-older', error: 'DeploySuperseded', cause: expect.stringContaining('superseded by v3') });
  });

  it('fails its own token with DeploySuperseded when a newer version is already queued', async () => {
    dynamo.on(GetCommand).resolves({ Item: lock({ queued: { executionArn: OTHER, version: 5, since: 1, taskToken: 'token-newer' } }) });

    await expect(acquireEndpointLock(TABLE, acquire(3), NOW)).resolves.toBe('superseded');

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'token-mine', error: 'DeploySuperseded' });
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
  });

  it('grants again to a retried task of the holder', async () => {
    dynamo.on(GetCommand).resolves({ Item: lock({ holder: { executionArn: DEPLOY_EXECUTION_ARN, version: 3, since: 1 } }) });

    await expect(acquireEndpointLock(TABLE, acquire(3, 'token-retry'), NOW)).resolves.toBe('granted');

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-retry' });
  });

  it('releases for a holder whose execution was aborted, then takes the endpoint', async () => {
    dynamo.on(GetCommand).resolvesOnce({ Item: lock() }).resolvesOnce({ Item: lock() }).resolves({});
    sfn.on(DescribeExecutionCommand).resolves({ status: 'ABORTED' });

    await expect(acquireEndpointLock(TABLE, acquire(), NOW)).resolves.toBe('granted');

    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { Key: { pk: `lock:${ENDPOINT}` }, ExpressionAttributeValues: { ':revision': 4 } });
  });

  it('reads again and decides again when a concurrent writer changed the lock', async () => {
    dynamo.on(GetCommand).resolvesOnce({}).resolves({ Item: lock() });
    dynamo.on(PutCommand).rejectsOnce(conditionFailed()).resolves({});

    await expect(acquireEndpointLock(TABLE, acquire(), NOW)).resolves.toBe('queued');

    expect(dynamo).toHaveReceivedCommandTimes(PutCommand, 2);
  });
});

describe('releaseEndpointLock', () => {
  it('hands the endpoint to the queued run by completing its token', async () => {
    dynamo.on(GetCommand).resolves({ Item: lock({ holder: { executionArn: DEPLOY_EXECUTION_ARN, version: 3, since: 1 }, queued: { executionArn: OTHER, version: 4, since: 2, taskToken: 'token-queued' } }) });

    await expect(releaseEndpointLock(TABLE, release, NOW)).resolves.toBe('handed-over');

    expect(dynamo).toHaveReceivedCommandWith(PutCommand, { Item: { pk: `lock:${ENDPOINT}`, endpointName: ENDPOINT, holder: { executionArn: OTHER, version: 4, since: NOW.getTime() / 1000 }, revision: 5 } });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-queued', output: '{"granted":true}' });
  });

  it('frees the endpoint when nobody waits', async () => {
    dynamo.on(GetCommand).resolves({ Item: lock({ holder: { executionArn: DEPLOY_EXECUTION_ARN, version: 3, since: 1 } }) });

    await expect(releaseEndpointLock(TABLE, release, NOW)).resolves.toBe('released');

    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { ConditionExpression: 'revision = :revision', ExpressionAttributeValues: { ':revision': 4 } });
  });

  it('releases on behalf of a queued run that ended while it waited', async () => {
    dynamo
      .on(GetCommand)
      .resolvesOnce({ Item: lock({ holder: { executionArn: DEPLOY_EXECUTION_ARN, version: 3, since: 1 }, queued: { executionArn: OTHER, version: 4, since: 2, taskToken: 'token-gone' } }) })
      .resolves({ Item: lock({ holder: { executionArn: OTHER, version: 4, since: 3 }, revision: 5 }) });
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    await expect(releaseEndpointLock(TABLE, release, NOW)).resolves.toBe('released');

    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { ExpressionAttributeValues: { ':revision': 5 } });
  });

  it('does nothing when another run holds the endpoint', async () => {
    dynamo.on(GetCommand).resolves({ Item: lock() });

    await expect(releaseEndpointLock(TABLE, release, NOW)).resolves.toBe('not-held');

    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });

  it('takes a run that was only queued out of the queue', async () => {
    dynamo.on(GetCommand).resolves({ Item: lock({ queued: { executionArn: DEPLOY_EXECUTION_ARN, version: 3, since: 2, taskToken: 'token-mine' } }) });

    await expect(releaseEndpointLock(TABLE, release, NOW)).resolves.toBe('dequeued');

    expect(dynamo).toHaveReceivedCommandWith(PutCommand, { Item: { pk: `lock:${ENDPOINT}`, endpointName: ENDPOINT, holder: lock().holder, revision: 5 } });
  });

  it('is a no-op when the endpoint is free', async () => {
    await expect(releaseEndpointLock(TABLE, release, NOW)).resolves.toBe('not-held');
  });
});
