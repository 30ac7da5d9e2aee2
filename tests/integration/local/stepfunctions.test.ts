/**
 * The local Step Functions emulator: the API operations as the SDK sees them, task integrations
 * resolved by ARN, task tokens, timeouts, durable executions, state machines created at runtime
 * and RedriveExecution. Everything runs in-process against fake Lambda / EventBridge functions;
 * no network except a loopback HTTP server for the SDK tests.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  ValidateStateMachineDefinitionCommand,
} from '@aws-sdk/client-sfn';

import type { StateMachineSpec } from '../../../local/cloudformation/template';
import type { LocalEventEntry } from '../../../local/context';
import { AwsServiceError, readBody, serveAwsJson } from '../../../local/http/aws-json';
import { FunctionError } from '../../../local/lambda/runner';
import { storeKey } from '../../../local/stepfunctions/names';
import { createStepFunctionsService, type StepFunctionsOptions, type StepFunctionsService } from '../../../local/stepfunctions/service';
import { serviceContext } from '../../helpers/service-context';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:worker`;

type Json = Record<string, unknown>;

interface LambdaCall {
  functionName: string;
  payload: Json;
}

interface Harness {
  service: StepFunctionsService;
  dataDir: string;
  lambdaCalls: LambdaCall[];
  putEventsCalls: Record<string, unknown>[][];
  published: LocalEventEntry[];
  call(operation: string, input: Json): Promise<Json>;
  startExecution(machine: StateMachineSpec, input: unknown, name?: string): Promise<string>;
  waitForStatus(executionArn: string, status?: string): Promise<Json>;
  history(executionArn: string): Promise<Json[]>;
  /** Resolves with the nth (0-based) Lambda call once it has happened. */
  lambdaCall(index: number): Promise<LambdaCall>;
  reopen(): Harness;
}

const dirs: string[] = [];
const services: StepFunctionsService[] = [];

afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function machine(name: string, definition: Json, roleArn = `arn:aws:iam::${ACCOUNT}:role/${name}`): StateMachineSpec {
  return { logicalId: name, name, arn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`, definition, roleArn };
}

async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

type Fakes = Partial<Pick<StepFunctionsOptions, 'invokeLambda' | 'putEvents' | 'callService'>>;

function harness(stateMachines: StateMachineSpec[], fakes: Fakes = {}, dataDir = mkdtempSync(join(tmpdir(), 'sluice-sfn-'))): Harness {
  if (!dirs.includes(dataDir)) dirs.push(dataDir);
  const lambdaCalls: LambdaCall[] = [];
  const putEventsCalls: Record<string, unknown>[][] = [];
  const published: LocalEventEntry[] = [];
  const ctx = serviceContext(dataDir, published);
  const service = createStepFunctionsService(ctx, {
    stateMachines,
    invokeLambda: async (functionName, payload) => {
      lambdaCalls.push({ functionName, payload: payload as Json });
      return fakes.invokeLambda ? fakes.invokeLambda(functionName, payload) : { ok: true };
    },
    putEvents: async (entries) => {
      putEventsCalls.push(entries);
      return fakes.putEvents ? fakes.putEvents(entries) : { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `event-${i}` })) };
    },
    callService: fakes.callService,
  });
  services.push(service);
  const call = async (operation: string, input: Json) => (await service.operations[operation]!(input)) as Json;
  const self: Harness = {
    service,
    dataDir,
    lambdaCalls,
    putEventsCalls,
    published,
    call,
    startExecution: async (spec, input, name) => (await call('StartExecution', { stateMachineArn: spec.arn, name, input: JSON.stringify(input) })).executionArn as string,
    waitForStatus: (executionArn, status) =>
      eventually(async () => {
        const described = await call('DescribeExecution', { executionArn });
        return (status === undefined ? described.status !== 'RUNNING' : described.status === status) ? described : undefined;
      }, `execution ${status ?? 'end'}`),
    history: async (executionArn) => (await call('GetExecutionHistory', { executionArn, maxResults: 1000 })).events as Json[],
    lambdaCall: (index) => eventually(() => lambdaCalls[index], `Lambda call #${index}`),
    reopen: () => harness(stateMachines, fakes, dataDir),
  };
  return self;
}

function eventTypes(events: Json[]): string[] {
  return events.map((event) => event.type as string);
}

const PASS_CHOICE = machine('pass-choice', {
  StartAt: 'Greet',
  States: {
    Greet: { Type: 'Pass', Parameters: { 'greeting.$': "States.Format('hello {}', $.who)", 'execution.$': '$$.Execution.Name' }, Next: 'Route' },
    Route: { Type: 'Choice', Choices: [{ Variable: '$.greeting', StringEquals: 'hello world', Next: 'Done' }], Default: 'Refused' },
    Refused: { Type: 'Fail', Error: 'NotTheWorld', Cause: 'only the world is greeted' },
    Done: { Type: 'Succeed' },
  },
});

const WAIT_FOR_TOKEN = machine('wait-for-token', {
  StartAt: 'Job',
  States: {
    Job: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: FUNCTION_ARN, Payload: { 'token.$': '$$.Task.Token', 'step.$': '$.step' } },
      TimeoutSecondsPath: '$.timeout',
      Retry: [{ ErrorEquals: ['JobThrottled'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 1, JitterStrategy: 'FULL' }],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Failed' }],
      ResultPath: '$.job',
      End: true,
    },
    Failed: { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' },
  },
});

/** The token the nth Lambda call of a WAIT_FOR_TOKEN execution received. */
async function tokenOf(h: Harness, index: number): Promise<string> {
  return (await h.lambdaCall(index)).payload.token as string;
}

describe('state machines', () => {
  it('lists and describes the template state machines with their definition', async () => {
    const h = harness([PASS_CHOICE, WAIT_FOR_TOKEN]);
    const listed = await h.call('ListStateMachines', {});
    expect((listed.stateMachines as Json[]).map((item) => item.name)).toEqual(['pass-choice', 'wait-for-token']);
    const described = await h.call('DescribeStateMachine', { stateMachineArn: PASS_CHOICE.arn });
    expect(described).toMatchObject({ name: 'pass-choice', status: 'ACTIVE', type: 'STANDARD', roleArn: PASS_CHOICE.roleArn });
    expect(JSON.parse(described.definition as string)).toEqual(PASS_CHOICE.definition);
  });

  it('answers StateMachineDoesNotExist for an unknown machine and InvalidArn for a malformed one', async () => {
    const h = harness([PASS_CHOICE]);
    await expect(h.call('DescribeStateMachine', { stateMachineArn: `${PASS_CHOICE.arn}-missing` })).rejects.toThrow(expect.objectContaining({ name: 'StateMachineDoesNotExist' }));
    await expect(h.call('StartExecution', { stateMachineArn: 'not-an-arn' })).rejects.toThrow(expect.objectContaining({ name: 'InvalidArn' }));
  });

  it('refuses to build an invalid definition, as a deployment would fail', () => {
    expect(() => harness([machine('broken', { StartAt: 'Nowhere', States: { Here: { Type: 'Succeed' } } })])).toThrow(/broken/);
  });
});

