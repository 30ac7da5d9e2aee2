import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DeploymentConfig, Tag } from '@aws-sdk/client-sagemaker';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

import { classifyAwsError, isAwsError } from '../errors';

// Pure: a function that never calls this adapter does not bundle its client.
const client = /* @__PURE__ */ DynamoDBDocumentClient.from(new DynamoDBClient({}));

/**
 * One waiting Step Functions task: the SageMaker job (or, for `endpoint`, the endpoint, keyed
 * `endpoint:<EndpointName>`) it waits on and the token that resumes it.
 */
export interface JobToken {
  jobName: string;
  kind: 'training' | 'processing' | 'tuning' | 'transform' | 'endpoint';
  taskToken: string;
  executionArn: string;
  step: string;
  /** Epoch seconds when the token was recorded. */
  createdAt: number;
  /** Epoch seconds after which DynamoDB's TTL may delete the record (one day after the job's maximum runtime). */
  expiresAt: number;
  /** Endpoint deploys: the config the endpoint must end InService on. */
  endpointConfigName?: string;
  /** Endpoint deploys: `waiting` until Sluice has asked SageMaker for the change, then `deploying`. */
  phase?: 'waiting' | 'deploying';
  /** Endpoint deploys: what CreateEndpoint / UpdateEndpoint send, for whichever path acts (task, event or reconciler). */
  deployment?: { tags: Tag[]; deploymentConfig?: DeploymentConfig };
  /**
   * Jobs of cached steps: where their successful result is kept for later runs, and for how long
   * (ExpireAfter). Tokens written before maxAgeSeconds existed (jobs running across that deploy)
   * carry the entry's expiry instead.
   */
  cache?: { key: string; maxAgeSeconds: number } | { key: string; expiresAt: number };
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

/**
 * Sets an endpoint token's phase, only while the record still holds `taskToken` (a newer retry's
 * record is left alone). Returns false when it did not. Throws RetryableError on throttling.
 */
export async function setJobTokenPhase(tableName: string, jobName: string, taskToken: string, phase: NonNullable<JobToken['phase']>): Promise<boolean> {
  try {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { jobName },
        UpdateExpression: 'SET phase = :phase',
        ConditionExpression: 'taskToken = :token',
        ExpressionAttributeValues: { ':phase': phase, ':token': taskToken },
      }),
    );
    return true;
  } catch (error) {
    if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
    throw classifyAwsError(error, `DynamoDB UpdateItem ${tableName}`);
  }
}

/*
 * The deployment table (partition key `pk`, TTL attribute `expiresAt`) holds three kinds of item:
 * `live:<endpoint>` (what serves), `lock:<endpoint>` (who deploys it, who waits) and
 * `promotion:<modelPackageArn>` (the run waiting at the prod gate).
 */

/** The version an endpoint serves, recorded when a stage finishes. */
export interface LiveVersion {
  endpointName: string;
  stage: string;
  modelPackageArn: string;
  version: number;
  endpointConfigName: string;
  modelName: string;
  /** ISO 8601. */
  deployedAt: string;
  executionArn: string;
}

/** A run that holds or waits for an endpoint. */
export interface LockParty {
  executionArn: string;
  version: number;
  /** Epoch seconds. */
  since: number;
}

/** One deploy per endpoint: the holder, and at most one queued run (the newest version wins the queue). */
export interface EndpointLock {
  endpointName: string;
  holder: LockParty;
  queued?: LockParty & { taskToken: string };
  /** Incremented by every write; writes are conditional on the revision read (optimistic locking). */
  revision: number;
}

/** A run waiting at the prod gate. */
export interface PromotionToken {
  modelPackageArn: string;
  taskToken: string;
  executionArn: string;
  createdAt: number;
  expiresAt: number;
}

async function getItem<T>(tableName: string, pk: string): Promise<T | undefined> {
  try {
    const output = await client.send(new GetCommand({ TableName: tableName, Key: { pk }, ConsistentRead: true }));
    if (!output.Item) return undefined;
    const { pk: _pk, ...item } = output.Item;
    return item as T;
  } catch (error) {
    throw classifyAwsError(error, `DynamoDB GetItem ${tableName} ${pk}`);
  }
}

