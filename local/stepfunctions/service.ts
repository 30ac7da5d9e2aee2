import { createHash, randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';

import { ExecutionStatus, HistoryEventType, StateMachineStatus, StateMachineType } from '@aws-sdk/client-sfn';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';

import type { StateMachineSpec } from '../cloudformation/template';
import type { ServiceContext } from '../context';
import { AwsServiceError, epochSeconds, type JsonOperations, requireString } from '../http/aws-json';
import { JsonStore } from '../store/json-store';
import { type JsonValue, type PreparedDefinition, prepareDefinition, type TaskHandler, type TaskStateSpec, unwrapTaskInput } from './definition';
import { type HistoryEvent, historyData, historyEventsFor, HistoryLog, type NewHistoryEvent } from './history';
import { type IntegrationTargets, invokeResource, resolveResource, type ResolvedResource, StatesRuntimeError, TaskFailure } from './integrations';
import { TaskTokens } from './tokens';

/**
 * AWS Step Functions, locally: the awsJson1_0 API (X-Amz-Target `AWSStepFunctions.<Op>`) over the
 * state machines the template declares, each executed in-process by aws-local-stepfunctions.
 * Standard-workflow semantics where they matter to callers: named executions (idempotent start
 * with the same input), durable executions and history, task tokens for `.waitForTaskToken`
 * tasks with TimeoutSeconds/TimeoutSecondsPath/HeartbeatSeconds, error names that Retry/Catch
 * match as on AWS. What the library cannot do is worked around in definition.ts and here.
 */

export interface StepFunctionsOptions extends IntegrationTargets {
  stateMachines: StateMachineSpec[];
}

export interface StepFunctionsService {
  /** awsJson1_0 operations, keyed by name (X-Amz-Target `AWSStepFunctions.<Op>`). */
  operations: JsonOperations;
  /**
   * Boot: executions a previous process left RUNNING end FAILED with error `States.Runtime`
   * (the name Step Functions gives failures a workflow cannot catch) and a cause saying the local
   * runtime restarted, with an ExecutionFailed history event. Idempotent.
   */
  start(): Promise<void>;
  /** Aborts running executions without ending them (they stay RUNNING on disk for start() to settle) and waits for them. */
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
}

interface HistoryDocument {
  executionArn: string;
  events: HistoryEvent[];
}

interface MachineRecord {
  stateMachineArn: string;
  creationDate: number;
}

interface Machine {
  spec: StateMachineSpec;
  prepared: PreparedDefinition;
  runner: StateMachine;
  creationDate: number;
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
  /** Tokens of the task attempts now waiting: closed the moment the execution ends. */
  tokens: Set<string>;
  done?: Promise<void>;
}

/** How an execution ended (or `aborted`: StopExecution already recorded it, or a shutdown). */
type Ending = { status: ExecutionStatus; output?: string; error?: string; cause?: string } | { status: 'aborted' };

const RESTART_CAUSE = 'The local runtime restarted while this execution was running; executions run in-process and do not survive a restart. Start a new execution.';
const MAX_PAYLOAD_BYTES = 256 * 1024;
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_-]{1,80}:[^:]{1,80}$/;
// Execution names: 1-80 characters, none of whitespace, brackets, wildcards, "#%\^|~`$&,;:/ or control characters.
const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/]{1,80}$/;

function isValidExecutionName(name: string): boolean {
  const control = [...name].some((character) => {
    const code = character.charCodeAt(0);
    return code < 0x20 || (code >= 0x7f && code <= 0x9f);
  });
  return !control && EXECUTION_NAME.test(name);
}

function storeKey(arn: string): string {
  return createHash('sha256').update(arn).digest('hex').slice(0, 40);
}

function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsServiceError('ValidationException', `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be a string`);
  return value;
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

/** A task ran out of time (TimeoutSeconds or HeartbeatSeconds). */
class TaskTimeout extends TaskFailure {}

/** The execution ended (stopped, failed elsewhere, runtime shutdown) while this task ran. */
class ExecutionEnded extends StatesRuntimeError {}

/**
 * Creates the service. Builds (and so validates) every state machine once; throws when a
 * definition is invalid, as a CloudFormation deployment would fail.
 */
