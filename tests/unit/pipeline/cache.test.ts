import 'aws-sdk-client-mock-jest';

import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import { InvalidConfigError } from '../../../shared/errors';
import {
  cacheKey,
  codeHash,
  contentHash,
  durationSeconds,
  findCachedResult,
  inputHashes,
  keyMaterial,
  listingHash,
  outputHashes,
  readManifest,
  type SourceManifest,
  storeCachedResult,
} from '../../../shared/pipeline/cache';
import { resolveJob } from '../../../shared/pipeline/job-requests';
import { canonicalJson } from '../../../shared/naming';
import { stepOf, valueContext } from '../../../shared/pipeline/stored-pipeline';
import type { PipelineConfig } from '../../../shared/schemas/mlops-v2';
import type { JobResult, StepResult } from '../../../shared/schemas/task-inputs';
import { BUCKET, exampleConfig } from '../../helpers/fixtures';
import {
  CACHE_TABLE,
  evaluateResult,
  fakeS3,
  type FakeS3,
  fakeTable,
  hashOf,
  newRun,
  preprocessResult,
  sourceManifest,
  STAGE,
  storeDataset,
  type TestRun,
  trainResult,
  withChangedFile,
} from '../../helpers/step-tasks';

const s3 = mockClient(S3Client);
const dynamo = mockClient(DynamoDBDocumentClient);

const NOW = new Date('2026-11-23T10:00:00Z');
const NOW_SECONDS = NOW.getTime() / 1000;
const THIRTY_DAYS = 30 * 86_400;

let store: FakeS3;

beforeEach(() => {
  s3.reset();
  dynamo.reset();
  store = fakeS3(s3);
  fakeTable(dynamo, CACHE_TABLE, 'cacheKey');
  storeDataset(store);
});

/** examples/abalone as Version 2, with every job step cached for 30 days. */
function cachedPipeline(): PipelineConfig {
  const pipeline = exampleConfig();
  for (const name of ['Preprocess', 'Train', 'Evaluate']) Object.assign(pipeline.Steps[name]!, { Cache: { ExpireAfter: 'P30D' } });
  return pipeline;
}

/** A step's settings in `pipeline`, for editing one field. */
function spec<T extends 'Processing' | 'Training'>(pipeline: PipelineConfig, step: string, type: T) {
  return stepOf(pipeline, step, [type]);
}

interface KeyCase {
  pipeline?: PipelineConfig;
  run?: TestRun;
  steps?: Record<string, StepResult>;
  manifest?: SourceManifest;
  parameters?: Record<string, string | number | boolean>;
}

/** The cache key of `step` as start-job computes it: the resolved request, its inputs' content, the code's content. */
async function keyOf(step: 'Preprocess' | 'Train' | 'Evaluate', given: KeyCase = {}): Promise<{ key: string; material: Record<string, unknown> }> {
  const pipeline = given.pipeline ?? cachedPipeline();
  const run = given.run ?? newRun();
  const steps = given.steps ?? { Preprocess: preprocessResult(run), Train: trainResult(run) };
  const job = stepOf(pipeline, step, ['Processing', 'Training']);
  const resolved = await resolveJob(step, job, run.build, valueContext(pipeline, { parameters: given.parameters ?? {}, steps }), STAGE);
  const code = codeHash(given.manifest ?? sourceManifest(), job.Cache?.Paths, `Steps.${step}.Cache.Paths`);
  const material = keyMaterial(resolved, await inputHashes(resolved.inputs), code);
  return { key: cacheKey(run.build.repository, material), material };
}