/** Records the version an endpoint now serves (overwrites; idempotent). Throws RetryableError on throttling. */
export async function putLiveVersion(tableName: string, live: LiveVersion): Promise<void> {
  try {
    await client.send(new PutCommand({ TableName: tableName, Item: { pk: `live:${live.endpointName}`, ...live } }));
  } catch (error) {
    throw classifyAwsError(error, `DynamoDB PutItem ${tableName}`);
  }
}

/** The version an endpoint serves; undefined when Sluice never finished a deploy to it. Throws RetryableError on throttling. */
export async function getLiveVersion(tableName: string, endpointName: string): Promise<LiveVersion | undefined> {
  return getItem<LiveVersion>(tableName, `live:${endpointName}`);
}

/** Reads an endpoint's lock; undefined when nobody holds it. Throws RetryableError on throttling. */
export async function getEndpointLock(tableName: string, endpointName: string): Promise<EndpointLock | undefined> {
  return getItem<EndpointLock>(tableName, `lock:${endpointName}`);
}

/**
 * Writes the lock if it is still at `expectedRevision` (undefined: if there is no lock), with the
 * revision incremented. Returns false when another writer got there first (read again and decide
 * again). Throws RetryableError on throttling.
 */
export async function putEndpointLock(tableName: string, lock: Omit<EndpointLock, 'revision'>, expectedRevision: number | undefined): Promise<boolean> {
  const condition =
    expectedRevision === undefined
      ? { ConditionExpression: 'attribute_not_exists(pk)' }
      : { ConditionExpression: 'revision = :revision', ExpressionAttributeValues: { ':revision': expectedRevision } };
  try {
    await client.send(new PutCommand({ TableName: tableName, Item: { pk: `lock:${lock.endpointName}`, ...lock, revision: (expectedRevision ?? 0) + 1 }, ...condition }));
    return true;
  } catch (error) {
    if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
    throw classifyAwsError(error, `DynamoDB PutItem ${tableName}`);
  }
}

/** Deletes the lock if it is still at `expectedRevision`. Returns false otherwise. Throws RetryableError on throttling. */
export async function deleteEndpointLock(tableName: string, endpointName: string, expectedRevision: number): Promise<boolean> {
  try {
    await client.send(
      new DeleteCommand({ TableName: tableName, Key: { pk: `lock:${endpointName}` }, ConditionExpression: 'revision = :revision', ExpressionAttributeValues: { ':revision': expectedRevision } }),
    );
    return true;
  } catch (error) {
    if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
    throw classifyAwsError(error, `DynamoDB DeleteItem ${tableName}`);
  }
}

/** A promotion that arrived before its run reached the prod gate (`promotion-early:<modelPackageArn>`). */
export interface EarlyPromotion {
  modelPackageArn: string;
  approvedBy: string;
  approvedAt: string;
  expiresAt: number;
}

/** Records an early promotion (replacing an older one). Throws RetryableError on throttling. */
export async function putEarlyPromotion(tableName: string, promotion: EarlyPromotion): Promise<void> {
  try {
    await client.send(new PutCommand({ TableName: tableName, Item: { pk: `promotion-early:${promotion.modelPackageArn}`, ...promotion } }));
  } catch (error) {
    throw classifyAwsError(error, `DynamoDB PutItem ${tableName}`);
  }
}

/** The early promotion of this version, if any. Throws RetryableError on throttling. */
export async function getEarlyPromotion(tableName: string, modelPackageArn: string): Promise<EarlyPromotion | undefined> {
  return getItem<EarlyPromotion>(tableName, `promotion-early:${modelPackageArn}`);
}

/** Removes the early promotion of this version; missing is fine. Throws RetryableError on throttling. */
export async function deleteEarlyPromotion(tableName: string, modelPackageArn: string): Promise<void> {
  try {
    await client.send(new DeleteCommand({ TableName: tableName, Key: { pk: `promotion-early:${modelPackageArn}` } }));
  } catch (error) {
    throw classifyAwsError(error, `DynamoDB DeleteItem ${tableName}`);
  }
}

