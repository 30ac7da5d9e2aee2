import { StateMachine } from 'aws-local-stepfunctions';

import { compilePipeline, type CompiledPipeline, partitionOf, resultPath, SNAPSHOT_STATE, STARTED_STATE, stepOfState, SUCCEEDED_STATE } from '../../../shared/pipeline/compile';
import { analysePipeline } from '../../../shared/pipeline/graph';
import type { PipelineConfig, StepSpec } from '../../../shared/schemas/mlops-v2';
import type { PipelineRunInput } from '../../../shared/schemas/task-inputs';
import { type Json, type LocalHandler, namedError, type PathRun, runPath, TEST_EVENT_BUS, withFixedTaskTimeoutsDeep } from '../../helpers/asl';
import { BUCKET, buildContext, EXECUTION_ARN, exampleConfig } from '../../helpers/fixtures';
import {
  allStates,
  type AslState,
  allStrings,
  asDefinition,
  aslErrors,
  compile,
  IMAGE,
  independentSteps,
  loadPipeline,
  pipelineOf,
  processing,
  TEST_TARGETS,
  training,
} from '../../helpers/pipelines';

/**
 * compilePipeline: the definition's shape, its validity (asl-validator, and aws-local-stepfunctions
 * building it) for every pipeline this file compiles, and path tests that run it in-process with
 * every Task overridden by state name. The library has no task tokens: a job step's handler
 * receives the resolved Parameters (token included) and its return value stands for
 * SendTaskSuccess; an Error it throws, named like the SendTaskFailure error, stands for that.
 */

/** 50 steps: prepare, 24 pairs train-NN → evaluate-NN side by side, then select waiting for every evaluation. */
function fiftySteps(): PipelineConfig {
  const pairs = Array.from({ length: 24 }, (_value, index) => String(index + 1).padStart(2, '0')).flatMap((n) => [
    [`train-${n}`, training({ train: { From: 'prepare/train' } })],
    [`evaluate-${n}`, processing({ Inputs: { model: { From: `train-${n}/model` } }, Outputs: ['evaluation'] })],
  ]);
  const evaluations = pairs.map(([name]) => name as string).filter((name) => name.startsWith('evaluate-'));
  return pipelineOf({ prepare: processing({ Outputs: ['train'] }), ...Object.fromEntries(pairs), select: processing({ DependsOn: evaluations }) });
}

const report = (step: string) => ({ 'Std:JsonGet': { PropertyFile: { Get: `Steps.${step}.PropertyFiles.Report` }, Path: 'mse' } });
const withReport = (fields: Record<string, unknown> = {}) => processing({ Outputs: ['evaluation'], PropertyFiles: [{ PropertyFileName: 'Report', OutputName: 'evaluation', FilePath: 'r.json' }], ...fields });

/** Every pipeline this file compiles, by name: each one's definition is validated below. */
const PIPELINES: Record<string, () => PipelineConfig> = {
  'examples/abalone (Version 1)': exampleConfig,
  'abalone-v2.yaml': () => loadPipeline('abalone-v2'),
  'fork-join.yaml': () => loadPipeline('fork-join'),
  'retry.yaml': () => loadPipeline('retry'),
  '15 independent steps': () => pipelineOf(independentSteps(15)),
  '50 steps': fiftySteps,
  'the N graph': () => pipelineOf({ a: processing(), b: processing(), c: processing({ DependsOn: ['a', 'b'] }), d: processing({ DependsOn: ['b'] }) }),
  'a Condition inside a parallel branch': () =>
    pipelineOf({
      check: withReport(),
      gate: { Type: 'Condition', Condition: { Left: report('check'), Operator: '<', Right: 1 }, Else: ['stop'] },
      stop: { Type: 'Fail', Error: 'CheckFailed', ErrorMessage: { 'Std:Join': { Values: ['mse ', report('check')] } } },
      other: processing(),
    }),
  'nested Conditions with an empty branch': () =>
    pipelineOf({
      check: withReport(),
      outer: { Type: 'Condition', Condition: { Left: report('check'), Operator: '<', Right: 5 }, If: ['inner'] },
      inner: { Type: 'Condition', Condition: { Left: report('check'), Operator: '<', Right: 1 }, If: ['excellent'], Else: ['good'] },
      excellent: processing(),
      good: processing(),
      after: processing({ DependsOn: ['outer'] }),
    }),
  // Every run fails here: no state may lead to 'Build succeeded', and Step Functions refuses unreachable states.
  'only a Fail step': () => pipelineOf({ stop: { Type: 'Fail', Error: 'NotYet', ErrorMessage: 'this pipeline always fails' } }),
  'hyphenated step names': () => pipelineOf({ 'prep-data': processing({ Outputs: ['train'] }), 'train-model': training({ train: { From: 'prep-data/train' } }) }),
  'ARNs in its settings': () =>
    pipelineOf({
      prepare: processing({
        Description: 'writes to arn:aws:s3:::someone-elses-bucket',
        AppSpecification: { ImageUri: IMAGE, ContainerArguments: ['--role', 'arn:aws:iam::999999999999:role/Admin'] },
        Environment: { ROLE_ARN: 'arn:aws:iam::999999999999:role/Admin', KEY: 'arn:aws:kms:us-east-1:999999999999:key/1234abcd' },
      }),
    }),
  'two policies for one exception type': () =>
    pipelineOf({
      job: processing({
        RetryPolicies: [
          { ExceptionType: ['SageMaker.CAPACITY_ERROR'], MaxAttempts: 4 },
          { ExceptionType: ['SageMaker.CAPACITY_ERROR', 'Step.SERVICE_FAULT'], MaxAttempts: 2 },
        ],
      }),
    }),
};

