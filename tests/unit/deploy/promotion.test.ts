import 'aws-sdk-client-mock-jest';

import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import { promote, waitForPromotion } from '../../../shared/deploy/promotion';
import { DEPLOY_EXECUTION_ARN, MODEL_PACKAGE_ARN, plan, TASK_TOKEN } from '../../helpers/deploy';

const dynamo = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

const TABLE = 'sluice-test-deployments';
const NOW = new Date('2026-11-23T10:00:00Z');
const NOW_SECONDS = NOW.getTime() / 1000;

beforeEach(() => {
  dynamo.reset();
  sfn.reset();
  dynamo.on(PutCommand).resolves({});
  dynamo.on(DeleteCommand).resolves({});
  dynamo.on(GetCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
});

describe('waitForPromotion', () => {
  it('stores the token under promotion:<modelPackageArn>, expiring a day after the gate times out', async () => {
    await expect(waitForPromotion(TABLE, { executionArn: DEPLOY_EXECUTION_ARN, taskToken: TASK_TOKEN, plan: plan() }, NOW)).resolves.toEqual({ modelPackageArn: MODEL_PACKAGE_ARN, waiting: true });

    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: { pk: `promotion:${MODEL_PACKAGE_ARN}`, modelPackageArn: MODEL_PACKAGE_ARN, taskToken: TASK_TOKEN, executionArn: DEPLOY_EXECUTION_ARN, createdAt: NOW_SECONDS, expiresAt: NOW_SECONDS + 86_400 + 86_400 },
    });
  });
});

describe('waitForPromotion after an early promotion', () => {
  it('releases the gate at once with who promoted it, and clears both records', async () => {
    dynamo.on(GetCommand, { Key: { pk: `promotion-early:${MODEL_PACKAGE_ARN}` } }).resolves({ Item: { pk: 'x', modelPackageArn: MODEL_PACKAGE_ARN, approvedBy: 'bob', approvedAt: '2026-11-23T09:59:00.000Z', expiresAt: 9 } });

    await expect(waitForPromotion(TABLE, { executionArn: DEPLOY_EXECUTION_ARN, taskToken: TASK_TOKEN, plan: plan() }, NOW)).resolves.toEqual({ modelPackageArn: MODEL_PACKAGE_ARN, waiting: false });

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN, output: JSON.stringify({ modelPackageArn: MODEL_PACKAGE_ARN, approvedBy: 'bob', approvedAt: '2026-11-23T09:59:00.000Z' }) });
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { Key: { pk: `promotion:${MODEL_PACKAGE_ARN}` } });
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { Key: { pk: `promotion-early:${MODEL_PACKAGE_ARN}` } });
  });
});

describe('promote', () => {
  it('completes the waiting run with who promoted it and removes the token', async () => {
    dynamo.on(GetCommand, { Key: { pk: `promotion:${MODEL_PACKAGE_ARN}` } }).resolves({ Item: { pk: 'x', modelPackageArn: MODEL_PACKAGE_ARN, taskToken: TASK_TOKEN, executionArn: DEPLOY_EXECUTION_ARN, createdAt: 1, expiresAt: 2 } });

    await expect(promote(TABLE, MODEL_PACKAGE_ARN, 'alice', NOW)).resolves.toBe('promoted');

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN, output: JSON.stringify({ modelPackageArn: MODEL_PACKAGE_ARN, approvedBy: 'alice', approvedAt: NOW.toISOString() }) });
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { Key: { pk: `promotion:${MODEL_PACKAGE_ARN}` }, ExpressionAttributeValues: { ':token': TASK_TOKEN } });
  });

  it('records a promotion that arrives before the run reaches the gate, for a week', async () => {
    await expect(promote(TABLE, MODEL_PACKAGE_ARN, 'alice', NOW)).resolves.toBe('recorded-for-later');

    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: { pk: `promotion-early:${MODEL_PACKAGE_ARN}`, modelPackageArn: MODEL_PACKAGE_ARN, approvedBy: 'alice', approvedAt: NOW.toISOString(), expiresAt: NOW_SECONDS + 7 * 86_400 },
    });
  });

  it('completes the run that parked its token while the early promotion was being recorded', async () => {
    const token = { Item: { pk: 'x', modelPackageArn: MODEL_PACKAGE_ARN, taskToken: TASK_TOKEN, executionArn: DEPLOY_EXECUTION_ARN, createdAt: 1, expiresAt: 2 } };
    dynamo.on(GetCommand, { Key: { pk: `promotion:${MODEL_PACKAGE_ARN}` } }).resolvesOnce({}).resolves(token);

    await expect(promote(TABLE, MODEL_PACKAGE_ARN, 'alice', NOW)).resolves.toBe('promoted');

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN });
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { Key: { pk: `promotion-early:${MODEL_PACKAGE_ARN}` } });
  });
});
