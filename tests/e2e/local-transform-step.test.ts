import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DescribeModelCommand, DescribeTransformJobCommand, ListTagsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { type DescribeExecutionCommandOutput, SFNClient } from '@aws-sdk/client-sfn';

import { createRepository, LOCAL_ARTIFACTS_BUCKET, pushDirectory, uploadDataset } from '../../local/seed';
import { buildKeyPrefix, jobName, transformModelName } from '../../shared/naming';
import { ROOT } from '../helpers/fixtures';
import { eventually, type RuntimeProcess, runsOfMachines, runtimeEvents, startRuntime } from '../helpers/runtime-process';

/**
 * A Transform step in a Version 2 pipeline on the local runtime: a Training step writes a model
 * (a scale factor), a Transform step runs it over a dataset of three CSV files through the model's
 * own `serve` process (tests/fixtures/local-images/transformer.cjs, the repository's inference
 * image: SplitType Line, MultiRecord, AssembleWith Line; DataProcessing drops each row's ID column
 * before the model and writes it back beside the prediction), and a Processing step reads
 * `{From: score/output}` and checks that every input file has its complete `.out`. Then the same
 * pipeline whose model cannot start: the run fails at the transform step with the job's FailureReason.
 */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const REPOSITORY = 'transform-step';
const STAGE = 'sluice-local';
/** Rows of an ID and two features: the step's DataProcessing sends the model the features only (InputFilter $[1:]). */
const INPUTS: Record<string, string> = { 'part-1.csv': 'a1,1,2\na2,3,4\na3,5,6\n', 'part-2.csv': 'b1,10,0\nb2,0,20\n', 'part-3.csv': 'c1,7,7\n' };
/** Each row's ID beside its features' sum times the trained scale (3): JoinSource Input, OutputFilter $[0,-1]. */
const EXPECTED: Record<string, string> = { 'part-1.csv.out': 'a1,9\na2,21\na3,33\n', 'part-2.csv.out': 'b1,30\nb2,60\n', 'part-3.csv.out': 'c1,42\n' };

/** The repository's training "image": the model is the scale hyperparameter. */
const TRAIN = `'use strict';
const fs = require('node:fs');
const path = require('node:path');
const hyperparameters = JSON.parse(fs.readFileSync(path.join(process.env.SM_INPUT_CONFIG_DIR, 'hyperparameters.json'), 'utf8'));
fs.writeFileSync(path.join(process.env.SM_MODEL_DIR, 'model.json'), JSON.stringify({ scale: Number(hyperparameters.scale) }));
console.log('trained with scale ' + hyperparameters.scale);
`;

/** The repository's checking "image": reads every .out under --scored, fails unless each input has its complete one. */
const CHECK = `'use strict';
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
const option = (name) => args[args.indexOf(name) + 1];
const scored = option('--scored');
const expected = JSON.parse(option('--expect'));
const found = fs.readdirSync(scored).sort();
const outputs = Object.fromEntries(found.map((file) => [file, fs.readFileSync(path.join(scored, file), 'utf8')]));
const missing = Object.keys(expected).filter((file) => outputs[file] === undefined);
const incomplete = Object.keys(expected).filter((file) => outputs[file] !== undefined && outputs[file].split('\\n').filter(Boolean).length !== expected[file]);
fs.mkdirSync(option('--output'), { recursive: true });
fs.writeFileSync(path.join(option('--output'), 'report.json'), JSON.stringify({ found, outputs, missing, incomplete }));
if (missing.length > 0 || incomplete.length > 0) {
  console.error('missing ' + missing.join(', ') + '; incomplete ' + incomplete.join(', '));
  process.exit(1);
}
`;

const image = (name: string) => `123456789012.dkr.ecr.us-east-1.amazonaws.com/transform-step-${name}:latest`;

