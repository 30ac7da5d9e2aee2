import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';

import { ExecutionRedriveFilter, ExecutionRedriveStatus, ExecutionStatus, HistoryEventType, StateMachineStatus, StateMachineType, ValidateStateMachineDefinitionResultCode } from '@aws-sdk/client-sfn';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';

import type { StateMachineSpec } from '../cloudformation/template';
import type { ServiceContext } from '../context';
import { AwsServiceError, epochSeconds, type JsonOperations, requireString } from '../http/aws-json';
import { JsonStore } from '../store/json-store';
import { type JsonValue, type PreparedDefinition, prepareDefinition, type TaskHandler, type TaskStateSpec, unwrapTaskInput } from './definition';
import { type HistoryEvent, historyData, historyEventsFor, HistoryLog, type LibraryEvent, type NewHistoryEvent } from './history';
import { type IntegrationTargets, invokeResource, resolveResource, type ResolvedResource, StatesRuntimeError, TaskFailure } from './integrations';
import { buildDefinition, type Machine, StateMachines, type Tag } from './machines';
import { isExecutionArn, isRoleArn, isStateMachineArn, isValidName, storeKey } from './names';
import { deriveDefinition, pinWaits, planRedrive, type ResumePlan, resumedStates } from './redrive';
import { type IssuedToken, type TaskOutcome, TaskTokens } from './tokens';

/**
 * AWS Step Functions, locally: the awsJson1_0 API (X-Amz-Target `AWSStepFunctions.<Op>`) over the
 * state machines the template declares, each executed in-process by aws-local-stepfunctions.
 * Standard-workflow semantics where they matter to callers: named executions (idempotent start
 * with the same input), durable executions and history, task tokens for `.waitForTaskToken`
 * tasks with TimeoutSeconds/TimeoutSecondsPath/HeartbeatSeconds, error names that Retry/Catch
 * match as on AWS. What the library cannot do is worked around in definition.ts and here.
 *
 * State machines come from the template and from CreateStateMachine (machines.ts, STANDARD only);
 * failed, timed-out and aborted executions can be redriven (redrive.ts plans where they resume).
 *
 * Executions survive a restart of the runtime, graceful or not (SIGKILL): the record, the history
 * and the tokens of waiting tasks are written durably as they change, and start() continues each
 * execution a previous process left RUNNING from its recorded history — the same execution, its
 * history going on. Completed states are not run again; a `.waitForTaskToken` task keeps waiting
 * on the same token (SendTaskSuccess/Failure with it works after the restart) with its original
 * TimeoutSeconds/HeartbeatSeconds deadlines; a Wait state keeps its original deadline; a task that
 * was mid-call (a Lambda invocation, PutEvents) is called again — at-least-once, as a retry.
 */

export interface StepFunctionsOptions extends IntegrationTargets {
  stateMachines: StateMachineSpec[];
}

export interface StepFunctionsService {
  /** awsJson1_0 operations, keyed by name (X-Amz-Target `AWSStepFunctions.<Op>`). */
  operations: JsonOperations;
  /**
   * Boot: continues every execution a previous process left RUNNING from its recorded history
   * (see above). One whose state machine is gone ends FAILED with `States.Runtime`. Idempotent.
   */
  start(): Promise<void>;
  /** Aborts running executions without ending them (they stay RUNNING on disk for start() to continue) and waits for them. */
  stop(): Promise<void>;
}

interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  /** Epoch milliseconds. */
  startDate: number;
  stopDate?: number;
  /** Times RedriveExecution restarted the execution (absent: never). */
  redriveCount?: number;
  /** Epoch milliseconds of the last redrive. */
  redriveDate?: number;
  /** Client tokens of the last successful redrives: a repeated token within 15 minutes is the same request. */
  redriveTokens?: { token: string; redriveDate: number }[];
  /** The `.waitForTaskToken` task attempts now waiting, so that a restarted runtime keeps their tokens valid. */
  waitingTasks?: WaitingTask[];
}

/** A task attempt waiting on its token, as recorded with the execution. */
interface WaitingTask {
  token: string;
  /** The Task state. */
  state: string;
  /** Epoch milliseconds of its TaskScheduled: TimeoutSeconds counts from here. */
  scheduledAt: number;
  /** Epoch milliseconds of the last SendTaskHeartbeat: HeartbeatSeconds counts from here (else from scheduledAt). */
  heartbeatAt?: number;
  /** The resource took the token (TaskSubmitted recorded): a resumed attempt does not call it again. */
  submitted?: boolean;
  /**
   * SendTaskSuccess/Failure's outcome, recorded before the call is answered: a crash right after
   * cannot lose an acknowledged outcome (the resumed attempt ends with it).
   */
  outcome?: TaskOutcome;
}

/** After a restart: a Task state resuming on the token its attempt waited on. */
interface ResumedTask {
  waiting: WaitingTask;
  issued: IssuedToken;
}

interface HistoryDocument {
  executionArn: string;
  events: HistoryEvent[];
}

/** What one run of the library executes: the machine's own definition, or the derived one a redrive resumes with. */
interface Runnable {
  runner: StateMachine;
  prepared: PreparedDefinition;
  /** Synthetic states of a derived definition: left out of the history. */
  synthetic: ReadonlySet<string>;
}

interface Execution {
  record: ExecutionRecord;
  machine: Machine;
  history: HistoryLog;
  /** Aborted when the execution stops for any reason: settles task handlers still waiting. */
  controller: AbortController;
  /** Set by stop(): the abort is a shutdown, the execution stays RUNNING. */
  shuttingDown: boolean;
  lastEnteredState?: string;
  /** Set when a state's output passed the payload quota: the run is aborted and fails with this. */
  dataLimitExceeded?: { error: string; cause: string };
  /**
   * The id of each state's last event, and of the last event inside each Parallel/Map state: the
   * state's next event chains to it (previousEventId), so a state's events form one chain back
   * to its StateEntered even when Parallel branches interleave.
   */
  lastEventOf: Map<string, number>;
  /** Tokens of the task attempts now waiting: closed the moment the execution ends. */
  tokens: Set<string>;
  /** After a restart: states whose next entry continues their recorded one (no second StateEntered event). */
  reentering: Set<string>;
  /** After a restart: Task states that resume waiting on their recorded token, by state name. */
  resumedTasks: Map<string, ResumedTask>;
  done?: Promise<void>;
}

