/**
 * The local Step Functions emulator: the API operations as the SDK sees them, task integrations
 * resolved by ARN, task tokens, timeouts, durable executions and the real model-build machine.
 * Everything runs in-process against fake Lambda / EventBridge functions; no network except one
 * loopback HTTP server for the SDK test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DescribeExecutionCommand, GetExecutionHistoryCommand, SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';

import type { StateMachineSpec } from '../../../local/cloudformation/template';
import type { LocalEventEntry } from '../../../local/context';
import { AwsServiceError, readBody, serveAwsJson } from '../../../local/http/aws-json';
import { FunctionError } from '../../../local/lambda/runner';
import { createStepFunctionsService, type StepFunctionsOptions, type StepFunctionsService } from '../../../local/stepfunctions/service';
import { fakeFunctionArn, loadStateMachineDefinition } from '../../helpers/asl';
import { buildContext, exampleConfig } from '../../helpers/fixtures';
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
    const types = eventTypes(await h.history(arn));
    expect(types).toEqual(expect.arrayContaining(['MapStateEntered', 'MapIterationStarted', 'MapIterationSucceeded', 'MapStateExited', 'ParallelStateEntered', 'ParallelStateExited']));
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

  it('keeps executions RUNNING across stop() and fails them with States.Runtime on the next start()', async () => {
    const h = harness([WAIT_FOR_TOKEN]);
    const arn = await h.startExecution(WAIT_FOR_TOKEN, { step: 'train', timeout: 60 });
    const token = await tokenOf(h, 0);
    await h.service.stop();
    expect((await h.call('DescribeExecution', { executionArn: arn })).status).toBe('RUNNING');

    const later = h.reopen();
    expect((await later.call('DescribeExecution', { executionArn: arn })).status).toBe('RUNNING');
    await later.service.start();
    const described = await later.call('DescribeExecution', { executionArn: arn });
    expect(described).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(described.cause).toMatch(/local runtime restarted/);
    const events = await later.history(arn);
    expect(eventTypes(events).slice(0, 4)).toEqual(['ExecutionStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted']);
    expect(events.at(-1)).toMatchObject({ type: 'ExecutionFailed', executionFailedEventDetails: { error: 'States.Runtime' } });
    await expect(later.call('SendTaskSuccess', { taskToken: token, output: '{}' })).rejects.toThrow(expect.objectContaining({ name: 'TaskDoesNotExist' }));
  });
});

describe('model-build.asl.yaml', () => {
  const START_JOB = fakeFunctionArn('StartJobLambdaFunction');
  const READ_METRIC = fakeFunctionArn('ReadMetricLambdaFunction');
  const REGISTER = fakeFunctionArn('RegisterModelLambdaFunction');
  const modelBuild = machine('sluice-test-model-build', loadStateMachineDefinition('model-build') as unknown as Json);
  const registration = { modelPackageArn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:model-package/abalone/1`, modelPackageGroupName: 'abalone', modelApprovalStatus: 'PendingManualApproval' };

  function buildInput(taskTimeoutSeconds = 10800): Json {
    return JSON.parse(JSON.stringify({ build: buildContext({ taskTimeoutSeconds }), config: exampleConfig(), failure: null }));
  }

  function modelBuildFakes(): Fakes {
    return {
      invokeLambda: async (functionName) => {
        if (functionName === START_JOB) return { jobName: 'job' };
        if (functionName === READ_METRIC) return { metric: 'mse', value: 4.2, operator: '<=', threshold: 6, reportUri: 's3://b/evaluation.json', description: 'mse = 4.2' };
        if (functionName === REGISTER) return registration;
        throw new Error(`unexpected function ${functionName}`);
      },
    };
  }

  /** The start-job call for `step` (waits for it). */
  async function startJobCall(h: Harness, step: string): Promise<Json> {
    const call = await eventually(() => h.lambdaCalls.find((item) => item.functionName === START_JOB && item.payload.step === step), `start-job ${step}`);
    return call.payload;
  }

  function detailTypes(h: Harness): unknown[] {
    return h.putEventsCalls.flat().map((entry) => entry.DetailType);
  }

  it('builds, trains, evaluates and registers when each job completes through SendTaskSuccess', async () => {
    const h = harness([modelBuild], modelBuildFakes());
    const arn = await h.startExecution(modelBuild, buildInput(), 'build-1');
    const tokens: string[] = [];
    for (const [step, result] of [
      ['preprocess', { jobName: 'p', outputs: { train: 's3://b/train/' } }],
      ['train', { jobName: 't', modelArtifacts: 's3://b/model.tar.gz' }],
      ['evaluate', { jobName: 'e', outputs: { evaluation: 's3://b/evaluation/' } }],
    ] as const) {
      const payload = await startJobCall(h, step);
      expect(payload.executionArn).toBe(arn);
      tokens.push(payload.taskToken as string);
      await h.call('SendTaskSuccess', { taskToken: payload.taskToken, output: JSON.stringify(result) });
    }
    const described = await h.waitForStatus(arn, 'SUCCEEDED');
    expect(new Set(tokens).size).toBe(3);
    expect(JSON.parse(described.output as string)).toEqual(registration);
    expect(detailTypes(h)).toEqual(['Model Build Started', 'Model Package Registered', 'Model Build Succeeded']);
    const started = h.putEventsCalls[0]![0]!;
    expect(JSON.parse(started.Detail as string)).toMatchObject({ repository: 'abalone', executionArn: arn });
    const register = h.lambdaCalls.find((item) => item.functionName === REGISTER)!;
    expect(register.payload).toMatchObject({ jobs: { train: { modelArtifacts: 's3://b/model.tar.gz' } }, gate: { value: 4.2 } });

    const types = eventTypes(await h.history(arn));
    expect(types.slice(0, 8)).toEqual(['ExecutionStarted', 'ChoiceStateEntered', 'ChoiceStateExited', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSucceeded', 'TaskStateExited']);
    expect(types).toContain('ChoiceStateEntered');
    expect(types.filter((type) => type === 'TaskSubmitted')).toHaveLength(3);
    expect(types.filter((type) => type === 'TaskStateEntered')).toHaveLength(types.filter((type) => type === 'TaskStateExited').length);
    expect(types.at(-1)).toBe('ExecutionSucceeded');
  });

  it('fails the build with the job failure reported through SendTaskFailure, naming the failed step', async () => {
    const h = harness([modelBuild], modelBuildFakes());
    const arn = await h.startExecution(modelBuild, buildInput());
    const preprocess = await startJobCall(h, 'preprocess');
    await h.call('SendTaskSuccess', { taskToken: preprocess.taskToken, output: '{"jobName":"p"}' });
    const train = await startJobCall(h, 'train');
    await h.call('SendTaskFailure', { taskToken: train.taskToken, error: 'SageMakerJobFailed', cause: 'training job t failed: AlgorithmError' });
    expect(await h.waitForStatus(arn, 'FAILED')).toMatchObject({ error: 'SageMakerJobFailed', cause: 'training job t failed: AlgorithmError' });
    expect(detailTypes(h)).toEqual(['Model Build Started', 'Model Build Failed']);
    expect(JSON.parse(h.putEventsCalls[1]![0]!.Detail as string)).toMatchObject({ step: 'Train', error: 'SageMakerJobFailed' });
  });

  it('times a job out with States.Timeout after build.taskTimeoutSeconds', async () => {
    const h = harness([modelBuild], modelBuildFakes());
    const arn = await h.startExecution(modelBuild, buildInput(1));
    await startJobCall(h, 'preprocess');
    expect(await h.waitForStatus(arn, 'FAILED')).toMatchObject({ error: 'States.Timeout' });
    expect(JSON.parse(h.putEventsCalls[1]![0]!.Detail as string)).toMatchObject({ step: 'Preprocess', error: 'States.Timeout' });
  });
});

describe('through the AWS SDK', () => {
  let server: Server | undefined;

  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('starts, completes and inspects an execution with @aws-sdk/client-sfn', async () => {
    const h = harness([WAIT_FOR_TOKEN], { invokeLambda: async () => null });
    server = createServer((request, response) => {
      void readBody(request).then((body) => serveAwsJson(request, response, body, h.service.operations, { contentType: 'application/x-amz-json-1.0' }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = new SFNClient({ endpoint: `http://127.0.0.1:${port}`, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

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
});
