import {
  CreateStateMachineCommand,
  ExecutionAlreadyExists,
  ExecutionStatus,
  InvalidToken,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineAlreadyExists,
  StateMachineDoesNotExist,
  TaskDoesNotExist,
  TaskTimedOut,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

import { completeTask, ensureStateMachine, errorLogging, failTask, listExecutionsStoppedSince, listRedrivenExecutions, listStateMachinesByPrefix, startNamedExecution } from '../../../shared/aws/sfn';
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

describe('listStateMachinesByPrefix', () => {
  const machine = (name: string) => ({ stateMachineArn: `arn:aws:states:us-east-1:123456789012:stateMachine:${name}`, name, type: 'STANDARD' as const, creationDate: new Date('2026-11-01T00:00:00Z') });

  it('reads every page and keeps the machines named with the prefix', async () => {
    sfn
      .on(ListStateMachinesCommand)
      .resolvesOnce({ stateMachines: [machine('sluice-test-build-abalone-1a2b3c4d'), machine('other-team-etl')], nextToken: 'page-2' })
      .resolvesOnce({ stateMachines: [machine('sluice-test-build-rejected'), machine('sluice-prod-build-abalone-1a2b3c4d')] });

    const found = await listStateMachinesByPrefix('sluice-test-build-');

    expect(found.map((m) => m.name)).toEqual(['sluice-test-build-abalone-1a2b3c4d', 'sluice-test-build-rejected']);
    expect(sfn.commandCalls(ListStateMachinesCommand).map((call) => call.args[0].input.nextToken)).toEqual([undefined, 'page-2']);
  });

  it('throws RetryableError when Step Functions throttles', async () => {
    sfn.on(ListStateMachinesCommand).rejects(throttling());

    await expect(listStateMachinesByPrefix('sluice-test-build-')).rejects.toThrow(RetryableError);
  });
});

describe('listExecutionsStoppedSince', () => {
  const since = new Date('2026-11-23T12:00:00Z');
  const execution = (name: string, stopDate: string) => ({ executionArn: `${EXECUTION_ARN}-${name}`, stateMachineArn: STATE_MACHINE_ARN, name, status: ExecutionStatus.FAILED, startDate: new Date(Date.parse(stopDate) - 3_600_000), stopDate: new Date(stopDate) });

  it('lists the status asked for, page by page, up to the first execution that stopped before the bound', async () => {
    sfn
      .on(ListExecutionsCommand)
      .resolvesOnce({ executions: [execution('a', '2026-11-24T10:00:00Z')], nextToken: 'page-2' })
      .resolvesOnce({ executions: [execution('b', '2026-11-23T13:00:00Z'), execution('c', '2026-11-23T11:00:00Z'), execution('d', '2026-11-23T14:00:00Z')], nextToken: 'page-3' });

    const found = await listExecutionsStoppedSince(STATE_MACHINE_ARN, ExecutionStatus.FAILED, since);

    expect(found.map((e) => e.name)).toEqual(['a', 'b']);
    expect(sfn.commandCalls(ListExecutionsCommand).map((call) => call.args[0].input)).toEqual([
      { stateMachineArn: STATE_MACHINE_ARN, statusFilter: 'FAILED', maxResults: 1000, nextToken: undefined },
      { stateMachineArn: STATE_MACHINE_ARN, statusFilter: 'FAILED', maxResults: 1000, nextToken: 'page-2' },
    ]);
  });

  it('throws RetryableError when Step Functions throttles', async () => {
    sfn.on(ListExecutionsCommand).rejects(throttling());

    await expect(listExecutionsStoppedSince(STATE_MACHINE_ARN, ExecutionStatus.FAILED, since)).rejects.toThrow(RetryableError);
  });
});

describe('listRedrivenExecutions', () => {
  it('lists every page of the redriven executions, whatever their dates', async () => {
    const redriven = (name: string) => ({ executionArn: `${EXECUTION_ARN}-${name}`, stateMachineArn: STATE_MACHINE_ARN, name, status: ExecutionStatus.FAILED, startDate: new Date('2026-01-01T00:00:00Z'), redriveCount: 1 });
    sfn.on(ListExecutionsCommand).resolvesOnce({ executions: [redriven('a')], nextToken: 'page-2' }).resolvesOnce({ executions: [redriven('b')] });

    const found = await listRedrivenExecutions(STATE_MACHINE_ARN);

    expect(found.map((e) => e.name)).toEqual(['a', 'b']);
    expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: STATE_MACHINE_ARN, redriveFilter: 'REDRIVEN' });
  });
});

describe('ensureStateMachine', () => {
  const ROLE = 'arn:aws:iam::123456789012:role/sluice-test-pipeline';
  const MACHINE = 'sluice-test-build-abalone-0a1b2c3d';
  const MACHINE_ARN = `arn:aws:states:${process.env.AWS_REGION}:123456789012:stateMachine:${MACHINE}`;
  const LOGGING = errorLogging('arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/sluice-test-builds:*');
  const alreadyExists = () => new StateMachineAlreadyExists({ message: `State Machine Already Exists: '${MACHINE_ARN}'`, $metadata: {} });

  // https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html: idempotent for the same name, definition, type and LoggingConfiguration.
  it('creates a STANDARD machine with the logging configuration and returns its ARN', async () => {
    sfn.on(CreateStateMachineCommand).resolves({ stateMachineArn: MACHINE_ARN, creationDate: new Date() });

    await expect(ensureStateMachine(MACHINE, { StartAt: 'A' }, ROLE, [], LOGGING)).resolves.toBe(MACHINE_ARN);
    expect(sfn).toHaveReceivedCommandWith(CreateStateMachineCommand, { name: MACHINE, type: 'STANDARD', roleArn: ROLE, loggingConfiguration: LOGGING });
    expect(sfn).not.toHaveReceivedCommand(UpdateStateMachineCommand);
  });

  it('turns on the logging of a same-named machine created without it (StateMachineAlreadyExists), then finds it (API_CreateStateMachine)', async () => {
    sfn.on(CreateStateMachineCommand).rejectsOnce(alreadyExists()).resolves({ stateMachineArn: MACHINE_ARN, creationDate: new Date() });
    sfn.on(UpdateStateMachineCommand).resolves({ updateDate: new Date() });

    await expect(ensureStateMachine(MACHINE, { StartAt: 'A' }, ROLE, [], LOGGING)).resolves.toBe(MACHINE_ARN);
    expect(sfn).toHaveReceivedCommandWith(UpdateStateMachineCommand, { stateMachineArn: MACHINE_ARN, loggingConfiguration: LOGGING });
    expect(sfn.commandCalls(UpdateStateMachineCommand)[0]!.args[0].input).not.toHaveProperty('definition');
    expect(sfn).toHaveReceivedCommandTimes(CreateStateMachineCommand, 2);
  });

  it('rethrows StateMachineAlreadyExists when the machine still differs after its logging is updated (another definition)', async () => {
    sfn.on(CreateStateMachineCommand).rejects(alreadyExists());
    sfn.on(UpdateStateMachineCommand).resolves({ updateDate: new Date() });

    await expect(ensureStateMachine(MACHINE, { StartAt: 'A' }, ROLE, [], LOGGING)).rejects.toThrow(expect.objectContaining({ name: 'StateMachineAlreadyExists' }));
  });

  it('rejects with RetryableError when CreateStateMachine is throttled', async () => {
    sfn.on(CreateStateMachineCommand).rejects(throttling());

    await expect(ensureStateMachine(MACHINE, { StartAt: 'A' }, ROLE, [], LOGGING)).rejects.toThrow(RetryableError);
  });
});
