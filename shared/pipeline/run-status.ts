import { type ExecutionListItem, ExecutionStatus, type HistoryEvent, HistoryEventType } from '@aws-sdk/client-sfn';

import { buildAnnouncementKey, getBuildAnnouncement, putBuildAnnouncement } from '../aws/dynamodb';
import { publishEvent } from '../aws/eventbridge';
import { describeExecution, listExecutionsStoppedSince, listRedrivenExecutions, listStateMachinesByPrefix, walkExecutionHistory } from '../aws/sfn';
import type { ExecutionStatusChange } from '../schemas/events';
import { DETAIL_TYPES } from '../schemas/events';
import { stepOfState } from './compile';

/**
 * `Model Build Failed`, from Step Functions' own status-change event and, since EventBridge
 * delivers that event best effort, from a scheduled reconcile pass. A compiled pipeline has no
 * Catch — a failing step fails the run at that step, so RedriveExecution can restart exactly there —
 * so the failure is announced here: the failing step is found by walking the run's history back
 * from its last failure event to the state that raised it.
 */

/** History events that end a state unsuccessfully, and the details field holding their error. */
const FAILURES = new Set<string>([
  HistoryEventType.TaskFailed,
  HistoryEventType.TaskTimedOut,
  HistoryEventType.TaskStartFailed,
  HistoryEventType.TaskSubmitFailed,
  HistoryEventType.LambdaFunctionFailed,
  HistoryEventType.LambdaFunctionTimedOut,
  HistoryEventType.LambdaFunctionStartFailed,
  HistoryEventType.LambdaFunctionScheduleFailed,
  HistoryEventType.FailStateEntered,
]);


/**
 * The step a failed run failed in, from its history (newest first): the state of its latest
 * failure event, found through previousEventId, or of the latest state entered. `Config` for a
 * build rejected before it started. Throws RetryableError on throttling.
 */
export async function failedStep(executionArn: string): Promise<string | undefined> {
  const byId = new Map<number, HistoryEvent>();
  let failure: HistoryEvent | undefined;
  let lastEntered: string | undefined;
  let found: string | undefined;
  await walkExecutionHistory(executionArn, true, (event) => {
    if (event.id !== undefined) byId.set(event.id, event);
    const entered = event.type?.endsWith('StateEntered') ? event.stateEnteredEventDetails?.name : undefined;
    if (entered && lastEntered === undefined) lastEntered = entered;
    if (!failure && event.type && FAILURES.has(event.type)) failure = event;
    if (failure?.type === HistoryEventType.FailStateEntered) {
      found = failure.stateEnteredEventDetails?.name;
      return true;
    }
    // Walking newest first, the failure's own state-entered event comes later in this walk.
    for (let current = failure; current; current = current.previousEventId === undefined ? undefined : byId.get(current.previousEventId)) {
      if (current.type?.endsWith('StateEntered')) {
        found = current.stateEnteredEventDetails?.name;
        return true;
      }
    }
    return false;
  });
  // A step's own states (`gate failed`, `register registered`) name the step; the states around the steps (`Source snapshot`) themselves.
  const state = found ?? lastEntered;
  return state === undefined ? undefined : (stepOfState(state) ?? state);
}

/** A Lambda function error's cause is its JSON error payload; the message is what a reader wants. Pure. */
export function readableCause(cause: string | null | undefined): string | undefined {
  if (!cause) return undefined;
  try {
    const payload = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof payload.errorMessage === 'string') return payload.errorMessage;
  } catch {
    // Not JSON: already a message.
  }
  return cause;
}

/** A build run's end as the status-change event (or, from the reconcile pass, DescribeExecution) gives it. */
export type BuildEnd = Pick<ExecutionStatusChange['detail'], 'executionArn' | 'status' | 'input' | 'error' | 'cause' | 'redriveCount'>;

/** Where `Model Build Failed` is published, and where each announcement is recorded. */
export interface AnnounceTo {
  eventBusName: string;
  announcementTable: string;
}

export type BuildEndOutcome =
  | { action: 'ignored'; reason: string }
  | { action: 'already-announced'; announcedAt: string }
  /** `duplicate`: another announcer of the same run published at the same time (recorded first). */
  | { action: 'published'; step: string | undefined; duplicate?: true };

const ENDED = [ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.ABORTED];

function hasEnded(status: string | undefined): boolean {
  return ENDED.some((ended) => ended === status);
}

/** How long an announcement is remembered: well past the reconcile window (TTL deletes late, never early). */
const ANNOUNCEMENT_KEPT_SECONDS = 7 * 86_400;