describe('cache keys: the same content gives the same key', () => {
  it.each(['Preprocess', 'Train', 'Evaluate'] as const)('gives %s the same key twice for the same content', async (step) => {
    const run = newRun();

    const first = await keyOf(step, { run });
    const second = await keyOf(step, { run });

    expect(second.key).toBe(first.key);
  });

  it.each(['Preprocess', 'Train', 'Evaluate'] as const)(
    'gives %s the same key in two runs of identical content with different executions, commits, job names, times and output locations',
    async (step) => {
      const first = newRun();
      const second = newRun({ branch: 'feature/faster' });
      const laterResults = {
        Preprocess: { ...preprocessResult(second), StartTime: '2026-12-24T08:00:00.000Z', EndTime: '2026-12-24T08:03:00.000Z', DurationSeconds: 180 },
        Train: { ...trainResult(second), StartTime: '2026-12-24T08:04:00.000Z', EndTime: '2026-12-24T08:10:00.000Z', TrainingTimeSeconds: 360, BillableTimeSeconds: 360 },
      };

      const a = await keyOf(step, { run: first });
      const b = await keyOf(step, { run: second, steps: laterResults });

      expect(first.executionArn).not.toBe(second.executionArn);
      expect(first.build.commit).not.toBe(second.build.commit);
      expect(b.key).toBe(a.key);
    },
  );

  it.each(['Preprocess', 'Train', 'Evaluate'] as const)('keeps run-specific names, times and locations out of the key material of %s', async (step) => {
    const run = newRun();
    const steps = { Preprocess: preprocessResult(run), Train: trainResult(run) };

    const { material } = await keyOf(step, { run, steps });

    const serialised = canonicalJson(material);
    const runSpecific = [
      run.executionArn,
      run.build.executionName,
      run.build.commit,
      run.build.commit.slice(0, 12),
      run.prefix,
      `s3://${BUCKET}/builds/`,
      steps.Preprocess.ProcessingJobName,
      steps.Train.TrainingJobName,
      steps.Preprocess.StartTime!,
      steps.Train.EndTime!,
      '2026-11-23',
    ];
    for (const text of runSpecific) expect(serialised).not.toContain(text);
  });

  it('leaves the script-mode code location (sagemaker_submit_directory) out of a training key, keeping the program', async () => {
    const pipeline = cachedPipeline();
    spec(pipeline, 'Train', 'Training').EntryPoint = 'train.js';
    const run = newRun();

    const { material } = await keyOf('Train', { pipeline, run });

    expect(material.HyperParameters).toMatchObject({ sagemaker_program: '"train.js"' });
    expect(material.HyperParameters).not.toHaveProperty('sagemaker_submit_directory');
    expect(canonicalJson(material)).not.toContain(run.build.sourceUri);
  });

  it('does not depend on the order of the manifest\'s files', async () => {
    const manifest = sourceManifest();
    const reversed = { files: [...manifest.files].reverse() };

    expect((await keyOf('Train', { manifest: reversed })).key).toBe((await keyOf('Train', { manifest })).key);
  });

  it('scopes the key to the repository, so one repository never reuses another\'s result', async () => {
    const own = await keyOf('Train', { run: newRun() });
    const other = await keyOf('Train', { run: newRun({ repository: 'abalone-fork' }) });

    expect(own.key).toMatch(/^abalone#[0-9a-f]{64}$/);
    expect(other.key).not.toBe(own.key);
  });
});

describe('cache keys: any change of content gives a new key', () => {
  let baseline: { Preprocess: string; Train: string; Evaluate: string };
  const run = newRun();

  beforeEach(async () => {
    baseline = {
      Preprocess: (await keyOf('Preprocess', { run })).key,
      Train: (await keyOf('Train', { run })).key,
      Evaluate: (await keyOf('Evaluate', { run })).key,
    };
  });

  it('changes with the training image', async () => {
    const pipeline = cachedPipeline();
    spec(pipeline, 'Train', 'Training').AlgorithmSpecification.TrainingImage = '123456789012.dkr.ecr.us-east-1.amazonaws.com/sluice-abalone:v2';

    expect((await keyOf('Train', { pipeline, run })).key).not.toBe(baseline.Train);
  });

  it('changes with the processing image', async () => {
    const pipeline = cachedPipeline();
    spec(pipeline, 'Preprocess', 'Processing').AppSpecification.ImageUri = '123456789012.dkr.ecr.us-east-1.amazonaws.com/sluice-abalone:v2';

    expect((await keyOf('Preprocess', { pipeline, run })).key).not.toBe(baseline.Preprocess);
  });

  it('changes with a container argument', async () => {
    const pipeline = cachedPipeline();
    spec(pipeline, 'Preprocess', 'Processing').AppSpecification.ContainerArguments!.push('--seed', '7');

    expect((await keyOf('Preprocess', { pipeline, run })).key).not.toBe(baseline.Preprocess);
  });

  it('changes with a hyperparameter', async () => {
    const pipeline = cachedPipeline();
    spec(pipeline, 'Train', 'Training').HyperParameters.eta = '0.3';

    expect((await keyOf('Train', { pipeline, run })).key).not.toBe(baseline.Train);
  });

  it('changes with a hyperparameter\'s value from a run parameter', async () => {
    const pipeline = cachedPipeline();
    pipeline.Parameters.Rounds = { Type: 'Integer', Default: 50 };
    spec(pipeline, 'Train', 'Training').HyperParameters.num_round = { Get: 'Parameters.Rounds' };

    const fifty = await keyOf('Train', { pipeline, run, parameters: { Rounds: 50 } });
    const eighty = await keyOf('Train', { pipeline, run, parameters: { Rounds: 80 } });

    expect(fifty.key).toBe(baseline.Train);
    expect(eighty.key).not.toBe(baseline.Train);
  });

  it('changes with the environment', async () => {
    const pipeline = cachedPipeline();
    spec(pipeline, 'Train', 'Training').Environment = { OMP_NUM_THREADS: '4' };

    expect((await keyOf('Train', { pipeline, run })).key).not.toBe(baseline.Train);
  });

  it.each([
    ['InstanceType', 'ml.m5.large'],
    ['InstanceCount', 2],
    ['VolumeSizeInGB', 50],
  ] as const)('changes with the training resources (%s)', async (field, value) => {
    const pipeline = cachedPipeline();
    Object.assign(spec(pipeline, 'Train', 'Training').ResourceConfig, { [field]: value });

    expect((await keyOf('Train', { pipeline, run })).key).not.toBe(baseline.Train);
  });

  it('changes with the processing cluster', async () => {
    const pipeline = cachedPipeline();
    spec(pipeline, 'Preprocess', 'Processing').ProcessingResources.ClusterConfig.InstanceType = 'ml.m5.large';

    expect((await keyOf('Preprocess', { pipeline, run })).key).not.toBe(baseline.Preprocess);
  });

  it('changes when an object of an input data set changes (its ETag)', async () => {
    storeDataset(store, 2);

    expect((await keyOf('Preprocess', { run })).key).not.toBe(baseline.Preprocess);
  });

  it('changes when an object is added to an input data set', async () => {
    store.put(`s3://${BUCKET}/datasets/abalone/more.csv`, 'I,0.33,0.255,0.08,0.205,0.0895,0.0395,0.055,7\n');

    expect((await keyOf('Preprocess', { run })).key).not.toBe(baseline.Preprocess);
  });

  it('changes when an upstream step\'s output hash changes', async () => {
    const steps = { Preprocess: preprocessResult(run, 'preprocess v2'), Train: trainResult(run) };

    expect((await keyOf('Train', { run, steps })).key).not.toBe(baseline.Train);
  });

  it('changes when the upstream model\'s hash changes', async () => {
    const steps = { Preprocess: preprocessResult(run), Train: trainResult(run, 'model v2') };

    expect((await keyOf('Evaluate', { run, steps })).key).not.toBe(baseline.Evaluate);
  });

  it('keeps the key when only an upstream output the step does not read changes', async () => {
    const steps = { Preprocess: { ...preprocessResult(run), OutputHashes: { ...preprocessResult(run).OutputHashes, test: hashOf('another test split') } }, Train: trainResult(run) };

    expect((await keyOf('Train', { run, steps })).key).toBe(baseline.Train);
  });

  it('changes when a file of the commit changes (its blob id) and the step declares no Cache.Paths', async () => {
    const manifest = withChangedFile(sourceManifest(), 'README.md');

    expect((await keyOf('Train', { run, manifest })).key).not.toBe(baseline.Train);
  });

  it('changes when a file\'s mode changes', async () => {
    const manifest = { files: sourceManifest().files.map((file) => (file.path === 'container.js' ? { ...file, mode: 'EXECUTABLE' } : file)) };

    expect((await keyOf('Train', { run, manifest })).key).not.toBe(baseline.Train);
  });
});

describe('cache keys with Cache.Paths', () => {
  function pathsPipeline(paths: string[]): PipelineConfig {
    const pipeline = cachedPipeline();
    spec(pipeline, 'Preprocess', 'Processing').Cache = { ExpireAfter: 'P30D', Paths: paths };
    return pipeline;
  }

  it('changes when a file under Cache.Paths changes', async () => {
    const pipeline = pathsPipeline(['preprocess.js', 'features.js', 'data']);
    const run = newRun();

    const before = await keyOf('Preprocess', { pipeline, run });
    const after = await keyOf('Preprocess', { pipeline, run, manifest: withChangedFile(sourceManifest(), 'features.js') });

    expect(after.key).not.toBe(before.key);
  });

  it('changes when a file inside a folder of Cache.Paths changes', async () => {
    const pipeline = pathsPipeline(['preprocess.js', 'data/']);
    const run = newRun();

    const before = await keyOf('Preprocess', { pipeline, run });
    const after = await keyOf('Preprocess', { pipeline, run, manifest: withChangedFile(sourceManifest(), 'data/README.md') });

    expect(after.key).not.toBe(before.key);
  });

  it('keeps the key when a file outside Cache.Paths changes', async () => {
    const pipeline = pathsPipeline(['preprocess.js', 'features.js']);
    const run = newRun();

    const before = await keyOf('Preprocess', { pipeline, run });
    const after = await keyOf('Preprocess', { pipeline, run, manifest: withChangedFile(withChangedFile(sourceManifest(), 'train.js'), 'mlops.yaml') });

    expect(after.key).toBe(before.key);
  });

  it('keeps the key when a file is added outside Cache.Paths, even one whose name starts like a listed folder', async () => {
    const pipeline = pathsPipeline(['data']);
    const run = newRun();

    const before = await keyOf('Preprocess', { pipeline, run });
    const after = await keyOf('Preprocess', { pipeline, run, manifest: withChangedFile(sourceManifest(), 'data-old/abalone.csv') });

    expect(after.key).toBe(before.key);
  });
});

describe('codeHash', () => {
  const FIELD = 'Steps.Preprocess.Cache.Paths';

  it('reads ./x, /x, x/ and x as the same path', () => {
    const manifest = sourceManifest();

    const hashes = [['./data'], ['/data'], ['data/'], ['data']].map((paths) => codeHash(manifest, paths, FIELD));

    expect(new Set(hashes).size).toBe(1);
  });

  it('covers only the listed paths', () => {
    const manifest = sourceManifest();

    expect(codeHash(manifest, ['train.js'], FIELD)).not.toBe(codeHash(manifest, undefined, FIELD));
  });

  it.each([['.'], ['./'], ['/'], ['train.js', '.']])('reads %p as the whole tree, like no Paths at all', (...paths) => {
    const manifest = sourceManifest();

    expect(codeHash(manifest, paths, FIELD)).toBe(codeHash(manifest, undefined, FIELD));
  });

  it('changes the whole tree\'s hash when any file changes, with Paths `.`', () => {
    const manifest = sourceManifest();

    expect(codeHash(withChangedFile(manifest, 'data/README.md'), ['.'], FIELD)).not.toBe(codeHash(manifest, ['.'], FIELD));
  });

  it('reads a dot-directory (`.github/`) as that directory, not as the whole tree', () => {
    const manifest = withChangedFile(sourceManifest(), '.github/workflows/ci.yml');

    expect(codeHash(manifest, ['.github/'], FIELD)).toBe(codeHash(manifest, ['.github'], FIELD));
    expect(codeHash(manifest, ['.github/'], FIELD)).not.toBe(codeHash(manifest, ['.'], FIELD));
    expect(codeHash(withChangedFile(manifest, 'train.js'), ['.github/'], FIELD)).toBe(codeHash(manifest, ['.github/'], FIELD));
  });

  it('rejects a path that matches no file of the commit with InvalidConfig naming the entry', () => {
    expect(() => codeHash(sourceManifest(), ['preprocess.js', 'src/'], FIELD)).toThrow(InvalidConfigError);
    expect(() => codeHash(sourceManifest(), ['preprocess.js', 'src/'], FIELD)).toThrow('Steps.Preprocess.Cache.Paths[1]: "src/" matches no file of the commit');
  });
});

describe('listingHash and contentHash', () => {
  const objects = [
    { key: 'builds/run-1/Preprocess/train/train.csv', etag: '"9b2cf535f27731c974343645a3985328"', size: 2_923_456 },
    { key: 'builds/run-1/Preprocess/train/_SUCCESS', etag: '"d41d8cd98f00b204e9800998ecf8427e"', size: 0 },
  ];

  it('hashes keys relative to the prefix, so the same objects under another run\'s prefix hash the same', () => {
    const moved = objects.map((object) => ({ ...object, key: object.key.replace('run-1', 'run-2') }));

    expect(listingHash('builds/run-2/Preprocess/train/', moved)).toBe(listingHash('builds/run-1/Preprocess/train/', objects));
  });

  it.each([
    ['an ETag', { etag: '"0cc175b9c0f1b6a831c399e269772661"' }],
    ['a size', { size: 2_923_457 }],
    ['a key', { key: 'builds/run-1/Preprocess/train/train-0.csv' }],
  ])('changes with %s', (_what, change) => {
    const changed = [{ ...objects[0]!, ...change }, objects[1]!];

    expect(listingHash('builds/run-1/Preprocess/train/', changed)).not.toBe(listingHash('builds/run-1/Preprocess/train/', objects));
  });

  it('lists what an s3:// prefix holds now', async () => {
    const uri = `s3://${BUCKET}/datasets/abalone/`;

    const before = await contentHash(uri);
    storeDataset(store, 2);

    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: BUCKET, Prefix: 'datasets/abalone/' });
    expect(await contentHash(uri)).not.toBe(before);
  });
});

