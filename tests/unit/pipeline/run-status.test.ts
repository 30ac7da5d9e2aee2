import 'aws-sdk-client-mock-jest';

import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, ExecutionStatus, GetExecutionHistoryCommand, HistoryEventType, ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import { RetryableError } from '../../../shared/errors';
import { announceBuildEnd, failedStep, readableCause, reconcileBuildEnds } from '../../../shared/pipeline/run-status';
import { type ExecutionStatusChange, executionStatusChangeSchema, parseEvent } from '../../../shared/schemas/events';
import { ACCOUNT, loadFixture, REGION } from '../../helpers/fixtures';
import { ANNOUNCEMENT_TABLE, type FakeTable, fakeTable, HistoryBuilder, type ListedRun, newRun, PIPELINE_STATE_MACHINE_ARN, serveHistory, serveRuns, type TestRun } from '../../helpers/step-tasks';

const sfn = mockClient(SFNClient);
const events = mockClient(EventBridgeClient);
const dynamo = mockClient(DynamoDBDocumentClient);

const BUS = 'sluice-test';
const TO = { eventBusName: BUS, announcementTable: ANNOUNCEMENT_TABLE };
const NOW = new Date('2026-11-24T12:00:00Z');

let run: TestRun;
let announcements: FakeTable;

beforeEach(() => {
  sfn.reset();
  events.reset();
  dynamo.reset();
  run = newRun();
  announcements = fakeTable(dynamo, ANNOUNCEMENT_TABLE, 'announcement');
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '11710aed-b79e-4468-a20b-bb3c0c3b4860' }] });
});

function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' });
}

/** The execution's input as a compiled pipeline receives it. */
function runInput(of: TestRun = run): Record<string, unknown> {
  return { build: of.build, parameters: {}, steps: {}, reuse: {} };
}

/** The status-change event of `run` (tests/fixtures/execution-status-change.json) with `detail` fields replaced, parsed as on-build-status-change parses it. */
function statusChange(detail: Record<string, unknown>): ExecutionStatusChange['detail'] {
  const event = loadFixture<{ detail: Record<string, unknown>; resources: string[] }>('execution-status-change.json');
  const name = run.build.executionName;
  Object.assign(event.detail, { executionArn: run.executionArn, stateMachineArn: PIPELINE_STATE_MACHINE_ARN, name, input: JSON.stringify(runInput()), ...detail });
  event.resources = [run.executionArn];
  return parseEvent(executionStatusChangeSchema, event).detail;
}

/** The detail of the one event published. */
function published(): Record<string, unknown> {
  const calls = events.commandCalls(PutEventsCommand);
  expect(calls).toHaveLength(1);
  const entry = calls[0]!.args[0].input.Entries![0]!;
  expect(entry).toMatchObject({ EventBusName: BUS, Source: 'sluice', DetailType: 'Model Build Failed', Resources: [run.executionArn] });
  return JSON.parse(entry.Detail!) as Record<string, unknown>;
}

