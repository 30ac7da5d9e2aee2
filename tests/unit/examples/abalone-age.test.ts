/**
 * examples/abalone-age: the Version 2 example model repository. Its steps run in this process —
 * each script's `main`, called with temporary folders shaped like /opt/ml — in the order and with
 * the arguments, inputs and hyperparameters its mlops.yaml gives them (parameters at their
 * defaults, `/opt/ml` rewritten as the local runtime does). Its Conditions and Fail message are
 * then evaluated against the report evaluate wrote, and serving is checked through its request
 * function. No child process, no server, no network.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';


import { tarGzDirectory } from '../../../local/sagemaker/archive';
import { rewriteValue } from '../../../local/sagemaker/contract';
import { analysePipeline } from '../../../shared/pipeline/graph';
import { resolveParameters } from '../../../shared/pipeline/parameters';
import { evaluateCondition, resolveText, resolveValue, type ValueContext } from '../../../shared/pipeline/values';
import type { ConditionStep, FailStep, ParameterValue, PipelineConfig, ProcessingStep, TrainingStep } from '../../../shared/schemas/mlops-v2';
import { parseMlopsConfig } from '../../../shared/schemas/parse-mlops-config';
import type { StepResult } from '../../../shared/schemas/task-inputs';
import { exampleModule, runCapturingLog } from '../../helpers/examples';
import { ROOT } from '../../helpers/fixtures';
import { serverlessStagePolicy } from '../../helpers/pipelines';

const EXAMPLE = join(ROOT, 'examples', 'abalone-age');
const CONFIG_TEXT = readFileSync(join(EXAMPLE, 'mlops.yaml'), 'utf8');
const RAW_ROWS = 4177;
const OLDER_ROWS = 2081; // abalones with more than 9 rings in data/abalone.csv
const ENCODED_COLUMNS = 1 + 3 + 7; // label, sex_F, sex_I, sex_M, seven measurements
const ALGORITHMS = ['xgboost', 'logistic'] as const;
const TRAININGS = { xgboost: 'train-xgboost', logistic: 'train-logistic' } as const;

/** The shapes of the example's CommonJS modules that these tests use. */
type Env = Record<string, string | undefined>;
interface StepModule {
  main(argv: string[], env?: Env): Promise<void>;
}
interface LoadedModel {
  algorithm: string;
  spec: { encoded: string[] };
  predict(rows: number[][]): number[];
  free(): void;
}
interface LogisticOptions {
  epochs: number;
  learning_rate: number;
  batch_size: number;
  l2: number;
  seed: number;
}
interface LogisticModel {
  algorithm: 'logistic';
  mean: number[];
  scale: number[];
  weights: number[];
  bias: number;
}
interface Reply {
  status: number;
  type: string;
  body: string;
}

const example = <T extends object>(file: string): T => exampleModule<T>('abalone-age', file);
const steps: Record<string, StepModule> = { split: example<StepModule>('split'), train: example<StepModule>('train'), evaluate: example<StepModule>('evaluate') };
const { loadModel } = example<{ loadModel(dir: string): Promise<LoadedModel> }>('model');
const { DEFAULT_OPTIONS, fitLogistic } = example<{ DEFAULT_OPTIONS: LogisticOptions; fitLogistic(features: number[][], labels: number[], options: LogisticOptions): LogisticModel }>('logistic');
const { readLabelledMatrix } = example<{ readLabelledMatrix(dir: string, what: string, featureCount: number): { labels: number[]; features: number[][] } }>('contract');
const { respond } = example<{ respond(model: LoadedModel, request: { method: string; path: string; headers: Record<string, string>; body: string }): Reply }>('serve');

const config: PipelineConfig = parseMlopsConfig(CONFIG_TEXT, serverlessStagePolicy('local'), 'abalone-age');

function processingStep(name: string): ProcessingStep {
  const spec = config.Steps[name];
  if (spec?.Type !== 'Processing') throw new Error(`mlops.yaml has no Processing step "${name}"`);
  return spec;
}