/** The repository's mlops.yaml; `modelEnvironment` goes to the model's container. */
function mlopsYaml(modelEnvironment: Record<string, string> = {}): string {
  const lines = Object.fromEntries(Object.entries(INPUTS).map(([file, text]) => [`${file}.out`, text.split('\n').filter(Boolean).length]));
  return JSON.stringify({
    Version: 2,
    Steps: {
      train: {
        Type: 'Training',
        AlgorithmSpecification: { TrainingImage: image('train') },
        HyperParameters: { scale: 3 },
        ResourceConfig: { InstanceType: 'ml.m5.large' },
        StoppingCondition: { MaxRuntimeInSeconds: 300 },
        Channels: { train: { Dataset: `${REPOSITORY}/batch/` } },
      },
      score: {
        Type: 'Transform',
        Model: { ModelData: { From: 'train/model' }, Image: image('serve'), Environment: modelEnvironment },
        TransformInput: { DataSource: { Dataset: `${REPOSITORY}/batch/` }, ContentType: 'text/csv', SplitType: 'Line' },
        TransformOutput: { Accept: 'text/csv', AssembleWith: 'Line' },
        TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
        BatchStrategy: 'MultiRecord',
        MaxPayloadInMB: 1,
        DataProcessing: { InputFilter: '$[1:]', JoinSource: 'Input', OutputFilter: '$[0,-1]' },
      },
      check: {
        Type: 'Processing',
        AppSpecification: {
          ImageUri: image('check'),
          ContainerArguments: ['--scored', '/opt/ml/processing/input/scored', '--expect', JSON.stringify(lines), '--output', '/opt/ml/processing/output/report'],
        },
        ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.large' } },
        Inputs: { scored: { From: 'score/output' } },
        Outputs: ['report'],
      },
    },
    Local: {
      Images: {
        [image('train')]: { Command: ['node', 'train.cjs'] },
        [image('serve')]: { Command: ['node', 'serve.cjs'] },
        [image('check')]: { Command: ['node', 'check.cjs'] },
      },
    },
  });
}

let root: string;
let repositoryDir: string;
let runtime: RuntimeProcess;
let sfn: SFNClient;
let sageMaker: SageMakerClient;
let s3: S3Client;

/** The run of `commit` once it has ended. */
async function ended(commit: string, timeoutMs = 240_000): Promise<DescribeExecutionCommandOutput> {
  return eventually(
    runtime,
    async () => (await runsOfMachines(sfn, (name) => name.startsWith(`${STAGE}-build-${REPOSITORY}-`))).find((run) => run.input?.includes(commit) && run.status !== 'RUNNING'),
    `the run of ${commit} to end`,
    timeoutMs,
  );
}

async function read(key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: LOCAL_ARTIFACTS_BUCKET, Key: key }));
  return object.Body!.transformToString();
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sluice-e2e-transform-step-'));
  repositoryDir = join(root, 'repository');
  mkdirSync(repositoryDir);
  writeFileSync(join(repositoryDir, 'train.cjs'), TRAIN);
  writeFileSync(join(repositoryDir, 'check.cjs'), CHECK);
  copyFileSync(join(ROOT, 'tests', 'fixtures', 'local-images', 'transformer.cjs'), join(repositoryDir, 'serve.cjs'));
  runtime = await startRuntime({ dataDir: join(root, 'runtime') });
  const options = { endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS };
  sfn = new SFNClient(options);
  sageMaker = new SageMakerClient(options);
  s3 = new S3Client({ ...options, forcePathStyle: true });
  const data = join(root, 'data');
  mkdirSync(data);
  for (const [file, text] of Object.entries(INPUTS)) {
    writeFileSync(join(data, file), text);
    await uploadDataset(runtime.endpoint, `${REPOSITORY}/batch`, join(data, file));
  }
  await createRepository(runtime.endpoint, REPOSITORY);
}, 300_000);