/** How an execution ended (or `aborted`: StopExecution already recorded it, or a shutdown). */
type Ending = { status: ExecutionStatus; output?: string; error?: string; cause?: string } | { status: 'aborted' };

const MACHINE_GONE_CAUSE = 'The local runtime restarted while this execution was running, and its state machine no longer exists to continue it.';
/** Step Functions' quota on an execution's input and output, a task's result and what a state passes on (256 KiB). */
const MAX_PAYLOAD_BYTES = 256 * 1024;
/** The size of a state's output as Step Functions counts it: its JSON text's UTF-8 bytes. */
const payloadBytes = (value: unknown): number => (value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value)));
const MAX_DEFINITION_CHARACTERS = 1024 * 1024;
const REDRIVABLE_PERIOD_MS = 14 * 24 * 60 * 60 * 1000;
const REDRIVE_TOKEN_MS = 15 * 60 * 1000;
const REDRIVE_TOKENS_KEPT = 10;

function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsServiceError('ValidationException', `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be a string`);
  return value;
}

function optionalObject(input: Record<string, unknown>, field: string): Record<string, unknown> | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new AwsServiceError('ValidationException', `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be a structure`);
  return value as Record<string, unknown>;
}

function enumValue<T extends string>(input: Record<string, unknown>, field: string, values: readonly T[]): T | undefined {
  const value = optionalString(input, field);
  if (value === undefined || (values as readonly string[]).includes(value)) return value as T | undefined;
  throw new AwsServiceError('ValidationException', `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: Member must satisfy enum value set: [${values.join(', ')}]`);
}

/** Tags as the API takes them: `[{key, value}]`, keys 1-128 and values 0-256 characters. */
function parseTags(input: Record<string, unknown>, field: string): Tag[] {
  const value = input[field];
  if (value === undefined || value === null) return [];
  const invalid = () => new AwsServiceError('ValidationException', `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be a list of {key, value} with keys of 1-128 and values of 0-256 characters`);
  if (!Array.isArray(value)) throw invalid();
  return value.map((tag: unknown) => {
    if (tag === null || typeof tag !== 'object') throw invalid();
    const { key, value: tagValue = '' } = tag as Record<string, unknown>;
    if (typeof key !== 'string' || key.length < 1 || key.length > 128 || typeof tagValue !== 'string' || tagValue.length > 256) throw invalid();
    return { key, value: tagValue };
  });
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Page of `items` after `nextToken` (an opaque offset), and the token of the next page. */
function paginate<T>(items: T[], input: Record<string, unknown>): { page: T[]; nextToken?: string } {
  const max = input.maxResults === undefined || input.maxResults === 0 ? 100 : Number(input.maxResults);
  if (!Number.isInteger(max) || max < 0 || max > 1000) throw new AwsServiceError('ValidationException', "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000");
  let offset = 0;
  const token = optionalString(input, 'nextToken');
  if (token !== undefined) {
    const decoded = Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(decoded) || decoded < 0) throw new AwsServiceError('InvalidToken', 'Invalid pagination token');
    offset = decoded;
  }
  const page = items.slice(offset, offset + max);
  return { page, nextToken: offset + max < items.length ? Buffer.from(String(offset + max)).toString('base64url') : undefined };
}

/** Replaces the context's token placeholder with the attempt's token, also inside strings (States.Format). */
function withToken(value: JsonValue, placeholder: string, token: string): JsonValue {
  if (typeof value === 'string') return value.includes(placeholder) ? value.split(placeholder).join(token) : value;
  if (Array.isArray(value)) return value.map((item) => withToken(item, placeholder, token));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withToken(item, placeholder, token)]));
  return value;
}

/** A resolved TimeoutSecondsPath / HeartbeatSecondsPath value: a positive integer, else States.Runtime as on AWS. */
function positiveSeconds(value: JsonValue | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new StatesRuntimeError(`${field} resolved to ${JSON.stringify(value)}, but a positive integer is required`);
  return value;
}

/** The value at a plain JSONPath such as `$.wait.seconds` (no filters or wildcards), or undefined. */
function valueAt(input: JsonValue, path: string): JsonValue | undefined {
  if (path === '$') return input;
  if (!path.startsWith('$.')) return undefined;
  let value: JsonValue | undefined = input;
  for (const key of path.slice(2).split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = value[key];
  }
  return value;
}

/** A task ran out of time (TimeoutSeconds or HeartbeatSeconds). */
class TaskTimeout extends TaskFailure {}

/** The execution ended (stopped, failed elsewhere, runtime shutdown) while this task ran. */
class ExecutionEnded extends StatesRuntimeError {}

/** Why an execution cannot be redriven (redriveStatusReason, in AWS's words), or undefined when it can. */
function notRedrivableReason(record: ExecutionRecord, machine: Machine | undefined, now = Date.now()): string | undefined {
  if (record.status === ExecutionStatus.RUNNING) return 'Execution is RUNNING and cannot be redriven';
  if (record.status === ExecutionStatus.SUCCEEDED) return 'Execution is SUCCEEDED and cannot be redriven';
  // Also for a machine already deleted: nothing is left to run the execution with.
  if (!machine || machine.deleting) return 'State machine is in DELETING status';
  if (record.stopDate !== undefined && now - record.stopDate > REDRIVABLE_PERIOD_MS) return 'Execution redrivable period exceeded';
  return undefined;
}

/**
 * Creates the service. Builds (and so validates) every state machine once; throws when a
 * definition is invalid, as a CloudFormation deployment would fail.
 */