function trainingStep(name: string): TrainingStep {
  const spec = config.Steps[name];
  if (spec?.Type !== 'Training') throw new Error(`mlops.yaml has no Training step "${name}"`);
  return spec;
}

function conditionStep(name: string): ConditionStep {
  const spec = config.Steps[name];
  if (spec?.Type !== 'Condition') throw new Error(`mlops.yaml has no Condition step "${name}"`);
  return spec;
}

function failStep(name: string): FailStep {
  const spec = config.Steps[name];
  if (spec?.Type !== 'Fail') throw new Error(`mlops.yaml has no Fail step "${name}"`);
  return spec;
}

let work: string;
const job = (name: string) => join(work, name);
/** What the run has produced so far, as the state machine's `$.steps` holds it (only what values read). */
const results: Record<string, StepResult> = {};
const timings: Record<string, number> = {};
const logs: Record<string, string> = {};

/** Values resolved as the run resolves them: the parameters (defaults unless overridden), reports read from the job folders. */
function context(overrides: Record<string, ParameterValue> = {}): ValueContext {
  const parameters = resolveParameters(config, overrides);
  if ('issues' in parameters) throw new Error(parameters.issues.join('; '));
  return { config, parameters: parameters.values, steps: results, readJson: async (path) => JSON.parse(readFileSync(path, 'utf8')) };
}

/** Runs a step's `main` with console.log captured, timing it. */
async function run(name: string, act: () => Promise<void>): Promise<void> {
  const { output, milliseconds } = await runCapturingLog(act);
  logs[name] = output;
  timings[name] = milliseconds;
}

/** Puts a step input where the job reads it: the dataset's files, another step's output, or a training job's model.tar.gz. */
async function placeInput(source: { Dataset: unknown } | { From: string }, target: string): Promise<void> {
  mkdirSync(target, { recursive: true });
  if ('Dataset' in source) {
    cpSync(join(EXAMPLE, 'data', 'abalone.csv'), join(target, 'abalone.csv'));
    return;
  }
  const [step = '', output = ''] = source.From.split('/');
  if (output === 'model') await tarGzDirectory(join(job(step), 'model'), join(target, 'model.tar.gz'));
  else cpSync(join(job(step), 'processing', 'output', output), target, { recursive: true });
}

/** A processing job: inputs at /opt/ml/processing/input/<name>, ContainerArguments resolved, `/opt/ml` pointing at the job's folder. */
async function runProcessing(name: string): Promise<void> {
  const spec = processingStep(name);
  for (const [input, source] of Object.entries(spec.Inputs)) await placeInput(source, join(job(name), 'processing', 'input', input));
  const ctx = context();
  const args = await Promise.all(
    (spec.AppSpecification.ContainerArguments ?? []).map(async (arg, index) => rewriteValue(await resolveText(arg, ctx, `Steps.${name}.AppSpecification.ContainerArguments[${index}]`), job(name))),
  );
  const [command = '', ...argv] = args;
  await run(name, () => steps[command]!.main(argv));
  results[name] = {
    Type: 'Processing',
    ProcessingJobName: `abalone-age-${name}`,
    Outputs: Object.fromEntries(spec.Outputs.map((output) => [output, join(job(name), 'processing', 'output', output)])),
    OutputHashes: {},
  };
}

/** A training job: channels at /opt/ml/input/data/<channel>, hyperparameters.json as SageMaker writes it (every value text), the SM_* environment. */
async function runTraining(name: string): Promise<void> {
  const spec = trainingStep(name);
  for (const [channel, source] of Object.entries(spec.Channels)) await placeInput(source, join(job(name), 'input', 'data', channel));
  const ctx = context();
  const hyperparameters: Record<string, string> = {};
  for (const [key, value] of Object.entries(spec.HyperParameters)) hyperparameters[key] = String(await resolveValue(value, ctx, `Steps.${name}.HyperParameters.${key}`));
  mkdirSync(join(job(name), 'input', 'config'), { recursive: true });
  writeFileSync(join(job(name), 'input', 'config', 'hyperparameters.json'), JSON.stringify(hyperparameters));
  const env = {
    SM_INPUT_CONFIG_DIR: join(job(name), 'input', 'config'),
    ...Object.fromEntries(Object.keys(spec.Channels).map((channel) => [`SM_CHANNEL_${channel.toUpperCase()}`, join(job(name), 'input', 'data', channel)])),
    SM_MODEL_DIR: join(job(name), 'model'),
    SM_OUTPUT_DATA_DIR: join(job(name), 'output', 'data'),
  };
  await run(name, () => steps.train!.main([], env));
  results[name] = { Type: 'Training', TrainingJobName: `abalone-age-${name}`, ModelArtifacts: `s3://local/${name}/model.tar.gz`, FinalMetrics: {} };
}