/** A job step's waitForTaskToken task that succeeds: entered, scheduled, started, submitted, succeeded, exited. Returns the exit's id. */
function jobSucceeds(history: HistoryBuilder, name: string, previous?: number): number {
  const entered = history.entered('Task', name, {}, previous);
  const scheduled = history.add(HistoryEventType.TaskScheduled, { taskScheduledEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', region: 'us-east-1', parameters: '{}' } }, entered);
  const started = history.add(HistoryEventType.TaskStarted, { taskStartedEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda' } }, scheduled);
  const submitted = history.add(HistoryEventType.TaskSubmitted, { taskSubmittedEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', output: '{}' } }, started);
  const succeeded = history.add(HistoryEventType.TaskSucceeded, { taskSucceededEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', output: '{}' } }, submitted);
  return history.exited('Task', name, {}, succeeded);
}

const SNAPSHOT_FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-snapshotSource';

/** ExecutionStarted and the Build started event task, the first two things of every build run. Returns the last event's id. */
function announced(history: HistoryBuilder): number {
  history.add(HistoryEventType.ExecutionStarted, { executionStartedEventDetails: { input: JSON.stringify(runInput()), roleArn: 'arn:aws:iam::123456789012:role/sluice-test-pipeline' } }, 0);
  const entered = history.entered('Task', 'Build started', runInput());
  const scheduled = history.add(HistoryEventType.TaskScheduled, { taskScheduledEventDetails: { resource: 'putEvents', resourceType: 'events', region: 'us-east-1', parameters: '{}' } }, entered);
  const succeeded = history.add(HistoryEventType.TaskSucceeded, { taskSucceededEventDetails: { resource: 'putEvents', resourceType: 'events', output: '{}' } }, scheduled);
  return history.exited('Task', 'Build started', runInput(), succeeded);
}

/** The Source snapshot task (a Lambda function) entered after `previous` and started; returns the LambdaFunctionStarted id. */
function snapshotStarted(history: HistoryBuilder, previous: number): number {
  const entered = history.entered('Task', 'Source snapshot', runInput(), previous);
  const scheduled = history.add(HistoryEventType.LambdaFunctionScheduled, { lambdaFunctionScheduledEventDetails: { resource: SNAPSHOT_FUNCTION, input: JSON.stringify({ build: run.build }) } }, entered);
  return history.add(HistoryEventType.LambdaFunctionStarted, {}, scheduled);
}

/** The start of every build run: ExecutionStarted, the Build started event task and the Source snapshot task. Returns the last event's id. */
function buildStarted(history: HistoryBuilder): number {
  const started = snapshotStarted(history, announced(history));
  const succeeded = history.add(HistoryEventType.LambdaFunctionSucceeded, { lambdaFunctionSucceededEventDetails: { output: '{"files":12,"bytes":48213,"reused":false}' } }, started);
  return history.exited('Task', 'Source snapshot', runInput(), succeeded);
}

/** What Lambda puts in `cause` when snapshot-source throws SourceTooLargeError. */
const SOURCE_TOO_LARGE_CAUSE = JSON.stringify({
  errorType: 'SourceTooLarge',
  errorMessage: 'source of abalone@0123456789ab exceeds the stage limit of 52428800 bytes (reached at data/abalone.csv); keep data sets out of the repository and read them as Dataset inputs',
  trace: ['SourceTooLarge: source of abalone@0123456789ab exceeds the stage limit …', '    at snapshotSource (/var/task/snapshot-source.js:1:2345)'],
});

/** A run whose source tree is too large: snapshot-source fails with SourceTooLarge, before any step. */
function failingAtTheSnapshot(): HistoryBuilder {
  const history = new HistoryBuilder();
  const started = snapshotStarted(history, announced(history));
  const failed = history.add(HistoryEventType.LambdaFunctionFailed, { lambdaFunctionFailedEventDetails: { error: 'SourceTooLarge', cause: SOURCE_TOO_LARGE_CAUSE } }, started);
  history.add(HistoryEventType.ExecutionFailed, { executionFailedEventDetails: { error: 'SourceTooLarge', cause: SOURCE_TOO_LARGE_CAUSE } }, failed);
  return history;
}

/** The abalone run failing in `Register registered`: the version is registered, but publishing Model Package Registered fails. */
function abaloneFailingToAnnounceTheVersion(): HistoryBuilder {
  const history = new HistoryBuilder();
  let previous = buildStarted(history);
  for (const step of ['Preprocess', 'Train', 'Evaluate']) previous = jobSucceeds(history, step, previous);
  const registerEntered = history.entered('Task', 'Register', {}, previous);
  const scheduled = history.add(HistoryEventType.LambdaFunctionScheduled, { lambdaFunctionScheduledEventDetails: { resource: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-registerModel', input: '{}' } }, registerEntered);
  const lambdaStarted = history.add(HistoryEventType.LambdaFunctionStarted, {}, scheduled);
  const registered = history.add(HistoryEventType.LambdaFunctionSucceeded, { lambdaFunctionSucceededEventDetails: { output: '{"Type":"RegisterModel"}' } }, lambdaStarted);
  const registerExited = history.exited('Task', 'Register', {}, registered);
  const announce = history.entered('Task', 'Register registered', {}, registerExited);
  const putScheduled = history.add(HistoryEventType.TaskScheduled, { taskScheduledEventDetails: { resource: 'putEvents', resourceType: 'events', region: 'us-east-1', parameters: '{}' } }, announce);
  const putStarted = history.add(HistoryEventType.TaskStarted, { taskStartedEventDetails: { resource: 'putEvents', resourceType: 'events' } }, putScheduled);
  const failed = history.add(HistoryEventType.TaskFailed, { taskFailedEventDetails: { resource: 'putEvents', resourceType: 'events', error: 'EventBridge.AccessDeniedException', cause: 'not authorized to perform events:PutEvents' } }, putStarted);
  history.add(HistoryEventType.ExecutionFailed, { executionFailedEventDetails: { error: 'EventBridge.AccessDeniedException', cause: 'not authorized to perform events:PutEvents' } }, failed);
  return history;
}

const TRAIN_XGB_CAUSE = 'training job abalone-trainxgb-3f2a1b0c9d8e failed: AlgorithmError: XGBoostError: value 0 for Parameter num_round should be greater equal to 1';

/**
 * tests/fixtures/pipelines/fork-join.yaml failing in TrainXgb inside its Parallel, while the other
 * branch went on: TrainLinear finished and EvaluateLinear was entered after TrainXgb was.
 */
function forkJoinFailingInTrainXgb(): HistoryBuilder {
  const history = new HistoryBuilder();
  const prepared = jobSucceeds(history, 'Prepare', buildStarted(history));
  const parallel = history.entered('Parallel', 'parallel #1: TrainXgb, EvaluateXgb, TrainLinear, EvaluateLinear', {}, prepared);
  const branches = history.add(HistoryEventType.ParallelStateStarted, {}, parallel);
  const xgbEntered = history.entered('Task', 'TrainXgb', {}, branches);
  const linearEntered = history.entered('Task', 'TrainLinear', {}, branches);
  const xgbScheduled = history.add(HistoryEventType.TaskScheduled, { taskScheduledEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', region: 'us-east-1', parameters: '{}' } }, xgbEntered);
  const linearScheduled = history.add(HistoryEventType.TaskScheduled, { taskScheduledEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', region: 'us-east-1', parameters: '{}' } }, linearEntered);
  const xgbStarted = history.add(HistoryEventType.TaskStarted, { taskStartedEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda' } }, xgbScheduled);
  const linearStarted = history.add(HistoryEventType.TaskStarted, { taskStartedEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda' } }, linearScheduled);
  const xgbSubmitted = history.add(HistoryEventType.TaskSubmitted, { taskSubmittedEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', output: '{}' } }, xgbStarted);
  const linearSubmitted = history.add(HistoryEventType.TaskSubmitted, { taskSubmittedEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', output: '{}' } }, linearStarted);
  const linearSucceeded = history.add(HistoryEventType.TaskSucceeded, { taskSucceededEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', output: '{}' } }, linearSubmitted);
  const linearExited = history.exited('Task', 'TrainLinear', {}, linearSucceeded);
  const evaluateEntered = history.entered('Task', 'EvaluateLinear', {}, linearExited);
  history.add(HistoryEventType.TaskScheduled, { taskScheduledEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', region: 'us-east-1', parameters: '{}' } }, evaluateEntered);
  const failed = history.add(HistoryEventType.TaskFailed, { taskFailedEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', error: 'SageMakerJobFailed', cause: TRAIN_XGB_CAUSE } }, xgbSubmitted);
  const parallelFailed = history.add(HistoryEventType.ParallelStateFailed, {}, failed);
  history.add(HistoryEventType.ExecutionFailed, { executionFailedEventDetails: { error: 'SageMakerJobFailed', cause: TRAIN_XGB_CAUSE } }, parallelFailed);
  return history;
}

/** The abalone run up to QualityGate (a Lambda task), returning the last event's id. */
function abaloneUpToQualityGate(history: HistoryBuilder): number {
  let previous = buildStarted(history);
  for (const step of ['Preprocess', 'Train', 'Evaluate']) previous = jobSucceeds(history, step, previous);
  const entered = history.entered('Task', 'QualityGate', {}, previous);
  const scheduled = history.add(HistoryEventType.LambdaFunctionScheduled, { lambdaFunctionScheduledEventDetails: { resource: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-evaluate-step', input: '{}' } }, entered);
  return history.add(HistoryEventType.LambdaFunctionStarted, {}, scheduled);
}

const QUALITY_GATE_CAUSE = 'quality gate not met: regression_metrics.mse.value = 7.5, required <= 6';

/** The abalone run ending in its Fail step: QualityGate is false, QualityGateFailed builds the message, `QualityGateFailed failed` fails the run. */
function abaloneFailingTheGate(): HistoryBuilder {
  const history = new HistoryBuilder();
  const started = abaloneUpToQualityGate(history);
  const succeeded = history.add(HistoryEventType.LambdaFunctionSucceeded, { lambdaFunctionSucceededEventDetails: { output: '{"Type":"Condition","Outcome":false,"Values":[]}' } }, started);
  const gateExited = history.exited('Task', 'QualityGate', {}, succeeded);
  const choice = history.entered('Choice', 'QualityGate ?', {}, gateExited);
  const choiceExited = history.exited('Choice', 'QualityGate ?', {}, choice);
  const failEntered = history.entered('Task', 'QualityGateFailed', {}, choiceExited);
  const scheduled = history.add(HistoryEventType.LambdaFunctionScheduled, { lambdaFunctionScheduledEventDetails: { resource: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-evaluate-step', input: '{}' } }, failEntered);
  const lambdaStarted = history.add(HistoryEventType.LambdaFunctionStarted, {}, scheduled);
  const built = history.add(HistoryEventType.LambdaFunctionSucceeded, { lambdaFunctionSucceededEventDetails: { output: JSON.stringify({ Type: 'Fail', Error: 'QualityGateFailed', Cause: QUALITY_GATE_CAUSE }) } }, lambdaStarted);
  const exited = history.exited('Task', 'QualityGateFailed', {}, built);
  const fail = history.add(HistoryEventType.FailStateEntered, { stateEnteredEventDetails: { name: 'QualityGateFailed failed', input: '{}' } }, exited);
  history.add(HistoryEventType.ExecutionFailed, { executionFailedEventDetails: { error: 'QualityGateFailed', cause: QUALITY_GATE_CAUSE } }, fail);
  return history;
}

/** What Lambda puts in `cause` when a function throws: its JSON error payload. */
const METRIC_NOT_FOUND_CAUSE = JSON.stringify({
  errorType: 'MetricNotFound',
  errorMessage: 'Steps.QualityGate.Condition.Left: regression_metrics.mse.value is not in s3://sluice-test-artifacts/builds/x/Evaluate/evaluation/evaluation.json',
  trace: ['MetricNotFound: Steps.QualityGate.Condition.Left: regression_metrics.mse.value is not in …', '    at jsonGet (/var/task/evaluate-step.js:1:2345)'],
});

/** The abalone run failing in QualityGate's Lambda function (a report without the value). */
function abaloneFailingInTheCondition(): HistoryBuilder {
  const history = new HistoryBuilder();
  const started = abaloneUpToQualityGate(history);
  const failed = history.add(HistoryEventType.LambdaFunctionFailed, { lambdaFunctionFailedEventDetails: { error: 'MetricNotFound', cause: METRIC_NOT_FOUND_CAUSE } }, started);
  history.add(HistoryEventType.ExecutionFailed, { executionFailedEventDetails: { error: 'MetricNotFound', cause: METRIC_NOT_FOUND_CAUSE } }, failed);
  return history;
}

describe('failedStep', () => {
  it('finds a task that failed inside a Parallel by its previousEventId chain, not the latest state entered', async () => {
    serveHistory(sfn, run.executionArn, forkJoinFailingInTrainXgb().events);

    await expect(failedStep(run.executionArn)).resolves.toBe('TrainXgb');
  });

  it('finds it across pages of the history', async () => {
    serveHistory(sfn, run.executionArn, forkJoinFailingInTrainXgb().events, 4);

    await expect(failedStep(run.executionArn)).resolves.toBe('TrainXgb');
    expect(sfn.commandCalls(GetExecutionHistoryCommand).length).toBeGreaterThan(1);
  });

  it('walks the history newest first', async () => {
    serveHistory(sfn, run.executionArn, forkJoinFailingInTrainXgb().events);

    await failedStep(run.executionArn);

    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, { executionArn: run.executionArn, reverseOrder: true });
  });

  it('names the Fail step for a run ended by its Fail state (`<name> failed`)', async () => {
    serveHistory(sfn, run.executionArn, abaloneFailingTheGate().events);

    await expect(failedStep(run.executionArn)).resolves.toBe('QualityGateFailed');
  });

  it('names the step of `<name> registered` when publishing its version fails, not the internal state', async () => {
    serveHistory(sfn, run.executionArn, abaloneFailingToAnnounceTheVersion().events);

    await expect(failedStep(run.executionArn)).resolves.toBe('Register');
  });

  it('names Source snapshot, a state around the steps, for a run whose snapshot failed', async () => {
    serveHistory(sfn, run.executionArn, failingAtTheSnapshot().events);

    await expect(failedStep(run.executionArn)).resolves.toBe('Source snapshot');
  });

  it('names the step of `<name> ?` for a run aborted at a Condition\'s Choice', async () => {
    const history = new HistoryBuilder();
    const gateExited = history.exited('Task', 'Gate', {}, history.entered('Task', 'Gate', {}, jobSucceeds(history, 'Prepare', buildStarted(history))));
    history.add(HistoryEventType.ExecutionAborted, {}, history.entered('Choice', 'Gate ?', {}, gateExited));
    serveHistory(sfn, run.executionArn, history.events);

    await expect(failedStep(run.executionArn)).resolves.toBe('Gate');
  });

  it('names a step whose Lambda function failed', async () => {
    serveHistory(sfn, run.executionArn, abaloneFailingInTheCondition().events);

    await expect(failedStep(run.executionArn)).resolves.toBe('QualityGate');
  });

  it('names a job step whose task failed after its retries', async () => {
    const history = new HistoryBuilder();
    const entered = history.entered('Task', 'Train', {}, jobSucceeds(history, 'Preprocess', buildStarted(history)));
    let previous = entered;
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const scheduled = history.add(HistoryEventType.TaskScheduled, { taskScheduledEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', region: 'us-east-1', parameters: '{}' } }, previous);
      const submitted = history.add(HistoryEventType.TaskSubmitted, { taskSubmittedEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', output: '{}' } }, scheduled);
      previous = history.add(HistoryEventType.TaskFailed, { taskFailedEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', error: 'SageMakerCapacityError', cause: 'CapacityError: Unable to provision requested ML compute capacity.' } }, submitted);
    }
    history.add(HistoryEventType.ExecutionFailed, { executionFailedEventDetails: { error: 'SageMakerCapacityError', cause: 'CapacityError' } }, previous);
    serveHistory(sfn, run.executionArn, history.events);

    await expect(failedStep(run.executionArn)).resolves.toBe('Train');
  });

  it('names a job step whose task timed out', async () => {
    const history = new HistoryBuilder();
    const entered = history.entered('Task', 'Train', {}, jobSucceeds(history, 'Preprocess', buildStarted(history)));
    const scheduled = history.add(HistoryEventType.TaskScheduled, { taskScheduledEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', region: 'us-east-1', parameters: '{}' } }, entered);
    const timedOut = history.add(HistoryEventType.TaskTimedOut, { taskTimedOutEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', error: 'States.Timeout' } }, scheduled);
    history.add(HistoryEventType.ExecutionFailed, { executionFailedEventDetails: { error: 'States.Timeout' } }, timedOut);
    serveHistory(sfn, run.executionArn, history.events);

    await expect(failedStep(run.executionArn)).resolves.toBe('Train');
  });

  it('names the latest state entered when no state failed (an aborted run)', async () => {
    const history = new HistoryBuilder();
    const entered = history.entered('Task', 'Train', {}, jobSucceeds(history, 'Preprocess', buildStarted(history)));
    history.add(HistoryEventType.TaskScheduled, {}, entered);
    history.add(HistoryEventType.ExecutionAborted, {});
    serveHistory(sfn, run.executionArn, history.events);

    await expect(failedStep(run.executionArn)).resolves.toBe('Train');
  });

  it('rejects with RetryableError when GetExecutionHistory is throttled', async () => {
    sfn.on(GetExecutionHistoryCommand).rejects(throttling());

    await expect(failedStep(run.executionArn)).rejects.toThrow(RetryableError);
  });
});

describe('readableCause', () => {
  it('unwraps a Lambda function error payload to its errorMessage', () => {
    expect(readableCause(METRIC_NOT_FOUND_CAUSE)).toBe('Steps.QualityGate.Condition.Left: regression_metrics.mse.value is not in s3://sluice-test-artifacts/builds/x/Evaluate/evaluation/evaluation.json');
  });

  it.each([
    ['a plain message', QUALITY_GATE_CAUSE],
    ['JSON without errorMessage', '{"status":500}'],
  ])('keeps %s as it is', (_what, cause) => {
    expect(readableCause(cause)).toBe(cause);
  });

  it.each([null, undefined, ''])('gives undefined for %p', (cause) => {
    expect(readableCause(cause)).toBeUndefined();
  });
});

describe('announceBuildEnd', () => {
  it.each(['SUCCEEDED', 'RUNNING'])('ignores a %s run, reading no history and publishing nothing', async (status) => {
    await expect(announceBuildEnd(statusChange({ status, error: null, cause: null }), TO)).resolves.toEqual({ action: 'ignored', reason: `status ${status} is announced by the run itself` });

    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(events).not.toHaveReceivedAnyCommand();
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('publishes Model Build Failed with the build, the failing step inside a Parallel, the error and the cause', async () => {
    serveHistory(sfn, run.executionArn, forkJoinFailingInTrainXgb().events);

    await expect(announceBuildEnd(statusChange({ status: 'FAILED', error: 'SageMakerJobFailed', cause: TRAIN_XGB_CAUSE }), TO)).resolves.toEqual({ action: 'published', step: 'TrainXgb' });

    expect(published()).toEqual({
      repository: 'abalone',
      branch: 'main',
      commit: run.build.commit,
      executionArn: run.executionArn,
      step: 'TrainXgb',
      status: 'FAILED',
      error: 'SageMakerJobFailed',
      cause: TRAIN_XGB_CAUSE,
      redriveCount: 0,
    });
  });

  it('names the Fail step and passes its error name and message', async () => {
    serveHistory(sfn, run.executionArn, abaloneFailingTheGate().events);

    await announceBuildEnd(statusChange({ status: 'FAILED', error: 'QualityGateFailed', cause: QUALITY_GATE_CAUSE }), TO);

    expect(published()).toMatchObject({ step: 'QualityGateFailed', error: 'QualityGateFailed', cause: QUALITY_GATE_CAUSE });
  });

  it('unwraps a failed Lambda function\'s JSON cause to its errorMessage', async () => {
    serveHistory(sfn, run.executionArn, abaloneFailingInTheCondition().events);

    await announceBuildEnd(statusChange({ status: 'FAILED', error: 'MetricNotFound', cause: METRIC_NOT_FOUND_CAUSE }), TO);

    expect(published()).toMatchObject({ step: 'QualityGate', error: 'MetricNotFound', cause: JSON.parse(METRIC_NOT_FOUND_CAUSE).errorMessage });
  });

  it('names the step Source snapshot and passes SourceTooLarge with its message for a tree too large to snapshot', async () => {
    serveHistory(sfn, run.executionArn, failingAtTheSnapshot().events);

    await expect(announceBuildEnd(statusChange({ status: 'FAILED', error: 'SourceTooLarge', cause: SOURCE_TOO_LARGE_CAUSE }), TO)).resolves.toEqual({ action: 'published', step: 'Source snapshot' });

    expect(published()).toMatchObject({ step: 'Source snapshot', error: 'SourceTooLarge', cause: JSON.parse(SOURCE_TOO_LARGE_CAUSE).errorMessage });
  });

  it('names the step Config for a build rejected before it started, reading no history', async () => {
    const rejected = { build: run.build, failure: { Error: 'InvalidConfig', Cause: 'mlops.yaml: Steps.Train.ResourceConfig: is required' } };

    await announceBuildEnd(statusChange({ status: 'FAILED', input: JSON.stringify(rejected), error: 'InvalidConfig', cause: 'mlops.yaml: Steps.Train.ResourceConfig: is required' }), TO);

    expect(published()).toMatchObject({ repository: 'abalone', commit: run.build.commit, step: 'Config', error: 'InvalidConfig', cause: 'mlops.yaml: Steps.Train.ResourceConfig: is required' });
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('says Aborted for an aborted run without an error', async () => {
    const history = new HistoryBuilder();
    const entered = history.entered('Task', 'Train', {}, jobSucceeds(history, 'Preprocess', buildStarted(history)));
    history.add(HistoryEventType.ExecutionAborted, {}, entered);
    serveHistory(sfn, run.executionArn, history.events);

    await announceBuildEnd(statusChange({ status: 'ABORTED', error: null, cause: null }), TO);

    expect(published()).toMatchObject({ step: 'Train', status: 'ABORTED', error: 'Aborted', cause: null });
  });

  it('says States.Timeout for a run that timed out without an error', async () => {
    const history = new HistoryBuilder();
    const entered = history.entered('Task', 'Train', {}, jobSucceeds(history, 'Preprocess', buildStarted(history)));
    history.add(HistoryEventType.ExecutionTimedOut, {}, entered);
    serveHistory(sfn, run.executionArn, history.events);

    await announceBuildEnd(statusChange({ status: 'TIMED_OUT', error: null, cause: null }), TO);

    expect(published()).toMatchObject({ step: 'Train', status: 'TIMED_OUT', error: 'States.Timeout' });
  });

  it('passes the redrive count of a redriven run that failed again', async () => {
    serveHistory(sfn, run.executionArn, forkJoinFailingInTrainXgb().events);

    await announceBuildEnd(statusChange({ status: 'FAILED', error: 'SageMakerJobFailed', cause: TRAIN_XGB_CAUSE, redriveCount: 2 }), TO);

    expect(published()).toMatchObject({ redriveCount: 2 });
  });

  it('rejects with RetryableError when EventBridge rejects the entry', async () => {
    serveHistory(sfn, run.executionArn, forkJoinFailingInTrainXgb().events);
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] });

    await expect(announceBuildEnd(statusChange({ status: 'FAILED', error: 'SageMakerJobFailed', cause: TRAIN_XGB_CAUSE }), TO)).rejects.toThrow(RetryableError);
  });
});

describe('announceBuildEnd, once per run and redrive', () => {
  const failed = () => statusChange({ status: 'FAILED', error: 'SageMakerJobFailed', cause: TRAIN_XGB_CAUSE });

  beforeEach(() => serveHistory(sfn, run.executionArn, forkJoinFailingInTrainXgb().events));

  it('records the announcement under <executionArn>#<redriveCount> once published, kept for a week', async () => {
    await announceBuildEnd(failed(), TO, NOW);

    expect([...announcements.items.values()]).toEqual([
      {
        announcement: `${run.executionArn}#0`,
        executionArn: run.executionArn,
        redriveCount: 0,
        status: 'FAILED',
        step: 'TrainXgb',
        announcedAt: '2026-11-24T12:00:00.000Z',
        expiresAt: NOW.getTime() / 1000 + 7 * 86_400,
      },
    ]);
  });

  it('publishes a duplicated status event once, reading no history the second time', async () => {
    await announceBuildEnd(failed(), TO, NOW);
    const reads = sfn.commandCalls(GetExecutionHistoryCommand).length;

    await expect(announceBuildEnd(failed(), TO, NOW)).resolves.toEqual({ action: 'already-announced', announcedAt: '2026-11-24T12:00:00.000Z' });

    expect(events).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(sfn.commandCalls(GetExecutionHistoryCommand)).toHaveLength(reads);
  });

  it('announces a redrive that failed again, though the run was announced before', async () => {
    await announceBuildEnd(failed(), TO, NOW);

    await expect(announceBuildEnd(statusChange({ status: 'FAILED', error: 'SageMakerJobFailed', cause: TRAIN_XGB_CAUSE, redriveCount: 1 }), TO, NOW)).resolves.toMatchObject({ action: 'published' });

    expect(events).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    expect([...announcements.items.keys()]).toEqual([`${run.executionArn}#0`, `${run.executionArn}#1`]);
  });

  it('records nothing when the publish is throttled, so the retry still publishes', async () => {
    events.on(PutEventsCommand).rejectsOnce(throttling()).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });

    await expect(announceBuildEnd(failed(), TO, NOW)).rejects.toThrow(RetryableError);
    expect(announcements.items.size).toBe(0);

    await expect(announceBuildEnd(failed(), TO, NOW)).resolves.toEqual({ action: 'published', step: 'TrainXgb' });
    expect(events).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    expect(announcements.items.size).toBe(1);
  });

  it('reports a duplicate when another announcer recorded the run while this one published, keeping its record', async () => {
    const theirs = { announcement: `${run.executionArn}#0`, executionArn: run.executionArn, redriveCount: 0, status: 'FAILED', step: 'TrainXgb', announcedAt: '2026-11-24T11:59:59.000Z', expiresAt: 1 };
    events.on(PutEventsCommand).callsFake(() => {
      announcements.items.set(theirs.announcement, theirs);
      return { FailedEntryCount: 0, Entries: [{ EventId: '1' }] };
    });

    await expect(announceBuildEnd(failed(), TO, NOW)).resolves.toEqual({ action: 'published', step: 'TrainXgb', duplicate: true });

    expect(announcements.items.get(theirs.announcement)).toEqual(theirs);
  });

  it('rejects with RetryableError when the record cannot be read, publishing nothing', async () => {
    dynamo.on(GetCommand).rejects(new ProvisionedThroughputExceededException({ message: 'The level of configured provisioned throughput for the table was exceeded.', $metadata: {} }));

    await expect(announceBuildEnd(failed(), TO, NOW)).rejects.toThrow(RetryableError);

    expect(events).not.toHaveReceivedAnyCommand();
  });
});

describe('reconcileBuildEnds', () => {
  const PREFIX = 'sluice-test-build-';
  const MIN_AGE_SECONDS = 120;
  const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000);
  const OTHER_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:other-team-etl`;

  /** `of` as Step Functions lists it: it started `startedAgo` and (unless running) stopped `stoppedAgo` seconds before NOW. */
  function listed(of: TestRun, status: ExecutionStatus, stoppedAgo: number | undefined, fields: Partial<ListedRun> = {}): ListedRun {
    return {
      executionArn: of.executionArn,
      stateMachineArn: PIPELINE_STATE_MACHINE_ARN,
      name: of.build.executionName,
      status,
      startDate: ago((stoppedAgo ?? 0) + 1800),
      stopDate: stoppedAgo === undefined ? undefined : ago(stoppedAgo),
      input: JSON.stringify(runInput(of)),
      ...(status === ExecutionStatus.FAILED ? { error: 'SageMakerJobFailed', cause: TRAIN_XGB_CAUSE } : {}),
      ...fields,
    };
  }

  /** Failing histories for `runs`, each failing in TrainXgb. */
  function failingHistories(...runs: TestRun[]): void {
    for (const of of runs) serveHistory(sfn, of.executionArn, forkJoinFailingInTrainXgb().events);
  }

  const reconcile = (now = NOW) => reconcileBuildEnds(TO, PREFIX, MIN_AGE_SECONDS, now);

  /** Every Model Build Failed published, by execution and redrive. */
  function publishedRuns(): string[] {
    return events.commandCalls(PutEventsCommand).map((call) => {
      const detail = JSON.parse(call.args[0].input.Entries![0]!.Detail!) as { executionArn: string; redriveCount: number };
      return `${detail.executionArn}#${detail.redriveCount}`;
    });
  }

  it('announces a failed run that has no announcement, as the status event would have', async () => {
    serveRuns(sfn, [PIPELINE_STATE_MACHINE_ARN], [listed(run, ExecutionStatus.FAILED, 600)]);
    failingHistories(run);

    await expect(reconcile()).resolves.toEqual({ checked: 1, announced: 1 });

    expect(published()).toEqual({
      repository: 'abalone',
      branch: 'main',
      commit: run.build.commit,
      executionArn: run.executionArn,
      step: 'TrainXgb',
      status: 'FAILED',
      error: 'SageMakerJobFailed',
      cause: TRAIN_XGB_CAUSE,
      redriveCount: 0,
    });
    expect(announcements.items.has(`${run.executionArn}#0`)).toBe(true);
  });

  it('announces timed-out and aborted runs too', async () => {
    const timedOut = newRun();
    const aborted = newRun();
    serveRuns(sfn, [PIPELINE_STATE_MACHINE_ARN], [listed(timedOut, ExecutionStatus.TIMED_OUT, 600), listed(aborted, ExecutionStatus.ABORTED, 900)]);
    failingHistories(timedOut, aborted);

    await expect(reconcile()).resolves.toEqual({ checked: 2, announced: 2 });

    expect(publishedRuns().sort()).toEqual([`${timedOut.executionArn}#0`, `${aborted.executionArn}#0`].sort());
  });

  it('skips a run already announced, without describing it', async () => {
    serveRuns(sfn, [PIPELINE_STATE_MACHINE_ARN], [listed(run, ExecutionStatus.FAILED, 600)]);
    failingHistories(run);
    await announceBuildEnd(statusChange({ status: 'FAILED', error: 'SageMakerJobFailed', cause: TRAIN_XGB_CAUSE }), TO, ago(590));
    events.resetHistory();

    await expect(reconcile()).resolves.toEqual({ checked: 1, announced: 0 });

    expect(events).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
  });

  it('leaves a run that stopped less than the minimum age ago to the event path', async () => {
    serveRuns(sfn, [PIPELINE_STATE_MACHINE_ARN], [listed(run, ExecutionStatus.FAILED, MIN_AGE_SECONDS - 1)]);
    failingHistories(run);

    await expect(reconcile()).resolves.toEqual({ checked: 0, announced: 0 });

    expect(events).not.toHaveReceivedAnyCommand();
  });

  it('leaves a run that stopped before the window (a day) alone', async () => {
    serveRuns(sfn, [PIPELINE_STATE_MACHINE_ARN], [listed(run, ExecutionStatus.FAILED, 86_400 + 60)]);
    failingHistories(run);

    await expect(reconcile()).resolves.toEqual({ checked: 0, announced: 0 });

    expect(events).not.toHaveReceivedAnyCommand();
  });

  it('lists only FAILED, TIMED_OUT and ABORTED runs, and of the redriven ones announces only those that ended so', async () => {
    const succeeded = newRun();
    const running = newRun();
    const redrivenRunning = newRun();
    serveRuns(sfn, [PIPELINE_STATE_MACHINE_ARN], [
      listed(succeeded, ExecutionStatus.SUCCEEDED, 600),
      listed(running, ExecutionStatus.RUNNING, undefined),
      listed(redrivenRunning, ExecutionStatus.RUNNING, undefined, { redriveCount: 1, redriveDate: ago(300) }),
    ]);

    await expect(reconcile()).resolves.toEqual({ checked: 0, announced: 0 });

    const filters = sfn.commandCalls(ListExecutionsCommand).map((call) => call.args[0].input.statusFilter ?? call.args[0].input.redriveFilter);
    expect(filters).toEqual(['FAILED', 'TIMED_OUT', 'ABORTED', 'REDRIVEN']);
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
    expect(events).not.toHaveReceivedAnyCommand();
  });

  it('looks only at the state machines of the stage\'s build prefix', async () => {
    const foreign = newRun();
    serveRuns(sfn, [OTHER_MACHINE_ARN, PIPELINE_STATE_MACHINE_ARN], [listed(run, ExecutionStatus.FAILED, 600), listed(foreign, ExecutionStatus.FAILED, 600, { stateMachineArn: OTHER_MACHINE_ARN })]);
    failingHistories(run, foreign);

    await expect(reconcile()).resolves.toEqual({ checked: 1, announced: 1 });

    expect(sfn.commandCalls(ListExecutionsCommand).every((call) => call.args[0].input.stateMachineArn === PIPELINE_STATE_MACHINE_ARN)).toBe(true);
  });

  it('reads every page of ListStateMachines and ListExecutions', async () => {
    const secondMachine = `${PIPELINE_STATE_MACHINE_ARN.slice(0, -8)}5e6f7a8b`;
    const runs = [newRun(), newRun(), newRun(), newRun()];
    serveRuns(
      sfn,
      [OTHER_MACHINE_ARN, PIPELINE_STATE_MACHINE_ARN, secondMachine],
      runs.map((of, index) => listed(of, ExecutionStatus.FAILED, 600 + index * 60, { stateMachineArn: index < 3 ? PIPELINE_STATE_MACHINE_ARN : secondMachine })),
      1,
    );
    failingHistories(...runs);

    await expect(reconcile()).resolves.toEqual({ checked: 4, announced: 4 });

    expect(sfn).toHaveReceivedCommandTimes(ListStateMachinesCommand, 3);
    expect(publishedRuns().sort()).toEqual(runs.map((of) => `${of.executionArn}#0`).sort());
  });

  it('stops listing a state machine\'s failed runs at the first that stopped before the window', async () => {
    const recent = newRun();
    const old = [newRun(), newRun(), newRun()];
    serveRuns(sfn, [PIPELINE_STATE_MACHINE_ARN], [listed(recent, ExecutionStatus.FAILED, 600), ...old.map((of, index) => listed(of, ExecutionStatus.FAILED, 2 * 86_400 + index * 3600))], 1);
    failingHistories(recent);

    await expect(reconcile()).resolves.toEqual({ checked: 1, announced: 1 });

    expect(sfn.commandCalls(ListExecutionsCommand).filter((call) => call.args[0].input.statusFilter === 'FAILED')).toHaveLength(2);
  });

  it('announces a redrive that failed again, though its run started days before the window, behind runs that stopped before it', async () => {
    // Listed newest start first: the run that stopped two days ago ends the FAILED walk before the redriven one.
    const older = newRun();
    serveRuns(
      sfn,
      [PIPELINE_STATE_MACHINE_ARN],
      [listed(older, ExecutionStatus.FAILED, 2 * 86_400), listed(run, ExecutionStatus.FAILED, 600, { startDate: ago(5 * 86_400), redriveCount: 1, redriveDate: ago(3600) })],
      1,
    );
    failingHistories(run);

    await expect(reconcile()).resolves.toEqual({ checked: 1, announced: 1 });

    expect(published()).toMatchObject({ executionArn: run.executionArn, redriveCount: 1 });
  });

  it('checks a redriven run listed by both walks once', async () => {
    serveRuns(sfn, [PIPELINE_STATE_MACHINE_ARN], [listed(run, ExecutionStatus.FAILED, 600, { redriveCount: 2, redriveDate: ago(1200) })]);
    failingHistories(run);

    await expect(reconcile()).resolves.toEqual({ checked: 1, announced: 1 });

    expect(publishedRuns()).toEqual([`${run.executionArn}#2`]);
  });

  it('rejects with RetryableError when Step Functions throttles the listing', async () => {
    sfn.on(ListStateMachinesCommand).rejects(throttling());

    await expect(reconcile()).rejects.toThrow(RetryableError);
  });
});
