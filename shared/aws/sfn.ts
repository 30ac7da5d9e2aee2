import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionRedriveFilter,
  type ExecutionListItem,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  type ListExecutionsCommandInput,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  type LoggingConfiguration,
  LogLevel,
  type StateMachineListItem,
  type Tag,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';

import { classifyAwsError, isAwsError } from '../errors';

// Pure: a function that never calls this adapter does not bundle its client.
const client = /* @__PURE__ */ new SFNClient({});

/**
 * Starts an execution under a deterministic name. Idempotent: when an execution with that name
 * already exists (ExecutionAlreadyExists) it returns `{ started: false }` and starts nothing.
 * Throws RetryableError on throttling.
 */
export async function startNamedExecution(stateMachineArn: string, name: string, input: unknown): Promise<{ started: boolean; executionArn: string }> {
  const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  try {
    const output = await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    return { started: true, executionArn: output.executionArn ?? executionArn };
  } catch (error) {
    if (isAwsError(error, 'ExecutionAlreadyExists')) return { started: false, executionArn };
    throw classifyAwsError(error, `StartExecution ${name}`);
  }
}

/** Errors meaning the token was already completed or has expired: "already done". */
const SETTLED_TOKEN_ERRORS = ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'];

/**
 * Completes a waiting task with its output. Returns false when the token was already settled
 * (a duplicate event or a reconciler race): the caller treats that as success.
 * Throws RetryableError on throttling.
 */
export async function completeTask(taskToken: string, output: unknown): Promise<boolean> {
  try {
    await client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    return true;
  } catch (error) {
    if (isAwsError(error, ...SETTLED_TOKEN_ERRORS)) return false;
    throw classifyAwsError(error, 'SendTaskSuccess');
  }
}

/** Fails a waiting task with an error name and cause. Same settled-token semantics as {@link completeTask}. */
export async function failTask(taskToken: string, error: string, cause: string): Promise<boolean> {
  try {
    // SendTaskFailure caps `cause` at 32768 characters and `error` at 256.
    await client.send(new SendTaskFailureCommand({ taskToken, error: error.slice(0, 256), cause: cause.slice(0, 32768) }));
    return true;
  } catch (failure) {
    if (isAwsError(failure, ...SETTLED_TOKEN_ERRORS)) return false;
    throw classifyAwsError(failure, 'SendTaskFailure');
  }
}

/** Describes an execution; undefined when it does not exist. Throws RetryableError on throttling. Read-only. */
export async function describeExecution(executionArn: string): Promise<DescribeExecutionCommandOutput | undefined> {
  try {
    return await client.send(new DescribeExecutionCommand({ executionArn }));
  } catch (error) {
    if (isAwsError(error, 'ExecutionDoesNotExist')) return undefined;
    throw classifyAwsError(error, `DescribeExecution ${executionArn}`);
  }
}

/** The ARN of state machine `name` in this client's region and the role's partition and account. */
async function stateMachineArnOf(name: string, roleArn: string): Promise<string> {
  const [, partition, , , account] = roleArn.split(':');
  return `arn:${partition}:states:${await client.config.region()}:${account}:stateMachine:${name}`;
}

/**
 * How a compiled build pipeline logs: failures only, without inputs and outputs (they carry task
 * tokens and what a repository's mlops.yaml says), to the stage's build-runs log group. Step
 * Functions wants the log group's ARN with its `:*` suffix
 * (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html). Pure.
 */
export function errorLogging(logGroupArn: string): LoggingConfiguration {
  return { level: LogLevel.ERROR, includeExecutionData: false, destinations: [{ cloudWatchLogsLogGroup: { logGroupArn } }] };
}

/**
 * Creates a STANDARD state machine that logs as `logging` says, or finds it: Step Functions'
 * CreateStateMachine is idempotent for the same name, definition, type and logging configuration
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html), so a
 * name derived from the definition's content always returns the same machine. A machine of that
 * name created with other logging (before logging was configured) answers StateMachineAlreadyExists:
 * its logging is updated in place (its name, from the definition's hash, says the definition is
 * the same) and it is created again, which now finds it. Returns its ARN. Throws RetryableError on
 * throttling, and the SDK's error (StateMachineAlreadyExists for another definition, InvalidDefinition) otherwise.
 */
