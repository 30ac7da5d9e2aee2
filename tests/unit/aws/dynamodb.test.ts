import { ConditionalCheckFailedException, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

import { type BuildAnnouncement, deleteJobToken, getBuildAnnouncement, getJobToken, type JobToken, listJobTokens, putBuildAnnouncement, putJobToken } from '../../../shared/aws/dynamodb';
import { RetryableError } from '../../../shared/errors';
import { EXECUTION_ARN } from '../../helpers/fixtures';

const dynamodb = mockClient(DynamoDBDocumentClient);

const TABLE = 'sluice-test-job-tokens';

function token(jobName: string, overrides: Partial<JobToken> = {}): JobToken {
  return {
    jobName,
    kind: 'training',
    taskToken: `token-for-${jobName}`,
    executionArn: EXECUTION_ARN,
    step: 'train',
    createdAt: 1_790_000_000,
    expiresAt: 1_790_097_200,
    ...overrides,
  };
}

function throughputExceeded(): ProvisionedThroughputExceededException {
  return new ProvisionedThroughputExceededException({ message: 'The level of configured provisioned throughput for the table was exceeded.', $metadata: {} });
}

beforeEach(() => {
  dynamodb.reset();
});

describe('putJobToken', () => {
  it('writes the token as the item', async () => {
    dynamodb.on(PutCommand).resolves({});

    await putJobToken(TABLE, token('abalone-train-1'));

    expect(dynamodb).toHaveReceivedCommandWith(PutCommand, { TableName: TABLE, Item: token('abalone-train-1') });
  });

  it('writes unconditionally, so a retried task replaces the old token', async () => {
    dynamodb.on(PutCommand).resolves({});

    await putJobToken(TABLE, token('abalone-train-1'));

    expect(dynamodb.commandCalls(PutCommand)[0]?.args[0].input.ConditionExpression).toBeUndefined();
  });

  it('throws RetryableError when DynamoDB throttles', async () => {
    dynamodb.on(PutCommand).rejects(throughputExceeded());

    await expect(putJobToken(TABLE, token('abalone-train-1'))).rejects.toThrow(RetryableError);
  });
});

describe('getJobToken', () => {
  it('returns the token with a consistent read', async () => {
    dynamodb.on(GetCommand, { TableName: TABLE, Key: { jobName: 'abalone-train-1' } }).resolves({ Item: token('abalone-train-1') });

    await expect(getJobToken(TABLE, 'abalone-train-1')).resolves.toEqual(token('abalone-train-1'));
    expect(dynamodb).toHaveReceivedCommandWith(GetCommand, { ConsistentRead: true });
  });

  it('returns undefined for a job Sluice does not wait on', async () => {
    dynamodb.on(GetCommand).resolves({});

    await expect(getJobToken(TABLE, 'someone-elses-job')).resolves.toBeUndefined();
  });

  it('throws RetryableError when DynamoDB throttles', async () => {
    dynamodb.on(GetCommand).rejects(throughputExceeded());

    await expect(getJobToken(TABLE, 'abalone-train-1')).rejects.toThrow(RetryableError);
  });
});

describe('deleteJobToken', () => {
  it('deletes only while the record still holds the given token', async () => {
    dynamodb.on(DeleteCommand).resolves({});

    await deleteJobToken(TABLE, 'abalone-train-1', 'old-token');

    expect(dynamodb).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: TABLE,
      Key: { jobName: 'abalone-train-1' },
      ConditionExpression: 'attribute_not_exists(jobName) OR taskToken = :token',
      ExpressionAttributeValues: { ':token': 'old-token' },
    });
  });

  it('treats ConditionalCheckFailed (a newer token is recorded) as success', async () => {
    dynamodb.on(DeleteCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));

    await expect(deleteJobToken(TABLE, 'abalone-train-1', 'old-token')).resolves.toBeUndefined();
  });

  it('throws RetryableError when DynamoDB throttles', async () => {
    dynamodb.on(DeleteCommand).rejects(throughputExceeded());

    await expect(deleteJobToken(TABLE, 'abalone-train-1', 'old-token')).rejects.toThrow(RetryableError);
  });
});