export function createStepFunctionsService(ctx: ServiceContext, options: StepFunctionsOptions): StepFunctionsService {
  const executionStore = new JsonStore<ExecutionRecord>(`${ctx.dataDir}/executions`);
  const historyStore = new JsonStore<HistoryDocument>(`${ctx.dataDir}/history`);
  const machineStore = new JsonStore<MachineRecord>(`${ctx.dataDir}/state-machines`);
  const tokens = new TaskTokens();

  const machines = new Map<string, Machine>();
  for (const spec of options.stateMachines) {
    let prepared: PreparedDefinition;
    let runner: StateMachine;
    try {
      prepared = prepareDefinition(spec.definition);
      runner = new StateMachine(prepared.definition);
    } catch (error) {
      throw new Error(`state machine ${spec.name}: ${(error as Error).message}`, { cause: error });
    }
    const key = storeKey(spec.arn);
    const known = machineStore.get(key);
    const creationDate = known?.creationDate ?? Date.now();
    if (!known) machineStore.put(key, { stateMachineArn: spec.arn, creationDate });
    machines.set(spec.arn, { spec, prepared, runner, creationDate });
  }

  const records = new Map(executionStore.list().map(({ value }) => [value.executionArn, value]));
  const running = new Map<string, Execution>();

  const save = (record: ExecutionRecord) => {
    records.set(record.executionArn, record);
    executionStore.put(storeKey(record.executionArn), record);
  };
  const openHistory = (executionArn: string, events: HistoryEvent[] = []) =>
    new HistoryLog((all) => historyStore.put(storeKey(executionArn), { executionArn, events: all }), events);
  const loadHistory = (executionArn: string) => openHistory(executionArn, historyStore.get(storeKey(executionArn))?.events ?? []);

  /** Step Functions' own status-change event on the default bus, as AWS sends it. */
  const publishStatus = (record: ExecutionRecord) => {
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
          output: record.output ?? null,
          error: record.error ?? null,
          cause: record.cause ?? null,
        },
      })
      .catch((error: unknown) => ctx.log('could not publish the execution status change', { executionArn: record.executionArn, error: String(error) }));
  };

  /** Ends an execution: final record, final history event, status-change event. */
  const finish = (execution: Execution, ending: Exclude<Ending, { status: 'aborted' }>, finalEvent: NewHistoryEvent) => {
    const { record } = execution;
    if (record.status !== ExecutionStatus.RUNNING) return;
    for (const token of execution.tokens) tokens.close(token, 'closed');
    Object.assign(record, { ...ending, stopDate: Date.now() });
    save(record);
    execution.history.close(finalEvent);
    publishStatus(record);
  };

  const machineOf = (arn: string): Machine => {
    if (!STATE_MACHINE_ARN.test(arn)) throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    const machine = machines.get(arn);
    if (!machine) throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  };

  const recordOf = (arn: string): ExecutionRecord => {
    if (!EXECUTION_ARN.test(arn)) throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    const record = records.get(arn);
    if (!record) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return record;
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
    const issued = resolved.waitForTaskToken ? tokens.issue() : undefined;
    if (issued) execution.tokens.add(issued.token);
    const parameters = issued ? withToken(wrapped.parameters, placeholder, issued.token) : wrapped.parameters;

    const bareLambda = resolved.kind === 'lambda-function';
    const task = { resourceType: resolved.resourceType, resource: resolved.resource };
    const record = (event: NewHistoryEvent) => execution.history.append(event);
    if (bareLambda) {
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
    if (timeoutSeconds !== undefined) timers.push(setTimeout(expire('States.Timeout', timeoutSeconds), timeoutSeconds * 1000));
    if (issued && heartbeatSeconds !== undefined) {
      let heartbeat = setTimeout(expire('States.HeartbeatTimeout', heartbeatSeconds), heartbeatSeconds * 1000);
      timers.push(heartbeat);
      issued.onHeartbeat(() => {
        clearTimeout(heartbeat);
        heartbeat = setTimeout(expire('States.HeartbeatTimeout', heartbeatSeconds), heartbeatSeconds * 1000);
        timers.push(heartbeat);
      });
    }
    const onAbort = () => rejectInterrupt(new ExecutionEnded('the execution has ended'));
    signal.addEventListener('abort', onAbort, { once: true });

    const work = (async (): Promise<JsonValue> => {
      const result = await invokeResource(options, resolved, parameters);
      if (!issued) return result;
      record({ type: HistoryEventType.TaskSubmitted, details: { ...task, output: historyData(result), outputDetails: { truncated: false } } });
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
      }
    }
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

  const runExecution = async (execution: Execution): Promise<void> => {
    const { record, machine } = execution;
    // $$.Task.Token is one value per run for the library; each attempt swaps in its own token.
    const placeholder = `sluice-local-task-token-${randomUUID()}`;
    const handlers: Record<string, TaskHandler> = Object.fromEntries(
      [...machine.prepared.tasks.values()].map((spec): [string, TaskHandler] => [spec.name, (input) => runTask(execution, spec, input, placeholder)]),
    );
    const run = machine.runner.run(JSON.parse(record.input), {
      overrides: { taskResourceLocalHandlers: handlers },
      context: {
        Execution: { Id: record.executionArn, Name: record.name, RoleArn: machine.spec.roleArn },
        StateMachine: { Id: machine.spec.arn, Name: machine.spec.name },
        Task: { Token: placeholder },
      },
    });
    const abortRun = () => run.abort();
    execution.controller.signal.addEventListener('abort', abortRun, { once: true });
    const consumer = (async () => {
      for await (const event of run.eventLogs) {
        if (event.type === 'StateEntered') execution.lastEnteredState = event.state.name;
        for (const entry of historyEventsFor(event)) execution.history.append(entry);
      }
    })();

    let ending: Ending;
    try {
      ending = { status: ExecutionStatus.SUCCEEDED, output: JSON.stringify(await run.result) };
    } catch (error) {
      ending = endingOf(execution, error);
    }
    await consumer.catch((error: unknown) => ctx.log('could not record history events', { executionArn: record.executionArn, error: String(error) }));
    execution.controller.signal.removeEventListener('abort', abortRun);
    // Settles handlers still waiting: a Parallel branch after another failed, a top-level timeout.
    execution.controller.abort();
    if (ending.status === 'aborted') return;
    const details = ending.status === ExecutionStatus.SUCCEEDED ? { output: ending.output, outputDetails: { truncated: false } } : { error: ending.error, cause: ending.cause };
    const type = ending.status === ExecutionStatus.SUCCEEDED ? HistoryEventType.ExecutionSucceeded : ending.status === ExecutionStatus.TIMED_OUT ? HistoryEventType.ExecutionTimedOut : HistoryEventType.ExecutionFailed;
    finish(execution, ending, { type, details });
  };

  const launch = (machine: Machine, record: ExecutionRecord) => {
    save(record);
    const history = openHistory(record.executionArn);
    history.append({ type: HistoryEventType.ExecutionStarted, details: { input: record.input, inputDetails: { truncated: false }, roleArn: machine.spec.roleArn } }, record.startDate);
    const execution: Execution = { record, machine, history, controller: new AbortController(), shuttingDown: false, tokens: new Set() };
    running.set(record.executionArn, execution);
    publishStatus(record);
    execution.done = runExecution(execution)
      .catch((error: unknown) => ctx.log('execution failed inside the emulator', { executionArn: record.executionArn, error: error instanceof Error ? error.stack : String(error) }))
      .finally(() => running.delete(record.executionArn));
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
    redriveCount: 0,
    redriveStatus: 'NOT_REDRIVABLE',
  });

  const operations: JsonOperations = {
    ListStateMachines: async (input) => {
      const items = [...machines.values()]
        .sort((a, b) => a.spec.name.localeCompare(b.spec.name))
        .map(({ spec, creationDate }) => ({ stateMachineArn: spec.arn, name: spec.name, type: StateMachineType.STANDARD, creationDate: epochSeconds(new Date(creationDate)) }));
      const { page, nextToken } = paginate(items, input);
      return { stateMachines: page, nextToken };
    },

    DescribeStateMachine: async (input) => {
      const { spec, creationDate } = machineOf(requireString(input, 'stateMachineArn'));
      return {
        stateMachineArn: spec.arn,
        name: spec.name,
        status: StateMachineStatus.ACTIVE,
        definition: JSON.stringify(spec.definition),
        roleArn: spec.roleArn ?? `arn:aws:iam::${ctx.accountId}:role/${spec.name}-role`,
        type: StateMachineType.STANDARD,
        creationDate: epochSeconds(new Date(creationDate)),
        loggingConfiguration: { level: 'OFF', includeExecutionData: false },
        tracingConfiguration: { enabled: false },
      };
    },

    StartExecution: async (input) => {
      const machine = machineOf(requireString(input, 'stateMachineArn'));
      const name = optionalString(input, 'name') ?? randomUUID();
      if (!isValidExecutionName(name)) throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
      const text = optionalString(input, 'input') ?? '{}';
      if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) throw new AwsServiceError('InvalidExecutionInput', 'Invalid Execution Input: input exceeds the maximum size of 262144 bytes');
      if (!isJson(text)) throw new AwsServiceError('InvalidExecutionInput', `Invalid Execution Input: '${text.slice(0, 200)}' is not valid JSON`);
      const executionArn = `${machine.spec.arn.replace(':stateMachine:', ':execution:')}:${name}`;
      const existing = records.get(executionArn);
      if (existing) {
        // Standard workflows: the same name and input while still running is the same request.
        if (existing.status === ExecutionStatus.RUNNING && existing.input === text) return { executionArn, startDate: epochSeconds(new Date(existing.startDate)) };
        throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
      }
      const record: ExecutionRecord = { executionArn, stateMachineArn: machine.spec.arn, name, status: ExecutionStatus.RUNNING, input: text, startDate: Date.now() };
      launch(machine, record);
      return { executionArn, startDate: epochSeconds(new Date(record.startDate)) };
    },

    DescribeExecution: async (input) => describeExecution(recordOf(requireString(input, 'executionArn'))),

    ListExecutions: async (input) => {
      const machine = machineOf(requireString(input, 'stateMachineArn'));
      const statusFilter = optionalString(input, 'statusFilter');
      if (statusFilter !== undefined && !Object.values<string>(ExecutionStatus).includes(statusFilter)) {
        throw new AwsServiceError('ValidationException', `1 validation error detected: Value '${statusFilter}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [${Object.values(ExecutionStatus).join(', ')}]`);
      }
      const items = [...records.values()]
        .filter((record) => record.stateMachineArn === machine.spec.arn && (statusFilter === undefined || record.status === statusFilter))
        .sort((a, b) => b.startDate - a.startDate || b.name.localeCompare(a.name))
        .map((record) => {
          const { executionArn, stateMachineArn, name, status, startDate, stopDate } = describeExecution(record);
          return { executionArn, stateMachineArn, name, status, startDate, stopDate };
        });
      const { page, nextToken } = paginate(items, input);
      return { executions: page, nextToken };
    },

    GetExecutionHistory: async (input) => {
      const record = recordOf(requireString(input, 'executionArn'));
      const includeData = input.includeExecutionData !== false;
      let events = running.get(record.executionArn)?.history.list() ?? historyStore.get(storeKey(record.executionArn))?.events ?? [];
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
        // Left RUNNING by a previous process and not yet settled by start().
        Object.assign(record, { ...ending, stopDate: Date.now() });
        save(record);
        loadHistory(record.executionArn).close(aborted);
      }
      return { stopDate: epochSeconds(new Date(record.stopDate ?? Date.now())) };
    },

    SendTaskSuccess: async (input) => {
      const taskToken = requireString(input, 'taskToken');
      const output = requireString(input, 'output');
      if (Buffer.byteLength(output) > MAX_PAYLOAD_BYTES) throw new AwsServiceError('InvalidOutput', 'Invalid Output: output exceeds the maximum size of 262144 bytes');
      if (!isJson(output)) throw new AwsServiceError('InvalidOutput', `Invalid Output: '${output.slice(0, 200)}' is not valid JSON`);
      tokens.settle(taskToken, { kind: 'success', output });
      return {};
    },

    SendTaskFailure: async (input) => {
      const taskToken = requireString(input, 'taskToken');
      const error = optionalString(input, 'error');
      const cause = optionalString(input, 'cause');
      if (error !== undefined && error.length > 256) throw new AwsServiceError('ValidationException', "1 validation error detected: Value at 'error' failed to satisfy constraint: Member must have length less than or equal to 256");
      if (cause !== undefined && cause.length > 32768) throw new AwsServiceError('ValidationException', "1 validation error detected: Value at 'cause' failed to satisfy constraint: Member must have length less than or equal to 32768");
      tokens.settle(taskToken, { kind: 'failure', error, cause });
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
        Object.assign(record, { status: ExecutionStatus.FAILED, error: 'States.Runtime', cause: RESTART_CAUSE, stopDate: Date.now() });
        save(record);
        loadHistory(record.executionArn).close({ type: HistoryEventType.ExecutionFailed, details: { error: record.error, cause: record.cause } });
        publishStatus(record);
        ctx.log('execution left running by a previous process marked failed', { executionArn: record.executionArn });
      }
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