afterAll(async () => {
  sfn?.destroy();
  sageMaker?.destroy();
  s3?.destroy();
  await runtime?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('a Transform step on the local runtime', () => {
  let run: DescribeExecutionCommandOutput;

  it('runs Training → Transform → a Processing step that reads one complete .out per input file', async () => {
    const commit = await pushDirectory(runtime.endpoint, REPOSITORY, repositoryDir, { changes: { 'mlops.yaml': mlopsYaml() } });

    run = await ended(commit);

    expect({ status: run.status, error: run.error, cause: run.cause }).toEqual({ status: 'SUCCEEDED', error: undefined, cause: undefined });
    // The run's output is its steps' results ($.steps).
    const score = (JSON.parse(run.output!) as Record<string, Record<string, unknown>>).score!;
    const transformJob = jobName(STAGE, REPOSITORY, 'score', run.executionArn!);
    const modelName = transformModelName(STAGE, REPOSITORY, 'score', run.executionArn!);
    const prefix = `${buildKeyPrefix(REPOSITORY, run.name!)}score/output/`;
    expect(score).toMatchObject({ Type: 'Transform', TransformJobName: transformJob, ModelName: modelName, Output: `s3://${LOCAL_ARTIFACTS_BUCKET}/${prefix}`, OutputHash: expect.any(String) });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: LOCAL_ARTIFACTS_BUCKET, Prefix: prefix }));
    expect((listed.Contents ?? []).map((object) => object.Key!.slice(prefix.length)).sort()).toEqual(Object.keys(EXPECTED));
    for (const [file, text] of Object.entries(EXPECTED)) expect(await read(`${prefix}${file}`)).toBe(text);
    const report = JSON.parse(await read(`${buildKeyPrefix(REPOSITORY, run.name!)}check/report/report.json`)) as Record<string, unknown>;
    expect(report).toEqual({ found: Object.keys(EXPECTED), outputs: EXPECTED, missing: [], incomplete: [] });
  }, 300_000);

  it('created the model from the training step\'s artifacts and the transform job with the step\'s settings, tagged with the run', async () => {
    const modelName = transformModelName(STAGE, REPOSITORY, 'score', run.executionArn!);
    const trainOutput = (JSON.parse(run.output!) as Record<string, { ModelArtifacts?: string }>).train!.ModelArtifacts;
    const model = await sageMaker.send(new DescribeModelCommand({ ModelName: modelName }));
    const job = await sageMaker.send(new DescribeTransformJobCommand({ TransformJobName: jobName(STAGE, REPOSITORY, 'score', run.executionArn!) }));

    expect(model.PrimaryContainer).toMatchObject({ Image: image('serve'), ModelDataUrl: trainOutput });
    expect(job).toMatchObject({
      ModelName: modelName,
      BatchStrategy: 'MultiRecord',
      MaxPayloadInMB: 1,
      TransformInput: { ContentType: 'text/csv', SplitType: 'Line', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${LOCAL_ARTIFACTS_BUCKET}/datasets/${REPOSITORY}/batch/` } } },
      TransformOutput: { Accept: 'text/csv', AssembleWith: 'Line' },
      DataProcessing: { InputFilter: '$[1:]', JoinSource: 'Input', OutputFilter: '$[0,-1]' },
    });
    for (const arn of [model.ModelArn!, job.TransformJobArn!]) {
      const tags = (await sageMaker.send(new ListTagsCommand({ ResourceArn: arn }))).Tags ?? [];
      expect(tags).toEqual(expect.arrayContaining([{ Key: 'sluice:execution', Value: run.executionArn }, { Key: 'sluice:step', Value: 'score' }]));
    }
    const events = runtimeEvents(join(root, 'runtime')).filter((event) => event['detail-type'] === 'SageMaker Transform Job State Change' && event.detail.TransformJobName === job.TransformJobName);
    expect(events.map((event) => event.detail.TransformJobStatus)).toEqual(['InProgress', 'Completed']);
  }, 60_000);

  it('fails the run at the transform step, with the transform job\'s FailureReason, when the model\'s serve process cannot start', async () => {
    const commit = await pushDirectory(runtime.endpoint, REPOSITORY, repositoryDir, { changes: { 'mlops.yaml': mlopsYaml({ FAIL_TO_START: '1' }) } });

    const failed = await ended(commit);

    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe('SageMakerJobFailed');
    const job = await sageMaker.send(new DescribeTransformJobCommand({ TransformJobName: jobName(STAGE, REPOSITORY, 'score', failed.executionArn!) }));
    expect(job.TransformJobStatus).toBe('Failed');
    expect(job.FailureReason).toContain('cannot load the model: FAIL_TO_START');
    expect(failed.cause).toBe(`transform job ${job.TransformJobName} failed: ${job.FailureReason}`);
    const announced = await eventually(
      runtime,
      () => runtimeEvents(join(root, 'runtime')).find((event) => event['detail-type'] === 'Model Build Failed' && event.detail.commit === commit),
      'Model Build Failed',
      30_000,
    );
    expect(announced.detail.step).toBe('score');
  }, 300_000);
});
