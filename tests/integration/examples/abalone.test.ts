/**
 * examples/abalone: the model repository the demo pushes. Runs its real container entry point as
 * child processes, the way the local runtime does (cwd = the source tree, `node container.js <step>`),
 * in temporary folders shaped like /opt/ml: /opt/ml/ in arguments and SM_* values points there.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';


import { stepOf } from '../../../shared/pipeline/stored-pipeline';
import type { PipelineConfig } from '../../../shared/schemas/mlops-v2';
import { parseMlopsConfig } from '../../../shared/schemas/parse-mlops-config';
import { EXAMPLE_CONFIG_TEXT, exampleConfig, ROOT } from '../../helpers/fixtures';
import { serverlessStagePolicy } from '../../helpers/pipelines';

const EXAMPLE = join(ROOT, 'examples', 'abalone');
const RAW_ROWS = 4177;
const ENCODED_COLUMNS = 1 + 3 + 7; // rings, sex_F, sex_I, sex_M, seven measurements

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a job process: no inherited SM_* variables, ml-xgboost from the repository's node_modules. */
function jobEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, NODE_PATH: join(ROOT, 'node_modules'), ...env };
}

/** Runs `node container.js <args>` in the example's source tree and waits for it to exit. */
function runContainer(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['container.js', ...args], { cwd: EXAMPLE, env: jobEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A job's arguments from mlops.yaml, with /opt/ml/ pointing into the job's folder, as the local runtime rewrites them. */
function jobArgs(args: readonly string[] | undefined, optMl: string): string[] {
  return (args ?? []).map((arg) => arg.replace(/^\/opt\/ml\//, `${optMl}/`));
}

function csvRows(file: string): string[][] {
  return readFileSync(file, 'utf8').trim().split('\n').map((line) => line.split(','));
}

let work: string;
let config: PipelineConfig;
/** The example's steps as Sluice reads them (its Version 1 file read as Version 2). */
const steps = {
  preprocess: () => stepOf(config, 'Preprocess', ['Processing']),
  train: () => stepOf(config, 'Train', ['Training']),
  evaluate: () => stepOf(config, 'Evaluate', ['Processing']),
  register: () => stepOf(config, 'Register', ['RegisterModel']),
  qualityGate: () => stepOf(config, 'QualityGate', ['Condition']),
};

/** A job's container arguments: the example writes them as plain text. */
function argumentsOf(step: { AppSpecification: { ContainerArguments?: unknown[] } }): string[] {
  return (step.AppSpecification.ContainerArguments ?? []).map(String);
}
const job = (name: string) => join(work, name);
const timings: Record<string, number> = {};
let runs: Record<'preprocess' | 'train' | 'evaluate', Run>;

async function timed(step: keyof typeof runs, run: () => Promise<Run>): Promise<Run> {
  const started = Date.now();
  const result = await run();
  timings[step] = Date.now() - started;
  return result;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sluice-abalone-'));
  config = exampleConfig();

  // Preprocess job: the dataset at /opt/ml/processing/input/raw.
  mkdirSync(join(job('preprocess'), 'processing', 'input', 'raw'), { recursive: true });
  cpSync(join(EXAMPLE, 'data', 'abalone.csv'), join(job('preprocess'), 'processing', 'input', 'raw', 'abalone.csv'));
  const preprocess = await timed('preprocess', () => runContainer(jobArgs(argumentsOf(steps.preprocess()), job('preprocess'))));
  const splits = join(job('preprocess'), 'processing', 'output');

  // Training job: channels, hyperparameters.json as SageMaker writes it (all values strings), the SM_* environment.
  const train = job('train');
  cpSync(join(splits, 'train'), join(train, 'input', 'data', 'train'), { recursive: true });
  cpSync(join(splits, 'validation'), join(train, 'input', 'data', 'validation'), { recursive: true });
  mkdirSync(join(train, 'input', 'config'), { recursive: true });
  writeFileSync(join(train, 'input', 'config', 'hyperparameters.json'), JSON.stringify(steps.train().HyperParameters));
  const training = await timed('train', () =>
    runContainer(['train'], {
      SM_INPUT_CONFIG_DIR: join(train, 'input', 'config'),
      SM_CHANNEL_TRAIN: join(train, 'input', 'data', 'train'),
      SM_CHANNEL_VALIDATION: join(train, 'input', 'data', 'validation'),
      SM_MODEL_DIR: join(train, 'model'),
      SM_OUTPUT_DATA_DIR: join(train, 'output', 'data'),
    }),
  );

  // Evaluate job: the training job's model.tar.gz (made by tar, as SageMaker makes it) and the test split.
  const evaluate = job('evaluate');
  mkdirSync(join(evaluate, 'processing', 'input', 'model'), { recursive: true });
  if (existsSync(join(train, 'model'))) {
    execFileSync('tar', ['-czf', join(evaluate, 'processing', 'input', 'model', 'model.tar.gz'), '-C', join(train, 'model'), '.']);
  }
  cpSync(join(splits, 'test'), join(evaluate, 'processing', 'input', 'test'), { recursive: true });
  const evaluation = await timed('evaluate', () => runContainer(jobArgs(argumentsOf(steps.evaluate()), evaluate)));

  runs = { preprocess, train: training, evaluate: evaluation };
}, 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('mlops.yaml', () => {
  it.each(['dev', 'local'])('parses under the %s stage\'s policy from serverless.yml', (stage) => {
    expect(() => parseMlopsConfig(EXAMPLE_CONFIG_TEXT, serverlessStagePolicy(stage), 'abalone')).not.toThrow();
  });

  it('runs every step and the registered model in the one image that Local.Images maps to a command', () => {
    const image = String(steps.preprocess().AppSpecification.ImageUri);

    expect([steps.train().AlgorithmSpecification.TrainingImage, steps.evaluate().AppSpecification.ImageUri, steps.register().InferenceSpecification.Image]).toEqual([image, image, image]);
    expect(config.Local?.Images[image]).toEqual({ Command: ['node', 'container.js'] });
  });
});

describe('preprocess', () => {
  it('splits the 4177 rows 70/15/15 into train, validation and test', () => {
    const out = join(job('preprocess'), 'processing', 'output');

    expect(runs.preprocess).toMatchObject({ code: 0 });
    expect(['train', 'validation', 'test'].map((name) => csvRows(join(out, name, `${name}.csv`)).length)).toEqual([
      Math.floor(0.7 * RAW_ROWS),
      Math.floor(0.85 * RAW_ROWS) - Math.floor(0.7 * RAW_ROWS),
      RAW_ROWS - Math.floor(0.85 * RAW_ROWS),
    ]);
  });

  it('writes headerless numeric rows with the ring count first and sex one-hot encoded', () => {
    const rows = csvRows(join(job('preprocess'), 'processing', 'output', 'train', 'train.csv'));

    const malformed = rows.filter((row) => {
      const values = row.map(Number);
      const [rings = NaN, female, infant, male] = values;
      const oneHot = [female, infant, male].sort().join(',') === '0,0,1';
      return values.length !== ENCODED_COLUMNS || !values.every(Number.isFinite) || !Number.isInteger(rings) || rings < 1 || rings > 29 || !oneHot;
    });

    expect(rows.length).toBeGreaterThan(0);
    expect(malformed).toEqual([]);
  });

  it('gives the same split on every run (fixed seed)', async () => {
    const again = job('preprocess-again');

    const run = await runContainer(['preprocess', '--input', join(job('preprocess'), 'processing', 'input', 'raw'), '--output', again]);

    expect(run.code).toBe(0);
    for (const name of ['train', 'validation', 'test']) {
      expect(readFileSync(join(again, name, `${name}.csv`), 'utf8')).toBe(readFileSync(join(job('preprocess'), 'processing', 'output', name, `${name}.csv`), 'utf8'));
    }
  });

  it('fails naming the file and line of a malformed record', async () => {
    const raw = join(job('preprocess-bad'), 'raw');
    mkdirSync(raw, { recursive: true });
    writeFileSync(join(raw, 'bad.csv'), 'M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\nQ,0.35,0.265,0.09,0.2255,0.0995,0.0485,0.07,7\n');

    const run = await runContainer(['preprocess', '--input', raw, '--output', join(job('preprocess-bad'), 'out')]);

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('bad.csv line 2: sex must be one of F, I, M (got "Q")');
  });
});

describe('train', () => {
  it('prints validation-rmse in the form the MetricDefinitions regex reads', () => {
    const definition = steps.train().AlgorithmSpecification.MetricDefinitions?.find((metric) => metric.Name === 'validation:rmse');

    const match = new RegExp(definition!.Regex).exec(runs.train.stdout);

    expect(runs.train.code).toBe(0);
    expect(Number(match?.[1])).toBeGreaterThan(0);
    expect(Number(match?.[1])).toBeLessThan(3);
  });

  it('saves the booster and the feature encoding it was trained on into SM_MODEL_DIR', () => {
    const model = join(job('train'), 'model');

    expect(JSON.parse(readFileSync(join(model, 'model.json'), 'utf8'))).toMatchObject({ name: 'ml-xgboost' });
    expect(JSON.parse(readFileSync(join(model, 'features.json'), 'utf8'))).toMatchObject({
      input: ['sex', 'length', 'diameter', 'height', 'whole_weight', 'shucked_weight', 'viscera_weight', 'shell_weight'],
      encoded: ['sex_F', 'sex_I', 'sex_M', 'length', 'diameter', 'height', 'whole_weight', 'shucked_weight', 'viscera_weight', 'shell_weight'],
    });
  });

  it('takes SM_HPS over hyperparameters.json, with values decoded from JSON as the training toolkit sets them', async () => {
    const decoded = job('train-hps');

    const run = await runContainer(['train'], {
      SM_HPS: JSON.stringify({ objective: 'reg:linear', num_round: 3, max_depth: 2, eta: 0.3 }),
      SM_INPUT_CONFIG_DIR: join(job('train'), 'input', 'config'),
      SM_CHANNEL_TRAIN: join(job('train'), 'input', 'data', 'train'),
      SM_MODEL_DIR: join(decoded, 'model'),
      SM_OUTPUT_DATA_DIR: join(decoded, 'output', 'data'),
    });

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\[2\]\ttrain-rmse:[0-9.]+$/m);
  });

  it('fails with the reason in /opt/ml/output/failure for an unknown hyperparameter', async () => {
    const failed = job('train-bad');

    const run = await runContainer(['train'], {
      SM_HPS: JSON.stringify({ num_round: '5', max_bin: '16' }),
      SM_CHANNEL_TRAIN: join(job('train'), 'input', 'data', 'train'),
      SM_MODEL_DIR: join(failed, 'model'),
      SM_OUTPUT_DATA_DIR: join(failed, 'output', 'data'),
    });

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('unknown hyperparameter "max_bin"');
    expect(readFileSync(join(failed, 'output', 'failure'), 'utf8')).toContain('unknown hyperparameter "max_bin"');
  });
});

describe('evaluate', () => {
  it('writes the template\'s evaluation.json with a test mse that passes the quality gate', () => {
    const report = JSON.parse(readFileSync(join(job('evaluate'), 'processing', 'output', 'evaluation', 'evaluation.json'), 'utf8'));

    expect(runs.evaluate.code).toBe(0);
    expect(report).toEqual({ regression_metrics: { mse: { value: expect.any(Number), standard_deviation: expect.any(Number) } } });
    const gate = steps.qualityGate().Condition;
    expect(gate).toMatchObject({ Left: { 'Std:JsonGet': { Path: 'regression_metrics.mse.value' } }, Operator: '<=' });
    expect(report.regression_metrics.mse.value).toBeLessThanOrEqual(('Right' in gate ? gate.Right : Number.NaN) as number);
    // A real model, not a constant: predicting the mean ring count everywhere scores about 10.
    expect(report.regression_metrics.mse.value).toBeGreaterThan(3);
    expect(report.regression_metrics.mse.standard_deviation).toBeCloseTo(Math.sqrt(report.regression_metrics.mse.value), 0);
  });

  it('runs preprocess, train and evaluate in well under the jobs\' time limits', () => {
    const total = timings.preprocess! + timings.train! + timings.evaluate!;

    expect(total).toBeLessThan(30_000);
  });

  it('fails saying what is missing when the model input holds no model', async () => {
    const empty = job('evaluate-empty');
    mkdirSync(join(empty, 'model'), { recursive: true });

    const run = await runContainer(['evaluate', '--model', join(empty, 'model'), '--test', join(job('evaluate'), 'processing', 'input', 'test'), '--output', join(empty, 'out')]);

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('no model.json or model.tar.gz');
  });
});

describe('serve', () => {
  let server: ChildProcessWithoutNullStreams | undefined;
  let exited: Promise<number | null>;
  let base: string;

  beforeAll(async () => {
    // SageMaker unpacks model.tar.gz into /opt/ml/model; port 0 lets the OS choose a free port.
    const child = spawn(process.execPath, ['container.js', 'serve'], {
      cwd: EXAMPLE,
      env: jobEnv({ SM_MODEL_DIR: join(job('train'), 'model'), SAGEMAKER_BIND_TO_PORT: '0' }),
    });
    server = child;
    exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    const port = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening on port (\d+)/.exec(output);
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited with ${code} before listening: ${output}`)));
    });
    base = `http://127.0.0.1:${port}`;
  }, 20_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGKILL');
      await exited;
    }
  });

  const invoke = (body: string, contentType = 'text/csv') =>
    fetch(`${base}/invocations`, { method: 'POST', headers: { 'Content-Type': contentType }, body });

  it('answers /ping with 200 once the model is loaded', async () => {
    expect((await fetch(`${base}/ping`)).status).toBe(200);
  });

  it('predicts a plausible ring count for each raw record, one per line', async () => {
    const response = await invoke('M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\nF,0.53,0.42,0.135,0.677,0.2565,0.1415,0.21\nI,0.33,0.255,0.08,0.205,0.0895,0.0395,0.055\n');
    const predictions = (await response.text()).trim().split('\n').map(Number);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv');
    expect(predictions).toHaveLength(3);
    for (const rings of predictions) {
      expect(rings).toBeGreaterThanOrEqual(1);
      expect(rings).toBeLessThanOrEqual(30);
    }
  });

  it('answers 400 naming the malformed line', async () => {
    const response = await invoke('M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\nM,0.455,0.365\n');

    expect(response.status).toBe(400);
    expect(await response.text()).toContain('line 2: expected 8 fields');
  });

  it('answers 415 to a body that is not text/csv', async () => {
    expect((await invoke('{"sex": "M"}', 'application/json')).status).toBe(415);
  });

  it('stops cleanly on SIGTERM', async () => {
    server!.kill('SIGTERM');

    await expect(exited).resolves.toBe(0);
  });
});
