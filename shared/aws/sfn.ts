import { DescribeExecutionCommand, type DescribeExecutionCommandOutput, SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';

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
