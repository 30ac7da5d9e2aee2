/**
 * examples/abalone-segments: the example of issue 12's step types (Tuning, ForEach, Transform, a
 * step given as an ACK manifest). Its scripts run in this process — each script's `main`, called
 * with temporary folders shaped like /opt/ml — in the order and with the arguments, inputs and
 * hyperparameters its mlops.yaml (and the split step's manifest) gives them, `/opt/ml` rewritten as
 * the local runtime does: split from the manifest's containerArguments; the tuning step's four
 * trials, two at a time, proposed by the local runtime's own Bayesian search and scored with the
 * MetricDefinitions regex over what train prints; the ForEach's training once per item; the batch
 * transform through serve's request function, records split, batched and assembled by the local
 * runtime's own transform rules; evaluate on the `.out` layout and the per-item model folders. No
 * child process, no server, no network.
 *
 * mlops.yaml goes through Sluice's own parser with its manifest (as a push does: the stage policies
 * of serverless.yml, split expanded from k8s/split-processingjob.yaml); the tests below also read it
 * as data (the `yaml` package, no merge keys, as Sluice's own reader) to drive the scripts.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { CreateProcessingJobCommandInput } from '@aws-sdk/client-sagemaker';
import { parse as parseYaml } from 'yaml';

import { tarGzDirectory } from '../../../local/sagemaker/archive';
import { rewriteValue } from '../../../local/sagemaker/contract';
import { assembleOutput, batchRecords, splitRecords } from '../../../local/sagemaker/transform-batches';
import { bestTrial, createTuningSearch, type TrialRecord } from '../../../local/sagemaker/tuning/search';
import { parseAckManifest } from '../../../shared/pipeline/ack-manifests';
import { evaluateCondition, type ValueContext } from '../../../shared/pipeline/values';
import { deployConfigSchema } from '../../../shared/schemas/deploy';
import { localSectionSchema } from '../../../shared/schemas/mlops-config';
import { mlopsV2Schema, stepSchema } from '../../../shared/schemas/mlops-v2';
import { parseMlopsConfig } from '../../../shared/schemas/parse-mlops-config';
import type { StepResult } from '../../../shared/schemas/task-inputs';
import { exampleModule, runCapturingLog } from '../../helpers/examples';
import { ROOT } from '../../helpers/fixtures';
import { serverlessStagePolicy } from '../../helpers/pipelines';

const EXAMPLE = join(ROOT, 'examples', 'abalone-segments');
const MANIFEST = 'k8s/split-processingjob.yaml';
const RAW_ROWS = 4177;
const TEST_ROWS = RAW_ROWS - Math.floor(0.85 * RAW_ROWS);
const ENCODED_COLUMNS = 1 + 3 + 7; // rings, sex_F, sex_I, sex_M, seven measurements
const SEGMENT_ROWS = { F: 1307, I: 1342, M: 1528 } as const;

/** mlops.yaml as data: only what these tests read, typed loosely (the merged schema will type it). */
type Json = Record<string, unknown>;
interface MetricDefinition {
  Name: string;
  Regex: string;
}
interface Range {
  Name: string;
  MinValue?: number | string;
  MaxValue?: number | string;
  ScalingType?: string;
  Values?: string[];
}
interface RawConfig {
  Version: number;
  Parameters: Record<string, { Type: string; Default: number }>;
  Steps: Record<string, Json & { Type: string }>;
  Deploy: Json & { SmokeTest: { Body: string; ExpectedLines: number } };
  Local: { Images: Record<string, unknown> };
}
interface TuningStep {
  Type: 'Tuning';
  HyperParameterTuningJobConfig: {
    Strategy: string;
    HyperParameterTuningJobObjective: { Type: 'Minimize' | 'Maximize'; MetricName: string };
    ResourceLimits: { MaxNumberOfTrainingJobs: number; MaxParallelTrainingJobs: number };
    ParameterRanges: { IntegerParameterRanges?: Range[]; ContinuousParameterRanges?: Range[]; CategoricalParameterRanges?: Range[] };
    TrainingJobEarlyStoppingType?: string;
    RandomSeed?: number;
  };
  TrainingJobDefinition: {
    AlgorithmSpecification: { TrainingImage: string; MetricDefinitions: MetricDefinition[] };
    StaticHyperParameters: Record<string, string | number>;
    Channels: Record<string, { From: string }>;
  };
}
interface ForEachStep {
  Type: 'ForEach';
  Items: string[];
  MaxConcurrency: number;
  Steps: Record<string, Json & { Type: string }>;
}
interface InnerTrainingStep {
  Type: 'Training';
  AlgorithmSpecification: { TrainingImage: string; MetricDefinitions: MetricDefinition[] };
  HyperParameters: Record<string, string | number | { Get: string }>;
  Channels: Record<string, { From: string }>;
}
interface TransformStep {
  Type: 'Transform';
  Model: { ModelData: { From: string }; Image: string };
  TransformInput: { DataSource: { From: string }; ContentType: string; SplitType: string };
  TransformOutput: { Accept: string; AssembleWith: string };
  BatchStrategy: string;
  MaxPayloadInMB: number;
}
interface ProcessingStepData {
  Type: 'Processing';
  Manifest?: string;
  AppSpecification?: { ImageUri: string; ContainerArguments: string[] };
  Inputs: Record<string, { From?: string; Dataset?: string }>;
  Outputs: string[];
}

