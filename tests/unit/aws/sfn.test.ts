import {
  ExecutionAlreadyExists,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

import { completeTask, failTask, startNamedExecution } from '../../../shared/aws/sfn';
import { RetryableError } from '../../../shared/errors';
import { STATE_MACHINE_ARN } from '../../helpers/fixtures';

const sfn = mockClient(SFNClient);

const NAME = 'abalone-0123456789abcdef0123456789abcdef01234567-a1b2c3';
const EXECUTION_ARN = `arn:aws:states:us-east-1:123456789012:execution:sluice-test-model-build:${NAME}`;
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAfake-task-token';

function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' });
}

/** The "token already settled" errors Step Functions returns, as the SDK constructs them. */
const SETTLED = [
  ['TaskTimedOut', () => new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} })],
  ['TaskDoesNotExist', () => new TaskDoesNotExist({ message: 'Task does not exist', $metadata: {} })],
  ['InvalidToken', () => new InvalidToken({ message: 'Invalid Token', $metadata: {} })],
] as const;

beforeEach(() => {
  sfn.reset();
});

describe('startNamedExecution', () => {
  it('starts the execution under the given name with the input as JSON', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date() });
    const input = { build: { repository: 'abalone' }, config: null, failure: null };

    await startNamedExecution(STATE_MACHINE_ARN, NAME, input);

    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: STATE_MACHINE_ARN, name: NAME, input: JSON.stringify(input) });
  });

  it('reports a started execution with the ARN Step Functions returned', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date() });

    await expect(startNamedExecution(STATE_MACHINE_ARN, NAME, {})).resolves.toEqual({ started: true, executionArn: EXECUTION_ARN });
  });

  it('on ExecutionAlreadyExists reports not started, with the execution ARN built from the state machine ARN', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: `Execution Already Exists: '${EXECUTION_ARN}'`, $metadata: {} }));

    await expect(startNamedExecution(STATE_MACHINE_ARN, NAME, {})).resolves.toEqual({ started: false, executionArn: EXECUTION_ARN });
  });

  it('throws RetryableError when Step Functions throttles', async () => {
    sfn.on(StartExecutionCommand).rejects(throttling());

    await expect(startNamedExecution(STATE_MACHINE_ARN, NAME, {})).rejects.toThrow(RetryableError);
  });

  it('passes a missing state machine through unchanged, as terminal', async () => {
    const missing = new StateMachineDoesNotExist({ message: 'State Machine Does Not Exist', $metadata: {} });
    sfn.on(StartExecutionCommand).rejects(missing);

    await expect(startNamedExecution(STATE_MACHINE_ARN, NAME, {})).rejects.toBe(missing);
  });
});

describe('completeTask', () => {
  it('sends the output as JSON and returns true', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});

    await expect(completeTask(TOKEN, { jobName: 'abalone-train-1' })).resolves.toBe(true);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TOKEN, output: '{"jobName":"abalone-train-1"}' });
  });

  it.each(SETTLED)('returns false when the token is already settled (%s)', async (_name, settled) => {
    sfn.on(SendTaskSuccessCommand).rejects(settled());

    await expect(completeTask(TOKEN, {})).resolves.toBe(false);
  });

  it('throws RetryableError when Step Functions throttles', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(throttling());

    await expect(completeTask(TOKEN, {})).rejects.toThrow(RetryableError);
  });
});

describe('failTask', () => {
  it('sends the error name and cause and returns true', async () => {
    sfn.on(SendTaskFailureCommand).resolves({});

    await expect(failTask(TOKEN, 'SageMakerJobFailed', 'training job failed: AlgorithmError')).resolves.toBe(true);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: TOKEN, error: 'SageMakerJobFailed', cause: 'training job failed: AlgorithmError' });
  });

  it('truncates the error to 256 and the cause to 32768 characters, the API limits', async () => {
    sfn.on(SendTaskFailureCommand).resolves({});

    await failTask(TOKEN, 'E'.repeat(300), 'c'.repeat(40_000));

    const sent = sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input;
    expect(sent?.error).toHaveLength(256);
    expect(sent?.cause).toHaveLength(32_768);
  });

  it.each(SETTLED)('returns false when the token is already settled (%s)', async (_name, settled) => {
    sfn.on(SendTaskFailureCommand).rejects(settled());

    await expect(failTask(TOKEN, 'SageMakerJobFailed', 'cause')).resolves.toBe(false);
  });

  it('throws RetryableError when Step Functions throttles', async () => {
    sfn.on(SendTaskFailureCommand).rejects(throttling());

    await expect(failTask(TOKEN, 'SageMakerJobFailed', 'cause')).rejects.toThrow(RetryableError);
  });
});
