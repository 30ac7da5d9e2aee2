import { InvalidConfigError, MetricNotFoundError } from '../../../shared/errors';
import { describeValue, evaluateCondition, jsonAt, propertyFileUri, resolveInteger, resolveText, resolveValue, type ValueContext } from '../../../shared/pipeline/values';
import type { Condition, Value } from '../../../shared/schemas/pipeline-values';
import type { StepResult } from '../../../shared/schemas/task-inputs';
import { BUCKET } from '../../helpers/fixtures';
import { loadPipeline } from '../../helpers/pipelines';

const PREFIX = `s3://${BUCKET}/builds/abalone-main-1`;
const XGB_REPORT_URI = `${PREFIX}/EvaluateXgb/evaluation/evaluation.json`;
const LINEAR_REPORT_URI = `${PREFIX}/EvaluateLinear/evaluation/evaluation.json`;

/** Results of the fork-join pipeline's steps up to the gate (a fresh object each call). */
function results(): Record<string, StepResult> {
  return {
    Prepare: { Type: 'Processing', ProcessingJobName: 'abalone-prepare', ProcessingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:processing-job/abalone-prepare', Outputs: { train: `${PREFIX}/Prepare/train/`, test: `${PREFIX}/Prepare/test/` }, OutputHashes: {} },
    TrainXgb: { Type: 'Training', TrainingJobName: 'abalone-xgb', ModelArtifacts: `${PREFIX}/TrainXgb/model.tar.gz`, FinalMetrics: { 'validation:rmse': 2.1, zero: 0 } },
    EvaluateXgb: { Type: 'Processing', ProcessingJobName: 'abalone-eval-xgb', Outputs: { evaluation: `${PREFIX}/EvaluateXgb/evaluation/` }, OutputHashes: {} },
    // An output prefix without its trailing slash.
    EvaluateLinear: { Type: 'Processing', ProcessingJobName: 'abalone-eval-linear', Outputs: { evaluation: `${PREFIX}/EvaluateLinear/evaluation` }, OutputHashes: {} },
    Gate: { Type: 'Condition', Outcome: false, Values: [] },
    Register: { Type: 'RegisterModel', ModelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/abalone/3', ModelPackageGroupName: 'abalone', ModelApprovalStatus: 'PendingManualApproval', CachedFrom: null },
  };
}

const REPORTS: Record<string, unknown> = {
  [XGB_REPORT_URI]: { regression_metrics: { mse: { value: 4.2 }, label: 'good', passed: true, history: [7.5, 4.2], per_class: { 'ring count': 3 } } },
  [LINEAR_REPORT_URI]: { regression_metrics: { mse: { value: 5.9 } } },
};

/** A context for the fork-join pipeline: its default parameters, the results above, and the reports above. */
function context(overrides: Partial<ValueContext> = {}): ValueContext {
  return {
    config: loadPipeline('fork-join'),
    parameters: { InstanceType: 'ml.m5.large', MaxMse: 6, Rounds: 50 },
    steps: results(),
    readJson: jest.fn(async (uri: string) => structuredClone(REPORTS[uri])),
    ...overrides,
  };
}

const xgb = (path: string): Value => ({ 'Std:JsonGet': { PropertyFile: { Get: 'Steps.EvaluateXgb.PropertyFiles.Report' }, Path: path } });
const linear = (path: string): Value => ({ 'Std:JsonGet': { PropertyFile: { Get: 'Steps.EvaluateLinear.PropertyFiles.Report' }, Path: path } });
const get = (reference: string): Value => ({ Get: reference });

describe('propertyFileUri', () => {
  it('places the property file under its output\'s prefix', () => {
    expect(propertyFileUri(context(), 'EvaluateXgb', 'Report', 'field')).toBe(XGB_REPORT_URI);
  });

  it('adds the slash an output prefix lacks', () => {
    expect(propertyFileUri(context(), 'EvaluateLinear', 'Report', 'field')).toBe(LINEAR_REPORT_URI);
  });

  it('fails naming the field when the step has not run', () => {
    const steps = results();
    delete steps.EvaluateXgb;

    expect(() => propertyFileUri(context({ steps }), 'EvaluateXgb', 'Report', 'Steps.Gate.Condition.Left')).toThrow(
      new InvalidConfigError('Steps.Gate.Condition.Left: step "EvaluateXgb" has no result with property file "Report" in this run'),
    );
  });

  it('fails naming the field when the result lacks the property file\'s output', () => {
    const steps = results();
    steps.EvaluateXgb = { Type: 'Processing', ProcessingJobName: 'abalone-eval-xgb', Outputs: {}, OutputHashes: {} };

    expect(() => propertyFileUri(context({ steps }), 'EvaluateXgb', 'Report', 'Steps.Gate.Condition.Left')).toThrow(
      'Steps.Gate.Condition.Left: step "EvaluateXgb" has no output "evaluation" in this run',
    );
  });
});

describe('jsonAt', () => {
  const document = { a: { b: [{ c: 1 }, { c: 2 }], 'd e': 'x', f: null } };

  it.each([
    ['a.b[1].c', 2],
    ["a['d e']", 'x'],
    ['a.f', null],
    ['a.b[5].c', undefined],
    ['a.b.c', undefined],
    ['a.missing.deeper', undefined],
    ['a.constructor', undefined],
  ])('reads %s as %j', (path, value) => {
    expect(jsonAt(document, path)).toEqual(value);
  });

  it('does not index an object with a number', () => {
    expect(jsonAt({ list: { 0: 'zero' } }, 'list[0]')).toBeUndefined();
  });
});

describe('resolveValue', () => {
  it.each([['text'], [6.5], [false]])('returns the literal %j as it is', async (literal) => {
    await expect(resolveValue(literal, context(), 'field')).resolves.toBe(literal);
  });

  it('reads a parameter from the run\'s values', async () => {
    await expect(resolveValue(get('Parameters.Rounds'), context({ parameters: { Rounds: 200 } }), 'field')).resolves.toBe(200);
  });

  it('fails naming the field when the run has no value for the parameter', async () => {
    await expect(resolveValue(get('Parameters.Rounds'), context({ parameters: {} }), 'Steps.TrainXgb.HyperParameters.num_round')).rejects.toThrow(
      new InvalidConfigError('Steps.TrainXgb.HyperParameters.num_round: no value for parameter "Rounds" in this run'),
    );
  });

  it.each([
    ['Steps.Prepare.ProcessingJobName', 'abalone-prepare'],
    ['Steps.Prepare.ProcessingJobArn', 'arn:aws:sagemaker:us-east-1:123456789012:processing-job/abalone-prepare'],
    ["Steps.Prepare.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri", `${PREFIX}/Prepare/test/`],
    ['Steps.TrainXgb.TrainingJobName', 'abalone-xgb'],
    ['Steps.TrainXgb.ModelArtifacts.S3ModelArtifacts', `${PREFIX}/TrainXgb/model.tar.gz`],
    ["Steps.TrainXgb.FinalMetricDataList['validation:rmse'].Value", 2.1],
    ["Steps.TrainXgb.FinalMetricDataList['zero'].Value", 0],
    ['Steps.Register.ModelPackageArn', 'arn:aws:sagemaker:us-east-1:123456789012:model-package/abalone/3'],
    ['Steps.Gate.Outcome', false],
  ])('reads %s from the step\'s result', async (reference, value) => {
    await expect(resolveValue(get(reference), context(), 'field')).resolves.toBe(value);
  });

  it('fails naming the field when the step has not run', async () => {
    await expect(resolveValue(get('Steps.TrainLinear.TrainingJobName'), context(), 'Steps.Register.ModelPackageDescription')).rejects.toThrow(
      new InvalidConfigError('Steps.Register.ModelPackageDescription: Steps.TrainLinear.TrainingJobName has no value in this run (step "TrainLinear" has not run)'),
    );
  });

  it('fails naming the field when the result lacks the property', async () => {
    await expect(resolveValue(get("Steps.TrainXgb.FinalMetricDataList['train:rmse'].Value"), context(), 'field')).rejects.toThrow(
      'field: Steps.TrainXgb.FinalMetricDataList[\'train:rmse\'].Value has no value in this run (step "TrainXgb" has no such property)',
    );
  });

  it('treats a metric the job did not report as missing, even one named like an Object property', async () => {
    await expect(resolveValue(get("Steps.TrainXgb.FinalMetricDataList['constructor'].Value"), context(), 'field')).rejects.toThrow(InvalidConfigError);
  });

  it('treats an output the job did not write as missing, even one named like an Object property', async () => {
    await expect(resolveValue(get("Steps.Prepare.ProcessingOutputConfig.Outputs['toString'].S3Output.S3Uri"), context(), 'field')).rejects.toThrow(InvalidConfigError);
  });

  it('reads a report value (Std:JsonGet) from the property file\'s URI', async () => {
    const ctx = context();

    await expect(resolveValue(xgb('regression_metrics.mse.value'), ctx, 'field')).resolves.toBe(4.2);
    expect(ctx.readJson).toHaveBeenCalledWith(XGB_REPORT_URI);
  });

  it.each([
    ['regression_metrics.label', 'good'],
    ['regression_metrics.passed', true],
    ['regression_metrics.history[0]', 7.5],
    ["regression_metrics.per_class['ring count']", 3],
  ])('reads the report value at %s', async (path, value) => {
    await expect(resolveValue(xgb(path), context(), 'field')).resolves.toBe(value);
  });

  it('fails with MetricNotFound naming the field when the report does not exist', async () => {
    await expect(resolveValue(xgb('regression_metrics.mse.value'), context({ readJson: async () => undefined }), 'Steps.Gate.Condition.Left')).rejects.toThrow(
      new MetricNotFoundError(`Steps.Gate.Condition.Left: the report ${XGB_REPORT_URI} does not exist`),
    );
  });

  it('fails with MetricNotFound naming the field and the report when the value is not in it', async () => {
    await expect(resolveValue(xgb('regression_metrics.rmse.value'), context(), 'Steps.Gate.Condition.Left')).rejects.toThrow(
      new MetricNotFoundError(`Steps.Gate.Condition.Left: regression_metrics.rmse.value is not in ${XGB_REPORT_URI}`),
    );
  });

  it('fails with MetricNotFound when the value is an object, not a number, string or boolean', async () => {
    await expect(resolveValue(xgb('regression_metrics.mse'), context(), 'field')).rejects.toThrow(
      new MetricNotFoundError(`field: regression_metrics.mse is not a number, string or boolean in ${XGB_REPORT_URI}`),
    );
  });

  it('joins values as text with the separator (Std:Join)', async () => {
    const join: Value = { 'Std:Join': { On: '/', Values: ['s3:', get('Parameters.Rounds'), xgb('regression_metrics.mse.value'), true] } };

    await expect(resolveValue(join, context(), 'field')).resolves.toBe('s3:/50/4.2/true');
  });

  it('names the joined value that fails, by its index', async () => {
    const join: Value = { 'Std:Join': { On: '', Values: ['mse ', get('Parameters.Missing')] } };

    await expect(resolveValue(join, context(), 'Steps.NotBetter.ErrorMessage')).rejects.toThrow('Steps.NotBetter.ErrorMessage.Std:Join.Values[1]: no value for parameter "Missing" in this run');
  });
});

describe('resolveText', () => {
  it('writes a number as text', async () => {
    await expect(resolveText(get('Parameters.MaxMse'), context(), 'field')).resolves.toBe('6');
  });
});

describe('resolveInteger', () => {
  it('returns an integer', async () => {
    await expect(resolveInteger(get('Parameters.Rounds'), context(), 'field')).resolves.toBe(50);
  });

  it.each([[6.5], ['2']])('fails naming the field when the value is %j', async (value) => {
    await expect(resolveInteger(get('Parameters.X'), context({ parameters: { X: value } }), 'Steps.Prepare.ProcessingResources.ClusterConfig.InstanceCount')).rejects.toThrow(
      new InvalidConfigError(`Steps.Prepare.ProcessingResources.ClusterConfig.InstanceCount: needs an integer, got ${JSON.stringify(value)}`),
    );
  });
});

describe('describeValue', () => {
  it.each([
    ['a literal as JSON', 6, '6'],
    ['a text literal quoted', 'x', '"x"'],
    ['a reference by its path', get('Parameters.MaxMse'), 'Parameters.MaxMse'],
    ['a report value as <step>/<file>:<path>', xgb('regression_metrics.mse.value'), 'EvaluateXgb/Report:regression_metrics.mse.value'],
    ['a join by its parts', { 'Std:Join': { On: '', Values: ['mse ', get('Parameters.MaxMse')] } } as Value, 'join("mse ", Parameters.MaxMse)'],
  ])('describes %s', (_what, value, description) => {
    expect(describeValue(value)).toBe(description);
  });
});

describe('evaluateCondition', () => {
  const compare = (left: Value, operator: string, right: Value) => ({ Left: left, Operator: operator, Right: right }) as Condition;

  it.each([
    ['==', 4.2, true],
    ['!=', 4.2, false],
    ['<', 5, true],
    ['<', 4.2, false],
    ['<=', 4.2, true],
    ['>', 4, true],
    ['>=', 4.3, false],
  ])('evaluates mse %s %j as %j', async (operator, right, outcome) => {
    const result = await evaluateCondition(compare(xgb('regression_metrics.mse.value'), operator, right), context(), 'Steps.Gate.Condition');

    expect(result.outcome).toBe(outcome);
  });

  it('compares two report values', async () => {
    const result = await evaluateCondition(compare(xgb('regression_metrics.mse.value'), '<', linear('regression_metrics.mse.value')), context(), 'Steps.Gate.Condition');

    expect(result.outcome).toBe(true);
  });

  it('records each operand it resolved with its value, not literals', async () => {
    const result = await evaluateCondition(compare(xgb('regression_metrics.mse.value'), '<=', get('Parameters.MaxMse')), context(), 'Steps.Gate.Condition');

    expect(result.values).toEqual([
      { expression: 'EvaluateXgb/Report:regression_metrics.mse.value', value: 4.2 },
      { expression: 'Parameters.MaxMse', value: 6 },
    ]);
  });

  it('fails naming the condition when == compares values of different types', async () => {
    await expect(evaluateCondition(compare(xgb('regression_metrics.label'), '==', 1), context(), 'Steps.Gate.Condition')).rejects.toThrow(
      new InvalidConfigError('Steps.Gate.Condition: "==" compares "good" (string) with 1 (number)'),
    );
  });

  it('fails naming the condition when an ordered comparison meets a non-number', async () => {
    await expect(evaluateCondition(compare(xgb('regression_metrics.label'), '<', 1), context(), 'Steps.Gate.Condition.And[0]')).rejects.toThrow(
      new InvalidConfigError('Steps.Gate.Condition.And[0]: "<" compares numbers, got "good" and 1'),
    );
  });

  it('holds In when a candidate equals the value', async () => {
    const result = await evaluateCondition({ In: { Value: get('Parameters.InstanceType'), Values: ['ml.m5.xlarge', 'ml.m5.large'] } }, context(), 'field');

    expect(result.outcome).toBe(true);
  });

  it('does not hold In when no candidate equals the value (types count)', async () => {
    const result = await evaluateCondition({ In: { Value: get('Parameters.Rounds'), Values: ['50', 49] } }, context(), 'field');

    expect(result.outcome).toBe(false);
  });

  it('records In\'s operands in the order the condition names them, however long each takes to read', async () => {
    const slowly = async (uri: string) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return structuredClone(REPORTS[uri]);
    };
    const condition: Condition = { In: { Value: get('Parameters.MaxMse'), Values: [xgb('regression_metrics.mse.value'), get('Parameters.Rounds')] } };

    const result = await evaluateCondition(condition, context({ readJson: slowly }), 'field');

    expect(result.values.map((value) => value.expression)).toEqual(['Parameters.MaxMse', 'EvaluateXgb/Report:regression_metrics.mse.value', 'Parameters.Rounds']);
  });

  it('negates with Not', async () => {
    const result = await evaluateCondition({ Not: compare(get('Parameters.Rounds'), '>', 10) }, context(), 'field');

    expect(result.outcome).toBe(false);
  });

  it('holds And only when every part holds', async () => {
    const result = await evaluateCondition({ And: [compare(get('Parameters.Rounds'), '>', 10), compare(get('Parameters.MaxMse'), '<', 1)] }, context(), 'field');

    expect(result.outcome).toBe(false);
  });

  it('stops And at the first part that does not hold, reading no further report', async () => {
    const ctx = context();

    await evaluateCondition({ And: [compare(get('Parameters.Rounds'), '<', 10), compare(xgb('regression_metrics.mse.value'), '<', 1)] }, ctx, 'field');

    expect(ctx.readJson).not.toHaveBeenCalled();
  });

  it('holds Or when any part holds, and stops there', async () => {
    const ctx = context();

    const result = await evaluateCondition({ Or: [compare(get('Parameters.Rounds'), '>', 10), compare(xgb('regression_metrics.mse.value'), '<', 1)] }, ctx, 'field');

    expect({ outcome: result.outcome, reports: (ctx.readJson as jest.Mock).mock.calls.length }).toEqual({ outcome: true, reports: 0 });
  });

  it('does not hold Or when no part holds', async () => {
    const result = await evaluateCondition({ Or: [compare(get('Parameters.Rounds'), '<', 10), compare(get('Parameters.MaxMse'), '<', 1)] }, context(), 'field');

    expect(result.outcome).toBe(false);
  });

  it('names the nested part whose value fails', async () => {
    const condition: Condition = { Or: [compare(get('Parameters.Rounds'), '<', 10), { Not: compare(xgb('missing.value'), '<', 1) }] };

    await expect(evaluateCondition(condition, context(), 'Steps.Gate.Condition')).rejects.toThrow(`Steps.Gate.Condition.Or[1].Not.Left: missing.value is not in ${XGB_REPORT_URI}`);
  });
});
