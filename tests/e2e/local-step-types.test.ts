import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeModelPackageCommand,
  DescribeTrainingJobCommand,
  type HyperParameterTrainingJobSummary,
  ListTrainingJobsForHyperParameterTuningJobCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { type DescribeExecutionCommandOutput, SFNClient } from '@aws-sdk/client-sfn';

import { executionHistory } from '../../cli/status';
import { seedExample } from '../../local/seed';
import { awsCliJson } from '../helpers/aws-cli';
import { ROOT } from '../helpers/fixtures';
import { mostAtOnce, trialSlot } from '../helpers/intervals';
import { type RuntimeProcess, runtimeEvents, runsOfMachines, startRuntime } from '../helpers/runtime-process';

/**
 * Issue 12's step types end to end on the local runtime, through examples/abalone-segments as a user
 * runs it (`seedExample`: its data uploaded to datasets/abalone-segments/, the repository created, the
 * folder pushed): split given as an ACK ProcessingJob manifest; a Bayesian tuning job of 4 trials, 2
 * at a time; a ForEach training one model per sex, the three at once; a batch transform of the tuned
 * model over the split's batch files; evaluate reading the `.out` files and the per-item models; the
 * tuned model registered. The run's own result (`$.steps`, its output) names the jobs; SageMaker's,
 * S3's and the Model Registry's APIs (and the AWS CLI) are asked about them as a user would.
 *
 * Written to the shared design of issue 12 (step result shapes: `Tuning`, `ForEach`, `Transform`)
 * before the step types were merged: it needs them to pass.
 */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const REPOSITORY = 'abalone-segments';
const SEXES = ['M', 'F', 'I'];

/** `$.steps` of a finished run, as far as this test reads it (the design's result shapes). */
interface RunSteps {
  split: { Type: 'Processing'; Outputs: Record<string, string> };
  tune: {
    Type: 'Tuning';
    HyperParameterTuningJobName: string;
    BestTrainingJob: { TrainingJobName: string; ModelArtifacts: string; ObjectiveMetricName: string; FinalObjectiveValue: number; TunedHyperParameters: Record<string, string> };
    TrainingJobCounts: { Completed: number; Failed: number; Stopped: number };
  };
  'per-sex': { Type: 'ForEach'; Items: string[]; Results: { 'train-sex': { Type: 'Training'; TrainingJobName: string; ModelArtifacts: string } }[] };
  score: { Type: 'Transform'; TransformJobName: string; ModelName: string; Output: string };
  evaluate: { Type: 'Processing'; Outputs: Record<string, string> };
  register: { Type: 'RegisterModel'; ModelPackageArn: string };
}

let dataDir: string;
let runtime: RuntimeProcess;
let sfn: SFNClient;
let sageMaker: SageMakerClient;
let s3: S3Client;
let run: DescribeExecutionCommandOutput;
let steps: RunSteps;

/**
 * Every run of the repository: its pipeline's own state machine (`sluice-local-build-abalone-segments-…`),
 * and `sluice-local-build-rejected`, where a push whose mlops.yaml does not validate runs (and fails at
 * once with InvalidConfig naming every bad field), so that this test reports that message at once.
 */
function runs(): Promise<DescribeExecutionCommandOutput[]> {
  return runsOfMachines(sfn, (name) => name.startsWith(`sluice-local-build-${REPOSITORY}-`) || name === 'sluice-local-build-rejected');
}

/** Waits until the run of `commit` has ended. */
async function ended(commit: string, timeoutMs: number): Promise<DescribeExecutionCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await runs()).find((candidate) => candidate.input?.includes(commit) === true);
    if (found && found.status !== 'RUNNING') return found;
    if (Date.now() > deadline) throw new Error(`the run of ${commit} did not end after ${timeoutMs} ms:\n${runtime.output().slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!match) throw new Error(`not an s3:// URI: ${uri}`);
  return { bucket: match[1]!, key: match[2]! };
}

/** The object names directly under an s3:// prefix, sorted. */
async function objectNames(prefix: string): Promise<string[]> {
  const { bucket, key } = parseS3Uri(prefix.endsWith('/') ? prefix : `${prefix}/`);
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key }));
  return (listed.Contents ?? []).map((object) => object.Key!.slice(key.length)).sort();
}

