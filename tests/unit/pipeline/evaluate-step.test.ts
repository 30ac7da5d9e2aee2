import 'aws-sdk-client-mock-jest';

import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

import { InvalidInputError, MetricNotFoundError, RetryableError } from '../../../shared/errors';
import { evaluateStep } from '../../../shared/pipeline/evaluate-step';
import type { PipelineConfig } from '../../../shared/schemas/mlops-v2';
import type { ProcessingResult, StepResult } from '../../../shared/schemas/task-inputs';
import { exampleConfig } from '../../helpers/fixtures';
import { loadPipeline } from '../../helpers/pipelines';
import { evaluateResult, evaluationReport, fakeS3, type FakeS3, newRun, stepInput, stepsBefore, storePipeline, type TestRun } from '../../helpers/step-tasks';
import { buildKeyPrefix } from '../../../shared/naming';

const s3 = mockClient(S3Client);

let store: FakeS3;

beforeEach(() => {
  s3.reset();
  store = fakeS3(s3);
});

/** A run of `pipeline` whose pipeline.json is stored. */
function runOf(pipeline: PipelineConfig): TestRun {
  const run = newRun();
  storePipeline(store, run, pipeline);
  return run;
}

/** The abalone run after Evaluate wrote its report with `mse`. */
function abaloneAfterEvaluate(mse: unknown): { run: TestRun; steps: Record<string, StepResult> } {
  const run = runOf(exampleConfig());
  const steps = stepsBefore('QualityGate', run);
  store.put(`${evaluateResult(run).Outputs.evaluation}evaluation.json`, evaluationReport(mse));
  return { run, steps };
}

describe('evaluateStep: a Condition step', () => {
  it('holds when the report\'s value meets the condition, listing the values it compared', async () => {
    const { run, steps } = abaloneAfterEvaluate(4.2);

    await expect(evaluateStep(stepInput(run, 'QualityGate', { steps }))).resolves.toEqual({
      Type: 'Condition',
      Outcome: true,
      Values: [{ expression: 'Evaluate/Report:regression_metrics.mse.value', value: 4.2 }],
    });
  });

  it('does not hold when it does not', async () => {
    const { run, steps } = abaloneAfterEvaluate(7.5);

    await expect(evaluateStep(stepInput(run, 'QualityGate', { steps }))).resolves.toMatchObject({ Type: 'Condition', Outcome: false });
  });

  it('reads the report from the property file\'s place in the step\'s output', async () => {
    const { run, steps } = abaloneAfterEvaluate(4.2);

    await evaluateStep(stepInput(run, 'QualityGate', { steps }));

    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Key: `${buildKeyPrefix(run.build.repository, run.build.executionName)}Evaluate/evaluation/evaluation.json` });
  });

  it('fails with MetricNotFound naming the field when the report does not exist', async () => {
    const run = runOf(exampleConfig());

    await expect(evaluateStep(stepInput(run, 'QualityGate', { steps: stepsBefore('QualityGate', run) }))).rejects.toThrow(MetricNotFoundError);
    await expect(evaluateStep(stepInput(run, 'QualityGate', { steps: stepsBefore('QualityGate', run) }))).rejects.toThrow(/^Steps\.QualityGate\.Condition\.Left: the report s3:\/\/.*evaluation\.json does not exist$/);
  });

  it('fails with MetricNotFound when the value is missing from the report', async () => {
    const run = runOf(exampleConfig());
    store.put(`${evaluateResult(run).Outputs.evaluation}evaluation.json`, JSON.stringify({ regression_metrics: { rmse: { value: 2.1 } } }));

    await expect(evaluateStep(stepInput(run, 'QualityGate', { steps: stepsBefore('QualityGate', run) }))).rejects.toThrow(/regression_metrics\.mse\.value is not in/);
  });

  it('fails with MetricNotFound when the report is not JSON', async () => {
    const run = runOf(exampleConfig());
    store.put(`${evaluateResult(run).Outputs.evaluation}evaluation.json`, 'mse=4.2');

    await expect(evaluateStep(stepInput(run, 'QualityGate', { steps: stepsBefore('QualityGate', run) }))).rejects.toThrow(expect.objectContaining({ name: 'MetricNotFound', message: expect.stringContaining('is not valid JSON') }));
  });

  it('compares with the run\'s parameter values and several reports (fork-join)', async () => {
    const run = runOf(loadPipeline('fork-join'));
    const report = (step: string): ProcessingResult => ({ ...evaluateResult(run), ProcessingJobName: `${step}-job`, Outputs: { evaluation: `${run.prefix}${step}/evaluation/` } });
    store.put(`${run.prefix}EvaluateXgb/evaluation/evaluation.json`, evaluationReport(4.8));
    store.put(`${run.prefix}EvaluateLinear/evaluation/evaluation.json`, evaluationReport(5.6));
    const steps = { EvaluateXgb: report('EvaluateXgb'), EvaluateLinear: report('EvaluateLinear') };

    const strict = await evaluateStep(stepInput(run, 'Gate', { steps, parameters: { InstanceType: 'ml.m5.large', MaxMse: 4.5, Rounds: 50 } }));
    const lenient = await evaluateStep(stepInput(run, 'Gate', { steps, parameters: { InstanceType: 'ml.m5.large', MaxMse: 6, Rounds: 50 } }));

    expect(strict).toMatchObject({ Outcome: false });
    expect(lenient).toEqual({
      Type: 'Condition',
      Outcome: true,
      Values: [
        { expression: 'EvaluateXgb/Report:regression_metrics.mse.value', value: 4.8 },
        { expression: 'Parameters.MaxMse', value: 6 },
        { expression: 'EvaluateXgb/Report:regression_metrics.mse.value', value: 4.8 },
        { expression: 'EvaluateLinear/Report:regression_metrics.mse.value', value: 5.6 },
      ],
    });
  });

  it('rejects with RetryableError when reading the report is throttled', async () => {
    const { run, steps } = abaloneAfterEvaluate(4.2);
    s3.on(GetObjectCommand, { Key: `${buildKeyPrefix(run.build.repository, run.build.executionName)}Evaluate/evaluation/evaluation.json` }).rejects(Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $fault: 'server' }));

    await expect(evaluateStep(stepInput(run, 'QualityGate', { steps }))).rejects.toThrow(RetryableError);
  });
});

