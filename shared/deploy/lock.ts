import { ExecutionStatus } from '@aws-sdk/client-sfn';

import { deleteEndpointLock, type EndpointLock, getEndpointLock, putEndpointLock } from '../aws/dynamodb';
import { completeTask, describeExecution, failTask } from '../aws/sfn';
import { DeploySupersededError, RetryableError } from '../errors';
import type { EndpointLockInput } from '../schemas/deploy';

/**
 * One deploy per endpoint at a time. The lock is a DynamoDB item written only conditionally on
 * the revision read (optimistic locking), so concurrent acquires and releases never both win: the
 * loser reads again and decides again. A run that must wait parks its task token in the item;
 * at most one run waits, and a newer version takes the place of an older one, whose run fails
 * with DeploySuperseded (deploying a version that is already outdated is wasted capacity).
 */

type AcquireInput = Extract<EndpointLockInput, { action: 'acquire' }>;
type ReleaseInput = Extract<EndpointLockInput, { action: 'release' }>;

export type AcquireResult = 'granted' | 'queued' | 'superseded';
export type ReleaseResult = 'released' | 'handed-over' | 'dequeued' | 'not-held';

/** Conditional writes lost to other writers before giving up (the task's Retry then applies). */
const MAX_ATTEMPTS = 8;

/** Output of the acquire task when the endpoint is this run's. */
export const GRANTED = { granted: true } as const;

/** True when the holder's execution has ended (aborted or timed out) without releasing. */
async function holderIsGone(lock: EndpointLock): Promise<boolean> {
  const execution = await describeExecution(lock.holder.executionArn);
  return !execution || execution.status !== ExecutionStatus.RUNNING;
}

function supersededCause(endpoint: string, loser: number, winner: number): string {
  return `deploy of v${loser} to ${endpoint} was superseded by v${winner}, which is newer`;
}

/**
 * acquire: grants the endpoint at once (SendTaskSuccess {granted: true}) when it is free or
 * already this run's; otherwise queues the token. A holder whose execution has ended (aborted,
 * so its Catch never released) is released first. Throws RetryableError
 * on throttling or when it keeps losing races. Idempotent for a retried task (same execution).
 */
export async function acquireEndpointLock(table: string, input: AcquireInput, now = new Date()): Promise<AcquireResult> {
  const since = Math.floor(now.getTime() / 1000);
  const me = { executionArn: input.executionArn, version: input.version, since };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const lock = await getEndpointLock(table, input.endpointName);
    if (lock && lock.holder.executionArn !== input.executionArn && (await holderIsGone(lock))) {
      // Aborted or timed out without its Catch: release for it, as its ReleaseLock state would have.
      await releaseEndpointLock(table, { action: 'release', executionArn: lock.holder.executionArn, endpointName: input.endpointName }, now);
      continue;
    }
    if (!lock || lock.holder.executionArn === input.executionArn) {
      const next = lock ? { endpointName: lock.endpointName, holder: lock.holder, ...(lock.queued ? { queued: lock.queued } : {}) } : { endpointName: input.endpointName, holder: me };
      if (!(await putEndpointLock(table, next, lock?.revision))) continue;
      await completeTask(input.taskToken, GRANTED);
      return 'granted';
    }
    const queued = lock.queued;
    if (queued && queued.executionArn !== input.executionArn && queued.version > input.version) {
      await failTask(input.taskToken, new DeploySupersededError('').name, supersededCause(input.endpointName, input.version, queued.version));
      return 'superseded';
    }
    if (!(await putEndpointLock(table, { endpointName: lock.endpointName, holder: lock.holder, queued: { ...me, taskToken: input.taskToken } }, lock.revision))) continue;
    if (queued && queued.taskToken !== input.taskToken) {
      if (queued.executionArn === input.executionArn) await failTask(queued.taskToken, new DeploySupersededError('').name, 'replaced by a retry of the same task');
      else await failTask(queued.taskToken, new DeploySupersededError('').name, supersededCause(input.endpointName, queued.version, input.version));
    }
    return 'queued';
  }
  throw new RetryableError(`endpoint lock ${input.endpointName}: lost ${MAX_ATTEMPTS} races in a row`);
}

/**
 * release: hands the endpoint to the queued run (SendTaskSuccess to its token) or frees it. A run
 * that was only queued leaves the queue. When the queued run has ended meanwhile (its token is
 * settled), the endpoint goes on to the next one or is freed. Releasing what this run does not
 * hold is a no-op. Throws RetryableError on throttling. Idempotent.
 */
export async function releaseEndpointLock(table: string, input: ReleaseInput, now = new Date()): Promise<ReleaseResult> {
  let releasing = input.executionArn;
  let result: ReleaseResult = 'not-held';
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const lock = await getEndpointLock(table, input.endpointName);
    if (!lock) return result === 'not-held' ? result : 'released';
    if (lock.queued?.executionArn === releasing && lock.holder.executionArn !== releasing) {
      if (await putEndpointLock(table, { endpointName: lock.endpointName, holder: lock.holder }, lock.revision)) return 'dequeued';
      continue;
    }
    if (lock.holder.executionArn !== releasing) return result;
    if (!lock.queued) {
      if (await deleteEndpointLock(table, lock.endpointName, lock.revision)) return 'released';
      continue;
    }
    const { taskToken, ...next } = lock.queued;
    if (!(await putEndpointLock(table, { endpointName: lock.endpointName, holder: { ...next, since: Math.floor(now.getTime() / 1000) } }, lock.revision))) continue;
    if (await completeTask(taskToken, GRANTED)) return 'handed-over';
    // The queued run ended while it waited; release on its behalf.
    releasing = next.executionArn;
    result = 'released';
    attempt = -1;
  }
  throw new RetryableError(`endpoint lock ${input.endpointName}: lost ${MAX_ATTEMPTS} races in a row`);
}
