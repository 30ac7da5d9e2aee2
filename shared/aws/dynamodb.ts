import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';

import { classifyAwsError, isAwsError } from '../errors';

const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));

/** One waiting Step Functions task: the SageMaker job it waits on and the token that resumes it. */
export interface JobToken {
  jobName: string;
  kind: 'training' | 'processing';
  taskToken: string;
  executionArn: string;
  step: string;
  /** Epoch seconds when the token was recorded. */
  createdAt: number;
  /** Epoch seconds after which DynamoDB's TTL may delete the record (one day after the job's maximum runtime). */
  expiresAt: number;
}

/**
 * Records (or replaces) the token for a job. Replacing is intended: a retried task comes with a
 * new token, and only the newest one can still resume the execution. Throws RetryableError on throttling.
 */
export async function putJobToken(tableName: string, token: JobToken): Promise<void> {
  try {
    await client.send(new PutCommand({ TableName: tableName, Item: token }));
  } catch (error) {
    throw classifyAwsError(error, `DynamoDB PutItem ${tableName}`);
  }
}

/** Reads the token for a job; undefined when the job is not one Sluice waits on. */
export async function getJobToken(tableName: string, jobName: string): Promise<JobToken | undefined> {
  try {
    const output = await client.send(new GetCommand({ TableName: tableName, Key: { jobName }, ConsistentRead: true }));
    return output.Item as JobToken | undefined;
  } catch (error) {
    throw classifyAwsError(error, `DynamoDB GetItem ${tableName}`);
  }
}

/**
 * Deletes the record only if it still holds `taskToken`, so a token recorded by a newer retry is
 * never removed by a late completion of the old one. Idempotent: a missing record is success.
 */
export async function deleteJobToken(tableName: string, jobName: string, taskToken: string): Promise<void> {
  try {
    await client.send(
      new DeleteCommand({
        TableName: tableName,
        Key: { jobName },
        ConditionExpression: 'attribute_not_exists(jobName) OR taskToken = :token',
        ExpressionAttributeValues: { ':token': taskToken },
      }),
    );
  } catch (error) {
    if (isAwsError(error, 'ConditionalCheckFailedException')) return;
    throw classifyAwsError(error, `DynamoDB DeleteItem ${tableName}`);
  }
}

/** Lists every outstanding token (the table holds only in-flight jobs, so it stays small). */
export async function listJobTokens(tableName: string): Promise<JobToken[]> {
  const tokens: JobToken[] = [];
  let exclusiveStartKey: Record<string, unknown> | undefined;
  try {
    do {
      const output = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: exclusiveStartKey }));
      tokens.push(...((output.Items ?? []) as JobToken[]));
      exclusiveStartKey = output.LastEvaluatedKey;
    } while (exclusiveStartKey);
  } catch (error) {
    throw classifyAwsError(error, `DynamoDB Scan ${tableName}`);
  }
  return tokens;
}