export function createStepFunctionsService(ctx: ServiceContext, options: StepFunctionsOptions): StepFunctionsService {
  const executionStore = new JsonStore<ExecutionRecord>(`${ctx.dataDir}/executions`);
  const historyStore = new JsonStore<HistoryDocument>(`${ctx.dataDir}/history`);
  const machines = new StateMachines(ctx, options.stateMachines);
  const tokens = new TaskTokens();

  const records = new Map(executionStore.list().map(({ value }) => [value.executionArn, value]));
  const running = new Map<string, Execution>();
  // Tokens of tasks that waited when the previous process stopped wait again from the first
  // request on (before start() continues their executions): a SendTaskSuccess may come at once.
  const restoredTokens = new Map<string, IssuedToken>();
  for (const record of records.values()) {
    if (record.status !== ExecutionStatus.RUNNING) continue;
    for (const waiting of record.waitingTasks ?? []) {
      restoredTokens.set(waiting.token, tokens.restore(waiting.token));
      if (waiting.outcome) tokens.settle(waiting.token, waiting.outcome);
    }
  }

  const save = (record: ExecutionRecord) => {
    records.set(record.executionArn, record);
    executionStore.put(storeKey(record.executionArn), record);
  };
  /** Saves an execution's record unless a redrive has replaced it (the old run only ever touches its own). */
  const saveOwn = (record: ExecutionRecord) => {
    if (records.get(record.executionArn) === record) save(record);
  };

  /**
   * SendTaskSuccess/Failure: records the outcome with the waiting task (durably), then settles the
   * token. Throws InvalidToken, TaskDoesNotExist, TaskTimedOut as TaskTokens.settle does.
   */
  const settleToken = (token: string, outcome: TaskOutcome) => {
    tokens.check(token);
    for (const record of records.values()) {
      const waiting = record.status === ExecutionStatus.RUNNING ? record.waitingTasks?.find((entry) => entry.token === token) : undefined;
      if (!waiting) continue;
      waiting.outcome = outcome;
      saveOwn(record);
      break;
    }
    tokens.settle(token, outcome);
  };
  const openHistory = (executionArn: string, events: HistoryEvent[] = []) =>
    new HistoryLog((all) => historyStore.put(storeKey(executionArn), { executionArn, events: all }), events);
  const storedEvents = (executionArn: string) => historyStore.get(storeKey(executionArn))?.events ?? [];
  const loadHistory = (executionArn: string) => openHistory(executionArn, storedEvents(executionArn));

  const redriveStatus = (record: ExecutionRecord) => {
    const reason = notRedrivableReason(record, machines.get(record.stateMachineArn));
    return { redriveStatus: reason === undefined ? ExecutionRedriveStatus.REDRIVABLE : ExecutionRedriveStatus.NOT_REDRIVABLE, redriveStatusReason: reason };
  };

  /** Step Functions' own status-change event on the default bus, as AWS sends it. */
  const publishStatus = (record: ExecutionRecord) => {
    const { redriveStatus: status, redriveStatusReason } = redriveStatus(record);
    ctx
      .publishEvent({
        Source: 'aws.states',
        DetailType: 'Step Functions Execution Status Change',
        Resources: [record.executionArn],
        Detail: {
          executionArn: record.executionArn,
          stateMachineArn: record.stateMachineArn,
          name: record.name,
          status: record.status,
          startDate: record.startDate,
          stopDate: record.stopDate ?? null,
          input: record.input,
          inputDetails: { included: true },
          output: record.output ?? null,
          outputDetails: record.output === undefined ? null : { included: true },
          error: record.error ?? null,
          cause: record.cause ?? null,
          redriveCount: record.redriveCount ?? 0,
          redriveDate: record.redriveDate ?? null,
          redriveStatus: status,
          redriveStatusReason: redriveStatusReason ?? null,
        },
      })
      .catch((error: unknown) => ctx.log('could not publish the execution status change', { executionArn: record.executionArn, error: String(error) }));
  };

  /** Whether an execution of the machine is RUNNING (here, or left so by a previous process). */
  const hasRunningExecutions = (stateMachineArn: string) =>
    [...records.values()].some((record) => record.stateMachineArn === stateMachineArn && record.status === ExecutionStatus.RUNNING);

  /** Deletes a DELETING machine once none of its executions runs any more. */
  const settleDeletion = (stateMachineArn: string) => {
    const machine = machines.get(stateMachineArn);
    if (machine?.deleting && !hasRunningExecutions(stateMachineArn)) machines.finishDeletion(machine);
  };

  /** Ends an execution: final record, final history event, status-change event. */
  const finish = (execution: Execution, ending: Exclude<Ending, { status: 'aborted' }>, finalEvent: NewHistoryEvent) => {
    const { record } = execution;
    if (record.status !== ExecutionStatus.RUNNING) return;
    for (const token of execution.tokens) tokens.close(token, 'closed');
    Object.assign(record, { ...ending, stopDate: Date.now() });
    delete record.waitingTasks;
    save(record);
    execution.history.close(finalEvent);
    publishStatus(record);
  };

  /**
   * Appends an event of `state` (if any). Its previousEventId is the last event of the same state
   * when `chain` (else the last event overall); it becomes the last event of the state and of the
   * Parallel/Map states around it.
   */
  const recordEvent = (execution: Execution, event: NewHistoryEvent, state?: string, chain = true) => {
    const previous = chain && state !== undefined ? execution.lastEventOf.get(state) : undefined;
    const stored = execution.history.append(event, Date.now(), previous);
    if (!stored || state === undefined) return;
    execution.lastEventOf.set(state, stored.id);
    for (const scope of execution.machine.prepared.ancestors.get(state) ?? []) execution.lastEventOf.set(scope, stored.id);
  };

  const machineOf = (arn: string): Machine => {
    if (!isStateMachineArn(arn)) throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    const machine = machines.get(arn);
    if (!machine) throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  };

  const recordOf = (arn: string): ExecutionRecord => {
    if (!isExecutionArn(arn)) throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    const record = records.get(arn);
    if (!record) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return record;
  };

  /** The machine a tagging call names (ListTagsForResource, TagResource). */
  const taggedMachine = (arn: string): Machine => {
    if (!isStateMachineArn(arn)) throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    const machine = machines.get(arn);
    if (!machine) throw new AwsServiceError('ResourceNotFound', `Resource not found: '${arn}'`);
    return machine;
  };

  /** One Task state attempt: schedule, call the resource, wait for the token if any, record the outcome. */
  const runTask = async (execution: Execution, spec: TaskStateSpec, input: JsonValue, placeholder: string): Promise<JsonValue> => {
    // The library queues the state's entry event just before calling this handler, and the
    // execution's event consumer records it on microtasks: one macrotask later it has, so the
    // task's events follow it in the history.
    await nextTurn();
    const { signal } = execution.controller;
    if (signal.aborted) throw new ExecutionEnded('the execution has ended');
    const resolved: ResolvedResource = resolveResource(spec.resource);
    const wrapped = unwrapTaskInput(input);
    const timeoutSeconds = positiveSeconds(wrapped.timeoutSeconds, 'TimeoutSecondsPath') ?? spec.timeoutSeconds;
    const heartbeatSeconds = positiveSeconds(wrapped.heartbeatSeconds, 'HeartbeatSecondsPath') ?? spec.heartbeatSeconds;
    // After a restart, the attempt that waited on its token goes on waiting on it (once).
    const resume = resolved.waitForTaskToken ? execution.resumedTasks.get(spec.name) : undefined;
    execution.resumedTasks.delete(spec.name);
    const issued = resume?.issued ?? (resolved.waitForTaskToken ? tokens.issue() : undefined);
    const { record: executionRecord } = execution;
    let waiting: WaitingTask | undefined = resume?.waiting;
    if (issued) {
      execution.tokens.add(issued.token);
      if (!waiting) {
        waiting = { token: issued.token, state: spec.name, scheduledAt: Date.now() };
        executionRecord.waitingTasks = [...(executionRecord.waitingTasks ?? []), waiting];
        saveOwn(executionRecord);
      }
    }
    const scheduledAt = waiting?.scheduledAt ?? Date.now();
    const parameters = issued ? withToken(wrapped.parameters, placeholder, issued.token) : wrapped.parameters;

    const bareLambda = resolved.kind === 'lambda-function';
    const task = { resourceType: resolved.resourceType, resource: resolved.resource };
    const record = (event: NewHistoryEvent) => recordEvent(execution, event, spec.name);
    if (resume) {
      // Scheduled and started before the restart: the history already says so.
    } else if (bareLambda) {
      record({ type: HistoryEventType.LambdaFunctionScheduled, details: { resource: resolved.resource, input: historyData(parameters), inputDetails: { truncated: false }, timeoutInSeconds: timeoutSeconds } });
      record({ type: HistoryEventType.LambdaFunctionStarted });
    } else {
      record({ type: HistoryEventType.TaskScheduled, details: { ...task, region: ctx.region, parameters: historyData(parameters), timeoutInSeconds: timeoutSeconds, heartbeatInSeconds: heartbeatSeconds } });
      record({ type: HistoryEventType.TaskStarted, details: task });
    }

    let rejectInterrupt: (error: Error) => void = () => undefined;
    const interrupt = new Promise<never>((_resolve, reject) => {
      rejectInterrupt = reject;
    });
    interrupt.catch(() => undefined);
    const timers: NodeJS.Timeout[] = [];
    const expire = (error: string, seconds: number) => () => rejectInterrupt(new TaskTimeout(error, `The task did not complete within ${seconds} seconds`));
    // Deadlines count from the recorded times, so a task resumed after a restart keeps its own.
    const until = (from: number, seconds: number) => Math.max(0, from + seconds * 1000 - Date.now());
    if (timeoutSeconds !== undefined) timers.push(setTimeout(expire('States.Timeout', timeoutSeconds), until(scheduledAt, timeoutSeconds)));
    if (issued && heartbeatSeconds !== undefined) {
      let heartbeat = setTimeout(expire('States.HeartbeatTimeout', heartbeatSeconds), until(waiting?.heartbeatAt ?? scheduledAt, heartbeatSeconds));
      timers.push(heartbeat);
      issued.onHeartbeat(() => {
        clearTimeout(heartbeat);
        heartbeat = setTimeout(expire('States.HeartbeatTimeout', heartbeatSeconds), heartbeatSeconds * 1000);
        timers.push(heartbeat);
        if (waiting) {
          waiting.heartbeatAt = Date.now();
          saveOwn(executionRecord);
        }
      });
    }
    const onAbort = () => rejectInterrupt(new ExecutionEnded('the execution has ended'));
    signal.addEventListener('abort', onAbort, { once: true });

    const work = (async (): Promise<JsonValue> => {
      if (!issued) return invokeResource(options, resolved, parameters);
      // Resumed: a resource that took the token, or a token already answered, is not called again.
      if (waiting?.submitted !== true && waiting?.outcome === undefined) {
        const result = await invokeResource(options, resolved, parameters);
        record({ type: HistoryEventType.TaskSubmitted, details: { ...task, output: historyData(result), outputDetails: { truncated: false } } });
        if (waiting) {
          waiting.submitted = true;
          saveOwn(executionRecord);
        }
      }
      const outcome = await issued.outcome;
      if (outcome.kind === 'failure') throw new TaskFailure(outcome.error ?? '', outcome.cause ?? '');
      const output: JsonValue = JSON.parse(outcome.output);
      return output;
    })();

    let timedOut = false;
    try {
      const result = await Promise.race([work, interrupt]);
      const output = { output: historyData(result), outputDetails: { truncated: false } };
      record(bareLambda ? { type: HistoryEventType.LambdaFunctionSucceeded, details: output } : { type: HistoryEventType.TaskSucceeded, details: { ...task, ...output } });
      return result;
    } catch (error) {
      if (error instanceof ExecutionEnded) throw error;
      const failure = error instanceof Error ? { error: error.name, cause: error.message } : { error: 'States.Runtime', cause: String(error) };
      if (error instanceof TaskTimeout) {
        timedOut = true;
        record(bareLambda ? { type: HistoryEventType.LambdaFunctionTimedOut, details: failure } : { type: HistoryEventType.TaskTimedOut, details: { ...task, ...failure } });
      } else {
        record(bareLambda ? { type: HistoryEventType.LambdaFunctionFailed, details: failure } : { type: HistoryEventType.TaskFailed, details: { ...task, ...failure } });
      }
      throw error;
    } finally {
      for (const timer of timers) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (issued) {
        execution.tokens.delete(issued.token);
        tokens.close(issued.token, timedOut ? 'timed-out' : 'closed');
        // A shutdown leaves the token recorded: the next process resumes the wait on it. So does an
        // outcome, until the state has exited (see runExecution): a crash in between replays it.
        if (!execution.shuttingDown && waiting !== undefined && waiting.outcome === undefined && executionRecord.waitingTasks?.includes(waiting)) {
          executionRecord.waitingTasks = executionRecord.waitingTasks.filter((entry) => entry !== waiting);
          if (executionRecord.status === ExecutionStatus.RUNNING) saveOwn(executionRecord);
        }
      }
    }
  };

  /** Drops the settled waiting tasks of `state` once it has exited: the history now carries their outcome. */
  const forgetSettled = (execution: Execution, state: string) => {
    const { record } = execution;
    if (!record.waitingTasks?.some((entry) => entry.state === state && entry.outcome !== undefined)) return;
    record.waitingTasks = record.waitingTasks.filter((entry) => entry.state !== state || entry.outcome === undefined);
    if (record.status === ExecutionStatus.RUNNING) saveOwn(record);
  };

  /** What the library's final error means for the execution. */
  const endingOf = (execution: Execution, error: unknown): Ending => {
    if (error instanceof ExecutionAbortedError) return { status: 'aborted' };
    if (error instanceof ExecutionTimeoutError) return { status: ExecutionStatus.TIMED_OUT, error: 'States.Timeout', cause: "The execution ran longer than the definition's TimeoutSeconds" };
    if (error instanceof ExecutionError && error.cause instanceof Error) {
      const failure = error.cause;
      const state = execution.lastEnteredState === undefined ? undefined : execution.machine.prepared.states.get(execution.lastEnteredState);
      if (state?.Type === 'Fail') {
        // The library invents a name and cause when a Fail state sets none; Step Functions leaves them empty.
        const hasError = state.Error !== undefined || state.ErrorPath !== undefined;
        const hasCause = state.Cause !== undefined || state.CausePath !== undefined;
        return { status: ExecutionStatus.FAILED, error: hasError ? failure.name : undefined, cause: hasCause ? failure.message : undefined };
      }
      return { status: ExecutionStatus.FAILED, error: failure.name, cause: failure.message };
    }
    return { status: ExecutionStatus.FAILED, error: 'States.Runtime', cause: error instanceof Error ? error.message : String(error) };
  };

  const runExecution = async (execution: Execution, runnable: Runnable): Promise<void> => {
    const { record, machine } = execution;
    // $$.Task.Token is one value per run for the library; each attempt swaps in its own token.
    const placeholder = `sluice-local-task-token-${randomUUID()}`;
    const handlers: Record<string, TaskHandler> = Object.fromEntries(
      [...runnable.prepared.tasks.values()].map((spec): [string, TaskHandler] => [spec.name, (input) => runTask(execution, spec, input, placeholder)]),
    );
    const redriven = record.redriveDate === undefined ? {} : { RedriveTime: new Date(record.redriveDate).toISOString() };
    const run = runnable.runner.run(JSON.parse(record.input), {
      overrides: { taskResourceLocalHandlers: handlers },
      context: {
        Execution: { Id: record.executionArn, Name: record.name, RoleArn: machine.roleArn, RedriveCount: record.redriveCount ?? 0, ...redriven },
        StateMachine: { Id: machine.arn, Name: machine.name },
        Task: { Token: placeholder },
      },
    });
    const abortRun = () => run.abort();
    execution.controller.signal.addEventListener('abort', abortRun, { once: true });
    const consumer = (async () => {
      for await (const event of run.eventLogs as AsyncGenerator<LibraryEvent>) {
        if (event.state && runnable.synthetic.has(event.state.name)) continue;
        if (event.type === 'StateEntered') execution.lastEnteredState = event.state?.name;
        // Resumed after a restart: the state's entry is already in the history.
        if (event.type === 'StateEntered' && event.state && execution.reentering.delete(event.state.name)) continue;
        // A state's entry and Map iterations follow the last event overall; its other events chain to its own.
        const chain = event.type !== 'StateEntered' && !event.type.startsWith('MapIteration');
        const spec = event.state ? runnable.prepared.states.get(event.state.name) : undefined;
        if (event.type === 'StateExited' && event.state && payloadBytes(event.state.output) > MAX_PAYLOAD_BYTES) {
          // Step Functions' 256 KiB quota on what passes between states: the execution fails, uncatchably.
          execution.dataLimitExceeded = { error: 'States.DataLimitExceeded', cause: `The state/task '${event.state.name}' returned a result with a size exceeding the maximum number of bytes service limit.` };
          run.abort();
          break;
        }
        for (const entry of historyEventsFor(event, spec)) recordEvent(execution, entry, event.state?.name ?? event.parentState?.name, chain);
        if (event.type === 'StateExited' && event.state) forgetSettled(execution, event.state.name);
      }
    })();

    let ending: Ending;
    try {
      ending = { status: ExecutionStatus.SUCCEEDED, output: JSON.stringify(await run.result) };
    } catch (error) {
      ending = endingOf(execution, error);
    }
    await consumer.catch((error: unknown) => ctx.log('could not record history events', { executionArn: record.executionArn, error: String(error) }));
    // Decided here, once the consumer has seen every state's output: the run was aborted for it, or the
    // last state's output passed the quota after the library had already returned it as the result.
    if (execution.dataLimitExceeded) ending = { status: ExecutionStatus.FAILED, ...execution.dataLimitExceeded };
    execution.controller.signal.removeEventListener('abort', abortRun);
    // Settles handlers still waiting: a Parallel branch after another failed, a top-level timeout.
    execution.controller.abort();
    if (ending.status === 'aborted') return;
    const details = ending.status === ExecutionStatus.SUCCEEDED ? { output: ending.output, outputDetails: { truncated: false } } : { error: ending.error, cause: ending.cause };
    const type = ending.status === ExecutionStatus.SUCCEEDED ? HistoryEventType.ExecutionSucceeded : ending.status === ExecutionStatus.TIMED_OUT ? HistoryEventType.ExecutionTimedOut : HistoryEventType.ExecutionFailed;
    finish(execution, ending, { type, details });
  };

  /**
   * Runs `record` (RUNNING, saved) with `runnable`, its history so far in `history`. A run resumed
   * after a restart (`resumed`) publishes no status change: the execution never stopped running.
   */
  const launch = (machine: Machine, record: ExecutionRecord, history: HistoryLog, runnable: Runnable, resumed?: Pick<Execution, 'reentering' | 'resumedTasks'>) => {
    const execution: Execution = {
      record,
      machine,
      history,
      controller: new AbortController(),
      shuttingDown: false,
      lastEventOf: new Map(),
      tokens: new Set(),
      reentering: resumed?.reentering ?? new Set(),
      resumedTasks: resumed?.resumedTasks ?? new Map(),
    };
    running.set(record.executionArn, execution);
    if (!resumed) publishStatus(record);
    execution.done = runExecution(execution, runnable)
      .catch((error: unknown) => ctx.log('execution failed inside the emulator', { executionArn: record.executionArn, error: error instanceof Error ? error.stack : String(error) }))
      .finally(() => {
        // A redrive may already run the execution again under the same ARN.
        if (running.get(record.executionArn) === execution) running.delete(record.executionArn);
        settleDeletion(machine.arn);
      });
  };

  const fromStart = (machine: Machine): Runnable => ({ runner: machine.runner, prepared: machine.prepared, synthetic: new Set() });

  /**
   * What a redrive or a restart runs: the machine, resumed as `plan` says (by default where the
   * execution's history `events` says it stopped), its Wait states pinned to `deadlines`.
   */
  const resumed = (machine: Machine, events: HistoryEvent[], plan: ResumePlan = planRedrive(machine.prepared, events), deadlines: ReadonlyMap<string, string> = new Map()): Runnable => {
    const derived = deriveDefinition(pinWaits(machine.definition, deadlines), plan, new Set(machine.prepared.states.keys()));
    if (!derived) return fromStart(machine);
    const prepared = prepareDefinition(derived.definition);
    // Derived from a validated definition; validating would also refuse the states it skips as unreachable.
    return { runner: new StateMachine(prepared.definition, { validationOptions: { noValidate: true } }), prepared, synthetic: derived.synthetic };
  };

  /**
   * Continues an execution a previous process left RUNNING: where its history says it stopped
   * (planRedrive over the same history), without a second StateEntered for the states it resumes
   * at, waiting tasks on their recorded tokens, Wait states until their recorded deadlines.
   */
  const resumeAfterRestart = (machine: Machine, record: ExecutionRecord) => {
    const events = storedEvents(record.executionArn);
    const plan = planRedrive(machine.prepared, events);
    const at = resumedStates(plan);
    const reentering = new Set(at.map(({ state }) => state));
    const deadlines = new Map<string, string>();
    for (const { state, input } of at) {
      const spec = machine.prepared.states.get(state);
      if (spec?.Type !== 'Wait') continue;
      const seconds = typeof spec.Seconds === 'number' ? spec.Seconds : typeof spec.SecondsPath === 'string' ? valueAt(input, spec.SecondsPath) : undefined;
      const entered = events.findLast((event) => event.type === HistoryEventType.WaitStateEntered && (event.stateEnteredEventDetails as { name?: string } | undefined)?.name === state);
      if (typeof seconds === 'number' && entered) deadlines.set(state, new Date(entered.timestamp + seconds * 1000).toISOString());
    }
    const resumedTasks = new Map<string, ResumedTask>();
    // Latest attempt first: a state's earlier, settled attempt (before a Retry) is not the one that waits.
    for (const waiting of [...(record.waitingTasks ?? [])].reverse()) {
      const issued = restoredTokens.get(waiting.token);
      restoredTokens.delete(waiting.token);
      // Only an attempt the plan resumes at can go on waiting (a Map state runs again as a whole).
      if (issued && reentering.has(waiting.state) && !resumedTasks.has(waiting.state)) resumedTasks.set(waiting.state, { waiting, issued });
      else tokens.close(waiting.token, 'closed');
    }
    record.waitingTasks = [...resumedTasks.values()].map(({ waiting }) => waiting);
    save(record);
    ctx.log('execution continued after a restart', { executionArn: record.executionArn, at: [...reentering] });
    launch(machine, record, openHistory(record.executionArn, events), resumed(machine, events, plan, deadlines), { reentering, resumedTasks });
  };

  const describeExecution = (record: ExecutionRecord) => ({
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: epochSeconds(new Date(record.startDate)),
    stopDate: record.stopDate === undefined ? undefined : epochSeconds(new Date(record.stopDate)),
    input: record.input,
    inputDetails: { included: true },
    output: record.output,
    outputDetails: record.output === undefined ? undefined : { included: true },
    error: record.error,
    cause: record.cause,
    redriveCount: record.redriveCount ?? 0,
    redriveDate: record.redriveDate === undefined ? undefined : epochSeconds(new Date(record.redriveDate)),
    ...redriveStatus(record),
  });

  const operations: JsonOperations = {
    CreateStateMachine: async (input) => {
      const name = requireString(input, 'name');
      if (!isValidName(name)) throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
      const definition = requireString(input, 'definition');
      if (definition.length > MAX_DEFINITION_CHARACTERS) throw new AwsServiceError('ValidationException', "1 validation error detected: Value at 'definition' failed to satisfy constraint: Member must have length less than or equal to 1048576");
      const roleArn = requireString(input, 'roleArn');
      if (!isRoleArn(roleArn)) throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${roleArn}'`);
      const type = enumValue(input, 'type', Object.values(StateMachineType));
      if (type === StateMachineType.EXPRESS) throw new AwsServiceError('ValidationException', 'The local runtime runs STANDARD state machines only: type EXPRESS is not supported');
      if (input.publish === true) throw new AwsServiceError('ValidationException', 'The local runtime does not publish state machine versions: publish must be false');
      const { machine } = machines.create({
        name,
        definition,
        roleArn,
        loggingConfiguration: optionalObject(input, 'loggingConfiguration'),
        tracingConfiguration: optionalObject(input, 'tracingConfiguration'),
        tags: parseTags(input, 'tags'),
      });
      return { stateMachineArn: machine.arn, creationDate: epochSeconds(new Date(machine.creationDate)) };
    },

    ValidateStateMachineDefinition: async (input) => {
      const definition = requireString(input, 'definition');
      if (definition.length > MAX_DEFINITION_CHARACTERS) throw new AwsServiceError('ValidationException', "1 validation error detected: Value at 'definition' failed to satisfy constraint: Member must have length less than or equal to 1048576");
      // The definition is checked the same for either type (CreateStateMachine refuses EXPRESS itself).
      enumValue(input, 'type', Object.values(StateMachineType));
      enumValue(input, 'severity', ['ERROR', 'WARNING']);
      const max = input.maxResults === undefined || input.maxResults === null || input.maxResults === 0 ? 100 : Number(input.maxResults);
      if (!Number.isInteger(max) || max < 0 || max > 100) throw new AwsServiceError('ValidationException', "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100");
      const diagnostics = buildDefinition(definition).diagnostics ?? [];
      return {
        result: diagnostics.length === 0 ? ValidateStateMachineDefinitionResultCode.OK : ValidateStateMachineDefinitionResultCode.FAIL,
        diagnostics: diagnostics.slice(0, max),
        truncated: diagnostics.length > max,
      };
    },

    DeleteStateMachine: async (input) => {
      const arn = requireString(input, 'stateMachineArn');
      if (!isStateMachineArn(arn)) throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
      const machine = machines.get(arn);
      // Deleting a machine that does not exist (any more) succeeds, as on AWS.
      if (!machine) return {};
      machines.delete(machine, hasRunningExecutions(arn));
      return {};
    },

    ListStateMachines: async (input) => {
      const items = machines.list().map((machine) => ({ stateMachineArn: machine.arn, name: machine.name, type: StateMachineType.STANDARD, creationDate: epochSeconds(new Date(machine.creationDate)) }));
      const { page, nextToken } = paginate(items, input);
      return { stateMachines: page, nextToken };
    },

    /** Logging only: the local runtime never changes a machine's definition, role or tracing in place. */
    UpdateStateMachine: async (input) => {
      const machine = machineOf(requireString(input, 'stateMachineArn'));
      const changed = ['definition', 'roleArn', 'tracingConfiguration', 'encryptionConfiguration', 'publish'].filter((field) => input[field] !== undefined && input[field] !== null);
      if (changed.length > 0) throw new AwsServiceError('ValidationException', `The local runtime updates a state machine's loggingConfiguration only, not ${changed.join(', ')}`);
      const configuration = optionalObject(input, 'loggingConfiguration');
      if (configuration === undefined) throw new AwsServiceError('MissingRequiredParameter', 'Either the definition, the role ARN, the LoggingConfiguration, the EncryptionConfiguration or the TracingConfiguration must be specified');
      machines.updateLogging(machine, configuration);
      return { updateDate: epochSeconds(new Date()) };
    },

    DescribeStateMachine: async (input) => {
      const machine = machineOf(requireString(input, 'stateMachineArn'));
      return {
        stateMachineArn: machine.arn,
        name: machine.name,
        status: machine.deleting ? StateMachineStatus.DELETING : StateMachineStatus.ACTIVE,
        definition: machine.definitionText,
        roleArn: machine.roleArn ?? `arn:aws:iam::${ctx.accountId}:role/${machine.name}-role`,
        type: StateMachineType.STANDARD,
        creationDate: epochSeconds(new Date(machine.creationDate)),
        loggingConfiguration: machine.loggingConfiguration,
        tracingConfiguration: machine.tracingConfiguration,
      };
    },

    ListTagsForResource: async (input) => ({ tags: taggedMachine(requireString(input, 'resourceArn')).tags }),

    TagResource: async (input) => {
      const machine = taggedMachine(requireString(input, 'resourceArn'));
      if (!Array.isArray(input.tags)) throw new AwsServiceError('ValidationException', "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must not be null");
      machines.tag(machine, parseTags(input, 'tags'));
      return {};
    },

    StartExecution: async (input) => {
      const machine = machineOf(requireString(input, 'stateMachineArn'));
      const name = optionalString(input, 'name') ?? randomUUID();
      if (!isValidName(name)) throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
      const text = optionalString(input, 'input') ?? '{}';
      if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) throw new AwsServiceError('InvalidExecutionInput', 'Invalid Execution Input: input exceeds the maximum size of 262144 bytes');
      if (!isJson(text)) throw new AwsServiceError('InvalidExecutionInput', `Invalid Execution Input: '${text.slice(0, 200)}' is not valid JSON`);
      const executionArn = `${machine.arn.replace(':stateMachine:', ':execution:')}:${name}`;
      const existing = records.get(executionArn);
      if (existing) {
        // Standard workflows: the same name and input while still running is the same request.
        if (existing.status === ExecutionStatus.RUNNING && existing.input === text) return { executionArn, startDate: epochSeconds(new Date(existing.startDate)) };
        throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
      }
      if (machine.deleting) throw new AwsServiceError('StateMachineDeleting', `State Machine is being deleted: '${machine.arn}'`);
      const record: ExecutionRecord = { executionArn, stateMachineArn: machine.arn, name, status: ExecutionStatus.RUNNING, input: text, startDate: Date.now() };
      save(record);
      const history = openHistory(record.executionArn);
      history.append({ type: HistoryEventType.ExecutionStarted, details: { input: record.input, inputDetails: { truncated: false }, roleArn: machine.roleArn } }, record.startDate);
      launch(machine, record, history, fromStart(machine));
      return { executionArn, startDate: epochSeconds(new Date(record.startDate)) };
    },

    /**
     * Continues a FAILED, TIMED_OUT or ABORTED execution where it stopped (see redrive.ts), under
     * the same ARN and input: RUNNING again, an ExecutionRedriven history event, a status-change
     * event. A clientToken repeated within 15 minutes (among the last 10) answers the earlier redrive.
     */
    RedriveExecution: async (input) => {
      const previous = recordOf(requireString(input, 'executionArn'));
      const clientToken = optionalString(input, 'clientToken');
      if (clientToken !== undefined && (clientToken.length < 1 || clientToken.length > 64)) {
        throw new AwsServiceError('ValidationException', "1 validation error detected: Value at 'clientToken' failed to satisfy constraint: Member must have length between 1 and 64");
      }
      const now = Date.now();
      const repeated = previous.redriveTokens?.find((seen) => seen.token === clientToken && now - seen.redriveDate < REDRIVE_TOKEN_MS);
      if (repeated) return { redriveDate: epochSeconds(new Date(repeated.redriveDate)) };
      const machine = machines.get(previous.stateMachineArn);
      const reason = notRedrivableReason(previous, machine, now);
      if (reason !== undefined || !machine) throw new AwsServiceError('ExecutionNotRedrivable', `${reason}.`);

      const events = storedEvents(previous.executionArn);
      const runnable = resumed(machine, events);
      const redriveCount = (previous.redriveCount ?? 0) + 1;
      const redriveTokens = clientToken === undefined ? previous.redriveTokens : [...(previous.redriveTokens ?? []), { token: clientToken, redriveDate: now }].slice(-REDRIVE_TOKENS_KEPT);
      // A new record object: the previous run, if it has not quite finished, only ever touches its own.
      const { stopDate: _stopDate, output: _output, error: _error, cause: _cause, ...kept } = previous;
      const record: ExecutionRecord = { ...kept, status: ExecutionStatus.RUNNING, redriveCount, redriveDate: now, redriveTokens };
      save(record);
      const history = openHistory(record.executionArn, events);
      history.append({ type: HistoryEventType.ExecutionRedriven, details: { redriveCount } }, now);
      launch(machine, record, history, runnable);
      return { redriveDate: epochSeconds(new Date(now)) };
    },

    DescribeExecution: async (input) => describeExecution(recordOf(requireString(input, 'executionArn'))),

    ListExecutions: async (input) => {
      const machine = machineOf(requireString(input, 'stateMachineArn'));
      const statusFilter = enumValue(input, 'statusFilter', Object.values(ExecutionStatus));
      const redriveFilter = enumValue(input, 'redriveFilter', Object.values(ExecutionRedriveFilter));
      const redriven = (record: ExecutionRecord) => (record.redriveCount ?? 0) > 0;
      const items = [...records.values()]
        .filter((record) => record.stateMachineArn === machine.arn && (statusFilter === undefined || record.status === statusFilter))
        .filter((record) => redriveFilter === undefined || redriven(record) === (redriveFilter === ExecutionRedriveFilter.REDRIVEN))
        .sort((a, b) => b.startDate - a.startDate || b.name.localeCompare(a.name))
        .map((record) => {
          const { executionArn, stateMachineArn, name, status, startDate, stopDate, redriveCount, redriveDate } = describeExecution(record);
          return { executionArn, stateMachineArn, name, status, startDate, stopDate, redriveCount, redriveDate };
        });
      const { page, nextToken } = paginate(items, input);
      return { executions: page, nextToken };
    },

    GetExecutionHistory: async (input) => {
      const record = recordOf(requireString(input, 'executionArn'));
      const includeData = input.includeExecutionData !== false;
      let events = running.get(record.executionArn)?.history.list() ?? storedEvents(record.executionArn);
      if (input.reverseOrder === true) events = [...events].reverse();
      const { page, nextToken } = paginate(events, input);
      return {
        events: page.map((event) => {
          const shown: Record<string, unknown> = { ...event, timestamp: epochSeconds(new Date(event.timestamp)) };
          if (!includeData) {
            for (const [field, details] of Object.entries(shown)) {
              if (!field.endsWith('EventDetails') || details === null || typeof details !== 'object') continue;
              const { input: _input, output: _output, ...rest } = details as Record<string, unknown>;
              shown[field] = rest;
            }
          }
          return shown;
        }),
        nextToken,
      };
    },

    StopExecution: async (input) => {
      const record = recordOf(requireString(input, 'executionArn'));
      const error = optionalString(input, 'error');
      const cause = optionalString(input, 'cause');
      if (record.status !== ExecutionStatus.RUNNING) return { stopDate: epochSeconds(new Date(record.stopDate ?? Date.now())) };
      const execution = running.get(record.executionArn);
      const ending = { status: ExecutionStatus.ABORTED, error, cause };
      const aborted: NewHistoryEvent = { type: HistoryEventType.ExecutionAborted, details: { error, cause } };
      if (execution) {
        finish(execution, ending, aborted);
        execution.controller.abort();
      } else {
        // Left RUNNING by a previous process and not yet continued by start().
        for (const waiting of record.waitingTasks ?? []) tokens.close(waiting.token, 'closed');
        Object.assign(record, { ...ending, stopDate: Date.now() });
        delete record.waitingTasks;
        save(record);
        loadHistory(record.executionArn).close(aborted);
        settleDeletion(record.stateMachineArn);
      }
      return { stopDate: epochSeconds(new Date(record.stopDate ?? Date.now())) };
    },

    SendTaskSuccess: async (input) => {
      const taskToken = requireString(input, 'taskToken');
      const output = requireString(input, 'output');
      if (Buffer.byteLength(output) > MAX_PAYLOAD_BYTES) throw new AwsServiceError('InvalidOutput', 'Invalid Output: output exceeds the maximum size of 262144 bytes');
      if (!isJson(output)) throw new AwsServiceError('InvalidOutput', `Invalid Output: '${output.slice(0, 200)}' is not valid JSON`);
      settleToken(taskToken, { kind: 'success', output });
      return {};
    },

    SendTaskFailure: async (input) => {
      const taskToken = requireString(input, 'taskToken');
      const error = optionalString(input, 'error');
      const cause = optionalString(input, 'cause');
      if (error !== undefined && error.length > 256) throw new AwsServiceError('ValidationException', "1 validation error detected: Value at 'error' failed to satisfy constraint: Member must have length less than or equal to 256");
      if (cause !== undefined && cause.length > 32768) throw new AwsServiceError('ValidationException', "1 validation error detected: Value at 'cause' failed to satisfy constraint: Member must have length less than or equal to 32768");
      settleToken(taskToken, { kind: 'failure', error, cause });
      return {};
    },

    SendTaskHeartbeat: async (input) => {
      tokens.heartbeat(requireString(input, 'taskToken'));
      return {};
    },
  };

  return {
    operations,

    async start() {
      for (const record of [...records.values()]) {
        if (record.status !== ExecutionStatus.RUNNING || running.has(record.executionArn)) continue;
        const machine = machines.get(record.stateMachineArn);
        if (!machine) {
          for (const waiting of record.waitingTasks ?? []) tokens.close(waiting.token, 'closed');
          Object.assign(record, { status: ExecutionStatus.FAILED, error: 'States.Runtime', cause: MACHINE_GONE_CAUSE, stopDate: Date.now() });
          delete record.waitingTasks;
          save(record);
          loadHistory(record.executionArn).close({ type: HistoryEventType.ExecutionFailed, details: { error: record.error, cause: record.cause } });
          publishStatus(record);
          continue;
        }
        resumeAfterRestart(machine, record);
      }
      for (const machine of machines.list()) settleDeletion(machine.arn);
    },

    async stop() {
      const executions = [...running.values()];
      for (const execution of executions) {
        execution.shuttingDown = true;
        execution.controller.abort();
      }
      await Promise.all(executions.map((execution) => execution.done));
    },
  };
}