describe('executions', () => {
  it('runs Pass, Choice and Succeed with intrinsics and the context object, and records entered/exited events', async () => {
    const h = harness([PASS_CHOICE]);
    const arn = await h.startExecution(PASS_CHOICE, { who: 'world' }, 'greet-1');
    expect(arn).toBe(`arn:aws:states:${REGION}:${ACCOUNT}:execution:pass-choice:greet-1`);
    const described = await h.waitForStatus(arn, 'SUCCEEDED');
    expect(JSON.parse(described.output as string)).toEqual({ greeting: 'hello world', execution: 'greet-1' });
    expect(described.stopDate).toEqual(expect.any(Number));

    const events = await h.history(arn);
    expect(eventTypes(events)).toEqual([
      'ExecutionStarted',
      'PassStateEntered',
      'PassStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events.map((event) => event.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events.map((event) => event.previousEventId)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(events[0]).toMatchObject({ executionStartedEventDetails: { input: '{"who":"world"}', roleArn: PASS_CHOICE.roleArn } });
    expect(events[1]).toMatchObject({ stateEnteredEventDetails: { name: 'Greet', input: '{"who":"world"}' } });
    expect(events[7]).toMatchObject({ executionSucceededEventDetails: { output: described.output } });
  });

  it('publishes Step Functions Execution Status Change events for the start and the end', async () => {
    const h = harness([PASS_CHOICE]);
    const arn = await h.startExecution(PASS_CHOICE, { who: 'world' });
    await h.waitForStatus(arn, 'SUCCEEDED');
    const changes = h.published.filter((entry) => entry.Source === 'aws.states' && entry.DetailType === 'Step Functions Execution Status Change');
    expect(changes.map((entry) => entry.Detail.status)).toEqual(['RUNNING', 'SUCCEEDED']);
    expect(changes[1]!.Detail).toMatchObject({ executionArn: arn, stateMachineArn: PASS_CHOICE.arn, output: '{"greeting":"hello world","execution":' + JSON.stringify(arn.split(':').at(-1)) + '}' });
  });

  it('fails with the Fail state error and cause, ending the history with FailStateEntered and ExecutionFailed', async () => {
    const h = harness([PASS_CHOICE]);
    const arn = await h.startExecution(PASS_CHOICE, { who: 'moon' });
    const described = await h.waitForStatus(arn, 'FAILED');
    expect(described).toMatchObject({ error: 'NotTheWorld', cause: 'only the world is greeted' });
    const types = eventTypes(await h.history(arn));
    expect(types.slice(-2)).toEqual(['FailStateEntered', 'ExecutionFailed']);
  });

  it('returns the running execution for a repeated StartExecution with the same name and input', async () => {
    const h = harness([WAIT_FOR_TOKEN]);
    const first = await h.call('StartExecution', { stateMachineArn: WAIT_FOR_TOKEN.arn, name: 'same', input: '{"step":"a","timeout":60}' });
    const again = await h.call('StartExecution', { stateMachineArn: WAIT_FOR_TOKEN.arn, name: 'same', input: '{"step":"a","timeout":60}' });
    expect(again).toEqual(first);
    const listed = await h.call('ListExecutions', { stateMachineArn: WAIT_FOR_TOKEN.arn });
    expect(listed.executions).toHaveLength(1);
  });

  it('answers ExecutionAlreadyExists for the same name with another input, or once the execution has ended', async () => {
    const h = harness([PASS_CHOICE, WAIT_FOR_TOKEN]);
    await h.call('StartExecution', { stateMachineArn: WAIT_FOR_TOKEN.arn, name: 'taken', input: '{"step":"a","timeout":60}' });
    await expect(h.call('StartExecution', { stateMachineArn: WAIT_FOR_TOKEN.arn, name: 'taken', input: '{"step":"b","timeout":60}' })).rejects.toThrow(
      expect.objectContaining({ name: 'ExecutionAlreadyExists' }),
    );
    const arn = await h.startExecution(PASS_CHOICE, { who: 'world' }, 'done');
    await h.waitForStatus(arn);
    await expect(h.startExecution(PASS_CHOICE, { who: 'world' }, 'done')).rejects.toThrow(expect.objectContaining({ name: 'ExecutionAlreadyExists' }));
  });

  it('validates execution names and inputs', async () => {
    const h = harness([PASS_CHOICE]);
    await expect(h.call('StartExecution', { stateMachineArn: PASS_CHOICE.arn, name: 'has space' })).rejects.toThrow(expect.objectContaining({ name: 'InvalidName' }));
    await expect(h.call('StartExecution', { stateMachineArn: PASS_CHOICE.arn, name: 'x'.repeat(81) })).rejects.toThrow(expect.objectContaining({ name: 'InvalidName' }));
    await expect(h.call('StartExecution', { stateMachineArn: PASS_CHOICE.arn, input: '{not json' })).rejects.toThrow(expect.objectContaining({ name: 'InvalidExecutionInput' }));
  });

  it('lists executions newest first and filters by status', async () => {
    const h = harness([PASS_CHOICE]);
    const older = await h.startExecution(PASS_CHOICE, { who: 'world' }, 'older');
    await h.waitForStatus(older);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const newer = await h.startExecution(PASS_CHOICE, { who: 'moon' }, 'newer');
    await h.waitForStatus(newer);
    const all = (await h.call('ListExecutions', { stateMachineArn: PASS_CHOICE.arn })).executions as Json[];
    expect(all.map((item) => item.name)).toEqual(['newer', 'older']);
    const failed = (await h.call('ListExecutions', { stateMachineArn: PASS_CHOICE.arn, statusFilter: 'FAILED' })).executions as Json[];
    expect(failed.map((item) => item.name)).toEqual(['newer']);
  });

  it('runs Tasks inside Map and Parallel states through the same integrations', async () => {
    const nested = machine('nested', {
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          ItemProcessor: {
            ProcessorConfig: { Mode: 'INLINE' },
            StartAt: 'Double',
            States: { Double: { Type: 'Task', Resource: FUNCTION_ARN, End: true } },
          },
          ResultPath: '$.doubled',
          Next: 'Both',
        },
        Both: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'Left', States: { Left: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: FUNCTION_ARN, Payload: 1 }, OutputPath: '$.Payload', End: true } } },
            { StartAt: 'Right', States: { Right: { Type: 'Pass', Result: 'right', End: true } } },
          ],
          ResultPath: '$.both',
          End: true,
        },
      },
    });
    const h = harness([nested], { invokeLambda: async (_name, payload) => (payload as number) * 2 });
    const arn = await h.startExecution(nested, { items: [1, 2, 3] });
    const output = JSON.parse((await h.waitForStatus(arn, 'SUCCEEDED')).output as string);
    expect(output).toEqual({ items: [1, 2, 3], doubled: [2, 4, 6], both: [2, 'right'] });
    const events = await h.history(arn);
    const types = eventTypes(events);
    expect(types).toEqual(expect.arrayContaining(['MapStateEntered', 'MapIterationStarted', 'MapIterationSucceeded', 'MapStateExited', 'ParallelStateEntered', 'ParallelStateExited']));
    // As on AWS: the Map starts over its items' count, then its iterations, then it succeeds and exits.
    const mapTypes = types.filter((type) => type.startsWith('Map'));
    expect([mapTypes.slice(0, 2), mapTypes.slice(-2)]).toEqual([
      ['MapStateEntered', 'MapStateStarted'],
      ['MapStateSucceeded', 'MapStateExited'],
    ]);
    expect(events.find((event) => event.type === 'MapStateStarted')?.mapStateStartedEventDetails).toEqual({ length: 3 });
  });

  it('puts a Pass Result of 0 or false at its ResultPath', async () => {
    const falsy = machine('falsy', {
      StartAt: 'Zero',
      States: {
        Zero: { Type: 'Pass', Result: 0, ResultPath: '$.zero', Next: 'False' },
        False: { Type: 'Pass', Result: false, ResultPath: '$.no', End: true },
      },
    });
    const h = harness([falsy]);
    const output = JSON.parse((await h.waitForStatus(await h.startExecution(falsy, { a: 1 }), 'SUCCEEDED')).output as string);
    expect(output).toEqual({ a: 1, zero: 0, no: false });
  });

  it('leaves error and cause empty when the Fail state names none', async () => {
    const bare = machine('bare-fail', { StartAt: 'Stop', States: { Stop: { Type: 'Fail' } } });
    const h = harness([bare]);
    const described = await h.waitForStatus(await h.startExecution(bare, {}), 'FAILED');
    expect(described.error).toBeUndefined();
    expect(described.cause).toBeUndefined();
  });

  it('ends TIMED_OUT when the execution outlives the top-level TimeoutSeconds', async () => {
    const slow = machine('slow', {
      TimeoutSeconds: 1,
      StartAt: 'Job',
      States: { Job: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken', Parameters: { FunctionName: FUNCTION_ARN, Payload: { 'token.$': '$$.Task.Token' } }, End: true } },
    });
    const h = harness([slow]);
    const arn = await h.startExecution(slow, {});
    const token = await tokenOf(h, 0);
    expect(await h.waitForStatus(arn, 'TIMED_OUT')).toMatchObject({ error: 'States.Timeout' });
    expect(eventTypes(await h.history(arn)).at(-1)).toBe('ExecutionTimedOut');
    await expect(h.call('SendTaskSuccess', { taskToken: token, output: '{}' })).rejects.toThrow(expect.objectContaining({ name: 'TaskDoesNotExist' }));
  });

  it('fails with an uncatchable States.DataLimitExceeded when a state passes on more than 256 KiB, as Step Functions does', async () => {
    const big = machine('big', {
      StartAt: 'Grow',
      States: {
        Grow: { Type: 'Pass', Result: { blob: 'x'.repeat(256 * 1024) }, Next: 'After' },
        After: { Type: 'Pass', End: true },
      },
    });
    const fits = machine('fits', { StartAt: 'Grow', States: { Grow: { Type: 'Pass', Result: { blob: 'x'.repeat(256 * 1024 - 20) }, End: true } } });
    // A task's result over the quota is not caught by States.ALL.
    const caught = machine('caught', {
      StartAt: 'Call',
      States: { Call: { Type: 'Task', Resource: FUNCTION_ARN, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Handled' }], End: true }, Handled: { Type: 'Pass', End: true } },
    });
    const h = harness([big, fits, caught], { invokeLambda: async () => ({ blob: 'y'.repeat(300 * 1024) }) });

    const failed = await h.waitForStatus(await h.startExecution(big, {}), 'FAILED');
    const succeeded = await h.waitForStatus(await h.startExecution(fits, {}), 'SUCCEEDED');
    const uncaught = await h.waitForStatus(await h.startExecution(caught, {}), 'FAILED');

    expect(failed).toMatchObject({ error: 'States.DataLimitExceeded', cause: "The state/task 'Grow' returned a result with a size exceeding the maximum number of bytes service limit." });
    expect(eventTypes(await h.history(failed.executionArn as string))).toEqual(['ExecutionStarted', 'PassStateEntered', 'ExecutionFailed']);
    expect(Buffer.byteLength(succeeded.output as string)).toBe(256 * 1024 - 20 + '{"blob":""}'.length);
    expect(uncaught).toMatchObject({ error: 'States.DataLimitExceeded', cause: "The state/task 'Call' returned a result with a size exceeding the maximum number of bytes service limit." });
    expect(eventTypes(await h.history(uncaught.executionArn as string))).not.toContain('PassStateEntered');
  });

  it('answers ExecutionDoesNotExist for an unknown execution', async () => {
    const h = harness([PASS_CHOICE]);
    await expect(h.call('DescribeExecution', { executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:pass-choice:nope` })).rejects.toThrow(
      expect.objectContaining({ name: 'ExecutionDoesNotExist' }),
    );
  });
});

describe('task integrations', () => {
  const lambdaMachine = machine('lambda-invoke', {
    StartAt: 'Invoke',
    States: {
      Invoke: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { FunctionName: FUNCTION_ARN, 'Payload.$': '$' },
        Catch: [{ ErrorEquals: ['ModelNotFound'], ResultPath: '$.failure', Next: 'Caught' }],
        End: true,
      },
      Caught: { Type: 'Pass', End: true },
    },
  });

  it('invokes lambda:invoke with FunctionName and Payload and returns the Invoke response shape', async () => {
    const h = harness([lambdaMachine], { invokeLambda: async () => ({ answer: 42 }) });
    const arn = await h.startExecution(lambdaMachine, { question: 'six by nine' });
    const output = JSON.parse((await h.waitForStatus(arn, 'SUCCEEDED')).output as string);
    expect(h.lambdaCalls).toEqual([{ functionName: FUNCTION_ARN, payload: { question: 'six by nine' } }]);
    expect(output).toMatchObject({ ExecutedVersion: '$LATEST', Payload: { answer: 42 }, StatusCode: 200, SdkHttpMetadata: { HttpStatusCode: 200 } });
    const types = eventTypes(await h.history(arn));
    expect(types).toEqual(['ExecutionStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSucceeded', 'TaskStateExited', 'ExecutionSucceeded']);
  });

  it('names a function error after its errorType so Catch matches it, with {Error, Cause} as the catch output', async () => {
    const h = harness([lambdaMachine], {
      invokeLambda: async () => {
        throw new FunctionError('ModelNotFound', 'no model abalone');
      },
    });
    const arn = await h.startExecution(lambdaMachine, {});
    const output = JSON.parse((await h.waitForStatus(arn, 'SUCCEEDED')).output as string);
    expect(output.failure.Error).toBe('ModelNotFound');
    expect(JSON.parse(output.failure.Cause)).toEqual({ errorType: 'ModelNotFound', errorMessage: 'no model abalone' });
    const failed = (await h.history(arn)).find((event) => event.type === 'TaskFailed');
    expect(failed).toMatchObject({ taskFailedEventDetails: { resourceType: 'lambda', resource: 'invoke', error: 'ModelNotFound' } });
  });

  it('reports a Lambda service failure as Lambda.<Code>', async () => {
    const h = harness([lambdaMachine], {
      invokeLambda: async () => {
        throw new AwsServiceError('ResourceNotFoundException', 'Function not found', 404);
      },
    });
    const arn = await h.startExecution(lambdaMachine, {});
    expect(await h.waitForStatus(arn, 'FAILED')).toMatchObject({ error: 'Lambda.ResourceNotFoundException', cause: 'Function not found' });
  });

  it('calls a bare Lambda function ARN with the state input and records LambdaFunction events', async () => {
    const bare = machine('bare-lambda', { StartAt: 'Call', States: { Call: { Type: 'Task', Resource: FUNCTION_ARN, End: true } } });
    const h = harness([bare], { invokeLambda: async (_name, payload) => ({ echoed: payload }) });
    const arn = await h.startExecution(bare, { a: 1 });
    expect(JSON.parse((await h.waitForStatus(arn, 'SUCCEEDED')).output as string)).toEqual({ echoed: { a: 1 } });
    expect(eventTypes(await h.history(arn))).toEqual(expect.arrayContaining(['LambdaFunctionScheduled', 'LambdaFunctionStarted', 'LambdaFunctionSucceeded']));
  });

  const publish = machine('publish', {
    StartAt: 'Publish',
    States: {
      Publish: {
        Type: 'Task',
        Resource: 'arn:aws:states:::events:putEvents',
        Parameters: { Entries: [{ EventBusName: 'bus', Source: 'sluice', DetailType: 'Thing Happened', Detail: { 'id.$': '$.id' } }] },
        End: true,
      },
    },
  });

  it('sends putEvents entries with Detail serialized to JSON', async () => {
    const h = harness([publish]);
    const arn = await h.startExecution(publish, { id: 'x-1' });
    const output = JSON.parse((await h.waitForStatus(arn, 'SUCCEEDED')).output as string);
    expect(h.putEventsCalls).toEqual([[{ EventBusName: 'bus', Source: 'sluice', DetailType: 'Thing Happened', Detail: '{"id":"x-1"}' }]]);
    expect(output).toEqual({ FailedEntryCount: 0, Entries: [{ EventId: 'event-0' }] });
  });

  it('fails putEvents with EventBridge.FailedEntry when FailedEntryCount > 0', async () => {
    const h = harness([publish], { putEvents: async () => ({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }] }) });
    const arn = await h.startExecution(publish, { id: 'x-1' });
    const described = await h.waitForStatus(arn, 'FAILED');
    expect(described.error).toBe('EventBridge.FailedEntry');
    expect(described.cause).toContain('InternalFailure');
  });

  it('routes aws-sdk tasks to callService and names their errors <Service>.<Code>', async () => {
    const sdk = machine('sdk', {
      StartAt: 'Describe',
      States: {
        Describe: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:sagemaker:describeTrainingJob',
          Parameters: { 'TrainingJobName.$': '$.job' },
          Catch: [{ ErrorEquals: ['SageMaker.ResourceNotFound'], Next: 'Missing' }],
          End: true,
        },
        Missing: { Type: 'Pass', Result: 'missing', End: true },
      },
    });
    const calls: unknown[] = [];
    const h = harness([sdk], {
      callService: async (service, action, parameters) => {
        calls.push({ service, action, parameters });
        if (parameters.TrainingJobName === 'ghost') throw new AwsServiceError('ResourceNotFound', 'Requested resource not found');
        return { TrainingJobStatus: 'Completed' };
      },
    });
    const found = await h.startExecution(sdk, { job: 'real' });
    expect(JSON.parse((await h.waitForStatus(found, 'SUCCEEDED')).output as string)).toEqual({ TrainingJobStatus: 'Completed' });
    expect(calls[0]).toEqual({ service: 'sagemaker', action: 'DescribeTrainingJob', parameters: { TrainingJobName: 'real' } });
    const missing = await h.startExecution(sdk, { job: 'ghost' });
    expect(JSON.parse((await h.waitForStatus(missing, 'SUCCEEDED')).output as string)).toBe('missing');
  });
  it('fails the execution with an uncatchable States.Runtime for a resource the local runtime cannot run', async () => {
    const sync = machine('sync', {
      StartAt: 'Train',
      States: {
        Train: { Type: 'Task', Resource: 'arn:aws:states:::sagemaker:createTrainingJob.sync', Parameters: {}, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }], End: true },
        Caught: { Type: 'Succeed' },
      },
    });
    const h = harness([sync], { callService: async () => ({}) });
    const described = await h.waitForStatus(await h.startExecution(sync, {}), 'FAILED');
    expect(described.error).toBe('States.Runtime');
    expect(described.cause).toMatch(/\.sync/);
  });
});

describe('task tokens', () => {
  it('gives the task a token in its payload and resumes it with SendTaskSuccess output', async () => {
    const h = harness([WAIT_FOR_TOKEN], { invokeLambda: async () => ({ accepted: true }) });
    const arn = await h.startExecution(WAIT_FOR_TOKEN, { step: 'train', timeout: 60 });
    const token = await tokenOf(h, 0);
    expect(token).toMatch(/^AQ/);
    expect((await h.call('DescribeExecution', { executionArn: arn })).status).toBe('RUNNING');
    await h.call('SendTaskSuccess', { taskToken: token, output: JSON.stringify({ model: 's3://bucket/model.tar.gz' }) });
    const described = await h.waitForStatus(arn, 'SUCCEEDED');
    expect(JSON.parse(described.output as string).job).toEqual({ model: 's3://bucket/model.tar.gz' });
    const types = eventTypes(await h.history(arn));
    expect(types).toEqual(['ExecutionStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSubmitted', 'TaskSucceeded', 'TaskStateExited', 'ExecutionSucceeded']);
  });

  it('fails the task with the SendTaskFailure error, which Catch routes to the Fail state', async () => {
    const h = harness([WAIT_FOR_TOKEN]);
    const arn = await h.startExecution(WAIT_FOR_TOKEN, { step: 'train', timeout: 60 });
    await h.call('SendTaskFailure', { taskToken: await tokenOf(h, 0), error: 'SageMakerJobFailed', cause: 'AlgorithmError: out of memory' });
    expect(await h.waitForStatus(arn, 'FAILED')).toMatchObject({ error: 'SageMakerJobFailed', cause: 'AlgorithmError: out of memory' });
  });

  it('issues a fresh token to each attempt when Retry runs the task again', async () => {
    const h = harness([WAIT_FOR_TOKEN]);
    const arn = await h.startExecution(WAIT_FOR_TOKEN, { step: 'train', timeout: 60 });
    const first = await tokenOf(h, 0);
    await h.call('SendTaskFailure', { taskToken: first, error: 'JobThrottled', cause: 'slow down' });
    const second = await tokenOf(h, 1);
    expect(second).not.toBe(first);
    await expect(h.call('SendTaskSuccess', { taskToken: first, output: '{}' })).rejects.toThrow(expect.objectContaining({ name: 'TaskDoesNotExist' }));
    await h.call('SendTaskSuccess', { taskToken: second, output: '{"ok":true}' });
    await h.waitForStatus(arn, 'SUCCEEDED');
    const scheduled = eventTypes(await h.history(arn)).filter((type) => type === 'TaskScheduled');
    expect(scheduled).toHaveLength(2);
  });

  it('times the task out with States.Timeout after TimeoutSecondsPath, read from the state input', async () => {
    const h = harness([WAIT_FOR_TOKEN]);
    const arn = await h.startExecution(WAIT_FOR_TOKEN, { step: 'train', timeout: 1 });
    const token = await tokenOf(h, 0);
    expect(await h.waitForStatus(arn, 'FAILED')).toMatchObject({ error: 'States.Timeout' });
    const timedOut = (await h.history(arn)).find((event) => event.type === 'TaskTimedOut');
    expect(timedOut).toMatchObject({ taskTimedOutEventDetails: { error: 'States.Timeout' } });
    const scheduled = (await h.history(arn)).find((event) => event.type === 'TaskScheduled');
    expect(scheduled).toMatchObject({ taskScheduledEventDetails: { timeoutInSeconds: 1 } });
    await expect(h.call('SendTaskSuccess', { taskToken: token, output: '{}' })).rejects.toThrow(expect.objectContaining({ name: 'TaskTimedOut' }));
  });

  it('fails with States.HeartbeatTimeout when no heartbeat arrives within HeartbeatSeconds, and heartbeats keep the task alive', async () => {
    const heartbeat = machine('heartbeat', {
      StartAt: 'Job',
      States: {
        Job: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: FUNCTION_ARN, Payload: { 'token.$': '$$.Task.Token' } },
          HeartbeatSeconds: 1,
          End: true,
        },
      },
    });
    const h = harness([heartbeat]);
    const silent = await h.startExecution(heartbeat, {}, 'silent');
    expect(await h.waitForStatus(silent, 'FAILED')).toMatchObject({ error: 'States.HeartbeatTimeout' });

    const alive = await h.startExecution(heartbeat, {}, 'alive');
    const token = await tokenOf(h, 1);
    for (let beat = 0; beat < 3; beat += 1) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await h.call('SendTaskHeartbeat', { taskToken: token });
    }
    await h.call('SendTaskSuccess', { taskToken: token, output: '"done"' });
    expect((await h.waitForStatus(alive)).status).toBe('SUCCEEDED');
  });

  it('answers InvalidToken for garbage, TaskDoesNotExist for an unknown token and InvalidOutput for non-JSON output', async () => {
    const h = harness([WAIT_FOR_TOKEN]);
    await expect(h.call('SendTaskSuccess', { taskToken: 'garbage', output: '{}' })).rejects.toThrow(expect.objectContaining({ name: 'InvalidToken' }));
    await expect(h.call('SendTaskHeartbeat', { taskToken: `AQ${'A'.repeat(86)}` })).rejects.toThrow(expect.objectContaining({ name: 'TaskDoesNotExist' }));
    await h.startExecution(WAIT_FOR_TOKEN, { step: 'train', timeout: 60 });
    await expect(h.call('SendTaskSuccess', { taskToken: await tokenOf(h, 0), output: 'not json' })).rejects.toThrow(expect.objectContaining({ name: 'InvalidOutput' }));
  });

  it('stops an execution: ABORTED with the given error and cause, its token no longer accepted', async () => {
    const h = harness([WAIT_FOR_TOKEN]);
    const arn = await h.startExecution(WAIT_FOR_TOKEN, { step: 'train', timeout: 60 });
    const token = await tokenOf(h, 0);
    const stopped = await h.call('StopExecution', { executionArn: arn, error: 'Superseded', cause: 'a newer commit' });
    expect(stopped.stopDate).toEqual(expect.any(Number));
    expect(await h.call('DescribeExecution', { executionArn: arn })).toMatchObject({ status: 'ABORTED', error: 'Superseded', cause: 'a newer commit' });
    await expect(h.call('SendTaskSuccess', { taskToken: token, output: '{}' })).rejects.toThrow(expect.objectContaining({ name: 'TaskDoesNotExist' }));
    const events = await h.history(arn);
    expect(events.at(-1)).toMatchObject({ type: 'ExecutionAborted', executionAbortedEventDetails: { error: 'Superseded', cause: 'a newer commit' } });
  });
});

describe('durability', () => {
  it('lets a new service over the same data directory list, describe and read the history of past executions', async () => {
    const h = harness([PASS_CHOICE]);
    const arn = await h.startExecution(PASS_CHOICE, { who: 'world' }, 'kept');
    await h.waitForStatus(arn, 'SUCCEEDED');
    const later = h.reopen();
    await later.service.start();
    expect(await later.call('DescribeExecution', { executionArn: arn })).toMatchObject({ status: 'SUCCEEDED', name: 'kept' });
    expect(eventTypes(await later.history(arn)).at(-1)).toBe('ExecutionSucceeded');
    expect(((await later.call('ListExecutions', { stateMachineArn: PASS_CHOICE.arn })).executions as Json[]).map((item) => item.name)).toEqual(['kept']);
  });

  it('continues a waiting execution after a restart: the same token completes it, its task is not called again nor entered twice', async () => {
    const h = harness([WAIT_FOR_TOKEN]);
    const arn = await h.startExecution(WAIT_FOR_TOKEN, { step: 'train', timeout: 60 });
    const token = await tokenOf(h, 0);
    await eventually(async () => (eventTypes(await h.history(arn)).includes('TaskSubmitted') ? true : undefined), 'TaskSubmitted');
    await h.service.stop();

    const later = h.reopen();
    await later.service.start();
    expect((await later.call('DescribeExecution', { executionArn: arn })).status).toBe('RUNNING');
    await later.call('SendTaskSuccess', { taskToken: token, output: '{"model":"s3://b/m"}' });

    const described = await later.waitForStatus(arn, 'SUCCEEDED');
    expect(JSON.parse(described.output as string).job).toEqual({ model: 's3://b/m' });
    expect(later.lambdaCalls).toEqual([]);
    const types = eventTypes(await later.history(arn));
    expect(types).toEqual(['ExecutionStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSubmitted', 'TaskSucceeded', 'TaskStateExited', 'ExecutionSucceeded']);
    await expect(later.call('SendTaskSuccess', { taskToken: token, output: '{}' })).rejects.toThrow(expect.objectContaining({ name: 'TaskDoesNotExist' }));
  });

  it('accepts a token sent after a restart before the execution is continued', async () => {
    const h = harness([WAIT_FOR_TOKEN]);
    const arn = await h.startExecution(WAIT_FOR_TOKEN, { step: 'train', timeout: 60 });
    const token = await tokenOf(h, 0);
    await h.service.stop();

    const later = h.reopen();
    await later.call('SendTaskFailure', { taskToken: token, error: 'TrainingFailed', cause: 'diverged' });
    await later.service.start();

    expect(await later.waitForStatus(arn, 'FAILED')).toMatchObject({ error: 'TrainingFailed', cause: 'diverged' });
  });

  it('ends a resumed task with the outcome SendTaskSuccess recorded before the crash, without calling its resource again', async () => {
    const h = harness([WAIT_FOR_TOKEN]);
    const arn = await h.startExecution(WAIT_FOR_TOKEN, { step: 'train', timeout: 60 });
    const token = await tokenOf(h, 0);
    await h.service.stop();
    // As a crash leaves it: SendTaskSuccess answered (its outcome recorded), the state not yet exited.
    const file = join(h.dataDir, 'executions', `${storeKey(arn)}.json`);
    const record = JSON.parse(readFileSync(file, 'utf8')) as { waitingTasks: Json[] };
    record.waitingTasks[0]!.outcome = { kind: 'success', output: '{"acknowledged":true}' };
    delete record.waitingTasks[0]!.submitted;
    writeFileSync(file, JSON.stringify(record));

    const later = h.reopen();
    await later.service.start();

    expect(JSON.parse((await later.waitForStatus(arn, 'SUCCEEDED')).output as string).job).toEqual({ acknowledged: true });
    expect(later.lambdaCalls).toEqual([]);
    await expect(later.call('SendTaskSuccess', { taskToken: token, output: '{}' })).rejects.toThrow(expect.objectContaining({ name: 'TaskDoesNotExist' }));
  });

  it('stops an execution left running before start() continues it; its token is then refused', async () => {
    const h = harness([WAIT_FOR_TOKEN]);
    const arn = await h.startExecution(WAIT_FOR_TOKEN, { step: 'train', timeout: 60 });
    const token = await tokenOf(h, 0);
    await h.service.stop();

    const later = h.reopen();
    await later.call('StopExecution', { executionArn: arn, cause: 'no longer wanted' });
    await later.service.start();

    expect(await later.call('DescribeExecution', { executionArn: arn })).toMatchObject({ status: 'ABORTED', cause: 'no longer wanted' });
    await expect(later.call('SendTaskSuccess', { taskToken: token, output: '{}' })).rejects.toThrow(expect.objectContaining({ name: 'TaskDoesNotExist' }));
    expect(later.lambdaCalls).toEqual([]);
  });

  it('keeps a resumed task to its original TimeoutSeconds deadline', async () => {
    const h = harness([WAIT_FOR_TOKEN]);
    const arn = await h.startExecution(WAIT_FOR_TOKEN, { step: 'train', timeout: 1 });
    await tokenOf(h, 0);
    await h.service.stop();
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const later = h.reopen();
    const restartedAt = Date.now();
    await later.service.start();

    expect(await later.waitForStatus(arn, 'FAILED')).toMatchObject({ error: 'States.Timeout' });
    expect(Date.now() - restartedAt).toBeLessThan(800);
  });

  it('keeps a resumed Wait state to its original deadline', async () => {
    const waiting = machine('waiting', { StartAt: 'Pause', States: { Pause: { Type: 'Wait', SecondsPath: '$.seconds', Next: 'Done' }, Done: { Type: 'Pass', Result: 'woke', End: true } } });
    const h = harness([waiting]);
    const arn = await h.startExecution(waiting, { seconds: 2 });
    await eventually(async () => (eventTypes(await h.history(arn)).includes('WaitStateEntered') ? true : undefined), 'WaitStateEntered');
    await h.service.stop();
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const later = h.reopen();
    const restartedAt = Date.now();
    await later.service.start();

    expect(JSON.parse((await later.waitForStatus(arn, 'SUCCEEDED')).output as string)).toBe('woke');
    expect(Date.now() - restartedAt).toBeLessThan(1200);
    expect(eventTypes(await later.history(arn)).filter((type) => type === 'WaitStateEntered')).toHaveLength(1);
  });

  it('calls a Lambda task again that was mid-invocation, without running the states that completed before', async () => {
    const twoSteps = machine('two-steps', {
      StartAt: 'Prepare',
      States: {
        Prepare: { Type: 'Task', Resource: fn('prepare'), ResultPath: '$.prepared', Next: 'Train' },
        Train: { Type: 'Task', Resource: fn('train'), ResultPath: '$.trained', End: true },
      },
    });
    const hanging = harness([twoSteps], { invokeLambda: async (name) => (name.endsWith(':train') ? new Promise(() => undefined) : { ran: name.split(':').at(-1) }) });
    const arn = await hanging.startExecution(twoSteps, {});
    await hanging.lambdaCall(1);
    await hanging.service.stop();

    const later = harness([twoSteps], { invokeLambda: async (name) => ({ ran: name.split(':').at(-1) }) }, hanging.dataDir);
    await later.service.start();

    expect(JSON.parse((await later.waitForStatus(arn, 'SUCCEEDED')).output as string)).toEqual({ prepared: { ran: 'prepare' }, trained: { ran: 'train' } });
    expect(later.lambdaCalls.map((call) => call.functionName.split(':').at(-1))).toEqual(['train']);
    const entered = (await later.history(arn)).filter((event) => String(event.type).endsWith('StateEntered')).map((event) => (event.stateEnteredEventDetails as Json).name);
    expect(entered).toEqual(['Prepare', 'Train']);
  });

  it('fails an execution whose state machine is gone after the restart, with States.Runtime', async () => {
    const h = harness([]);
    const machineArn = await createMachine(h, 'temporary', WAIT_FOR_TOKEN.definition);
    const arn = await startOn(h, machineArn, { step: 'train', timeout: 60 });
    await tokenOf(h, 0);
    await h.service.stop();
    rmSync(join(h.dataDir, 'state-machines'), { recursive: true, force: true });

    const later = h.reopen();
    await later.service.start();

    const described = await later.call('DescribeExecution', { executionArn: arn });
    expect(described).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(described.cause).toMatch(/no longer exists/);
  });
});

const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/pipeline`;

/** A bare Lambda function ARN named like the Task state that calls it. */
function fn(name: string): string {
  return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
}

/** A Task calling function `name`, its result at `$.<name>`. */
function task(name: string, next?: string): Json {
  return { Type: 'Task', Resource: fn(name), ResultPath: `$.${name}`, ...(next === undefined ? { End: true } : { Next: next }) };
}

function stateMachineArnOf(name: string): string {
  return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`;
}

async function createMachine(h: Harness, name: string, definition: Json, extra: Json = {}): Promise<string> {
  return (await h.call('CreateStateMachine', { name, definition: JSON.stringify(definition), roleArn: ROLE_ARN, ...extra })).stateMachineArn as string;
}

async function startOn(h: Harness, stateMachineArn: string, input: unknown, name?: string): Promise<string> {
  return (await h.call('StartExecution', { stateMachineArn, name, input: JSON.stringify(input) })).executionArn as string;
}

/** invokeLambda answering `{ ran: <function> }`, except that each function in `failing` fails that many times first (after `delayMs`). */
function flaky(failing: Record<string, number>, delayMs = 0): NonNullable<Fakes['invokeLambda']> {
  const left = new Map(Object.entries(failing));
  return async (functionName) => {
    const name = functionName.split(':').at(-1)!;
    const failures = left.get(name) ?? 0;
    if (failures === 0) return { ran: name };
    left.set(name, failures - 1);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    throw new FunctionError('StepFailed', `${name} failed`);
  };
}

/** How many times each function was called. */
function callCounts(h: Harness): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of h.lambdaCalls) {
    const name = call.functionName.split(':').at(-1)!;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** The events from `event` back along previousEventId (event first). */
function chainBack(events: Json[], event: Json): Json[] {
  const byId = new Map(events.map((item) => [item.id as number, item]));
  const chain = [event];
  for (let current = event; (current.previousEventId as number) > 0; ) {
    current = byId.get(current.previousEventId as number)!;
    chain.push(current);
  }
  return chain;
}

function expectMonotonic(events: Json[]): void {
  expect(events.map((event) => event.id)).toEqual(events.map((_event, index) => index + 1));
  const timestamps = events.map((event) => event.timestamp as number);
  expect(timestamps).toEqual([...timestamps].sort((a, b) => a - b));
  for (const event of events) expect(event.previousEventId as number).toBeLessThan(event.id as number);
}

const SEQUENCE = { StartAt: 'A', States: { A: task('A', 'B'), B: task('B', 'C'), C: task('C') } };

describe('CreateStateMachine', () => {
  it('creates a STANDARD machine under the account and region, described with its definition verbatim, that runs executions', async () => {
    const h = harness([], { invokeLambda: flaky({}) });
    const definition = JSON.stringify(SEQUENCE, null, 2);
    const created = await h.call('CreateStateMachine', { name: 'abalone-pipeline', definition, roleArn: ROLE_ARN, type: 'STANDARD' });
    expect(created).toEqual({ stateMachineArn: stateMachineArnOf('abalone-pipeline'), creationDate: expect.any(Number) });
    const described = await h.call('DescribeStateMachine', { stateMachineArn: created.stateMachineArn });
    expect(described).toMatchObject({ name: 'abalone-pipeline', status: 'ACTIVE', type: 'STANDARD', definition, roleArn: ROLE_ARN, creationDate: created.creationDate });
    const arn = await startOn(h, created.stateMachineArn as string, { in: 1 });
    expect(JSON.parse((await h.waitForStatus(arn, 'SUCCEEDED')).output as string)).toEqual({ in: 1, A: { ran: 'A' }, B: { ran: 'B' }, C: { ran: 'C' } });
  });

  it('returns the existing machine for the same name and definition, ignoring another roleArn and tags as AWS does', async () => {
    const h = harness([]);
    const first = await h.call('CreateStateMachine', { name: 'same', definition: JSON.stringify(SEQUENCE), roleArn: ROLE_ARN });
    const again = await h.call('CreateStateMachine', { name: 'same', definition: JSON.stringify(SEQUENCE, null, 1), roleArn: `arn:aws:iam::${ACCOUNT}:role/other`, tags: [{ key: 'k', value: 'v' }] });
    expect(again).toEqual(first);
    expect((await h.call('DescribeStateMachine', { stateMachineArn: first.stateMachineArn })).roleArn).toBe(ROLE_ARN);
    expect((await h.call('ListTagsForResource', { resourceArn: first.stateMachineArn })).tags).toEqual([]);
  });

  it('answers StateMachineAlreadyExists for the same name with another definition or logging configuration', async () => {
    const h = harness([]);
    await createMachine(h, 'taken', SEQUENCE);
    const other = { StartAt: 'A', States: { A: task('A') } };
    await expect(createMachine(h, 'taken', other)).rejects.toThrow(expect.objectContaining({ name: 'StateMachineAlreadyExists' }));
    await expect(createMachine(h, 'taken', SEQUENCE, { loggingConfiguration: { level: 'ALL', includeExecutionData: true } })).rejects.toThrow(
      expect.objectContaining({ name: 'StateMachineAlreadyExists' }),
    );
  });

  // https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html: idempotency covers LoggingConfiguration.
  it('keeps the loggingConfiguration it was created with, and answers a repeated request with the same one with the same machine', async () => {
    const h = harness([]);
    const loggingConfiguration = { level: 'ERROR', includeExecutionData: false, destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/vendedlogs/states/sluice-local-builds:*` } }] };
    const arn = await createMachine(h, 'logged', SEQUENCE, { loggingConfiguration });
    expect(await createMachine(h, 'logged', SEQUENCE, { loggingConfiguration })).toBe(arn);
    expect((await h.call('DescribeStateMachine', { stateMachineArn: arn })).loggingConfiguration).toEqual(loggingConfiguration);
  });

  it('UpdateStateMachine changes a machine\'s logging, after which CreateStateMachine with that logging finds it; it changes nothing else', async () => {
    const h = harness([]);
    const arn = await createMachine(h, 'unlogged', SEQUENCE);
    const loggingConfiguration = { level: 'ERROR', includeExecutionData: false, destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:builds:*` } }] };
    await h.call('UpdateStateMachine', { stateMachineArn: arn, loggingConfiguration });
    expect(await createMachine(h, 'unlogged', SEQUENCE, { loggingConfiguration })).toBe(arn);
    await expect(h.call('UpdateStateMachine', { stateMachineArn: arn, definition: JSON.stringify(SEQUENCE) })).rejects.toThrow(expect.objectContaining({ name: 'ValidationException' }));
  });

  it('refuses an invalid definition with InvalidDefinition saying what is wrong', async () => {
    const h = harness([]);
    await expect(createMachine(h, 'broken', { StartAt: 'Nowhere', States: { Here: { Type: 'Succeed' } } })).rejects.toThrow(
      expect.objectContaining({ name: 'InvalidDefinition', message: expect.stringMatching(/MISSING_TRANSITION_TARGET.*Nowhere/) }),
    );
    await expect(h.call('CreateStateMachine', { name: 'garbled', definition: '{"StartAt":', roleArn: ROLE_ARN })).rejects.toThrow(
      expect.objectContaining({ name: 'InvalidDefinition', message: expect.stringContaining('INVALID_JSON_DESCRIPTION') }),
    );
    expect((await h.call('ListStateMachines', {})).stateMachines).toEqual([]);
  });

  it('refuses EXPRESS machines: the local runtime runs STANDARD only', async () => {
    const h = harness([]);
    await expect(createMachine(h, 'fast', SEQUENCE, { type: 'EXPRESS' })).rejects.toThrow(expect.objectContaining({ name: 'ValidationException', message: expect.stringContaining('STANDARD') }));
  });

  it('refuses JSONata definitions, which the local runtime cannot execute', async () => {
    const h = harness([]);
    const jsonata = { QueryLanguage: 'JSONata', StartAt: 'A', States: { A: { Type: 'Pass', Output: '{% $states.input %}', End: true } } };
    await expect(createMachine(h, 'jsonata', jsonata)).rejects.toThrow(expect.objectContaining({ name: 'InvalidDefinition', message: expect.stringContaining('JSONPath') }));
  });

  it('validates names (InvalidName) and the role ARN (InvalidArn)', async () => {
    const h = harness([]);
    await expect(createMachine(h, 'has space', SEQUENCE)).rejects.toThrow(expect.objectContaining({ name: 'InvalidName' }));
    await expect(createMachine(h, 'x'.repeat(81), SEQUENCE)).rejects.toThrow(expect.objectContaining({ name: 'InvalidName' }));
    await expect(h.call('CreateStateMachine', { name: 'ok', definition: JSON.stringify(SEQUENCE), roleArn: 'not-a-role' })).rejects.toThrow(expect.objectContaining({ name: 'InvalidArn' }));
  });
});

describe('ValidateStateMachineDefinition', () => {
  it('answers OK without diagnostics for a valid definition', async () => {
    const h = harness([]);
    expect(await h.call('ValidateStateMachineDefinition', { definition: JSON.stringify(SEQUENCE), type: 'STANDARD' })).toEqual({ result: 'OK', diagnostics: [], truncated: false });
  });

  it('answers FAIL with ERROR diagnostics (code, message, location) for what CreateStateMachine refuses', async () => {
    const h = harness([]);
    const missing = await h.call('ValidateStateMachineDefinition', { definition: JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' } } }) });
    expect(missing.result).toBe('FAIL');
    expect(missing.diagnostics).toEqual(expect.arrayContaining([{ severity: 'ERROR', code: 'MISSING_TRANSITION_TARGET', message: expect.stringContaining('B') }]));
    const schema = await h.call('ValidateStateMachineDefinition', { definition: JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', Bogus: 1, End: true } } }) });
    expect(schema.diagnostics).toEqual([{ severity: 'ERROR', code: 'SCHEMA_VALIDATION_FAILED', message: expect.any(String), location: '/States/A' }]);
    const garbled = await h.call('ValidateStateMachineDefinition', { definition: 'nope' });
    expect(garbled).toMatchObject({ result: 'FAIL', diagnostics: [{ severity: 'ERROR', code: 'INVALID_JSON_DESCRIPTION' }] });
  });
});

describe('created state machines', () => {
  it('come back after a restart with their definition, creation date and tags; their executions stay listable and new ones run', async () => {
    const h = harness([]);
    const created = await h.call('CreateStateMachine', { name: 'kept', definition: JSON.stringify(SEQUENCE), roleArn: ROLE_ARN, tags: [{ key: 'repository', value: 'abalone' }] });
    const arn = created.stateMachineArn as string;
    const first = await startOn(h, arn, { n: 1 }, 'first');
    await h.waitForStatus(first, 'SUCCEEDED');

    const later = h.reopen();
    await later.service.start();
    expect(await later.call('DescribeStateMachine', { stateMachineArn: arn })).toMatchObject({ name: 'kept', definition: JSON.stringify(SEQUENCE), roleArn: ROLE_ARN, creationDate: created.creationDate });
    expect((await later.call('ListTagsForResource', { resourceArn: arn })).tags).toEqual([{ key: 'repository', value: 'abalone' }]);
    expect(await later.call('CreateStateMachine', { name: 'kept', definition: JSON.stringify(SEQUENCE), roleArn: ROLE_ARN })).toEqual(created);
    const second = await startOn(later, arn, { n: 2 }, 'second');
    await later.waitForStatus(second, 'SUCCEEDED');
    expect(((await later.call('ListExecutions', { stateMachineArn: arn })).executions as Json[]).map((item) => item.name)).toEqual(['second', 'first']);
  });

  it('are listed with the template machines, sorted by name and paginated', async () => {
    const h = harness([PASS_CHOICE]);
    await createMachine(h, 'z-created', SEQUENCE);
    await createMachine(h, 'a-created', SEQUENCE);
    const first = await h.call('ListStateMachines', { maxResults: 2 });
    expect((first.stateMachines as Json[]).map((item) => item.name)).toEqual(['a-created', 'pass-choice']);
    expect(first.stateMachines as Json[]).toContainEqual({ stateMachineArn: stateMachineArnOf('a-created'), name: 'a-created', type: 'STANDARD', creationDate: expect.any(Number) });
    const second = await h.call('ListStateMachines', { maxResults: 2, nextToken: first.nextToken });
    expect((second.stateMachines as Json[]).map((item) => item.name)).toEqual(['z-created']);
    expect(second.nextToken).toBeUndefined();
  });

  it('are deleted at once when no execution runs, also across a restart; deleting again succeeds', async () => {
    const h = harness([]);
    const arn = await createMachine(h, 'gone', SEQUENCE);
    const execution = await startOn(h, arn, {});
    await h.waitForStatus(execution, 'SUCCEEDED');
    await h.call('DeleteStateMachine', { stateMachineArn: arn });
    await expect(h.call('DescribeStateMachine', { stateMachineArn: arn })).rejects.toThrow(expect.objectContaining({ name: 'StateMachineDoesNotExist' }));
    await expect(h.call('DeleteStateMachine', { stateMachineArn: arn })).resolves.toEqual({});
    expect((await h.call('DescribeExecution', { executionArn: execution })).status).toBe('SUCCEEDED');
    const later = h.reopen();
    expect((await later.call('ListStateMachines', {})).stateMachines).toEqual([]);
  });

  it('are DELETING while an execution runs: no new executions, gone when it ends', async () => {
    const h = harness([]);
    const arn = await createMachine(h, 'draining', WAIT_FOR_TOKEN.definition);
    const execution = await startOn(h, arn, { step: 'train', timeout: 60 });
    const token = await tokenOf(h, 0);
    await h.call('DeleteStateMachine', { stateMachineArn: arn });
    expect((await h.call('DescribeStateMachine', { stateMachineArn: arn })).status).toBe('DELETING');
    await expect(startOn(h, arn, { step: 'x', timeout: 60 })).rejects.toThrow(expect.objectContaining({ name: 'StateMachineDeleting' }));
    await h.call('SendTaskSuccess', { taskToken: token, output: '{}' });
    await h.waitForStatus(execution, 'SUCCEEDED');
    await eventually(async () => (((await h.call('ListStateMachines', {})).stateMachines as Json[]).length === 0 ? true : undefined), 'the machine deleted');
  });

  it('list and take tags (TagResource adds or replaces by key); an unknown machine is ResourceNotFound', async () => {
    const h = harness([]);
    const arn = await createMachine(h, 'tagged', SEQUENCE, { tags: [{ key: 'repository', value: 'abalone' }] });
    await h.call('TagResource', { resourceArn: arn, tags: [{ key: 'repository', value: 'iris' }, { key: 'team', value: 'ml' }] });
    expect((await h.call('ListTagsForResource', { resourceArn: arn })).tags).toEqual([
      { key: 'repository', value: 'iris' },
      { key: 'team', value: 'ml' },
    ]);
    await expect(h.call('ListTagsForResource', { resourceArn: stateMachineArnOf('nope') })).rejects.toThrow(expect.objectContaining({ name: 'ResourceNotFound' }));
  });
});

describe('RedriveExecution', () => {
  it('reruns only the failed step and those after it, with the recorded input, and records ExecutionRedriven', async () => {
    const h = harness([], { invokeLambda: flaky({ B: 1 }) });
    const arn = await startOn(h, await createMachine(h, 'sequence', SEQUENCE), { in: 1 }, 'run-1');
    expect(await h.waitForStatus(arn, 'FAILED')).toMatchObject({ error: 'StepFailed', redriveCount: 0, redriveStatus: 'REDRIVABLE' });

    const redriven = await h.call('RedriveExecution', { executionArn: arn });
    expect(redriven).toEqual({ redriveDate: expect.any(Number) });
    const described = await h.waitForStatus(arn, 'SUCCEEDED');
    expect(JSON.parse(described.output as string)).toEqual({ in: 1, A: { ran: 'A' }, B: { ran: 'B' }, C: { ran: 'C' } });
    expect(described).toMatchObject({ redriveCount: 1, redriveDate: redriven.redriveDate, redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven' });
    expect(callCounts(h)).toEqual({ A: 1, B: 2, C: 1 });
    const bCalls = h.lambdaCalls.filter((call) => call.functionName === fn('B'));
    expect(bCalls[1]!.payload).toEqual(bCalls[0]!.payload);

    const events = await h.history(arn);
    expectMonotonic(events);
    const redrive = events.findIndex((event) => event.type === 'ExecutionRedriven');
    expect(events[redrive]).toMatchObject({ executionRedrivenEventDetails: { redriveCount: 1 }, previousEventId: events[redrive - 1]!.id });
    expect(events[redrive - 1]!.type).toBe('ExecutionFailed');
    expect(events[redrive + 1]).toMatchObject({ type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'B', input: JSON.stringify({ in: 1, A: { ran: 'A' } }) } });
    expect(eventTypes(events).at(-1)).toBe('ExecutionSucceeded');
  });

  it('publishes RUNNING again with redriveCount and redriveDate, and lists the execution as REDRIVEN', async () => {
    const h = harness([], { invokeLambda: flaky({ B: 1 }) });
    const machineArn = await createMachine(h, 'sequence', SEQUENCE);
    const arn = await startOn(h, machineArn, {});
    await h.waitForStatus(arn, 'FAILED');
    const { redriveDate } = await h.call('RedriveExecution', { executionArn: arn });
    await h.waitForStatus(arn, 'SUCCEEDED');

    const changes = h.published.filter((entry) => entry.DetailType === 'Step Functions Execution Status Change').map((entry) => entry.Detail);
    expect(changes.map((detail) => [detail.status, detail.redriveCount])).toEqual([
      ['RUNNING', 0],
      ['FAILED', 0],
      ['RUNNING', 1],
      ['SUCCEEDED', 1],
    ]);
    expect(changes[1]).toMatchObject({ redriveStatus: 'REDRIVABLE', redriveStatusReason: null, redriveDate: null });
    expect(changes[2]).toMatchObject({ redriveDate: (redriveDate as number) * 1000, redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason: 'Execution is RUNNING and cannot be redriven', stopDate: null, error: null });

    const listed = await h.call('ListExecutions', { stateMachineArn: machineArn, redriveFilter: 'REDRIVEN' });
    expect(listed.executions).toEqual([expect.objectContaining({ executionArn: arn, redriveCount: 1, redriveDate })]);
    expect((await h.call('ListExecutions', { stateMachineArn: machineArn, redriveFilter: 'NOT_REDRIVEN' })).executions).toEqual([]);
  });

  it('can redrive a redriven execution that failed again (redriveCount 2), and answers a repeated clientToken with the earlier redrive', async () => {
    const h = harness([], { invokeLambda: flaky({ B: 2 }) });
    const arn = await startOn(h, await createMachine(h, 'sequence', SEQUENCE), {});
    await h.waitForStatus(arn, 'FAILED');
    const first = await h.call('RedriveExecution', { executionArn: arn, clientToken: 'once' });
    await h.waitForStatus(arn, 'FAILED');
    expect(await h.call('RedriveExecution', { executionArn: arn, clientToken: 'once' })).toEqual(first);
    expect((await h.call('DescribeExecution', { executionArn: arn })).status).toBe('FAILED');
    await h.call('RedriveExecution', { executionArn: arn, clientToken: 'twice' });
    expect(await h.waitForStatus(arn, 'SUCCEEDED')).toMatchObject({ redriveCount: 2 });
    expect(callCounts(h)).toEqual({ A: 1, B: 3, C: 1 });
    const events = await h.history(arn);
    expectMonotonic(events);
    expect(events.filter((event) => event.type === 'ExecutionRedriven').map((event) => event.executionRedrivenEventDetails)).toEqual([{ redriveCount: 1 }, { redriveCount: 2 }]);
  });

  it('reruns only the failed branch of a Parallel state; the Parallel output holds all three branches', async () => {
    const parallel = {
      StartAt: 'Fan',
      States: {
        Fan: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'L', States: { L: task('L') } },
            { StartAt: 'M', States: { M: task('M') } },
            { StartAt: 'R', States: { R: task('R') } },
          ],
          Next: 'After',
        },
        After: { Type: 'Pass', End: true },
      },
    };
    const h = harness([], { invokeLambda: flaky({ M: 1 }, 30) });
    const arn = await startOn(h, await createMachine(h, 'fan', parallel), { in: 1 });
    await h.waitForStatus(arn, 'FAILED');
    await h.call('RedriveExecution', { executionArn: arn });
    const output = JSON.parse((await h.waitForStatus(arn, 'SUCCEEDED')).output as string);
    expect(output).toEqual([
      { in: 1, L: { ran: 'L' } },
      { in: 1, M: { ran: 'M' } },
      { in: 1, R: { ran: 'R' } },
    ]);
    expect(callCounts(h)).toEqual({ L: 1, M: 2, R: 1 });
    const afterRedrive = eventTypes((await h.history(arn)).slice((await h.history(arn)).findIndex((event) => event.type === 'ExecutionRedriven')));
    expect(afterRedrive.filter((type) => type === 'TaskStateEntered')).toHaveLength(1);
  });

  it('resumes inside nested Parallel states at the failed state with its recorded input, not at the branch start', async () => {
    const nested = {
      StartAt: 'Outer',
      States: {
        Outer: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'X1', States: { X1: task('X1', 'X2'), X2: task('X2') } },
            {
              StartAt: 'Inner',
              States: {
                Inner: {
                  Type: 'Parallel',
                  Branches: [
                    { StartAt: 'Y1', States: { Y1: task('Y1') } },
                    { StartAt: 'Z1', States: { Z1: task('Z1', 'Z2'), Z2: task('Z2', 'Z3'), Z3: task('Z3') } },
                  ],
                  End: true,
                },
              },
            },
          ],
          ResultPath: '$.outer',
          Next: 'Final',
        },
        Final: task('Final'),
      },
    };
    const h = harness([], { invokeLambda: flaky({ Z2: 1 }, 30) });
    const arn = await startOn(h, await createMachine(h, 'nested', nested), { in: 1 });
    await h.waitForStatus(arn, 'FAILED');
    await h.call('RedriveExecution', { executionArn: arn });
    const output = JSON.parse((await h.waitForStatus(arn, 'SUCCEEDED')).output as string);
    expect(callCounts(h)).toEqual({ X1: 1, X2: 1, Y1: 1, Z1: 1, Z2: 2, Z3: 1, Final: 1 });
    const z2 = h.lambdaCalls.filter((call) => call.functionName === fn('Z2'));
    expect(z2[1]!.payload).toEqual({ in: 1, Z1: { ran: 'Z1' } });
    expect(output).toEqual({
      in: 1,
      outer: [{ in: 1, X1: { ran: 'X1' }, X2: { ran: 'X2' } }, [{ in: 1, Y1: { ran: 'Y1' } }, { in: 1, Z1: { ran: 'Z1' }, Z2: { ran: 'Z2' }, Z3: { ran: 'Z3' } }]],
      Final: { ran: 'Final' },
    });
    expectMonotonic(await h.history(arn));
  });

  it('reruns a failed Map state as a whole: the local runtime does not redrive single iterations', async () => {
    const map = {
      StartAt: 'First',
      States: {
        First: task('First', 'Each'),
        Each: { Type: 'Map', ItemsPath: '$.items', ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'Item', States: { Item: { Type: 'Task', Resource: fn('Item'), End: true } } }, ResultPath: '$.each', End: true },
      },
    };
    const h = harness([], { invokeLambda: flaky({ Item: 1 }) });
    const arn = await startOn(h, await createMachine(h, 'map', map), { items: [1, 2, 3] });
    await h.waitForStatus(arn, 'FAILED');
    await h.call('RedriveExecution', { executionArn: arn });
    const output = JSON.parse((await h.waitForStatus(arn, 'SUCCEEDED')).output as string);
    expect(output.each).toEqual([{ ran: 'Item' }, { ran: 'Item' }, { ran: 'Item' }]);
    expect(callCounts(h).First).toBe(1);
  });

  it('answers ExecutionNotRedrivable for a RUNNING or SUCCEEDED execution', async () => {
    const h = harness([WAIT_FOR_TOKEN, PASS_CHOICE]);
    const runningArn = await h.startExecution(WAIT_FOR_TOKEN, { step: 'train', timeout: 60 });
    await expect(h.call('RedriveExecution', { executionArn: runningArn })).rejects.toThrow(
      expect.objectContaining({ name: 'ExecutionNotRedrivable', message: 'Execution is RUNNING and cannot be redriven.' }),
    );
    expect(await h.call('DescribeExecution', { executionArn: runningArn })).toMatchObject({ redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason: 'Execution is RUNNING and cannot be redriven' });
    const succeeded = await h.startExecution(PASS_CHOICE, { who: 'world' });
    await h.waitForStatus(succeeded, 'SUCCEEDED');
    await expect(h.call('RedriveExecution', { executionArn: succeeded })).rejects.toThrow(
      expect.objectContaining({ name: 'ExecutionNotRedrivable', message: 'Execution is SUCCEEDED and cannot be redriven.' }),
    );
  });

  it('redrives a waitForTaskToken task failed through SendTaskFailure; a fresh token completes it', async () => {
    const job = {
      StartAt: 'Prepare',
      States: {
        Prepare: { Type: 'Pass', Result: 'ready', ResultPath: '$.prepared', Next: 'Job' },
        Job: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken', Parameters: { FunctionName: FUNCTION_ARN, Payload: { 'token.$': '$$.Task.Token' } }, ResultPath: '$.job', End: true },
      },
    };
    const h = harness([]);
    const arn = await startOn(h, await createMachine(h, 'job', job), { in: 1 });
    const first = await tokenOf(h, 0);
    await h.call('SendTaskFailure', { taskToken: first, error: 'SageMakerJobFailed', cause: 'AlgorithmError' });
    await h.waitForStatus(arn, 'FAILED');
    await h.call('RedriveExecution', { executionArn: arn });
    const second = await tokenOf(h, 1);
    expect(second).not.toBe(first);
    await expect(h.call('SendTaskSuccess', { taskToken: first, output: '{}' })).rejects.toThrow(expect.objectContaining({ name: 'TaskDoesNotExist' }));
    await h.call('SendTaskSuccess', { taskToken: second, output: '{"model":"s3://b/model.tar.gz"}' });
    const described = await h.waitForStatus(arn, 'SUCCEEDED');
    expect(JSON.parse(described.output as string)).toEqual({ in: 1, prepared: 'ready', job: { model: 's3://b/model.tar.gz' } });
    const entered = (await h.history(arn)).filter((event) => String(event.type).endsWith('StateEntered')).map((event) => (event.stateEnteredEventDetails as Json).name);
    expect(entered).toEqual(['Prepare', 'Job', 'Job']);
  });

});

describe('history chains', () => {
  it('chains every event of a Task back to its TaskStateEntered through previousEventId, though Parallel branches interleave', async () => {
    const both = {
      StartAt: 'Both',
      States: {
        Both: {
          Type: 'Parallel',
          Branches: ['Left', 'Right'].map((name) => ({
            StartAt: name,
            States: { [name]: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken', Parameters: { FunctionName: FUNCTION_ARN, Payload: { 'token.$': '$$.Task.Token', side: name } }, End: true } },
          })),
          End: true,
        },
      },
    };
    const h = harness([]);
    const arn = await startOn(h, await createMachine(h, 'both', both), {});
    const calls = [await h.lambdaCall(0), await h.lambdaCall(1)];
    const tokenFor = (side: string) => calls.find((call) => call.payload.side === side)!.payload.token as string;
    await h.call('SendTaskSuccess', { taskToken: tokenFor('Right'), output: '"right"' });
    await eventually(async () => ((await h.history(arn)).some((event) => event.type === 'TaskStateExited') ? true : undefined), 'Right exited');
    await h.call('SendTaskFailure', { taskToken: tokenFor('Left'), error: 'LeftFailed', cause: 'no' });
    await h.waitForStatus(arn, 'FAILED');

    const events = await h.history(arn);
    const failed = events.find((event) => event.type === 'TaskFailed')!;
    const chain = chainBack(events, failed);
    const entered = chain.findIndex((event) => event.type === 'TaskStateEntered');
    expect(eventTypes(chain.slice(0, entered + 1))).toEqual(['TaskFailed', 'TaskSubmitted', 'TaskStarted', 'TaskScheduled', 'TaskStateEntered']);
    expect(chain[entered]!.stateEnteredEventDetails).toMatchObject({ name: 'Left' });
    // The branches did interleave: Right's events sit between Left's entry and Left's failure.
    const rightExit = events.find((event) => event.type === 'TaskStateExited')!;
    expect(rightExit.id as number).toBeGreaterThan(chain[entered]!.id as number);
    expect(rightExit.id as number).toBeLessThan(failed.id as number);
    expect(eventTypes(chainBack(events, rightExit)).slice(0, 6)).toEqual(['TaskStateExited', 'TaskSucceeded', 'TaskSubmitted', 'TaskStarted', 'TaskScheduled', 'TaskStateEntered']);
  });
});

describe('through the AWS SDK', () => {
  let server: Server | undefined;

  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** An SFN client talking to the harness's service over loopback HTTP. */
  async function sdkClient(h: Harness): Promise<SFNClient> {
    server = createServer((request, response) => {
      void readBody(request).then((body) => serveAwsJson(request, response, body, h.service.operations, { contentType: 'application/x-amz-json-1.0' }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new SFNClient({ endpoint: `http://127.0.0.1:${port}`, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  }

  it('starts, completes and inspects an execution with @aws-sdk/client-sfn', async () => {
    const h = harness([WAIT_FOR_TOKEN], { invokeLambda: async () => null });
    const client = await sdkClient(h);

    const started = await client.send(new StartExecutionCommand({ stateMachineArn: WAIT_FOR_TOKEN.arn, name: 'sdk-run', input: '{"step":"x","timeout":60}' }));
    expect(started.startDate).toBeInstanceOf(Date);
    await expect(client.send(new StartExecutionCommand({ stateMachineArn: WAIT_FOR_TOKEN.arn, name: 'sdk-run', input: '{"step":"y","timeout":60}' }))).rejects.toThrow(
      expect.objectContaining({ name: 'ExecutionAlreadyExists' }),
    );
    await client.send(new SendTaskSuccessCommand({ taskToken: await tokenOf(h, 0), output: '{"via":"sdk"}' }));
    const described = await eventually(async () => {
      const output = await client.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
      return output.status === 'SUCCEEDED' ? output : undefined;
    }, 'SUCCEEDED through the SDK');
    expect(described.stopDate).toBeInstanceOf(Date);
    expect(JSON.parse(described.output!).job).toEqual({ via: 'sdk' });
    const history = await client.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn, reverseOrder: true, maxResults: 2 }));
    expect(history.events?.map((event) => event.type)).toEqual(['ExecutionSucceeded', 'TaskStateExited']);
    expect(history.events?.[0]?.timestamp).toBeInstanceOf(Date);
    expect(history.nextToken).toEqual(expect.any(String));
    client.destroy();
  });
  it('creates, validates, starts and redrives a state machine with @aws-sdk/client-sfn', async () => {
    const h = harness([], { invokeLambda: async () => null });
    const client = await sdkClient(h);
    const job = { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken', Parameters: { FunctionName: FUNCTION_ARN, Payload: { 'token.$': '$$.Task.Token' } }, End: true };
    const definition = JSON.stringify({ StartAt: 'Job', States: { Job: job } });
    expect((await client.send(new ValidateStateMachineDefinitionCommand({ definition }))).result).toBe('OK');
    const created = await client.send(new CreateStateMachineCommand({ name: 'sdk-machine', definition, roleArn: ROLE_ARN }));
    expect(created.creationDate).toBeInstanceOf(Date);
    const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn: created.stateMachineArn, input: '{}' }));
    await client.send(new SendTaskFailureCommand({ taskToken: await tokenOf(h, 0), error: 'JobFailed' }));
    await eventually(async () => ((await client.send(new DescribeExecutionCommand({ executionArn }))).status === 'FAILED' ? true : undefined), 'FAILED through the SDK');

    const redriven = await client.send(new RedriveExecutionCommand({ executionArn }));
    expect(redriven.redriveDate).toBeInstanceOf(Date);
    await client.send(new SendTaskSuccessCommand({ taskToken: await tokenOf(h, 1), output: '{}' }));
    const described = await eventually(async () => {
      const output = await client.send(new DescribeExecutionCommand({ executionArn }));
      return output.status === 'SUCCEEDED' ? output : undefined;
    }, 'SUCCEEDED through the SDK');
    expect(described).toMatchObject({ redriveCount: 1, redriveDate: redriven.redriveDate, redriveStatus: 'NOT_REDRIVABLE' });
    const listed = await client.send(new ListExecutionsCommand({ stateMachineArn: created.stateMachineArn, redriveFilter: 'REDRIVEN' }));
    expect(listed.executions?.map((item) => item.redriveCount)).toEqual([1]);
    client.destroy();
  });
});