/** The shapes of the example's CommonJS modules that these tests use. */
type Env = Record<string, string | undefined>;
interface StepModule {
  main(argv: string[], env?: Env): Promise<void>;
}
interface LoadedModel {
  segment: string | null;
  spec: { encoded: string[] };
  predict(rows: number[][]): number[];
  free(): void;
}
interface Reply {
  status: number;
  type: string;
  body: string;
}

const example = <T extends object>(file: string): T => exampleModule<T>('abalone-segments', file);
const steps: Record<string, StepModule> = { split: example<StepModule>('split'), train: example<StepModule>('train'), evaluate: example<StepModule>('evaluate') };
const { loadModel } = example<{ loadModel(dir: string): Promise<LoadedModel> }>('model');
const { respond } = example<{ respond(model: LoadedModel, request: { method: string; path: string; headers: Record<string, string>; body: string }): Reply }>('serve');

const CONFIG_TEXT = readFileSync(join(EXAMPLE, 'mlops.yaml'), 'utf8');
const raw = parseYaml(CONFIG_TEXT, { merge: false }) as RawConfig;
const tune = raw.Steps.tune as unknown as TuningStep;
const perSex = raw.Steps['per-sex'] as unknown as ForEachStep;
const trainSex = perSex.Steps['train-sex'] as unknown as InnerTrainingStep;
const score = raw.Steps.score as unknown as TransformStep;
const split = raw.Steps.split as unknown as ProcessingStepData;
const evaluate = raw.Steps.evaluate as unknown as ProcessingStepData;
const manifest = parseAckManifest(readFileSync(join(EXAMPLE, MANIFEST), 'utf8'), MANIFEST);
const splitRequest = manifest.request as Partial<CreateProcessingJobCommandInput>;
const IMAGE = tune.TrainingJobDefinition.AlgorithmSpecification.TrainingImage;

let work: string;
const job = (name: string) => join(work, name);
const logs: Record<string, string> = {};
const timings: Record<string, number> = {};
/** The tuning job's trials, in launch order: hyperparameters, the objective read from the log, the job's folder. */
const trials: (TrialRecord & { name: string })[] = [];
/** The largest number of trials that were running at once. */
let mostTrialsAtOnce = 0;

/** Runs a step's `main` with console.log captured, timing it. */
async function run(name: string, act: () => Promise<void>): Promise<void> {
  const { output, milliseconds } = await runCapturingLog(act);
  logs[name] = output;
  timings[name] = milliseconds;
}

const splitOutput = (name: string) => join(job('split'), 'processing', 'output', name);
const segmentsDir = (index: number) => job(`per-sex-${index}-train-sex`);

/** The split job: its input where the manifest's localPath puts it, its ContainerArguments from the manifest with `/opt/ml` rewritten. */
async function runSplit(): Promise<void> {
  for (const input of splitRequest.ProcessingInputs ?? []) {
    const target = rewriteValue(input.S3Input!.LocalPath!, job('split'));
    mkdirSync(target, { recursive: true });
    cpSync(join(EXAMPLE, 'data', 'abalone.csv'), join(target, 'abalone.csv'));
  }
  const [command = '', ...argv] = (splitRequest.AppSpecification?.ContainerArguments ?? []).map((arg) => rewriteValue(arg, job('split')));
  await run('split', () => steps[command]!.main(argv));
}