describe('inputHashes', () => {
  it('uses the hash an upstream step recorded instead of listing its output', async () => {
    const run = newRun();

    const hashes = await inputHashes([{ name: 'train', kind: 'step', uri: `${run.prefix}Preprocess/train/`, step: 'Preprocess', output: 'train', hash: hashOf('recorded') }]);

    expect(hashes).toEqual({ train: hashOf('recorded') });
    expect(s3).not.toHaveReceivedCommand(ListObjectsV2Command);
  });

  it('lists an upstream output that has no recorded hash, and every data set', async () => {
    const run = newRun();
    store.put(`${run.prefix}Preprocess/train/train.csv`, '15,0,0,1,0.455\n');

    const hashes = await inputHashes([
      { name: 'code', kind: 'code' },
      { name: 'train', kind: 'step', uri: `${run.prefix}Preprocess/train/`, step: 'Preprocess', output: 'train' },
      { name: 'raw', kind: 'dataset', uri: `s3://${BUCKET}/datasets/abalone/` },
    ]);

    expect(hashes).toEqual({ train: await contentHash(`${run.prefix}Preprocess/train/`), raw: await contentHash(`s3://${BUCKET}/datasets/abalone/`) });
  });
});

describe('durationSeconds', () => {
  it.each([
    ['P30D', 30 * 86_400],
    ['PT12H', 12 * 3600],
    ['P1DT6H', 30 * 3600],
    ['P2W', 14 * 86_400],
    ['PT90M', 5400],
    ['PT45S', 45],
    ['p7d', 7 * 86_400],
  ])('reads %s as %i seconds', (iso, seconds) => {
    expect(durationSeconds(iso)).toBe(seconds);
  });

  it.each(['P1Y', 'P1M', '30d', 'P', 'PT'])('rejects %s with InvalidConfig', (iso) => {
    expect(() => durationSeconds(iso)).toThrow(InvalidConfigError);
  });
});