function csvRows(file: string): number[][] {
  return readFileSync(file, 'utf8').trim().split('\n').map((line) => line.split(',').map(Number));
}

const report = () => JSON.parse(readFileSync(join(job('evaluate'), 'processing', 'output', 'evaluation', 'evaluation.json'), 'utf8'));
const splitOutput = (name: string) => join(job('split'), 'processing', 'output', name);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sluice-abalone-age-'));
  await runProcessing('split');
  // On SageMaker the two trainings run at the same time; here, one after the other.
  for (const algorithm of ALGORITHMS) await runTraining(TRAININGS[algorithm]);
  await runProcessing('evaluate');
}, 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('mlops.yaml', () => {
  it.each(['dev', 'local'])('parses under the %s stage\'s policy from serverless.yml', (stage) => {
    expect(() => parseMlopsConfig(CONFIG_TEXT, serverlessStagePolicy(stage), 'abalone-age')).not.toThrow();
  });

  it('runs every step and both registrations in the one image that Local.Images maps to node container.js', () => {
    const image = processingStep('split').AppSpecification.ImageUri;
    const registered = ['register-xgboost', 'register-logistic'].map((name) => {
      const spec = config.Steps[name];
      return spec?.Type === 'RegisterModel' ? spec.InferenceSpecification.Image : undefined;
    });

    expect([processingStep('evaluate').AppSpecification.ImageUri, ...Object.values(TRAININGS).map((name) => trainingStep(name).AlgorithmSpecification.TrainingImage), ...registered]).toEqual(Array(5).fill(image));
    expect(typeof image).toBe('string');
    expect(config.Local?.Images[String(image)]).toEqual({ Command: ['node', 'container.js'] });
  });

  it('lets the two trainings run at the same time: each waits for split only', () => {
    const { graph } = analysePipeline(config);

    expect(Object.values(TRAININGS).map((name) => [...graph.dependencies.get(name)!])).toEqual([['split'], ['split']]);
  });
});

describe('split', () => {
  it('splits the 4177 rows 70/15/15 into headerless rows of a 0/1 label, one-hot sex and seven measurements', () => {
    const splits = ['train', 'validation', 'test'].map((name) => csvRows(join(splitOutput(name), `${name}.csv`)));
    const malformed = splits.flat().filter((row) => {
      const [label, female, infant, male] = row;
      return row.length !== ENCODED_COLUMNS || !row.every(Number.isFinite) || (label !== 0 && label !== 1) || [female, infant, male].sort().join(',') !== '0,0,1';
    });

    expect(splits.map((rows) => rows.length)).toEqual([Math.floor(0.7 * RAW_ROWS), Math.floor(0.85 * RAW_ROWS) - Math.floor(0.7 * RAW_ROWS), RAW_ROWS - Math.floor(0.85 * RAW_ROWS)]);
    expect(malformed).toEqual([]);
  });

  it('labels 1 exactly the abalones with more than 9 rings (older than 10.5 years)', () => {
    const older = ['train', 'validation', 'test'].flatMap((name) => csvRows(join(splitOutput(name), `${name}.csv`))).filter((row) => row[0] === 1);

    expect(older).toHaveLength(OLDER_ROWS);
  });

  it('gives the same split for the same seed', async () => {
    const again = job('split-again');

    await run('split-again', () => steps.split!.main(['--input', join(job('split'), 'processing', 'input', 'raw'), '--output', again, '--seed', '42']));

    for (const name of ['train', 'validation', 'test']) {
      expect(readFileSync(join(again, name, `${name}.csv`), 'utf8')).toBe(readFileSync(join(splitOutput(name), `${name}.csv`), 'utf8'));
    }
  });
});

