import { StateMachine } from 'aws-local-stepfunctions';

import type { BuildExecutionInput } from '../../../shared/pipeline/start-build';
import { InvalidInputError, RetryableError, SageMakerJobFailedError, SageMakerJobStoppedError } from '../../../shared/errors';
import { type Json, type LocalHandler, loadStateMachineDefinition, namedError, type PathRun, runPath, TEST_EVENT_BUS, throwing, withFixedTaskTimeouts } from '../../helpers/asl';
import { BUCKET, buildContext, EXECUTION_ARN, exampleConfig } from '../../helpers/fixtures';

/**
 * Path tests of statemachines/model-build.asl.yaml, run in-process by aws-local-stepfunctions.
 * Every Task is overridden by state name. The library has no task tokens: a waitForTaskToken
 * handler receives the resolved Parameters (token included) and its return value stands for
 * SendTaskSuccess; throwing an Error named like the SendTaskFailure error stands for that.
 */

/** The Task states every run overrides (by name). */
type TaskStateName =
  | 'PublishStarted'
  | 'Preprocess'
  | 'Train'
  | 'Evaluate'
  | 'ReadMetric'
  | 'Register'
  | 'PublishSucceeded'
  | 'PublishFailed';

const definition = loadStateMachineDefinition('model-build');
const stateMachine = new StateMachine(withFixedTaskTimeouts(definition));

const TASK_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAd1Tq0cEXAMPLE';
const EXECUTION_NAME = buildContext().executionName;
const BUILD_PREFIX = `s3://${BUCKET}/builds/${EXECUTION_NAME}`;
const MODEL_PACKAGE_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/sluice-test-abalone/3';

/** What Step Functions would receive: the value serialized to JSON (undefined fields dropped). */
function toJson(value: unknown): Json {
  return JSON.parse(JSON.stringify(value));
}

function executionInput(overrides: Partial<BuildExecutionInput> = {}): Json {
  const input: BuildExecutionInput = { build: buildContext(), config: exampleConfig(), failure: null, ...overrides };
  return toJson(input);
}

const preprocessResult = {
  jobName: 'abalone-main-01234567-preprocess',
  status: 'Completed',
  outputs: {
    train: `${BUILD_PREFIX}/preprocess/train/`,
    validation: `${BUILD_PREFIX}/preprocess/validation/`,
    test: `${BUILD_PREFIX}/preprocess/test/`,
  },
};

const trainResult = {
  jobName: 'abalone-main-01234567-train',
  status: 'Completed',
  modelArtifacts: `${BUILD_PREFIX}/train/abalone-main-01234567-train/output/model.tar.gz`,
  finalMetrics: [{ MetricName: 'validation:rmse', Value: 2.12 }],
};

const evaluateResult = {
  jobName: 'abalone-main-01234567-evaluate',
  status: 'Completed',
  outputs: { evaluation: `${BUILD_PREFIX}/evaluate/evaluation/` },
};

const registration = {
  modelPackageArn: MODEL_PACKAGE_ARN,
  modelPackageGroupName: 'sluice-test-abalone',
  modelApprovalStatus: 'PendingManualApproval',
};

/** What read-metric returns for a gate reading (shared/pipeline/metric.ts GateReading). */
function gateReadingPayload(value: number, operator = '<=', threshold = 6) {
  const metric = 'regression_metrics.mse.value';
  return {
    metric,
    value,
    operator,
    threshold,
    reportUri: `${BUILD_PREFIX}/evaluate/evaluation/evaluation.json`,
    description: `${metric} = ${value} (gate: ${operator} ${threshold})`,
  };
}

/** read-metric's lambda:invoke result for a gate reading. */
function gateReading(value: number, operator = '<=', threshold = 6): Json {
  return { Payload: gateReadingPayload(value, operator, threshold) };
}

const PUT_EVENTS_RESULT = { FailedEntryCount: 0, Entries: [{ EventId: '11710aed-b79e-4468-a20b-bb3c0c3b4860' }] };