describe('readManifest', () => {
  it('reads the manifest once per URI, as it never changes', async () => {
    const run = newRun();
    store.put(run.build.sourceManifestUri, JSON.stringify(sourceManifest()));

    await readManifest(run.build.sourceManifestUri);
    await expect(readManifest(run.build.sourceManifestUri)).resolves.toEqual(sourceManifest());

    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 1);
  });

  it('rejects a missing manifest with InvalidConfig naming it', async () => {
    const run = newRun();

    await expect(readManifest(run.build.sourceManifestUri)).rejects.toThrow(`the source manifest ${run.build.sourceManifestUri} is missing`);
  });
});

describe('outputHashes', () => {
  it('records each processing output\'s content hash', async () => {
    const run = newRun();
    const result = preprocessResult(run);
    for (const name of ['train', 'validation', 'test']) store.put(`${result.Outputs[name]}${name}.csv`, `${name} rows\n`);

    const hashed = await outputHashes({ ...result, OutputHashes: {} });

    expect(hashed).toEqual({
      ...result,
      OutputHashes: {
        train: await contentHash(result.Outputs.train!),
        validation: await contentHash(result.Outputs.validation!),
        test: await contentHash(result.Outputs.test!),
      },
    });
  });

  it('records the model artifact\'s content hash', async () => {
    const run = newRun();
    const result = trainResult(run);
    store.put(result.ModelArtifacts, 'model.tar.gz bytes');

    await expect(outputHashes({ ...result, ModelArtifactsHash: undefined })).resolves.toEqual({ ...result, ModelArtifactsHash: await contentHash(result.ModelArtifacts) });
  });
});

