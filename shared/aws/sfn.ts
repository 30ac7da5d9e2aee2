import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  type Tag,
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

/**
 * Creates a STANDARD state machine, or finds it: Step Functions' CreateStateMachine is idempotent
 * for the same name, definition and role, so a name derived from the definition's content always
 * returns the same machine. Returns its ARN. Throws RetryableError on throttling, and the SDK's
 * error (StateMachineAlreadyExists, InvalidDefinition) otherwise.
 */
export async function ensureStateMachine(name: string, definition: unknown, roleArn: string, tags: Tag[]): Promise<string> {
  try {
    const output = await client.send(new CreateStateMachineCommand({ name, definition: JSON.stringify(definition), roleArn, type: 'STANDARD', tags }));
    return output.stateMachineArn!;
  } catch (error) {
    throw classifyAwsError(error, `CreateStateMachine ${name}`);
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