/** Records (or replaces: a retried task brings a new token) the token of the run waiting at the gate. Throws RetryableError on throttling. */
export async function putPromotionToken(tableName: string, token: PromotionToken): Promise<void> {
  try {
    await client.send(new PutCommand({ TableName: tableName, Item: { pk: `promotion:${token.modelPackageArn}`, ...token } }));
  } catch (error) {
    throw classifyAwsError(error, `DynamoDB PutItem ${tableName}`);
  }
}

/** The token of the run waiting at the gate for this version; undefined when none waits. Throws RetryableError on throttling. */
export async function getPromotionToken(tableName: string, modelPackageArn: string): Promise<PromotionToken | undefined> {
  return getItem<PromotionToken>(tableName, `promotion:${modelPackageArn}`);
}

/** Deletes the promotion record if it still holds `taskToken`. Idempotent. Throws RetryableError on throttling. */
export async function deletePromotionToken(tableName: string, modelPackageArn: string, taskToken: string): Promise<void> {
  try {
    await client.send(
      new DeleteCommand({
        TableName: tableName,
        Key: { pk: `promotion:${modelPackageArn}` },
        ConditionExpression: 'attribute_not_exists(pk) OR taskToken = :token',
        ExpressionAttributeValues: { ':token': taskToken },
      }),
    );
  } catch (error) {
    if (isAwsError(error, 'ConditionalCheckFailedException')) return;
    throw classifyAwsError(error, `DynamoDB DeleteItem ${tableName}`);
  }
}

/** A step result kept for reuse (`cacheKey`: repository + content hash, shared/pipeline/cache.ts). */
export interface CacheEntry {
  cacheKey: string;
  /** The step result (JSON text) as the run that produced it recorded it. */
  result: string;
  executionArn: string;
  step: string;
  /** Epoch seconds. */
  createdAt: number;
  /** Epoch seconds; DynamoDB's TTL removes the entry after this. */
  expiresAt: number;
}

/** The cache entry for a key; undefined when none. Throws RetryableError on throttling. Read-only. */
export async function getCacheEntry(tableName: string, cacheKey: string): Promise<CacheEntry | undefined> {
  try {
    const output = await client.send(new GetCommand({ TableName: tableName, Key: { cacheKey }, ConsistentRead: true }));
    return output.Item as CacheEntry | undefined;
  } catch (error) {
    throw classifyAwsError(error, `DynamoDB GetItem ${tableName}`);
  }
}

/** Records a cache entry (the newest result for the key wins). Idempotent. Throws RetryableError on throttling. */
export async function putCacheEntry(tableName: string, entry: CacheEntry): Promise<void> {
  try {
    await client.send(new PutCommand({ TableName: tableName, Item: entry }));
  } catch (error) {
    throw classifyAwsError(error, `DynamoDB PutItem ${tableName}`);
  }
}

/**
 * One `Model Build Failed` published (the build announcement table, key `announcement` =
 * `<executionArn>#<redriveCount>`: a run, and each redrive of it, fails at most once).
 */
export interface BuildAnnouncement {
  announcement: string;
  executionArn: string;
  redriveCount: number;
  status: string;
  step: string | null;
  /** ISO 8601: when it was published. */
  announcedAt: string;
  /** Epoch seconds; DynamoDB's TTL removes the record after this. */
  expiresAt: number;
}

/** The table key of a run's (or one of its redrives') announcement. Pure. */
export function buildAnnouncementKey(executionArn: string, redriveCount: number): string {
  return `${executionArn}#${redriveCount}`;
}

/**
 * Records an announcement unless one is already recorded under its key. Returns false when one was
 * (the existing record is kept). Idempotent. Throws RetryableError on throttling.
 */
export async function putBuildAnnouncement(tableName: string, record: BuildAnnouncement): Promise<boolean> {
  try {
    await client.send(new PutCommand({ TableName: tableName, Item: record, ConditionExpression: 'attribute_not_exists(announcement)' }));
    return true;
  } catch (error) {
    if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
    throw classifyAwsError(error, `DynamoDB PutItem ${tableName}`);
  }
}