/** A training job: channels at /opt/ml/input/data/<channel>, the hyperparameters as SageMaker passes them (text), the SM_* environment. */
async function runTraining(name: string, channels: Record<string, { From: string }>, hyperparameters: Record<string, string>): Promise<void> {
  for (const [channel, source] of Object.entries(channels)) {
    const [step = '', output = ''] = source.From.split('/');
    expect(step).toBe('split');
    cpSync(splitOutput(output), join(job(name), 'input', 'data', channel), { recursive: true });
  }
  const env = {
    SM_HPS: JSON.stringify(hyperparameters),
    ...Object.fromEntries(Object.keys(channels).map((channel) => [`SM_CHANNEL_${channel.toUpperCase()}`, join(job(name), 'input', 'data', channel)])),
    SM_MODEL_DIR: join(job(name), 'model'),
    SM_OUTPUT_DATA_DIR: join(job(name), 'output', 'data'),
  };
  await run(name, () => steps.train!.main([], env));
}

/** The value a MetricDefinition's regex takes from a job's log (SageMaker keeps the last match), or undefined. */
function metricValue(log: string, definition: MetricDefinition): number | undefined {
  const matches = [...log.matchAll(new RegExp(definition.Regex, 'g'))];
  const last = matches.at(-1)?.[1];
  return last === undefined ? undefined : Number(last);
}

/** HyperParameterTuningJobConfig as the API takes it: range bounds as text. */
function apiTuningConfig(): Json {
  const config = tune.HyperParameterTuningJobConfig;
  const ranges = Object.fromEntries(
    Object.entries(config.ParameterRanges).map(([kind, list]) => [
      kind,
      (list ?? []).map((range) => ({ ...range, ...(range.MinValue === undefined ? {} : { MinValue: String(range.MinValue), MaxValue: String(range.MaxValue) }) })),
    ]),
  );
  return { ...config, ParameterRanges: ranges };
}

/**
 * The tuning job: the local runtime's search proposes up to MaxParallelTrainingJobs trials at once
 * (those still running count as pending), each trial is a training job with the static and the
 * tuned hyperparameters, and its objective is the MetricDefinition named by the objective, read
 * from its log. Trials of one round run one after the other here; the round is what may overlap.
 */
async function runTuning(): Promise<void> {
  const config = tune.HyperParameterTuningJobConfig;
  const search = createTuningSearch(apiTuningConfig());
  const objective = tune.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions.find((definition) => definition.Name === config.HyperParameterTuningJobObjective.MetricName)!;
  const staticHyperparameters = Object.fromEntries(Object.entries(tune.TrainingJobDefinition.StaticHyperParameters).map(([key, value]) => [key, String(value)]));
  while (trials.length < search.maxNumberOfTrainingJobs) {
    const round: (TrialRecord & { name: string })[] = [];
    while (round.length < search.maxParallelTrainingJobs) {
      const proposed = search.next([...trials, ...round]);
      if (!proposed) break;
      round.push({ hyperParameters: proposed, name: `tune-${String(trials.length + round.length + 1).padStart(3, '0')}` });
    }
    mostTrialsAtOnce = Math.max(mostTrialsAtOnce, round.length);
    for (const trial of round) {
      // SageMaker adds the objective's name to a tuning job's training jobs; train must accept it.
      await runTraining(trial.name, tune.TrainingJobDefinition.Channels, { ...staticHyperparameters, ...trial.hyperParameters, _tuning_objective_metric: objective.Name });
      trial.objective = metricValue(logs[trial.name]!, objective);
    }
    trials.push(...round);
  }
}

/** The ForEach: its inner training once per item, `{Get: ForEach.Item}` resolved to the item, as job step `per-sex-<index>-train-sex`. */
async function runForEach(): Promise<void> {
  for (const [index, item] of perSex.Items.entries()) {
    const hyperparameters = Object.fromEntries(
      Object.entries(trainSex.HyperParameters).map(([key, value]) => {
        if (typeof value !== 'object') return [key, String(value)];
        expect(value).toEqual({ Get: 'ForEach.Item' });
        return [key, item];
      }),
    );
    await runTraining(`per-sex-${index}-train-sex`, trainSex.Channels, hyperparameters);
  }
}

/**
 * The batch transform: the best trial's model loaded as serve loads it, every input file's records
 * split, batched and assembled by the local runtime's own rules with the step's settings, each
 * payload answered by serve's request function; `<file>.out` per input file.
 */