const compiledCache = new Map<string, CompiledPipeline>();

/** The named pipeline, compiled (once). */
function compiled(name: keyof typeof PIPELINES): CompiledPipeline {
  if (!compiledCache.has(name)) compiledCache.set(name, compile(PIPELINES[name]!()));
  return compiledCache.get(name)!;
}

/** States of the named pipeline's definition, nested ones included, by name. */
function statesOf(name: keyof typeof PIPELINES): Record<string, AslState> {
  return Object.fromEntries(allStates(compiled(name).definition as { States: unknown }));
}

const machineCache = new Map<string, StateMachine>();

/** The named pipeline as an aws-local-stepfunctions state machine (built once: building validates). */
function machine(name: keyof typeof PIPELINES): StateMachine {
  if (!machineCache.has(name)) machineCache.set(name, new StateMachine(withFixedTaskTimeoutsDeep(asDefinition(compiled(name)))));
  return machineCache.get(name)!;
}

const TASK_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAd1Tq0cEXAMPLE';
const CONTEXT = { Execution: { Id: EXECUTION_ARN }, Task: { Token: TASK_TOKEN } };
const PUT_EVENTS_RESULT = { FailedEntryCount: 0, Entries: [{ EventId: '11710aed-b79e-4468-a20b-bb3c0c3b4860' }] };
const MODEL_PACKAGE_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/sluice-test-abalone/3';
const PREFIX = `s3://${BUCKET}/builds/${buildContext().executionName}`;

/** What a step's task returns when it succeeds (the shapes of shared/schemas/task-inputs.ts). */
function resultOf(name: string, spec: StepSpec): Json {
  switch (spec.Type) {
    case 'Processing':
      return { Type: 'Processing', ProcessingJobName: `job-${name}`, Outputs: Object.fromEntries(spec.Outputs.map((output) => [output, `${PREFIX}/${name}/${output}/`])), OutputHashes: {} };
    case 'Training':
      return { Type: 'Training', TrainingJobName: `job-${name}`, ModelArtifacts: `${PREFIX}/${name}/model.tar.gz`, FinalMetrics: {} };
    case 'Condition':
      return { Type: 'Condition', Outcome: true, Values: [] };
    case 'Fail':
      return { Type: 'Fail', Error: spec.Error, Cause: `${name} was reached` };
    case 'RegisterModel':
      return { Type: 'RegisterModel', ModelPackageArn: MODEL_PACKAGE_ARN, ModelPackageGroupName: 'sluice-test-abalone', ModelApprovalStatus: 'PendingManualApproval', CachedFrom: null };
    case 'Tuning':
      return {
        Type: 'Tuning',
        HyperParameterTuningJobName: `tune-${name}`,
        BestTrainingJob: { TrainingJobName: `tune-${name}-001-0a1b2c3d`, ModelArtifacts: `${PREFIX}/${name}/model.tar.gz`, ObjectiveMetricName: 'validation:rmse', FinalObjectiveValue: 1.5, TunedHyperParameters: {} },
        TrainingJobCounts: { Completed: 4, Failed: 0, Stopped: 0 },
      };
    case 'Transform':
      return { Type: 'Transform', TransformJobName: `job-${name}`, ModelName: `model-${name}`, Output: `${PREFIX}/${name}/output/` };
    case 'ForEach':
      return { Type: 'ForEach', Items: Array.isArray(spec.Items) ? spec.Items : [], CachedFrom: null, ReusedFrom: null };
  }
}

/** What snapshot-source returns (shared/pipeline/source-snapshot.ts); the run discards it. */
const SNAPSHOT_RESULT = { sourceUri: `${PREFIX}/source.tar.gz`, sourcePrefix: `${PREFIX}/source/`, manifestUri: `${PREFIX}/source-manifest.json`, files: 12, bytes: 48_213, reused: false };