describe('evaluateStep: a Fail step', () => {
  it('gives the step\'s error name and its message built from the report', async () => {
    const { run, steps } = abaloneAfterEvaluate(7.5);

    await expect(evaluateStep(stepInput(run, 'QualityGateFailed', { steps }))).resolves.toEqual({
      Type: 'Fail',
      Error: 'QualityGateFailed',
      Cause: 'quality gate not met: regression_metrics.mse.value = 7.5, required <= 6',
    });
  });

  it('builds the message from parameters too (fork-join)', async () => {
    const run = runOf(loadPipeline('fork-join'));
    store.put(`${run.prefix}EvaluateXgb/evaluation/evaluation.json`, evaluationReport(7.25));
    const steps = { EvaluateXgb: { ...evaluateResult(run), Outputs: { evaluation: `${run.prefix}EvaluateXgb/evaluation/` } } };

    await expect(evaluateStep(stepInput(run, 'NotBetter', { steps, parameters: { InstanceType: 'ml.m5.large', MaxMse: 6, Rounds: 50 } }))).resolves.toEqual({
      Type: 'Fail',
      Error: 'QualityGateFailed',
      Cause: 'xgboost mse 7.25 is above 6 or not below the linear baseline',
    });
  });
});

describe('evaluateStep: a ForEach step', () => {
  it('resolves its items, for its Map state to run over', async () => {
    const run = runOf(loadPipeline('for-each'));

    await expect(evaluateStep(stepInput(run, 'per-sex', { parameters: { Rounds: 20 } }))).resolves.toEqual({ Type: 'ForEach', Items: ['M', 'F', 'I'], CachedFrom: null, ReusedFrom: null });
  });

  it('returns the result carried over from an earlier run as it is, Results included (the Map is skipped)', async () => {
    const run = runOf(loadPipeline('for-each'));
    const carried: StepResult = { Type: 'ForEach', Items: ['M'], Results: [{ 'prep-one': evaluateResult(run) }], CachedFrom: null, ReusedFrom: 'arn:aws:states:us-east-1:123456789012:execution:m:earlier' };

    await expect(evaluateStep(stepInput(run, 'per-sex', { reuse: { 'per-sex': carried } }))).resolves.toEqual(carried);
    // Nothing is read: not even the run's pipeline.
    expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
  });

  it('refuses an inner step: it runs as a job, per item', async () => {
    const run = runOf(loadPipeline('for-each'));

    await expect(evaluateStep(stepInput(run, 'train-one'))).rejects.toThrow(new InvalidInputError('the pipeline has no Condition, Fail or ForEach step "train-one"'));
  });
});

describe('evaluateStep: what it does not evaluate', () => {
  it('rejects a job step with InvalidInput', async () => {
    const run = runOf(exampleConfig());

    await expect(evaluateStep(stepInput(run, 'Train'))).rejects.toThrow(new InvalidInputError('the pipeline has no Condition, Fail or ForEach step "Train"'));
  });

  it('rejects a step the pipeline does not have with InvalidInput', async () => {
    const run = runOf(exampleConfig());

    await expect(evaluateStep(stepInput(run, 'constructor'))).rejects.toThrow(InvalidInputError);
  });
});