export async function ensureStateMachine(name: string, definition: unknown, roleArn: string, tags: Tag[], logging: LoggingConfiguration): Promise<string> {
  const create = () => client.send(new CreateStateMachineCommand({ name, definition: JSON.stringify(definition), roleArn, type: 'STANDARD', tags, loggingConfiguration: logging }));
  try {
    return (await create()).stateMachineArn!;
  } catch (error) {
    if (!isAwsError(error, 'StateMachineAlreadyExists')) throw classifyAwsError(error, `CreateStateMachine ${name}`);
    const arn = await stateMachineArnOf(name, roleArn);
    try {
      await client.send(new UpdateStateMachineCommand({ stateMachineArn: arn, loggingConfiguration: logging }));
      return (await create()).stateMachineArn!;
    } catch (retry) {
      throw classifyAwsError(retry, `CreateStateMachine ${name} (after updating its logging)`);
    }
  }
}

/**
 * Reads an execution's history page by page, newest first when `reverse`, until `visit` returns
 * true (found what it looks for) or the history ends. Throws RetryableError on throttling.
 */
export async function walkExecutionHistory(executionArn: string, reverse: boolean, visit: (event: HistoryEvent) => boolean): Promise<void> {
  let nextToken: string | undefined;
  try {
    do {
      const output = await client.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: reverse, maxResults: 1000, nextToken }));
      for (const event of output.events ?? []) if (visit(event)) return;
      nextToken = output.nextToken;
    } while (nextToken);
  } catch (error) {
    throw classifyAwsError(error, `GetExecutionHistory ${executionArn}`);
  }
}

/**
 * The state machines whose name starts with `prefix`, from every page of ListStateMachines (which
 * has no name filter). Throws RetryableError on throttling. Read-only.
 */
export async function listStateMachinesByPrefix(prefix: string): Promise<StateMachineListItem[]> {
  const found: StateMachineListItem[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const output = await client.send(new ListStateMachinesCommand({ maxResults: 1000, nextToken }));
      found.push(...(output.stateMachines ?? []).filter((machine) => machine.name?.startsWith(prefix)));
      nextToken = output.nextToken;
    } while (nextToken);
  } catch (error) {
    throw classifyAwsError(error, 'ListStateMachines');
  }
  return found;
}

/** Every page of ListExecutions for `input`, handing each page to `visit` until it returns true. */
async function walkExecutions(input: ListExecutionsCommandInput, visit: (page: ExecutionListItem[]) => boolean): Promise<void> {
  let nextToken: string | undefined;
  try {
    do {
      const output = await client.send(new ListExecutionsCommand({ ...input, maxResults: 1000, nextToken }));
      if (visit(output.executions ?? [])) return;
      nextToken = output.nextToken;
    } while (nextToken);
  } catch (error) {
    throw classifyAwsError(error, `ListExecutions ${input.stateMachineArn}`);
  }
}

/**
 * The executions of a state machine in `status` (an ended one) that stopped at or after
 * `stoppedSince`. ListExecutions lists the newest start first and a run stops after it starts, so
 * the walk ends at the first execution that stopped before `stoppedSince`: every later one started
 * earlier still, and could only have stopped since by running across the bound for longer, or by
 * being redriven (see {@link listRedrivenExecutions}). Throws RetryableError on throttling. Read-only.
 */
export async function listExecutionsStoppedSince(stateMachineArn: string, status: ExecutionStatus, stoppedSince: Date): Promise<ExecutionListItem[]> {
  const found: ExecutionListItem[] = [];
  await walkExecutions({ stateMachineArn, statusFilter: status }, (page) => {
    for (const execution of page) {
      if (execution.stopDate && execution.stopDate < stoppedSince) return true;
      found.push(execution);
    }
    return false;
  });
  return found;
}

/**
 * Every execution of a state machine that was ever redriven, whatever its status. A redriven run
 * keeps its first start date, so no date bounds this walk; redrives are rare (one per user action).
 * Throws RetryableError on throttling. Read-only.
 */
export async function listRedrivenExecutions(stateMachineArn: string): Promise<ExecutionListItem[]> {
  const found: ExecutionListItem[] = [];
  await walkExecutions({ stateMachineArn, redriveFilter: ExecutionRedriveFilter.REDRIVEN }, (page) => {
    found.push(...page);
    return false;
  });
  return found;
}