/** A handler for every Task of the named pipeline: the snapshot is taken, each step succeeds (Conditions hold), each event is accepted. */
function happyHandlers(name: keyof typeof PIPELINES): Record<string, LocalHandler> {
  const config = PIPELINES[name]!();
  const tasks = allStates(compiled(name).definition as { States: unknown }).filter(([, state]) => state.Type === 'Task');
  return Object.fromEntries(
    tasks.map(([state]): [string, LocalHandler] => {
      const spec = Object.hasOwn(config.Steps, state) ? config.Steps[state] : undefined;
      return [state, spec ? () => resultOf(state, spec) : state === SNAPSHOT_STATE ? () => SNAPSHOT_RESULT : () => PUT_EVENTS_RESULT];
    }),
  );
}

/** The execution input on-source-push gives a compiled pipeline. */
function runInput(parameters: PipelineRunInput['parameters'] = {}): Json {
  const input: PipelineRunInput = { build: buildContext(), parameters, steps: {}, reuse: {} };
  return JSON.parse(JSON.stringify(input)) as Json;
}

/** Runs the named pipeline with the happy handlers, some replaced. */
function run(name: keyof typeof PIPELINES, replaced: Record<string, LocalHandler> = {}): Promise<PathRun<string>> {
  return runPath(machine(name), runInput(), { ...happyHandlers(name), ...replaced }, CONTEXT);
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

const callsTo = (path: PathRun<string>, state: string) => path.calls.filter((call) => call.state === state);

describe('compilePipeline', () => {
  describe('validity', () => {
    const names = Object.keys(PIPELINES);

    it.each(names)('compiles %s to a definition asl-validator accepts', (name) => {
      expect(aslErrors(compiled(name).definition)).toEqual([]);
    });

    it.each(names)('compiles %s to a definition aws-local-stepfunctions builds', (name) => {
      expect(() => new StateMachine(asDefinition(compiled(name)))).not.toThrow();
    });

    it.each(names)('gives %s a Catch nowhere: a failing step fails the run at that step, where a redrive restarts', (name) => {
      const withCatch = allStates(compiled(name).definition as { States: unknown }).filter(([, state]) => 'Catch' in state);

      expect(withCatch).toEqual([]);
    });
  });

  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html: arn:<partition>:… — aws-cn and aws-us-gov are not aws.
  describe('the partition', () => {
    const inChina = Object.fromEntries(Object.entries(TEST_TARGETS).map(([key, value]) => [key, value.replace(/^arn:aws:/, 'arn:aws-cn:')])) as typeof TEST_TARGETS;

    it('takes its service integrations\' partition from the stack\'s function ARNs (arn:aws-cn:lambda → arn:aws-cn:states:::…) (reference-arns)', () => {
      const config = PIPELINES['fork-join.yaml']!();
      const { definition } = compilePipeline(config, analysePipeline(config).graph, inChina);
      const resources = allStates(definition as { States: unknown }).map(([, state]) => state.Resource).filter((resource): resource is string => typeof resource === 'string');

      expect(resources.filter((resource) => resource.includes(':states:::'))).not.toEqual([]);
      expect(resources.filter((resource) => !resource.startsWith('arn:aws-cn:'))).toEqual([]);
    });

    it('reads the partition of an ARN, and refuses text that is not one', () => {
      expect(partitionOf('arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f')).toBe('aws-us-gov');
      expect(() => partitionOf('function:f')).toThrow(/not an ARN/);
    });
  });

  describe('the definition', () => {
    it('is JSONPath and starts by announcing the build', () => {
      const { definition } = compiled('fork-join.yaml');

      expect(definition).toMatchObject({ QueryLanguage: 'JSONPath', StartAt: STARTED_STATE });
    });

    it('publishes Model Build Started with the run\'s parameters on the stack\'s bus', () => {
      expect(statesOf('fork-join.yaml')[STARTED_STATE]).toMatchObject({
        Resource: 'arn:aws:states:::events:putEvents',
        Parameters: { Entries: [{ EventBusName: TEST_EVENT_BUS, Source: 'sluice', DetailType: 'Model Build Started', Detail: { 'parameters.$': '$.parameters', 'executionArn.$': '$$.Execution.Id' } }] },
      });
    });

    it('snapshots the source right after the announcement, with a task of snapshot-source given the build', () => {
      const states = statesOf('fork-join.yaml');

      expect(states[STARTED_STATE]).toMatchObject({ Next: SNAPSHOT_STATE });
      expect(states[SNAPSHOT_STATE]).toEqual(
        expect.objectContaining({ Type: 'Task', Resource: TEST_TARGETS.snapshotSourceFunctionArn, Parameters: { 'build.$': '$.build' }, ResultPath: null, Next: 'Prepare' }),
      );
    });

    it('retries the snapshot\'s transient Lambda errors and throttling, and nothing else (SourceTooLarge fails the run)', () => {
      expect(statesOf('fork-join.yaml')[SNAPSHOT_STATE]?.Retry).toEqual([
        { ErrorEquals: ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException', 'RetryableError'], IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2, JitterStrategy: 'FULL' },
      ]);
    });

    it('ends by publishing Model Build Succeeded and returning the steps\' results', () => {
      expect(statesOf('fork-join.yaml')[SUCCEEDED_STATE]).toMatchObject({
        Parameters: { Entries: [{ DetailType: 'Model Build Succeeded', Detail: { 'steps.$': '$.steps' } }] },
        OutputPath: '$.steps',
        End: true,
      });
    });

    it('gives every step a state of its own name', () => {
      const states = statesOf('fork-join.yaml');

      expect(Object.keys(loadPipeline('fork-join').Steps).filter((step) => !Object.hasOwn(states, step))).toEqual([]);
    });

    it('makes a job step a waitForTaskToken call of start-job with the token, the step and the run\'s state', () => {
      expect(statesOf('fork-join.yaml').TrainXgb).toEqual(
        expect.objectContaining({
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: {
            FunctionName: TEST_TARGETS.startJobFunctionArn,
            Payload: { 'taskToken.$': '$$.Task.Token', step: 'TrainXgb', 'executionArn.$': '$$.Execution.Id', 'build.$': '$.build', 'parameters.$': '$.parameters', 'steps.$': '$.steps', 'reuse.$': '$.reuse' },
          },
          TimeoutSecondsPath: '$.build.taskTimeoutSeconds',
          ResultPath: "$.steps['TrainXgb']",
        }),
      );
    });

    it('puts each step\'s result under $.steps in bracket notation, which names with "-" need', () => {
      expect(statesOf('hyphenated step names')['train-model']).toMatchObject({ ResultPath: "$.steps['train-model']" });
    });

    it('makes a Condition a task of evaluate-step followed by a Choice "<name> ?" on its outcome', () => {
      const states = statesOf('fork-join.yaml');

      expect(states.Gate).toMatchObject({ Type: 'Task', Resource: TEST_TARGETS.evaluateStepFunctionArn, Parameters: { step: 'Gate' }, ResultPath: "$.steps['Gate']", Next: 'Gate ?' });
      expect(states['Gate ?']).toMatchObject({ Type: 'Choice', Choices: [{ Variable: "$.steps['Gate'].Outcome", BooleanEquals: true, Next: 'Register' }], Default: 'NotBetter' });
    });

    it('points an empty Condition branch straight at what follows the Condition', () => {
      const states = statesOf('nested Conditions with an empty branch');

      expect(states['outer ?']).toMatchObject({ Choices: [{ Next: 'inner' }], Default: 'after' });
    });

    it('ends an empty Condition branch with a Pass state when nothing follows the Condition', () => {
      const states = statesOf('a Condition inside a parallel branch');

      expect([states['gate ?'], states['gate (if)']]).toEqual([
        expect.objectContaining({ Choices: [expect.objectContaining({ Next: 'gate (if)' })], Default: 'stop' }),
        expect.objectContaining({ Type: 'Pass', End: true }),
      ]);
    });

    it('joins both branches of a Condition to what follows it', () => {
      const states = statesOf('nested Conditions with an empty branch');

      expect([states.excellent?.Next, states.good?.Next]).toEqual(['after', 'after']);
    });

    it('makes a Fail step a task that builds its message and a Fail state "<name> failed" that reads it', () => {
      const states = statesOf('fork-join.yaml');

      expect(states.NotBetter).toMatchObject({ Type: 'Task', Resource: TEST_TARGETS.evaluateStepFunctionArn, Parameters: { step: 'NotBetter' }, Next: 'NotBetter failed' });
      expect(states['NotBetter failed']).toEqual(expect.objectContaining({ Type: 'Fail', ErrorPath: "$.steps['NotBetter'].Error", CausePath: "$.steps['NotBetter'].Cause" }));
    });

    it('makes a RegisterModel step a task of register-model followed by "<name> registered", which publishes the version', () => {
      const states = statesOf('fork-join.yaml');

      expect(states.Register).toMatchObject({ Type: 'Task', Resource: TEST_TARGETS.registerModelFunctionArn, Parameters: { step: 'Register' }, Next: 'Register registered' });
      expect(states['Register registered']).toMatchObject({
        Resource: 'arn:aws:states:::events:putEvents',
        Parameters: {
          Entries: [{ EventBusName: TEST_EVENT_BUS, DetailType: 'Model Package Registered', Detail: { step: 'Register', 'modelPackageArn.$': "$.steps['Register'].ModelPackageArn" } }],
        },
        ResultPath: null,
      });
    });

    it('runs independent steps in a Parallel that merges its branches\' results into $.steps', () => {
      const parallel = Object.values(statesOf('fork-join.yaml')).find((state) => state.Type === 'Parallel');

      expect(parallel).toMatchObject({
        Branches: [{ StartAt: 'TrainXgb' }, { StartAt: 'TrainLinear' }],
        ResultSelector: { 'build.$': '$[0].build', 'parameters.$': '$[0].parameters', 'reuse.$': '$[0].reuse', 'steps.$': 'States.JsonMerge($[0].steps, $[1].steps, false)' },
        Next: 'Gate',
      });
    });

    it('lets a Parallel\'s merged result replace the state by leaving ResultPath at its default, which aws-local-stepfunctions reads right', () => {
      const parallels = Object.values(statesOf('fork-join.yaml')).filter((state) => state.Type === 'Parallel');

      expect(parallels.filter((state) => 'ResultPath' in state)).toEqual([]);
    });

    it('orders the fork-join pipeline as drawn: Prepare, the two model branches, then Gate', () => {
      const { definition } = compiled('fork-join.yaml');

      expect(Object.keys(definition.States as object)).toEqual([
        STARTED_STATE,
        SNAPSHOT_STATE,
        'Prepare',
        'parallel #1: TrainXgb, EvaluateXgb, TrainLinear, EvaluateLinear',
        'Gate',
        'Gate ?',
        'Register',
        'Register registered',
        SUCCEEDED_STATE,
        'NotBetter',
        'NotBetter failed',
      ]);
    });

    it('splits 15 independent steps into nested Parallels of at most 10 branches', () => {
      const parallels = Object.values(statesOf('15 independent steps')).filter((state) => state.Type === 'Parallel');

      expect(parallels.map((state) => (state.Branches as unknown[]).length)).toEqual([2, 8, 7]);
    });

    it('merges the results of every one of the 15 steps, a JsonMerge per branch beyond the first', () => {
      const parallels = Object.values(statesOf('15 independent steps')).filter((state) => state.Type === 'Parallel');
      const merges = parallels.map((state) => ((state.ResultSelector as Record<string, string>)['steps.$']!.match(/States\.JsonMerge/g) ?? []).length);

      expect(merges).toEqual([1, 7, 6]);
    });

    it('reports the waits its shape adds beyond the pipeline\'s own', () => {
      expect(compiled('the N graph').extraWaits).toEqual([['d', 'a']]);
    });

    it('reports no extra wait for a pipeline drawn as forks and joins', () => {
      expect(compiled('fork-join.yaml').extraWaits).toEqual([]);
    });

    it('compiles 50 steps into one state per step plus its Parallels, the two events and the snapshot', () => {
      const states = statesOf('50 steps');
      const byType = Object.values(states).reduce<Record<string, number>>((counts, state) => ({ ...counts, [state.Type]: (counts[state.Type] ?? 0) + 1 }), {});

      expect(byType).toEqual({ Task: 53, Parallel: 4 });
    });

    it('gives the same definition, byte for byte, for the same pipeline', () => {
      const first = compile(loadPipeline('fork-join'));
      const second = compile(loadPipeline('fork-join'));

      expect(JSON.stringify(second)).toBe(JSON.stringify(first));
    });
  });

  describe('what reaches the definition from mlops.yaml', () => {
    it('holds no ARN but the stack\'s own functions and Step Functions\' service integrations', () => {
      const allowed = new Set([
        TEST_TARGETS.snapshotSourceFunctionArn,
        TEST_TARGETS.startJobFunctionArn,
        TEST_TARGETS.evaluateStepFunctionArn,
        TEST_TARGETS.registerModelFunctionArn,
        'arn:aws:states:::events:putEvents',
        'arn:aws:states:::lambda:invoke.waitForTaskToken',
      ]);

      const arns = allStrings(compiled('ARNs in its settings').definition).filter((text) => text.includes('arn:'));

      expect(arns.filter((arn) => !allowed.has(arn))).toEqual([]);
    });

    it('holds none of the steps\' settings: images, arguments, environment and descriptions stay out', () => {
      const text = JSON.stringify(compiled('ARNs in its settings').definition);

      expect(['999999999999', 'someone-elses-bucket', IMAGE, 'ml.m5.large', 'ROLE_ARN'].filter((setting) => text.includes(setting))).toEqual([]);
    });

    it('gives no state Credentials (a role to assume)', () => {
      const withCredentials = Object.keys(PIPELINES).flatMap((name) => allStates(compiled(name).definition as { States: unknown }).filter(([, state]) => 'Credentials' in state));

      expect(withCredentials).toEqual([]);
    });
  });

  describe('retries', () => {
    const LAMBDA_DEFAULT = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException', 'RetryableError'];

    it('retries every task\'s transient Lambda errors by default', () => {
      expect(statesOf('retry.yaml').Train?.Retry).toEqual([{ ErrorEquals: LAMBDA_DEFAULT, IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2, JitterStrategy: 'FULL' }]);
    });

    it('turns a SageMaker.CAPACITY_ERROR policy into a retrier of SageMakerCapacityError, before the defaults', () => {
      expect(statesOf('retry.yaml').Prepare?.Retry).toEqual([
        { ErrorEquals: ['SageMakerCapacityError'], IntervalSeconds: 60, MaxAttempts: 2, BackoffRate: 1.5, MaxDelaySeconds: 600, JitterStrategy: 'FULL' },
        { ErrorEquals: LAMBDA_DEFAULT, IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2, JitterStrategy: 'FULL' },
      ]);
    });

    it('turns a Step.THROTTLING policy into a retrier of RetryableError and Lambda throttling, which the defaults then leave to it', () => {
      expect(statesOf('retry.yaml').Evaluate?.Retry).toEqual([
        { ErrorEquals: ['RetryableError', 'Lambda.TooManyRequestsException'], IntervalSeconds: 10, MaxAttempts: 1, BackoffRate: 2, JitterStrategy: 'FULL' },
        { ErrorEquals: ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'], IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2, JitterStrategy: 'FULL' },
      ]);
    });

    it('gives an error named by two policies to the first, as Step Functions uses the first matching retrier', () => {
      expect(statesOf('two policies for one exception type').job?.Retry).toEqual([
        { ErrorEquals: ['SageMakerCapacityError'], IntervalSeconds: 10, MaxAttempts: 4, BackoffRate: 2, JitterStrategy: 'FULL' },
        { ErrorEquals: ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'], IntervalSeconds: 10, MaxAttempts: 2, BackoffRate: 2, JitterStrategy: 'FULL' },
        { ErrorEquals: ['Lambda.TooManyRequestsException', 'RetryableError'], IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2, JitterStrategy: 'FULL' },
      ]);
    });
  });

  describe('paths (aws-local-stepfunctions)', () => {
    it('runs a machine whose Tasks, nested ones included, have a fixed timeout instead of TimeoutSecondsPath (the library misreads it)', () => {
      const prepared = withFixedTaskTimeoutsDeep(asDefinition(compiled('fork-join.yaml')));

      expect(allStates(prepared).filter(([, state]) => 'TimeoutSecondsPath' in state)).toEqual([]);
    });

    it('gives snapshot-source the run\'s build, and the first step the run\'s input unchanged by the snapshot', async () => {
      const path = await run('fork-join.yaml');

      expect(callsTo(path, SNAPSHOT_STATE).map((call) => call.input)).toEqual([{ build: buildContext() }]);
      expect(callsTo(path, 'Prepare')[0]?.input).toMatchObject({ Payload: { build: buildContext(), parameters: {}, steps: {}, reuse: {} } });
    });

    it('fails the run with SourceTooLarge at the snapshot, running no step, when the tree is too large', async () => {
      const tooLarge = namedError('SourceTooLarge', 'source of abalone@0123456 exceeds the stage limit of 52428800 bytes (reached at data/abalone.csv)');

      const path = await run('fork-join.yaml', { [SNAPSHOT_STATE]: () => Promise.reject(tooLarge) });

      expect(path.outcome).toEqual({ status: 'FAILED', error: 'SourceTooLarge', cause: tooLarge.message });
      expect(path.calls.map((call) => call.state)).toEqual([STARTED_STATE, SNAPSHOT_STATE]);
    });

    it('retries the snapshot when CodeCommit or S3 throttles it, then runs the steps', async () => {
      const throttled = () => namedError('RetryableError', 'CodeCommit throttled GetBlob');

      const path = await run('fork-join.yaml', { [SNAPSHOT_STATE]: failingFirst([throttled(), throttled()], () => SNAPSHOT_RESULT) });

      expect({ status: path.outcome.status, calls: callsTo(path, SNAPSHOT_STATE).length }).toEqual({ status: 'SUCCEEDED', calls: 3 });
    });

    it('runs both parallel branches and gives the step after them both results in $.steps', async () => {
      const path = await run('fork-join.yaml');

      const gateInput = callsTo(path, 'Gate')[0]?.input as { steps: Record<string, unknown> };
      expect(Object.keys(gateInput.steps).sort()).toEqual(['EvaluateLinear', 'EvaluateXgb', 'Prepare', 'TrainLinear', 'TrainXgb']);
    });

    it('passes each job step the task token, its name and the results so far', async () => {
      const path = await run('fork-join.yaml');

      expect(callsTo(path, 'EvaluateXgb')[0]?.input).toEqual({
        FunctionName: TEST_TARGETS.startJobFunctionArn,
        Payload: {
          taskToken: TASK_TOKEN,
          step: 'EvaluateXgb',
          executionArn: EXECUTION_ARN,
          build: buildContext(),
          parameters: {},
          steps: { Prepare: resultOf('Prepare', loadPipeline('fork-join').Steps.Prepare!), TrainXgb: resultOf('TrainXgb', loadPipeline('fork-join').Steps.TrainXgb!) },
          reuse: {},
        },
      });
    });

    it('registers the model when the Condition holds, publishes the version and succeeds with every result', async () => {
      const path = await run('fork-join.yaml');

      expect(path.outcome).toEqual({ status: 'SUCCEEDED', output: expect.objectContaining({ Register: expect.objectContaining({ ModelPackageArn: MODEL_PACKAGE_ARN }), Gate: expect.anything() }) });
      expect(callsTo(path, 'Register registered')[0]?.input).toMatchObject({ Entries: [{ Detail: { step: 'Register', modelPackageArn: MODEL_PACKAGE_ARN, cachedFrom: null } }] });
    });

    it('runs the Fail step instead when the Condition does not hold, and fails the run with its Error and Cause', async () => {
      const gateFails = () => ({ Type: 'Condition', Outcome: false, Values: [{ expression: 'EvaluateXgb/Report:regression_metrics.mse.value', value: 7.5 }] });
      const failure = () => ({ Type: 'Fail', Error: 'QualityGateFailed', Cause: 'xgboost mse 7.5 is above 6 or not below the linear baseline' });

      const path = await run('fork-join.yaml', { Gate: gateFails, NotBetter: failure });

      expect(path.outcome).toEqual({ status: 'FAILED', error: 'QualityGateFailed', cause: 'xgboost mse 7.5 is above 6 or not below the linear baseline' });
    });

    it('does not register when the Condition does not hold', async () => {
      const path = await run('fork-join.yaml', { Gate: () => ({ Type: 'Condition', Outcome: false, Values: [] }) });

      expect([...callsTo(path, 'Register'), ...callsTo(path, SUCCEEDED_STATE)]).toEqual([]);
    });

    it('fails the run with a Fail step\'s error even from inside a parallel branch', async () => {
      const path = await run('a Condition inside a parallel branch', {
        gate: () => ({ Type: 'Condition', Outcome: false, Values: [] }),
        stop: () => ({ Type: 'Fail', Error: 'CheckFailed', Cause: 'mse 3' }),
      });

      expect(path.outcome).toEqual({ status: 'FAILED', error: 'CheckFailed', cause: 'mse 3' });
    });

    it('takes the nested branch the inner Condition chooses, then goes on after the outer Condition', async () => {
      const path = await run('nested Conditions with an empty branch', { inner: () => ({ Type: 'Condition', Outcome: false, Values: [] }) });

      expect(path.calls.map((call) => call.state).filter((state) => ['excellent', 'good', 'after'].includes(state))).toEqual(['good', 'after']);
    });

    it('goes straight on through an empty branch', async () => {
      const path = await run('nested Conditions with an empty branch', { outer: () => ({ Type: 'Condition', Outcome: false, Values: [] }) });

      expect(path.calls.map((call) => call.state)).toEqual([STARTED_STATE, SNAPSHOT_STATE, 'check', 'outer', 'after', SUCCEEDED_STATE]);
    });

    it('fails the whole run with a job step\'s error, and runs nothing after it', async () => {
      const path = await run('fork-join.yaml', { TrainLinear: () => Promise.reject(namedError('SageMakerJobFailed', 'TrainLinear: AlgorithmError: out of memory')) });

      expect(path.outcome).toEqual({ status: 'FAILED', error: 'SageMakerJobFailed', cause: 'TrainLinear: AlgorithmError: out of memory' });
      expect([...callsTo(path, 'Gate'), ...callsTo(path, SUCCEEDED_STATE)]).toEqual([]);
    });

    it('retries a step whose policy covers SageMaker.CAPACITY_ERROR when its job lacks capacity once', async () => {
      const prepare = happyHandlers('retry.yaml').Prepare!;

      const path = await run('retry.yaml', { Prepare: failingFirst([namedError('SageMakerCapacityError', 'no ml.m5.large capacity')], prepare) });

      expect({ status: path.outcome.status, calls: callsTo(path, 'Prepare').length }).toEqual({ status: 'SUCCEEDED', calls: 2 });
    });

    it('fails at once a step without a policy when its job lacks capacity', async () => {
      const train = happyHandlers('retry.yaml').Train!;

      const path = await run('retry.yaml', { Train: failingFirst([namedError('SageMakerCapacityError', 'no ml.m5.large capacity')], train) });

      expect({ outcome: path.outcome, calls: callsTo(path, 'Train').length }).toEqual({
        outcome: { status: 'FAILED', error: 'SageMakerCapacityError', cause: 'no ml.m5.large capacity' },
        calls: 1,
      });
    });

    it('retries RetryableError as often as a Step.THROTTLING policy allows, not the default six times', async () => {
      const evaluate = happyHandlers('retry.yaml').Evaluate!;
      const throttled = () => namedError('RetryableError', 'SageMaker throttled CreateProcessingJob');

      const path = await run('retry.yaml', { Evaluate: failingFirst([throttled(), throttled(), throttled()], evaluate) });

      expect({ outcome: path.outcome, calls: callsTo(path, 'Evaluate').length }).toEqual({
        outcome: { status: 'FAILED', error: 'RetryableError', cause: 'SageMaker throttled CreateProcessingJob' },
        calls: 2,
      });
    });

    it('retries RetryableError by default on a step without a policy', async () => {
      const train = happyHandlers('retry.yaml').Train!;
      const throttled = () => namedError('RetryableError', 'SageMaker throttled CreateTrainingJob');

      const path = await run('retry.yaml', { Train: failingFirst([throttled(), throttled(), throttled()], train) });

      expect({ status: path.outcome.status, calls: callsTo(path, 'Train').length }).toEqual({ status: 'SUCCEEDED', calls: 4 });
    });

    it('merges the results of all 15 independent steps', async () => {
      const path = await run('15 independent steps');

      expect(path.outcome.status === 'SUCCEEDED' && Object.keys(path.outcome.output as object).sort()).toEqual(Object.keys(independentSteps(15)).sort());
    });

    it('runs the Version 1 example to the end: preprocess, train, evaluate, gate, register', async () => {
      const path = await run('examples/abalone (Version 1)');

      expect(path.calls.map((call) => call.state)).toEqual([STARTED_STATE, SNAPSHOT_STATE, 'Preprocess', 'Train', 'Evaluate', 'QualityGate', 'Register', 'Register registered', SUCCEEDED_STATE]);
    });

    it('runs 50 steps to the end, each task once', async () => {
      const tasks = allStates(compiled('50 steps').definition as { States: unknown }).filter(([, state]) => state.Type === 'Task').map(([name]) => name);

      const path = await run('50 steps');

      expect({ status: path.outcome.status, entered: path.calls.map((call) => call.state).sort() }).toEqual({ status: 'SUCCEEDED', entered: tasks.sort() });
    });

    it('keeps a 50-step run far below Step Functions\' 25,000 history events', () => {
      // A compiled pipeline has no loop and no Map: a run enters each state at most once (retries
      // aside; the run above enters each Task once). Step Functions writes at most 6 history events
      // per state entered (a Task: Entered, Scheduled, Started, Submitted, Succeeded, Exited; a
      // Parallel: Entered, Started, Succeeded, Exited) and 2 for the execution itself. The library's
      // own event log cannot count this: it forwards nested branches' events late and drops those
      // still queued when the run ends.
      const states = allStates(compiled('50 steps').definition as { States: unknown }).length;

      expect(6 * states + 2).toBeLessThan(25_000 / 10);
    });
  });
});

describe('stepOfState', () => {
  it.each([
    ['Train', 'Train'],
    ['train-model', 'train-model'],
    ['NotBetter failed', 'NotBetter'],
    ['Register registered', 'Register'],
    ['Gate ?', 'Gate'],
    ['outer (if)', 'outer'],
    ['outer (else)', 'outer'],
  ])('maps state %p to step %p', (state, step) => {
    expect(stepOfState(state)).toBe(step);
  });

  it.each([STARTED_STATE, SNAPSHOT_STATE, SUCCEEDED_STATE, 'parallel #1: TrainXgb, EvaluateXgb, TrainLinear, EvaluateLinear', 'parallel #2: a failed'])(
    'maps %p, a state around the steps, to no step',
    (state) => {
      expect(stepOfState(state)).toBeUndefined();
    },
  );

  it('maps every state of a compiled pipeline named after a step, or after one with a suffix, to that step and the rest to none', () => {
    const steps = new Set(Object.keys(loadPipeline('fork-join').Steps));
    const names = allStates(compiled('fork-join.yaml').definition as { States: unknown }).map(([name]) => name);

    expect(Object.fromEntries(names.map((name) => [name, stepOfState(name)]))).toEqual({
      [STARTED_STATE]: undefined,
      [SNAPSHOT_STATE]: undefined,
      Prepare: 'Prepare',
      'parallel #1: TrainXgb, EvaluateXgb, TrainLinear, EvaluateLinear': undefined,
      TrainXgb: 'TrainXgb',
      EvaluateXgb: 'EvaluateXgb',
      TrainLinear: 'TrainLinear',
      EvaluateLinear: 'EvaluateLinear',
      Gate: 'Gate',
      'Gate ?': 'Gate',
      Register: 'Register',
      'Register registered': 'Register',
      [SUCCEEDED_STATE]: undefined,
      NotBetter: 'NotBetter',
      'NotBetter failed': 'NotBetter',
    });
    expect(names.map(stepOfState).filter((step) => step !== undefined && !steps.has(step))).toEqual([]);
  });
});

describe('resultPath', () => {
  it('quotes the step name in brackets', () => {
    expect(resultPath('train-a')).toBe("$.steps['train-a']");
  });
});