async function runTransform(bestModelDir: string): Promise<void> {
  const model = await loadModel(bestModelDir);
  const output = join(job('score'), 'output');
  mkdirSync(output, { recursive: true });
  try {
    for (const file of readdirSync(splitOutput('batch')).sort()) {
      const records = splitRecords(readFileSync(join(splitOutput('batch'), file)), score.TransformInput.SplitType);
      const responses = batchRecords(records, score.BatchStrategy, score.MaxPayloadInMB, score.TransformInput.SplitType).map((payload) => {
        const reply = respond(model, { method: 'POST', path: '/invocations', headers: { 'content-type': score.TransformInput.ContentType, accept: score.TransformOutput.Accept }, body: payload.toString('utf8') });
        expect(reply.status).toBe(200);
        return Buffer.from(reply.body);
      });
      writeFileSync(join(output, `${file}.out`), assembleOutput(responses, score.TransformOutput.AssembleWith));
    }
  } finally {
    model.free();
  }
}

/** evaluate: each input where the processing job mounts it; `per-sex/train-sex/model` as one folder per item holding its model.tar.gz. */
async function runEvaluate(): Promise<void> {
  const input = (name: string) => join(job('evaluate'), 'processing', 'input', name);
  for (const [name, source] of Object.entries(evaluate.Inputs)) {
    const parts = source.From!.split('/');
    if (parts.length === 3) {
      expect(parts).toEqual(['per-sex', 'train-sex', 'model']);
      for (const index of perSex.Items.keys()) {
        mkdirSync(join(input(name), String(index)), { recursive: true });
        await tarGzDirectory(join(segmentsDir(index), 'model'), join(input(name), String(index), 'model.tar.gz'));
      }
    } else if (parts[0] === 'score') {
      cpSync(join(job('score'), 'output'), input(name), { recursive: true });
    } else {
      cpSync(splitOutput(parts[1]!), input(name), { recursive: true });
    }
  }
  const [command = '', ...argv] = evaluate.AppSpecification!.ContainerArguments.map((arg) => rewriteValue(arg, job('evaluate')));
  await run('evaluate', () => steps[command]!.main(argv));
}

const best = () => bestTrial(trials, tune.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.Type)!;
const report = () => JSON.parse(readFileSync(join(job('evaluate'), 'processing', 'output', 'evaluation', 'evaluation.json'), 'utf8'));