function happyHandlers(): Record<TaskStateName, LocalHandler> {
  return {
    PublishStarted: () => PUT_EVENTS_RESULT,
    Preprocess: () => preprocessResult,
    Train: () => trainResult,
    Evaluate: () => evaluateResult,
    ReadMetric: () => gateReading(4.2),
    Register: () => ({ Payload: registration }),
    PublishSucceeded: () => PUT_EVENTS_RESULT,
    PublishFailed: () => PUT_EVENTS_RESULT,
  };
}

/** A handler that throws `errors` in turn, then behaves like `then`. */
function failingFirst(errors: Error[], then: LocalHandler): LocalHandler {
  let calls = 0;
  return (input) => {
    const error = errors[calls++];
    if (error) throw error;
    return then(input);
  };
}

interface PublishedEvent {
  state: TaskStateName;
  detailType: unknown;
  eventBusName: unknown;
  detail: unknown;
}

type BuildRun = PathRun<TaskStateName>;

/** Runs one build to its end: the happy path, with `handlers` replacing some tasks. */
async function runBuild(input: Json = executionInput(), handlers: Partial<Record<TaskStateName, LocalHandler>> = {}): Promise<BuildRun> {
  return runPath(stateMachine, input, { ...happyHandlers(), ...handlers }, { Execution: { Id: EXECUTION_ARN, Name: EXECUTION_NAME }, Task: { Token: TASK_TOKEN } });
}

function inputsOf(run: BuildRun, state: TaskStateName): Json[] {
  return run.calls.filter((call) => call.state === state).map((call) => call.input);
}

function callCount(run: BuildRun, state: TaskStateName): number {
  return inputsOf(run, state).length;
}

/** The PutEvents entries of every publish call, in order. */
function publishedEvents(run: BuildRun): PublishedEvent[] {
  return run.calls.flatMap(({ state, input }) => {
    if (!input || typeof input !== 'object' || Array.isArray(input) || !Array.isArray(input.Entries)) return [];
    return input.Entries.flatMap((entry) =>
      entry && typeof entry === 'object' && !Array.isArray(entry) ? [{ state, detailType: entry.DetailType, eventBusName: entry.EventBusName, detail: entry.Detail }] : [],
    );
  });
}

function eventsOfType(run: BuildRun, detailType: string): PublishedEvent[] {
  return publishedEvents(run).filter((event) => event.detailType === detailType);
}

const BUILD_DETAIL = { repository: 'abalone', branch: 'main', commit: buildContext().commit, executionArn: EXECUTION_ARN };