async function readObject(uri: string): Promise<string> {
  const { bucket, key } = parseS3Uri(uri);
  return (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-step-types-'));
  runtime = await startRuntime({ dataDir });
  const options = { endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS };
  sfn = new SFNClient(options);
  sageMaker = new SageMakerClient(options);
  s3 = new S3Client({ ...options, forcePathStyle: true });

  const seeded = await seedExample(runtime.endpoint, REPOSITORY);
  expect(seeded.created).toBe(true);
  run = await ended(seeded.commit!, 600_000);
  if (run.status !== 'SUCCEEDED') throw new Error(`the run of examples/${REPOSITORY} ended ${run.status}: ${run.error}: ${run.cause}`);
  steps = JSON.parse(run.output!) as RunSteps;
}, 900_000);

afterAll(async () => {
  sfn?.destroy();
  sageMaker?.destroy();
  s3?.destroy();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('examples/abalone-segments on the local runtime', () => {
  it('succeeds, every step of the pipeline in its result', () => {
    expect({ status: run.status, error: run.error, cause: run.cause }).toEqual({ status: 'SUCCEEDED', error: undefined, cause: undefined });
    expect(Object.fromEntries(Object.entries(steps).map(([name, result]) => [name, (result as { Type: string }).Type]))).toMatchObject({
      split: 'Processing',
      tune: 'Tuning',
      'per-sex': 'ForEach',
      score: 'Transform',
      evaluate: 'Processing',
      'check-rmse': 'Condition',
      register: 'RegisterModel',
    });
  });

  it('ran the tuning job\'s 4 trials as training jobs named after it, at most 2 at once and 2 at some moment', async () => {
    const name = steps.tune.HyperParameterTuningJobName;

    const listed = await sageMaker.send(new ListTrainingJobsForHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name, MaxResults: 100 }));
    const trials: HyperParameterTrainingJobSummary[] = listed.TrainingJobSummaries ?? [];

    expect(trials).toHaveLength(4);
    for (const trial of trials) {
      expect(trial.TrainingJobName).toMatch(new RegExp(`^${name}-\\d{3}-[0-9a-f]{8}$`));
      expect(trial.TrainingJobStatus).toBe('Completed');
      expect(trial.FinalHyperParameterTuningJobObjectiveMetric).toMatchObject({ MetricName: 'validation:rmse', Value: expect.any(Number) });
      expect(Object.keys(trial.TunedHyperParameters ?? {}).sort()).toEqual(['eta', 'max_depth', 'num_round']);
    }
    expect(mostAtOnce(trials.map(trialSlot))).toBe(2);
    expect(steps.tune.TrainingJobCounts).toEqual({ Completed: 4, Failed: 0, Stopped: 0 });
    // Each trial is a training job of its own, with its own state-change events.
    const completed = runtimeEvents(dataDir)
      .filter((event) => event['detail-type'] === 'SageMaker Training Job State Change' && event.detail.TrainingJobStatus === 'Completed')
      .map((event) => event.detail.TrainingJobName);
    expect(completed).toEqual(expect.arrayContaining(trials.map((trial) => trial.TrainingJobName)));
  });

  it('answers `aws sagemaker describe-hyper-parameter-tuning-job` with the best trial, the lowest validation:rmse', async () => {
    const name = steps.tune.HyperParameterTuningJobName;
    const trials = (await sageMaker.send(new ListTrainingJobsForHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name, MaxResults: 100 }))).TrainingJobSummaries ?? [];
    const lowest = Math.min(...trials.map((trial) => trial.FinalHyperParameterTuningJobObjectiveMetric!.Value!));

    const described = await awsCliJson<Record<string, unknown>>(runtime.endpoint, 'sagemaker', 'describe-hyper-parameter-tuning-job', '--hyper-parameter-tuning-job-name', name);

    expect(described).toMatchObject({
      HyperParameterTuningJobName: name,
      HyperParameterTuningJobStatus: 'Completed',
      HyperParameterTuningJobConfig: { Strategy: 'Bayesian', RandomSeed: 7, ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2 } },
      TrainingJobStatusCounters: { Completed: 4 },
      BestTrainingJob: { TrainingJobName: steps.tune.BestTrainingJob.TrainingJobName, FinalHyperParameterTuningJobObjectiveMetric: { MetricName: 'validation:rmse', Value: lowest } },
    });
    expect(steps.tune.BestTrainingJob).toMatchObject({ ObjectiveMetricName: 'validation:rmse', FinalObjectiveValue: lowest });
  }, 60_000);

  it('shows every trial\'s log lines under the tuning step with `sluice logs <run> --step tune`', () => {
    const trials = runtimeEvents(dataDir)
      .filter((event) => event['detail-type'] === 'SageMaker Training Job State Change' && String(event.detail.TrainingJobName).startsWith(`${steps.tune.HyperParameterTuningJobName}-`))
      .map((event) => String(event.detail.TrainingJobName));

    const result = spawnSync(join(ROOT, 'bin', 'sluice'), ['logs', run.executionArn!, '--step', 'tune', '--json', '--endpoint', runtime.endpoint], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });

    expect(result.status).toBe(0);
    const lines = (JSON.parse(result.stdout) as { lines: { step: string; stream: string; message: string }[] }).lines;
    expect(new Set(lines.map((line) => line.step))).toEqual(new Set(['tune']));
    expect(new Set(lines.map((line) => line.stream.split('/')[0]))).toEqual(new Set(trials));
    expect(lines.some((line) => /validation-rmse:[0-9.]+/.test(line.message))).toBe(true);
  }, 60_000);

  it('published SageMaker HyperParameter Tuning Job State Change events ending in Completed', () => {
    const name = steps.tune.HyperParameterTuningJobName;
    const events = runtimeEvents(dataDir).filter((event) => event['detail-type'] === 'SageMaker HyperParameter Tuning Job State Change' && event.detail.HyperParameterTuningJobName === name);

    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.at(-1)).toMatchObject({ source: 'aws.sagemaker', detail: { HyperParameterTuningJobStatus: 'Completed' } });
  });

  it('registered the best trial\'s model artifacts', async () => {
    const best = await sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: steps.tune.BestTrainingJob.TrainingJobName }));

    const registered = await sageMaker.send(new DescribeModelPackageCommand({ ModelPackageName: steps.register.ModelPackageArn }));

    expect(best.ModelArtifacts?.S3ModelArtifacts).toMatch(/^s3:\/\/.+\/model\.tar\.gz$/);
    expect(registered.InferenceSpecification?.Containers?.[0]?.ModelDataUrl).toBe(best.ModelArtifacts!.S3ModelArtifacts);
    expect(steps.tune.BestTrainingJob.ModelArtifacts).toBe(best.ModelArtifacts!.S3ModelArtifacts);
    expect(registered.ModelPackageGroupName).toBe(`sluice-local--${REPOSITORY}`);
  }, 60_000);

  it('transformed every batch file split wrote into one .out beside its name', async () => {
    const inputs = await objectNames(steps.split.Outputs.batch!);

    const outputs = await objectNames(steps.score.Output);

    expect(inputs).toEqual(['part-0.csv', 'part-1.csv', 'part-2.csv']);
    expect(outputs).toEqual(inputs.map((name) => `${name}.out`));
  }, 60_000);

  it('evaluated the .out files against the labels and each segment model on its segment: an RMSE for each', async () => {
    const report = JSON.parse(await readObject(`${steps.evaluate.Outputs.evaluation!.replace(/\/?$/, '/')}evaluation.json`));

    expect(report.test_rows).toBe(627);
    expect(report.regression_metrics.rmse.value).toBeGreaterThan(1);
    expect(report.regression_metrics.rmse.value).toBeLessThan(2.5);
    expect(Object.keys(report.segments)).toEqual(['F', 'I', 'M']);
    for (const segment of Object.values(report.segments) as { segment_model: { regression_metrics: { rmse: { value: number } } } }[]) {
      expect(segment.segment_model.regression_metrics.rmse.value).toBeGreaterThan(1);
    }
  }, 60_000);

  it('ran the ForEach\'s three items at once (three Map iterations under way together), one model per sex', async () => {
    const forEach = steps['per-sex'];
    const jobs = await Promise.all(forEach.Results.map((result) => sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: result['train-sex'].TrainingJobName }))));
    const iterations = (await executionHistory(sfn, run.executionArn!)).filter((event) => event.type?.startsWith('MapIteration'));

    expect(forEach.Items).toEqual(SEXES);
    expect(jobs.map((job) => job.HyperParameters?.sex)).toEqual(SEXES);
    expect(new Set(jobs.map((job) => job.ModelArtifacts?.S3ModelArtifacts)).size).toBe(3);
    // The Map started every item before any ended (MaxConcurrency 3). Whether the three trainings'
    // processes overlap depends on how fast a few hundred rows train; tests/e2e/local-foreach.test.ts
    // asserts that with trainings long enough to.
    expect(iterations.slice(0, 3).map((event) => event.type)).toEqual(['MapIterationStarted', 'MapIterationStarted', 'MapIterationStarted']);
    expect(iterations.filter((event) => event.type === 'MapIterationSucceeded')).toHaveLength(3);
  }, 60_000);
});
