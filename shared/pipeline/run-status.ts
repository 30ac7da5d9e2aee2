import { ExecutionStatus, type HistoryEvent, HistoryEventType } from '@aws-sdk/client-sfn';

import { publishEvent } from '../aws/eventbridge';
import { walkExecutionHistory } from '../aws/sfn';
import type { ExecutionStatusChange } from '../schemas/events';
import { DETAIL_TYPES } from '../schemas/events';
import { stepOfState } from './compile';

/**
 * `Model Build Failed`, from Step Functions' own status-change event. A compiled pipeline has no
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

export type BuildEndOutcome = { action: 'ignored'; reason: string } | { action: 'published'; step: string | undefined };

/**
 * Publishes `Model Build Failed` (repository, branch, commit, execution, step, error, cause,
 * redriveCount) for a build run that ended FAILED, TIMED_OUT or ABORTED; other statuses are left
 * to the state machine's own events. Throws RetryableError on throttling. Not idempotent (a
 * duplicated status event announces twice); consumers tolerate duplicates.
 */
export async function announceBuildEnd(change: ExecutionStatusChange['detail'], eventBusName: string): Promise<BuildEndOutcome> {
  const ended = [ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.ABORTED] as string[];
  if (!ended.includes(change.status)) return { action: 'ignored', reason: `status ${change.status} is announced by the run itself` };
  const input = change.input ? (JSON.parse(change.input) as { build?: { repository?: string; branch?: string; commit?: string }; failure?: unknown }) : {};
  const step = input.failure ? 'Config' : await failedStep(change.executionArn);
  await publishEvent(
    eventBusName,
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
      redriveCount: change.redriveCount ?? 0,
    },
    [change.executionArn],
  );
  return { action: 'published', step };
}