describe('model-build state machine', () => {
  describe('definition', () => {
    const states = Object.entries(definition.States);

    it('gives every Task state a Retry and a Catch', () => {
      const incomplete = states.filter(([, state]) => state.Type === 'Task' && !(state.Retry?.length && state.Catch?.length)).map(([name]) => name);

      expect(incomplete).toEqual([]);
    });

    it('gives every state except Pass and Succeed states a Comment', () => {
      const uncommented = states.filter(([, state]) => state.Type !== 'Pass' && state.Type !== 'Succeed' && !state.Comment?.trim()).map(([name]) => name);

      expect(uncommented).toEqual([]);
    });
  });

  describe('a build whose model meets the quality gate', () => {
    it('succeeds with the model registration as output', async () => {
      const run = await runBuild();

      expect(run.outcome).toEqual({ status: 'SUCCEEDED', output: registration });
    });

    it('publishes Model Build Started on the bus before the first job starts', async () => {
      const run = await runBuild();

      expect(run.calls.slice(0, 2).map((call) => call.state)).toEqual(['PublishStarted', 'Preprocess']);
      expect(publishedEvents(run)[0]).toEqual({ state: 'PublishStarted', detailType: 'Model Build Started', eventBusName: TEST_EVENT_BUS, detail: BUILD_DETAIL });
    });

    it('publishes Model Package Registered and Model Build Succeeded once each, after registering', async () => {
      const run = await runBuild();

      expect(run.calls.map((call) => call.state).slice(-2)).toEqual(['Register', 'PublishSucceeded']);
      expect(eventsOfType(run, 'Model Package Registered')).toEqual([
        {
          state: 'PublishSucceeded',
          detailType: 'Model Package Registered',
          eventBusName: TEST_EVENT_BUS,
          detail: { ...BUILD_DETAIL, ...registration, metric: 'regression_metrics.mse.value', value: 4.2 },
        },
      ]);
      expect(eventsOfType(run, 'Model Build Succeeded')).toEqual([
        {
          state: 'PublishSucceeded',
          detailType: 'Model Build Succeeded',
          eventBusName: TEST_EVENT_BUS,
          detail: { ...BUILD_DETAIL, modelPackageArn: MODEL_PACKAGE_ARN, metric: 'regression_metrics.mse.value', value: 4.2 },
        },
      ]);
    });

    it('never publishes Model Build Failed', async () => {
      const run = await runBuild();

      expect(eventsOfType(run, 'Model Build Failed')).toEqual([]);
    });

    it('starts the preprocess job through start-job with a task token, the build and the config', async () => {
      const run = await runBuild();

      expect(inputsOf(run, 'Preprocess')).toEqual([
        {
          FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:StartJobLambdaFunction',
          Payload: { taskToken: TASK_TOKEN, step: 'preprocess', executionArn: EXECUTION_ARN, build: toJson(buildContext()), config: toJson(exampleConfig()) },
        },
      ]);
    });

    it('starts the training job with the preprocess outputs', async () => {
      const run = await runBuild();

      expect(inputsOf(run, 'Train')).toEqual([
        {
          FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:StartJobLambdaFunction',
          Payload: expect.objectContaining({ taskToken: TASK_TOKEN, step: 'train', executionArn: EXECUTION_ARN, jobs: { preprocess: preprocessResult } }),
        },
      ]);
    });

    it('starts the evaluation job with the preprocess and training results', async () => {
      const run = await runBuild();

      expect(inputsOf(run, 'Evaluate')).toEqual([
        {
          FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:StartJobLambdaFunction',
          Payload: expect.objectContaining({ taskToken: TASK_TOKEN, step: 'evaluate', jobs: { preprocess: preprocessResult, train: trainResult } }),
        },
      ]);
    });

    it('reads the gate metric from the results of all three jobs', async () => {
      const run = await runBuild();

      expect(inputsOf(run, 'ReadMetric')).toEqual([
        {
          FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:ReadMetricLambdaFunction',
          Payload: { config: toJson(exampleConfig()), jobs: { preprocess: preprocessResult, train: trainResult, evaluate: evaluateResult } },
        },
      ]);
    });

    it('registers the model with the jobs and the gate reading', async () => {
      const run = await runBuild();

      expect(inputsOf(run, 'Register')).toEqual([
        {
          FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:RegisterModelLambdaFunction',
          Payload: expect.objectContaining({ executionArn: EXECUTION_ARN, jobs: { preprocess: preprocessResult, train: trainResult, evaluate: evaluateResult }, gate: gateReadingPayload(4.2) }),
        },
      ]);
    });
  });

  describe('a build whose model misses the quality gate (mse 7.2, required <= 6.0)', () => {
    const missGate = () => runBuild(executionInput(), { ReadMetric: () => gateReading(7.2, '<=', 6.0) });

    it('fails the run with QualityGateFailed naming the metric, its value, the operator and the threshold', async () => {
      const run = await missGate();

      expect(run.outcome).toEqual({ status: 'FAILED', error: 'QualityGateFailed', cause: 'quality gate not met: regression_metrics.mse.value = 7.2, required <= 6' });
    });

    it('never registers the model', async () => {
      const run = await missGate();

      expect(callCount(run, 'Register')).toBe(0);
    });

    it("publishes Model Build Failed with step 'QualityGate'", async () => {
      const run = await missGate();

      expect(eventsOfType(run, 'Model Build Failed')).toEqual([
        {
          state: 'PublishFailed',
          detailType: 'Model Build Failed',
          eventBusName: TEST_EVENT_BUS,
          detail: { ...BUILD_DETAIL, step: 'QualityGate', error: 'QualityGateFailed', cause: 'quality gate not met: regression_metrics.mse.value = 7.2, required <= 6' },
        },
      ]);
    });
  });

  describe('quality gate operators (threshold 6)', () => {
    it.each`
      operator | value  | verdict
      ${'<'}   | ${5.9} | ${'passes'}
      ${'<'}   | ${6}   | ${'fails'}
      ${'<'}   | ${6.1} | ${'fails'}
      ${'<='}  | ${5.9} | ${'passes'}
      ${'<='}  | ${6}   | ${'passes'}
      ${'<='}  | ${6.1} | ${'fails'}
      ${'>'}   | ${5.9} | ${'fails'}
      ${'>'}   | ${6}   | ${'fails'}
      ${'>'}   | ${6.1} | ${'passes'}
      ${'>='}  | ${5.9} | ${'fails'}
      ${'>='}  | ${6}   | ${'passes'}
      ${'>='}  | ${6.1} | ${'passes'}
    `('$verdict when value $value $operator 6', async ({ operator, value, verdict }: { operator: string; value: number; verdict: 'passes' | 'fails' }) => {
      const run = await runBuild(executionInput(), { ReadMetric: () => gateReading(value, operator, 6) });

      const expected = verdict === 'passes' ? { status: 'SUCCEEDED', output: registration } : expect.objectContaining({ status: 'FAILED', error: 'QualityGateFailed' });
      expect(run.outcome).toEqual(expected);
    });

    it('fails the run with QualityGateFailed for an operator it does not know', async () => {
      const run = await runBuild(executionInput(), { ReadMetric: () => gateReading(4.2, '==', 6) });

      expect(run.outcome).toEqual(expect.objectContaining({ status: 'FAILED', error: 'QualityGateFailed' }));
    });
  });

  describe('a training job that ends Failed', () => {
    const reason = 'AlgorithmError: framework error: XGBoostError: [10:12:43] value 0 for Parameter num_class should be greater equal to 1';
    const cause = `training job abalone-main-01234567-train failed: ${reason}`;
    const failTraining = () => runBuild(executionInput(), { Train: throwing(new SageMakerJobFailedError(cause)) });

    it('fails the run with SageMakerJobFailed and the FailureReason in the cause', async () => {
      const run = await failTraining();

      expect(run.outcome).toEqual({ status: 'FAILED', error: 'SageMakerJobFailed', cause });
    });

    it("publishes Model Build Failed with step 'Train'", async () => {
      const run = await failTraining();

      expect(eventsOfType(run, 'Model Build Failed')).toEqual([
        { state: 'PublishFailed', detailType: 'Model Build Failed', eventBusName: TEST_EVENT_BUS, detail: { ...BUILD_DETAIL, step: 'Train', error: 'SageMakerJobFailed', cause } },
      ]);
    });

    it('never starts the evaluation job', async () => {
      const run = await failTraining();

      expect(callCount(run, 'Evaluate')).toBe(0);
    });

    it('does not retry the failed job', async () => {
      const run = await failTraining();

      expect(callCount(run, 'Train')).toBe(1);
    });
  });

  describe('an evaluation job that ends Stopped', () => {
    const cause = 'processing job abalone-main-01234567-evaluate was stopped';
    const stopEvaluation = () => runBuild(executionInput(), { Evaluate: throwing(new SageMakerJobStoppedError(cause)) });

    it('fails the run with SageMakerJobStopped', async () => {
      const run = await stopEvaluation();

      expect(run.outcome).toEqual({ status: 'FAILED', error: 'SageMakerJobStopped', cause });
    });

    it("publishes Model Build Failed with step 'Evaluate'", async () => {
      const run = await stopEvaluation();

      expect(eventsOfType(run, 'Model Build Failed').map((event) => event.detail)).toEqual([expect.objectContaining({ step: 'Evaluate', error: 'SageMakerJobStopped' })]);
    });
  });

  describe('transient start-job failures', () => {
    it.each([
      ['RetryableError', () => new RetryableError('CreateTrainingJob: ThrottlingException: Rate exceeded')],
      ['Lambda.TooManyRequestsException', () => namedError('Lambda.TooManyRequestsException', 'Rate Exceeded.')],
    ])('retries start-job after %s twice and succeeds on the third call', async (_name, makeError) => {
      const run = await runBuild(executionInput(), { Train: failingFirst([makeError(), makeError()], () => trainResult) });

      expect(run.outcome).toEqual({ status: 'SUCCEEDED', output: registration });
      expect(callCount(run, 'Train')).toBe(3);
    });
  });

  describe('a terminal start-job failure (InvalidInput)', () => {
    const cause = 'start-job input: config.Train.ResourceConfig: Required';
    const rejectInput = () => runBuild(executionInput(), { Preprocess: throwing(new InvalidInputError(cause)) });

    it('does not retry start-job', async () => {
      const run = await rejectInput();

      expect(callCount(run, 'Preprocess')).toBe(1);
    });

    it('fails the run with InvalidInput and its message as the cause', async () => {
      const run = await rejectInput();

      expect(run.outcome).toEqual({ status: 'FAILED', error: 'InvalidInput', cause });
    });

    it("publishes Model Build Failed with step 'Preprocess'", async () => {
      const run = await rejectInput();

      expect(eventsOfType(run, 'Model Build Failed').map((event) => event.detail)).toEqual([expect.objectContaining({ step: 'Preprocess', error: 'InvalidInput', cause })]);
    });
  });

  describe('a build rejected before it started (invalid mlops.yaml)', () => {
    const failure = { Error: 'InvalidConfig' as const, Cause: 'mlops.yaml: Train.ResourceConfig: is required' };
    const runRejected = () => runBuild(executionInput({ config: null, failure }));

    it('fails the run at once with InvalidConfig and its cause', async () => {
      const run = await runRejected();

      expect(run.outcome).toEqual({ status: 'FAILED', error: 'InvalidConfig', cause: failure.Cause });
    });

    it('never invokes a task other than the failure publication', async () => {
      const run = await runRejected();

      expect(run.calls.map((call) => call.state)).toEqual(['PublishFailed']);
    });

    it("publishes Model Build Failed with step 'Config'", async () => {
      const run = await runRejected();

      expect(eventsOfType(run, 'Model Build Failed')).toEqual([
        {
          state: 'PublishFailed',
          detailType: 'Model Build Failed',
          eventBusName: TEST_EVENT_BUS,
          detail: { ...BUILD_DETAIL, step: 'Config', error: 'InvalidConfig', cause: failure.Cause },
        },
      ]);
    });
  });

  describe('publishing to the bus', () => {
    it('retries Model Build Started after EventBridge.FailedEntry and goes on with the build', async () => {
      const run = await runBuild(executionInput(), {
        PublishStarted: failingFirst([namedError('EventBridge.FailedEntry', 'PutEvents: 1 of 1 entries failed: InternalFailure')], () => PUT_EVENTS_RESULT),
      });

      expect(callCount(run, 'PublishStarted')).toBe(2);
      expect(run.outcome).toEqual({ status: 'SUCCEEDED', output: registration });
    });

    it('still fails the run with the original error when Model Build Failed cannot be published', async () => {
      const cause = 'training job abalone-main-01234567-train failed: ClientError: Data download failed';
      const run = await runBuild(executionInput(), {
        Train: throwing(new SageMakerJobFailedError(cause)),
        PublishFailed: throwing(namedError('EventBridge.FailedEntry', 'PutEvents: 1 of 1 entries failed: AccessDeniedException')),
      });

      expect(run.outcome).toEqual({ status: 'FAILED', error: 'SageMakerJobFailed', cause });
    });

    it('fails the run with EventPublishFailed when the success events cannot be published', async () => {
      const run = await runBuild(executionInput(), {
        PublishSucceeded: throwing(namedError('EventBridge.FailedEntry', 'PutEvents: 2 of 2 entries failed: AccessDeniedException')),
      });

      expect(run.outcome).toEqual(expect.objectContaining({ status: 'FAILED', error: 'EventPublishFailed' }));
    });
  });
});