describe('findCachedResult and storeCachedResult', () => {
  const KEY = `abalone#${hashOf('key material')}`;
  let source: TestRun;
  let result: JobResult;

  /** A run's Evaluate result whose output is in S3, with its recorded hash. */
  beforeEach(async () => {
    source = newRun();
    const evaluation = evaluateResult(source);
    store.put(`${evaluation.Outputs.evaluation}evaluation.json`, '{"regression_metrics":{"mse":{"value":4.2}}}');
    result = await outputHashes(evaluation);
  });

  async function cached(createdAt: number): Promise<void> {
    await storeCachedResult(CACHE_TABLE, { cacheKey: KEY, result, executionArn: source.executionArn, step: 'Evaluate', createdAt, expiresAt: createdAt + THIRTY_DAYS });
  }

  it('stores the result under its key with its run, step and expiry, marked as not itself cached', async () => {
    await storeCachedResult(CACHE_TABLE, { cacheKey: KEY, result: { ...result, CachedFrom: 'arn:earlier' }, executionArn: source.executionArn, step: 'Evaluate', createdAt: NOW_SECONDS, expiresAt: NOW_SECONDS + THIRTY_DAYS });

    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: CACHE_TABLE,
      Item: { cacheKey: KEY, result: JSON.stringify({ ...result, CachedFrom: null, ReusedFrom: null }), executionArn: source.executionArn, step: 'Evaluate', createdAt: NOW_SECONDS, expiresAt: NOW_SECONDS + THIRTY_DAYS },
    });
  });

  it('finds a fresh result whose outputs are unchanged, marked CachedFrom its run', async () => {
    await cached(NOW_SECONDS - 3600);

    await expect(findCachedResult(CACHE_TABLE, KEY, THIRTY_DAYS, NOW)).resolves.toEqual({ ...result, CachedFrom: source.executionArn, ReusedFrom: null });
    expect(dynamo).toHaveReceivedCommandWith(GetCommand, { TableName: CACHE_TABLE, Key: { cacheKey: KEY }, ConsistentRead: true });
  });

  it('finds a result exactly ExpireAfter old', async () => {
    await cached(NOW_SECONDS - THIRTY_DAYS);

    await expect(findCachedResult(CACHE_TABLE, KEY, THIRTY_DAYS, NOW)).resolves.toMatchObject({ CachedFrom: source.executionArn });
  });

  it('misses when there is no entry for the key', async () => {
    await expect(findCachedResult(CACHE_TABLE, KEY, THIRTY_DAYS, NOW)).resolves.toBeUndefined();
  });

  it('misses when the entry is older than ExpireAfter (DynamoDB\'s TTL deletes lazily)', async () => {
    await cached(NOW_SECONDS - THIRTY_DAYS - 1);

    await expect(findCachedResult(CACHE_TABLE, KEY, THIRTY_DAYS, NOW)).resolves.toBeUndefined();
  });

  it('misses when an output\'s content changed since it was recorded', async () => {
    await cached(NOW_SECONDS - 3600);
    store.put(`${evaluateResult(source).Outputs.evaluation}evaluation.json`, '{"regression_metrics":{"mse":{"value":9.9}}}');

    await expect(findCachedResult(CACHE_TABLE, KEY, THIRTY_DAYS, NOW)).resolves.toBeUndefined();
  });

  it('misses when an output was deleted', async () => {
    await cached(NOW_SECONDS - 3600);
    store.remove(`${evaluateResult(source).Outputs.evaluation}evaluation.json`);

    await expect(findCachedResult(CACHE_TABLE, KEY, THIRTY_DAYS, NOW)).resolves.toBeUndefined();
  });

  it('misses when an output has no recorded hash', async () => {
    result = { ...evaluateResult(source), OutputHashes: {} };
    await cached(NOW_SECONDS - 3600);

    await expect(findCachedResult(CACHE_TABLE, KEY, THIRTY_DAYS, NOW)).resolves.toBeUndefined();
  });

  it('misses when a cached model artifact changed', async () => {
    const model = trainResult(source);
    store.put(model.ModelArtifacts, 'model.tar.gz bytes');
    result = await outputHashes(model);
    await cached(NOW_SECONDS - 3600);
    store.put(model.ModelArtifacts, 'other model.tar.gz bytes');

    await expect(findCachedResult(CACHE_TABLE, KEY, THIRTY_DAYS, NOW)).resolves.toBeUndefined();
  });

  it('finds a cached model artifact that is unchanged', async () => {
    const model = trainResult(source);
    store.put(model.ModelArtifacts, 'model.tar.gz bytes');
    result = await outputHashes(model);
    await cached(NOW_SECONDS - 3600);

    await expect(findCachedResult(CACHE_TABLE, KEY, THIRTY_DAYS, NOW)).resolves.toMatchObject({ Type: 'Training', CachedFrom: source.executionArn });
  });
});