describe('train', () => {
  it.each(ALGORITHMS)('%s prints every metric of its MetricDefinitions, with a validation accuracy above 0.7', (algorithm) => {
    const name = TRAININGS[algorithm];
    const metrics = Object.fromEntries(
      (trainingStep(name).AlgorithmSpecification.MetricDefinitions ?? []).map((definition) => [definition.Name, Number(new RegExp(definition.Regex).exec(logs[name]!)?.[1])]),
    );

    expect(Object.keys(metrics).sort()).toEqual(['train:logloss', 'validation:accuracy', 'validation:auc', 'validation:logloss']);
    expect(Object.values(metrics).every(Number.isFinite)).toBe(true);
    expect(metrics['validation:accuracy']).toBeGreaterThan(0.7);
  });

  it.each(ALGORITHMS)('%s writes an artifact that says which algorithm it holds', (algorithm) => {
    const model = JSON.parse(readFileSync(join(job(TRAININGS[algorithm]), 'model', 'model.json'), 'utf8'));

    expect(model.algorithm).toBe(algorithm);
  });

  it('fits the same logistic regression, weight for weight, from the same data and seed', () => {
    const train = readLabelledMatrix(splitOutput('train'), 'train', ENCODED_COLUMNS - 1);

    const first = fitLogistic(train.features, train.labels, DEFAULT_OPTIONS);
    const second = fitLogistic(train.features, train.labels, DEFAULT_OPTIONS);
    const otherSeed = fitLogistic(train.features, train.labels, { ...DEFAULT_OPTIONS, seed: DEFAULT_OPTIONS.seed + 1 });

    expect(second).toEqual(first);
    expect(otherSeed.weights).not.toEqual(first.weights);
  });

  it('fails naming the hyperparameter algorithm when the job does not set it', async () => {
    const env = { SM_HPS: JSON.stringify({ num_round: 3 }), SM_CHANNEL_TRAIN: splitOutput('train'), SM_MODEL_DIR: job('train-bad') };

    await expect(steps.train!.main([], env)).rejects.toThrow('hyperparameter algorithm must be one of xgboost, logistic (got none)');
  });
});

describe('evaluate', () => {
  it('reports both models\' model quality metrics, with the better model\'s at the top level', () => {
    const evaluation = report();
    const metric = { value: expect.any(Number), standard_deviation: expect.any(Number) };

    expect(ALGORITHMS).toContain(evaluation.best_model);
    expect(evaluation.selected_by).toBe('accuracy');
    for (const algorithm of ALGORITHMS) {
      const metrics = evaluation.models[algorithm].binary_classification_metrics;
      expect(metrics).toMatchObject({ accuracy: metric, auc: metric, precision: metric, recall: metric, f1: metric });
      const { 0: actualNo, 1: actualYes } = metrics.confusion_matrix;
      expect(actualNo[0] + actualNo[1] + actualYes[0] + actualYes[1]).toBe(RAW_ROWS - Math.floor(0.85 * RAW_ROWS));
    }
    expect(evaluation.binary_classification_metrics).toEqual(evaluation.models[evaluation.best_model].binary_classification_metrics);
    const other = ALGORITHMS.find((algorithm) => algorithm !== evaluation.best_model)!;
    expect(evaluation.binary_classification_metrics.accuracy.value).toBeGreaterThanOrEqual(evaluation.models[other].binary_classification_metrics.accuracy.value);
  });

  it('finds the better model above the default MinAccuracy and well above always answering the majority class', () => {
    const { accuracy, accuracy_best_constant_classifier: constant } = report().binary_classification_metrics;

    expect(accuracy.value).toBeGreaterThan(Number(config.Parameters.MinAccuracy?.Default));
    expect(accuracy.value).toBeGreaterThan(constant.value + 0.2);
  });

  it('runs split, both trainings and evaluate in a few seconds', () => {
    const total = timings.split! + timings['train-xgboost']! + timings['train-logistic']! + timings.evaluate!;

    expect(total).toBeLessThan(10_000);
  });

  it('fails when a model input holds the other algorithm\'s model', async () => {
    const input = join(job('evaluate'), 'processing', 'input');

    await expect(steps.evaluate!.main(['--xgboost', join(input, 'logistic'), '--logistic', join(input, 'logistic'), '--test', join(input, 'test'), '--output', job('evaluate-bad')])).rejects.toThrow(
      `--xgboost ${join(input, 'logistic')} holds a logistic model`,
    );
  });
});