function csvRows(file: string): string[][] {
  return readFileSync(file, 'utf8').trim().split('\n').map((line) => line.split(','));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sluice-abalone-segments-'));
  await runSplit();
  await runTuning();
  await runForEach();
  await runTransform(join(job(best().name), 'model'));
  await runEvaluate();
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('mlops.yaml', () => {
  it.each(['dev', 'local'])('parses under the %s stage\'s policy from serverless.yml, split expanded from its manifest with nothing ignored', (stage) => {
    const warnings: string[] = [];

    const config = parseMlopsConfig(CONFIG_TEXT, serverlessStagePolicy(stage), 'abalone-segments', { files: { [MANIFEST]: readFileSync(join(EXAMPLE, MANIFEST), 'utf8') }, warnings });

    expect(warnings).toEqual([]);
    expect(Object.keys(config.Steps)).toEqual(Object.keys(raw.Steps));
    expect(config.Steps.split).toMatchObject({ Type: 'Processing', AppSpecification: { ImageUri: IMAGE }, Inputs: { raw: { Dataset: 'abalone-segments/' } } });
  });

  it('wires split (a manifest) → tune and the per-sex ForEach → score → evaluate → check-rmse → register or too-inaccurate', () => {
    const types = Object.fromEntries(Object.entries(raw.Steps).map(([name, step]) => [name, step.Type]));

    expect(raw.Version).toBe(2);
    expect(types).toEqual({
      split: 'Processing',
      tune: 'Tuning',
      'per-sex': 'ForEach',
      score: 'Transform',
      evaluate: 'Processing',
      'check-rmse': 'Condition',
      'too-inaccurate': 'Fail',
      register: 'RegisterModel',
    });
    expect(tune.TrainingJobDefinition.Channels).toEqual({ train: { From: 'split/train', ContentType: 'text/csv' }, validation: { From: 'split/validation', ContentType: 'text/csv' } });
    expect(score.Model.ModelData).toEqual({ From: 'tune/model' });
    expect(score.TransformInput.DataSource).toEqual({ From: 'split/batch' });
    expect(Object.values(evaluate.Inputs).map((source) => source.From)).toEqual(['score/output', 'split/labels', 'split/batch', 'per-sex/train-sex/model']);
    expect(raw.Steps.register!.ModelData).toEqual({ From: 'tune/model' });
    expect(raw.Steps['check-rmse']).toMatchObject({ If: ['register'], Else: ['too-inaccurate'] });
  });

  it('tunes with Bayesian search and a seed: 4 trials, 2 at a time, minimising validation:rmse, a MetricDefinition of the training', () => {
    const config = tune.HyperParameterTuningJobConfig;
    const tuned = Object.values(config.ParameterRanges).flat().map((range) => range!.Name);

    expect(config).toMatchObject({ Strategy: 'Bayesian', HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:rmse' }, ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2 }, TrainingJobEarlyStoppingType: 'Off' });
    expect(Number.isInteger(config.RandomSeed)).toBe(true);
    expect(config.ParameterRanges.ContinuousParameterRanges).toEqual([{ Name: 'eta', MinValue: 0.05, MaxValue: 0.5, ScalingType: 'Logarithmic' }]);
    expect(tuned.sort()).toEqual(['eta', 'max_depth', 'num_round']);
    expect(tune.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions.map((definition) => definition.Name)).toContain(config.HyperParameterTuningJobObjective.MetricName);
    // A tuned name may not also be static (a graph error once merged).
    expect(Object.keys(tune.TrainingJobDefinition.StaticHyperParameters).filter((name) => tuned.includes(name))).toEqual([]);
  });

  it('runs train-sex once per sex, three at a time, the item as its hyperparameter sex', () => {
    expect(perSex).toMatchObject({ Items: ['M', 'F', 'I'], MaxConcurrency: 3 });
    expect(Object.keys(perSex.Steps)).toEqual(['train-sex']);
    expect(trainSex.HyperParameters.sex).toEqual({ Get: 'ForEach.Item' });
    expect(trainSex.AlgorithmSpecification.MetricDefinitions).toEqual(tune.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions);
  });

  it('scores line by line, many records per request, one .out line per record', () => {
    expect(score).toMatchObject({
      Model: { Image: IMAGE },
      TransformInput: { ContentType: 'text/csv', SplitType: 'Line' },
      TransformOutput: { Accept: 'text/csv', AssembleWith: 'Line' },
      BatchStrategy: 'MultiRecord',
    });
  });

  it('runs every step in the one image that Local.Images maps to node container.js, the manifest\'s imageURI included', () => {
    const register = raw.Steps.register as unknown as { InferenceSpecification: { Image: string } };

    expect([splitRequest.AppSpecification?.ImageUri, trainSex.AlgorithmSpecification.TrainingImage, evaluate.AppSpecification!.ImageUri, register.InferenceSpecification.Image]).toEqual(Array(4).fill(IMAGE));
    expect(localSectionSchema.parse(raw.Local)).toEqual({ Images: { [IMAGE]: { Command: ['node', 'container.js'] } } });
  });

  it('passes the step schema for its Condition, Fail and RegisterModel steps, and the Deploy schema with its smoke test', () => {
    for (const name of ['check-rmse', 'too-inaccurate', 'register']) expect(() => stepSchema.parse(raw.Steps[name])).not.toThrow();
    const deploy = deployConfigSchema.parse(raw.Deploy);

    expect(deploy.SmokeTest?.ExpectedLines).toBe(3);
  });
});

describe('split, as the ACK ProcessingJob manifest gives it', () => {
  it('converts to a CreateProcessingJob request with no stage-owned field to ignore', () => {
    expect(manifest.kind).toBe('ProcessingJob');
    expect(manifest.warnings).toEqual([]);
    expect(split).toMatchObject({ Manifest: MANIFEST, Inputs: { raw: { Dataset: 'abalone-segments/' } } });
    expect(split.AppSpecification).toBeUndefined();
  });

  it('names the inputs mlops.yaml wires and the outputs it lists, at the paths Sluice mounts them', () => {
    const inputs = (splitRequest.ProcessingInputs ?? []).map((input) => [input.InputName, input.S3Input?.LocalPath]);
    const outputs = (splitRequest.ProcessingOutputConfig?.Outputs ?? []).map((output) => [output.OutputName, output.S3Output?.LocalPath, output.S3Output?.S3Uri]);

    expect(inputs).toEqual(Object.keys(split.Inputs).map((name) => [name, `/opt/ml/processing/input/${name}`]));
    expect(outputs).toEqual(split.Outputs.map((name) => [name, `/opt/ml/processing/output/${name}`, undefined]));
  });

  it('splits the 4177 rows 70/15/15 into headerless rows of the rings, one-hot sex and seven measurements', () => {
    const splits = ['train', 'validation', 'test'].map((name) => csvRows(join(splitOutput(name), `${name}.csv`)).map((row) => row.map(Number)));
    const malformed = splits.flat().filter((row) => {
      const [rings, female, infant, male] = row;
      return row.length !== ENCODED_COLUMNS || !row.every(Number.isFinite) || !Number.isInteger(rings) || [female, infant, male].sort().join(',') !== '0,0,1';
    });

    expect(splits.map((rows) => rows.length)).toEqual([Math.floor(0.7 * RAW_ROWS), Math.floor(0.85 * RAW_ROWS) - Math.floor(0.7 * RAW_ROWS), TEST_ROWS]);
    expect(malformed).toEqual([]);
  });

  it('writes the test rows again as 3 raw batch files and their rings as labels, file for file and line for line', () => {
    const files = readdirSync(splitOutput('batch')).sort();
    const batch = files.flatMap((file) => csvRows(join(splitOutput('batch'), file)));
    const labels = files.flatMap((file) => csvRows(join(splitOutput('labels'), file)).map(([rings]) => Number(rings)));
    const test = csvRows(join(splitOutput('test'), 'test.csv')).map((row) => row.map(Number));

    expect(files).toEqual(['part-0.csv', 'part-1.csv', 'part-2.csv']);
    expect(readdirSync(splitOutput('labels')).sort()).toEqual(files);
    expect(batch).toHaveLength(TEST_ROWS);
    expect(labels).toEqual(test.map((row) => row[0]));
    // Raw records in the serve format: sex as a letter, then the measurements; the same rows as test.csv.
    expect(batch.map((record) => [['F', 'I', 'M'].map((sex) => (record[0] === sex ? 1 : 0)), record.slice(1).map(Number)].flat())).toEqual(test.map((row) => row.slice(1)));
  });

  it('gives the same files for the same seed', async () => {
    const again = job('split-again');
    const argv = (splitRequest.AppSpecification?.ContainerArguments ?? []).slice(1).map((arg) => rewriteValue(arg, job('split')));
    argv[argv.indexOf('--output') + 1] = again;

    await run('split-again', () => steps.split!.main(argv));

    for (const [folder, file] of [['train', 'train.csv'], ['test', 'test.csv'], ['batch', 'part-1.csv'], ['labels', 'part-2.csv']] as const) {
      expect(readFileSync(join(again, folder, file), 'utf8')).toBe(readFileSync(join(splitOutput(folder), file), 'utf8'));
    }
  });
});

describe('tune: the tuning job\'s trials', () => {
  it('ran 4 trials, at most 2 at once, each with a validation:rmse its MetricDefinition reads from the log', () => {
    expect(trials).toHaveLength(4);
    expect(mostTrialsAtOnce).toBe(2);
    for (const trial of trials) {
      expect(trial.objective).toBeGreaterThan(1);
      expect(trial.objective).toBeLessThan(4);
      expect(metricValue(logs[trial.name]!, { Name: 'train:rmse', Regex: 'train-rmse:([0-9\\.]+)' })).toBeGreaterThan(0);
    }
  });

  it('tried 4 distinct points within the ranges, integers as integers', () => {
    const points = trials.map((trial) => trial.hyperParameters);

    expect(new Set(points.map((point) => JSON.stringify(point))).size).toBe(4);
    for (const point of points) {
      expect(Number(point.eta)).toBeGreaterThanOrEqual(0.05);
      expect(Number(point.eta)).toBeLessThanOrEqual(0.5);
      expect(point.max_depth).toMatch(/^[2-8]$/);
      expect(Number.isInteger(Number(point.num_round)) && Number(point.num_round) >= 20 && Number(point.num_round) <= 100).toBe(true);
    }
  });

  it('proposes the same trials again from the same seed and results (RandomSeed)', () => {
    const search = createTuningSearch(apiTuningConfig());
    const parallel = search.maxParallelTrainingJobs;
    // Trial i was proposed knowing the results of the rounds before its own, and its round's earlier trials as running.
    const replayed = trials.map((_trial, index) => {
      const roundStart = index - (index % parallel);
      const finished: TrialRecord[] = trials.slice(0, roundStart);
      const running: TrialRecord[] = trials.slice(roundStart, index).map((trial) => ({ hyperParameters: trial.hyperParameters }));
      return search.next([...finished, ...running]);
    });

    expect(replayed).toEqual(trials.map((trial) => trial.hyperParameters));
  });

  it('writes a model.tar.gz-able artifact of all abalones (no segment) for every trial', async () => {
    const model = await loadModel(join(job(best().name), 'model'));
    model.free();

    expect(model.segment).toBeNull();
    expect(readdirSync(join(job(best().name), 'model')).sort()).toEqual(['features.json', 'model.json']);
  });
});

describe('per-sex: one training per item', () => {
  it.each([0, 1, 2])('item %i trains on its own segment only and records it in the model', async (index) => {
    const sex = perSex.Items[index] as keyof typeof SEGMENT_ROWS;
    const trainRows = Number(/(\d+) training rows/.exec(logs[`per-sex-${index}-train-sex`]!)?.[1]);
    const model = await loadModel(join(segmentsDir(index), 'model'));
    model.free();

    expect(logs[`per-sex-${index}-train-sex`]).toContain(`segment sex=${sex}:`);
    expect(model.segment).toBe(sex);
    // About 70 % of the segment's rows are in the train split.
    expect(trainRows / SEGMENT_ROWS[sex]).toBeGreaterThan(0.65);
    expect(trainRows / SEGMENT_ROWS[sex]).toBeLessThan(0.75);
    expect(metricValue(logs[`per-sex-${index}-train-sex`]!, trainSex.AlgorithmSpecification.MetricDefinitions[1]!)).toBeLessThan(4);
  });

  it('fails naming the hyperparameter when sex is not a segment', async () => {
    const env = { SM_HPS: JSON.stringify({ sex: 'X' }), SM_CHANNEL_TRAIN: splitOutput('train'), SM_MODEL_DIR: job('train-bad') };

    await expect(steps.train!.main([], env)).rejects.toThrow('hyperparameter sex must be one of F, I, M (got "X")');
  });
});

describe('score: the batch transform through serve', () => {
  it('writes one .out per batch file, one predicted ring count per record', () => {
    const outputs = readdirSync(join(job('score'), 'output')).sort();

    expect(outputs).toEqual(['part-0.csv.out', 'part-1.csv.out', 'part-2.csv.out']);
    for (const file of outputs) {
      const predictions = readFileSync(join(job('score'), 'output', file), 'utf8').split('\n').filter((line) => line !== '').map(Number);
      expect(predictions).toHaveLength(csvRows(join(splitOutput('batch'), file.replace(/\.out$/, ''))).length);
      expect(predictions.every((rings) => Number.isFinite(rings) && rings > 0 && rings < 30)).toBe(true);
    }
  });

  it('answers a MultiRecord payload of the SmokeTest body with as many numbers as records, and /ping with 200', async () => {
    const model = await loadModel(join(job(best().name), 'model'));
    const { Body: body, ExpectedLines: expected } = raw.Deploy.SmokeTest;

    const reply = respond(model, { method: 'POST', path: '/invocations', headers: { 'content-type': 'text/csv', accept: 'text/csv' }, body });
    const ping = respond(model, { method: 'GET', path: '/ping', headers: {}, body: '' });
    const malformed = respond(model, { method: 'POST', path: '/invocations', headers: { 'content-type': 'text/csv' }, body: 'M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\nX,1,1,1,1,1,1,1\n' });
    model.free();

    expect(reply).toMatchObject({ status: 200, type: 'text/csv' });
    expect(reply.body.trim().split('\n').map(Number).filter(Number.isFinite)).toHaveLength(expected);
    expect(ping.status).toBe(200);
    expect(malformed).toMatchObject({ status: 400, body: 'line 2: sex must be one of F, I, M (got "X")\n' });
  });
});

describe('evaluate: the .out files and the per-item model folders', () => {
  it('reports the tuned model\'s test RMSE, MAE, MSE and R² in Model Monitor\'s regression shape', () => {
    const { regression_metrics: metrics, test_rows: rows } = report();
    const metric = { value: expect.any(Number), standard_deviation: expect.any(Number) };

    expect(rows).toBe(TEST_ROWS);
    expect(metrics).toEqual({ mae: metric, mse: metric, rmse: metric, r2: metric });
    expect(metrics.rmse.value).toBeCloseTo(Math.sqrt(metrics.mse.value), 10);
    expect(metrics.rmse.value).toBeGreaterThan(1.5);
    expect(metrics.r2.value).toBeGreaterThan(0.4);
  });

  it('reports each segment model on its own segment, beside the tuned model on the same rows', () => {
    const { segments } = report();

    expect(Object.keys(segments)).toEqual(['F', 'I', 'M']);
    expect(Object.values(segments).reduce((total: number, segment) => total + (segment as { rows: number }).rows, 0)).toBe(TEST_ROWS);
    for (const segment of Object.values(segments) as { segment_model: { regression_metrics: Json }; tuned_model: { regression_metrics: Json } }[]) {
      expect(segment.segment_model.regression_metrics.rmse).toEqual({ value: expect.any(Number), standard_deviation: expect.anything() });
      expect(segment.tuned_model.regression_metrics.rmse).toEqual({ value: expect.any(Number), standard_deviation: expect.anything() });
    }
  });

  it('fails naming the file when a batch file has no .out', async () => {
    const predictions = job('evaluate-missing');
    cpSync(join(job('score'), 'output'), predictions, { recursive: true });
    rmSync(join(predictions, 'part-1.csv.out'));
    const input = (name: string) => join(job('evaluate'), 'processing', 'input', name);

    await expect(
      steps.evaluate!.main(['--predictions', predictions, '--labels', input('labels'), '--batch', input('batch'), '--segment-models', input('segment-models'), '--output', job('evaluate-bad')]),
    ).rejects.toThrow(`predictions: no part-1.csv.out in ${predictions} (the transform writes one per input file)`);
  });

  it('fails when two item folders hold models of the same segment', async () => {
    const models = job('evaluate-duplicate');
    for (const index of [0, 1]) {
      mkdirSync(join(models, String(index)), { recursive: true });
      await tarGzDirectory(join(segmentsDir(0), 'model'), join(models, String(index), 'model.tar.gz'));
    }
    const input = (name: string) => join(job('evaluate'), 'processing', 'input', name);

    await expect(
      steps.evaluate!.main(['--predictions', input('predictions'), '--labels', input('labels'), '--batch', input('batch'), '--segment-models', models, '--output', job('evaluate-bad')]),
    ).rejects.toThrow(`segment models: 1 and 0 both hold a model of sex=${perSex.Items[0]}`);
  });

  it('runs split, four trials, three segment trainings, the transform and evaluate in a few seconds', () => {
    const total = Object.entries(timings).filter(([name]) => !name.includes('again')).reduce((sum, [, ms]) => sum + ms, 0);

    expect(total).toBeLessThan(15_000);
  });
});

describe('the run\'s Condition on the report', () => {
  /** check-rmse with what it reads: evaluate (its wiring of the coming step types left out) and the parameters. */
  function context(maxRmse: number): ValueContext {
    const config = mlopsV2Schema.parse({ Version: 2, Parameters: raw.Parameters, Steps: { evaluate: { ...evaluate, Inputs: {} }, 'check-rmse': raw.Steps['check-rmse'] } });
    const steps: Record<string, StepResult> = {
      evaluate: { Type: 'Processing', ProcessingJobName: 'abalone-segments-evaluate', Outputs: { evaluation: join(job('evaluate'), 'processing', 'output', 'evaluation') }, OutputHashes: {} },
    };
    return { config, parameters: { MaxRmse: maxRmse }, steps, readJson: async (path) => JSON.parse(readFileSync(path, 'utf8')) };
  }
  const condition = () => (raw.Steps['check-rmse'] as unknown as { Condition: Parameters<typeof evaluateCondition>[0] }).Condition;

  it('registers the tuned model with the default MaxRmse', async () => {
    const { outcome, values } = await evaluateCondition(condition(), context(raw.Parameters.MaxRmse!.Default), 'Steps.check-rmse.Condition');

    expect(outcome).toBe(true);
    expect(values[0]?.value).toBe(report().regression_metrics.rmse.value);
  });

  it('takes the Else branch (too-inaccurate) when MaxRmse is below the test RMSE', async () => {
    const { outcome } = await evaluateCondition(condition(), context(1), 'Steps.check-rmse.Condition');

    expect(outcome).toBe(false);
    expect(raw.Steps['too-inaccurate']).toMatchObject({ Type: 'Fail', Error: 'RmseAboveThreshold' });
  });
});