describe('listJobTokens', () => {
  it('reads every page of the scan, following LastEvaluatedKey', async () => {
    dynamodb
      .on(ScanCommand)
      .resolvesOnce({ Items: [token('job-a')], LastEvaluatedKey: { jobName: 'job-a' } })
      .resolvesOnce({ Items: [token('job-b'), token('job-c')], LastEvaluatedKey: { jobName: 'job-c' } })
      .resolvesOnce({ Items: [token('job-d')] });

    const tokens = await listJobTokens(TABLE);

    expect(tokens.map((t) => t.jobName)).toEqual(['job-a', 'job-b', 'job-c', 'job-d']);
  });

  it('starts each page after the last key of the previous one', async () => {
    dynamodb
      .on(ScanCommand)
      .resolvesOnce({ Items: [token('job-a')], LastEvaluatedKey: { jobName: 'job-a' } })
      .resolvesOnce({ Items: [token('job-b')] });

    await listJobTokens(TABLE);

    const starts = dynamodb.commandCalls(ScanCommand).map((call) => call.args[0].input.ExclusiveStartKey);
    expect(starts).toEqual([undefined, { jobName: 'job-a' }]);
  });

  it('returns an empty list for an empty table', async () => {
    dynamodb.on(ScanCommand).resolves({ Items: [] });

    await expect(listJobTokens(TABLE)).resolves.toEqual([]);
  });

  it('throws RetryableError when DynamoDB throttles mid-scan', async () => {
    dynamodb
      .on(ScanCommand)
      .resolvesOnce({ Items: [token('job-a')], LastEvaluatedKey: { jobName: 'job-a' } })
      .rejectsOnce(throughputExceeded());

    await expect(listJobTokens(TABLE)).rejects.toThrow(RetryableError);
  });
});

describe('build announcements', () => {
  const ANNOUNCEMENTS = 'sluice-test-build-announcements';
  const record: BuildAnnouncement = {
    announcement: `${EXECUTION_ARN}#1`,
    executionArn: EXECUTION_ARN,
    redriveCount: 1,
    status: 'FAILED',
    step: 'train',
    announcedAt: '2026-11-24T12:00:00.000Z',
    expiresAt: 1_795_000_000,
  };

  it('records an announcement only where none is recorded', async () => {
    dynamodb.on(PutCommand).resolves({});

    await expect(putBuildAnnouncement(ANNOUNCEMENTS, record)).resolves.toBe(true);

    expect(dynamodb).toHaveReceivedCommandWith(PutCommand, { TableName: ANNOUNCEMENTS, Item: record, ConditionExpression: 'attribute_not_exists(announcement)' });
  });

  it('returns false when the announcement is already recorded', async () => {
    dynamodb.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));

    await expect(putBuildAnnouncement(ANNOUNCEMENTS, record)).resolves.toBe(false);
  });

  it('reads an announcement by <executionArn>#<redriveCount>, consistently', async () => {
    dynamodb.on(GetCommand).resolves({ Item: record });

    await expect(getBuildAnnouncement(ANNOUNCEMENTS, EXECUTION_ARN, 1)).resolves.toEqual(record);

    expect(dynamodb).toHaveReceivedCommandWith(GetCommand, { TableName: ANNOUNCEMENTS, Key: { announcement: `${EXECUTION_ARN}#1` }, ConsistentRead: true });
  });

  it('gives undefined for a run not announced', async () => {
    dynamodb.on(GetCommand).resolves({});

    await expect(getBuildAnnouncement(ANNOUNCEMENTS, EXECUTION_ARN, 0)).resolves.toBeUndefined();
  });

  it('throws RetryableError when DynamoDB throttles', async () => {
    dynamodb.on(PutCommand).rejects(throughputExceeded());
    dynamodb.on(GetCommand).rejects(throughputExceeded());

    await expect(putBuildAnnouncement(ANNOUNCEMENTS, record)).rejects.toThrow(RetryableError);
    await expect(getBuildAnnouncement(ANNOUNCEMENTS, EXECUTION_ARN, 1)).rejects.toThrow(RetryableError);
  });
});