describe('the run\'s Conditions on the report', () => {
  it('takes check-accuracy\'s If branch with the default MinAccuracy, then registers the model evaluate found better', async () => {
    const accurate = await evaluateCondition(conditionStep('check-accuracy').Condition, context(), 'Steps.check-accuracy.Condition');
    const xgboostWon = await evaluateCondition(conditionStep('pick-model').Condition, context(), 'Steps.pick-model.Condition');

    expect(accurate.outcome).toBe(true);
    expect(conditionStep('check-accuracy').If).toEqual(['pick-model']);
    expect(conditionStep('pick-model')[xgboostWon.outcome ? 'If' : 'Else']).toEqual([`register-${report().best_model}`]);
  });

  it('fails the run with AccuracyBelowThreshold, naming the accuracy and the threshold, when MinAccuracy is above it', async () => {
    const { best_model: best, binary_classification_metrics: metrics } = report();
    const strict = context({ MinAccuracy: 0.99 });
    const fail = failStep('too-inaccurate');

    const accurate = await evaluateCondition(conditionStep('check-accuracy').Condition, strict, 'Steps.check-accuracy.Condition');

    expect(accurate.outcome).toBe(false);
    expect(conditionStep('check-accuracy').Else).toEqual(['too-inaccurate']);
    expect(fail.Error).toBe('AccuracyBelowThreshold');
    expect(await resolveText(fail.ErrorMessage, strict, 'Steps.too-inaccurate.ErrorMessage')).toBe(
      `the better model (${best}) has a test accuracy of ${metrics.accuracy.value}, below MinAccuracy 0.99`,
    );
  });
});

describe('serve', () => {
  const smokeTest = config.Deploy!.SmokeTest!;
  const invoke = (model: LoadedModel, body: string, contentType = 'text/csv') =>
    respond(model, { method: 'POST', path: '/invocations', headers: { 'content-type': contentType, accept: 'text/csv' }, body });

  it.each(ALGORITHMS)('answers the SmokeTest body with one probability per record from a %s model', async (algorithm) => {
    const model = await loadModel(join(job(TRAININGS[algorithm]), 'model'));

    const reply = invoke(model, smokeTest.Body);
    model.free();

    expect(model.algorithm).toBe(algorithm);
    expect(reply).toMatchObject({ status: 200, type: 'text/csv' });
    const probabilities = reply.body.trim().split('\n').map(Number);
    expect(probabilities).toHaveLength(smokeTest.ExpectedLines!);
    for (const probability of probabilities) {
      expect(probability).toBeGreaterThanOrEqual(0);
      expect(probability).toBeLessThanOrEqual(1);
    }
  });

  it('answers /ping with 200, a malformed record with 400 naming its line, and another content type with 415', async () => {
    const model = await loadModel(join(job('train-logistic'), 'model'));

    const ping = respond(model, { method: 'GET', path: '/ping', headers: {}, body: '' });
    const malformed = invoke(model, 'M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\nX,0.35,0.265,0.09,0.2255,0.0995,0.0485,0.07\n');
    const json = invoke(model, '{"sex": "M"}', 'application/json');

    expect(ping.status).toBe(200);
    expect(malformed).toMatchObject({ status: 400, body: 'line 2: sex must be one of F, I, M (got "X")\n' });
    expect(json.status).toBe(415);
  });
});