/** The recorded announcement of a run (and redrive); undefined when none. Throws RetryableError on throttling. Read-only. */
export async function getBuildAnnouncement(tableName: string, executionArn: string, redriveCount: number): Promise<BuildAnnouncement | undefined> {
  const announcement = buildAnnouncementKey(executionArn, redriveCount);
  try {
    const output = await client.send(new GetCommand({ TableName: tableName, Key: { announcement }, ConsistentRead: true }));
    return output.Item as BuildAnnouncement | undefined;
  } catch (error) {
    throw classifyAwsError(error, `DynamoDB GetItem ${tableName}`);
  }
}

/**
 * A record of the trigger table (key `pk` + `sk`): who reads a dataset (`dataset#<name>` /
 * `<repository>/<branch>`), what a repository's branch last registered (`repository#<name>` /
 * `<branch>`), and the open debounce window of a dataset's rebuild (`debounce#<name>` / `<repository>/<branch>`).
 */
export interface TriggerRecord {
  pk: string;
  sk: string;
  [attribute: string]: unknown;
}

/** The record under a key; undefined when none. Throws RetryableError on throttling. Read-only. */
export async function getTriggerRecord(tableName: string, pk: string, sk: string): Promise<TriggerRecord | undefined> {
  try {
    const output = await client.send(new GetCommand({ TableName: tableName, Key: { pk, sk }, ConsistentRead: true }));
    return output.Item as TriggerRecord | undefined;
  } catch (error) {
    throw classifyAwsError(error, `DynamoDB GetItem ${tableName}`);
  }
}

/** Every record under a partition key (all pages). Throws RetryableError on throttling. Read-only. */
export async function queryTriggerRecords(tableName: string, pk: string): Promise<TriggerRecord[]> {
  const records: TriggerRecord[] = [];
  let start: Record<string, unknown> | undefined;
  try {
    do {
      const output = await client.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ExclusiveStartKey: start, ConsistentRead: true }));
      records.push(...((output.Items ?? []) as TriggerRecord[]));
      start = output.LastEvaluatedKey;
    } while (start);
  } catch (error) {
    throw classifyAwsError(error, `DynamoDB Query ${tableName}`);
  }
  return records;
}

/** Writes (replaces) a record. Idempotent. Throws RetryableError on throttling. */
export async function putTriggerRecord(tableName: string, record: TriggerRecord): Promise<void> {
  try {
    await client.send(new PutCommand({ TableName: tableName, Item: record }));
  } catch (error) {
    throw classifyAwsError(error, `DynamoDB PutItem ${tableName}`);
  }
}

/** Deletes a record; missing is fine. Idempotent. Throws RetryableError on throttling. */
export async function deleteTriggerRecord(tableName: string, pk: string, sk: string): Promise<void> {
  try {
    await client.send(new DeleteCommand({ TableName: tableName, Key: { pk, sk } }));
  } catch (error) {
    throw classifyAwsError(error, `DynamoDB DeleteItem ${tableName}`);
  }
}

/**
 * Writes `record` (a debounce window opened by event `openedBy`, ending at epoch second
 * `windowEndsAt`) unless another window is still open at `now`. Returns true when this event's window
 * is the open one: newly opened, or opened by this same event before (a retried delivery).
 * Idempotent per event. Throws RetryableError on throttling.
 */
export async function openDebounceWindow(tableName: string, record: TriggerRecord & { windowEndsAt: number; openedBy: string }, now: number): Promise<boolean> {
  try {
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: record,
        ConditionExpression: 'attribute_not_exists(pk) OR windowEndsAt <= :now OR openedBy = :openedBy',
        ExpressionAttributeValues: { ':now': now, ':openedBy': record.openedBy },
      }),
    );
    return true;
  } catch (error) {
    if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
    throw classifyAwsError(error, `DynamoDB PutItem ${tableName}`);
  }
}