/**
 * Publishes `Model Build Failed` (repository, branch, commit, execution, step, error, cause,
 * redriveCount) for a build run that ended FAILED, TIMED_OUT or ABORTED, once per run and redrive;
 * other statuses are left to the state machine's own events. Throws RetryableError on throttling.
 *
 * At least once, with dedupe: the announcement is recorded (`<executionArn>#<redriveCount>`) only
 * after it was published, so a publish that fails (throttled, or the function dies) leaves no record
 * and the retry — or the reconcile pass — publishes it: an announcement is never lost. Recording
 * first would need a second state (recorded, not yet published) that every reader must treat as
 * "not announced" anyway. A duplicated status event finds the record and publishes nothing; two
 * copies handled at the same moment, or a crash between publishing and recording, publish twice —
 * consumers tolerate duplicates.
 */
export async function announceBuildEnd(change: BuildEnd, to: AnnounceTo, now = new Date()): Promise<BuildEndOutcome> {
  if (!hasEnded(change.status)) return { action: 'ignored', reason: `status ${change.status} is announced by the run itself` };
  const redriveCount = change.redriveCount ?? 0;
  const recorded = await getBuildAnnouncement(to.announcementTable, change.executionArn, redriveCount);
  if (recorded) return { action: 'already-announced', announcedAt: recorded.announcedAt };
  const input = change.input ? (JSON.parse(change.input) as { build?: { repository?: string; branch?: string; commit?: string }; failure?: unknown }) : {};
  const step = input.failure ? 'Config' : await failedStep(change.executionArn);
  await publishEvent(
    to.eventBusName,
    DETAIL_TYPES.modelBuildFailed,
    {
      repository: input.build?.repository,
      branch: input.build?.branch,
      commit: input.build?.commit,
      executionArn: change.executionArn,
      step: step ?? null,
      status: change.status,
      error: change.error ?? (change.status === ExecutionStatus.ABORTED ? 'Aborted' : change.status === ExecutionStatus.TIMED_OUT ? 'States.Timeout' : null),
      cause: readableCause(change.cause) ?? null,
      redriveCount,
    },
    [change.executionArn],
  );
  const first = await putBuildAnnouncement(to.announcementTable, {
    announcement: buildAnnouncementKey(change.executionArn, redriveCount),
    executionArn: change.executionArn,
    redriveCount,
    status: change.status,
    step: step ?? null,
    announcedAt: now.toISOString(),
    expiresAt: Math.floor(now.getTime() / 1000) + ANNOUNCEMENT_KEPT_SECONDS,
  });
  return first ? { action: 'published', step } : { action: 'published', step, duplicate: true };
}

/** How far back the reconcile pass looks: runs that stopped longer ago are left alone. */
export const RECONCILE_WINDOW_SECONDS = 86_400;

export interface BuildEndsReport {
  /** Ended runs (and redrives) in the window and older than the minimum age. */
  checked: number;
  /** Of those, the ones that had no announcement and were announced now. */
  announced: number;
}

/**
 * The safety net for lost status events (EventBridge delivers Step Functions' events best effort):
 * announces every build run of the stage (state machines named `stateMachinePrefix…`) that ended
 * FAILED, TIMED_OUT or ABORTED within `windowSeconds` and has no announcement recorded. Runs that
 * stopped less than `minAgeSeconds` ago are left to the event path. Throws RetryableError on
 * throttling; run one at a time (two passes at once may both announce a run that had none).
 */
export async function reconcileBuildEnds(
  to: AnnounceTo,
  stateMachinePrefix: string,
  minAgeSeconds: number,
  now = new Date(),
  windowSeconds = RECONCILE_WINDOW_SECONDS,
): Promise<BuildEndsReport> {
  const report: BuildEndsReport = { checked: 0, announced: 0 };
  const since = new Date(now.getTime() - windowSeconds * 1000);
  const settled = new Date(now.getTime() - minAgeSeconds * 1000);
  const seen = new Set<string>();
  for (const machine of await listStateMachinesByPrefix(stateMachinePrefix)) {
    if (!machine.stateMachineArn) continue;
    const ended: ExecutionListItem[] = [];
    for (const status of ENDED) ended.push(...(await listExecutionsStoppedSince(machine.stateMachineArn, status, since)));
    ended.push(...(await listRedrivenExecutions(machine.stateMachineArn)).filter((execution) => hasEnded(execution.status)));
    for (const execution of ended) {
      const stopped = execution.stopDate;
      if (!execution.executionArn || !stopped || stopped < since || stopped > settled) continue;
      const redriveCount = execution.redriveCount ?? 0;
      const key = buildAnnouncementKey(execution.executionArn, redriveCount);
      if (seen.has(key)) continue;
      seen.add(key);
      report.checked += 1;
      if (await getBuildAnnouncement(to.announcementTable, execution.executionArn, redriveCount)) continue;
      // The list gives no input, error or cause; and the run may have been redriven since it was listed.
      const run = await describeExecution(execution.executionArn);
      if (!run?.executionArn || !run.status) continue;
      const outcome = await announceBuildEnd(
        { executionArn: run.executionArn, status: run.status, input: run.input, error: run.error, cause: run.cause, redriveCount: run.redriveCount },
        to,
        now,
      );
      if (outcome.action === 'published') report.announced += 1;
    }
  }
  return report;
}
