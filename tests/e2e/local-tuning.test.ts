import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateHyperParameterTuningJobCommand,
  DescribeHyperParameterTuningJobCommand,
  type DescribeHyperParameterTuningJobCommandOutput,
  DescribeTrainingJobCommand,
  type HyperParameterTrainingJobSummary,
  ListTrainingJobsForHyperParameterTuningJobCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';

import { RESTART_MESSAGE } from '../../local/sagemaker/jobs';
import { createTuningSearch, type TrialRecord } from '../../local/sagemaker/tuning/search';
import { awsCliJson } from '../helpers/aws-cli';
import { ROOT } from '../helpers/fixtures';
import { mostAtOnce, trialSlot } from '../helpers/intervals';
import { type RuntimeProcess, runtimeEvents, startRuntime, waitUntil } from '../helpers/runtime-process';

/**
 * Hyperparameter tuning on the local runtime, as a user drives it: `sluice up`, a tuning job of 4
 * training jobs, 2 at a time, through the real SDK, on the fixture image whose objective depends on
 * its hyperparameters (tests/fixtures/local-images/tuner.cjs, mapped by --images) and which fails
 * for the trial with the largest x; the trials predicted from the seed, the best one checked, the
 * events read from the bus, and the job described by the real AWS CLI.
 */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/tuner:latest';
const ROLE = 'arn:aws:iam::123456789012:role/sluice-tuning-test';
const BUCKET = 'tuning-test';
const TUNER = join(ROOT, 'tests', 'fixtures', 'local-images', 'tuner.cjs');
const NAME = 'tune-e2e';
const OBJECTIVE = 'validation:score';
const TERMINAL = ['Completed', 'Failed', 'Stopped'];

const CONFIG = {
  Strategy: 'Random' as const,
  RandomSeed: 11,
  HyperParameterTuningJobObjective: { Type: 'Maximize' as const, MetricName: OBJECTIVE },
  ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2 },
  ParameterRanges: {
    ContinuousParameterRanges: [{ Name: 'x', MinValue: '0', MaxValue: '1', ScalingType: 'Linear' as const }],
    IntegerParameterRanges: [{ Name: 'depth', MinValue: '2', MaxValue: '8', ScalingType: 'Auto' as const }],
  },
};

/** The trials the seed gives, in launch order (a Random search does not depend on the objectives). */
function predictedTrials(): Record<string, string>[] {
  const search = createTuningSearch(CONFIG, { defaultSeed: NAME });
  const history: TrialRecord[] = [];
  for (let next = search.next(history); next; next = search.next(history)) history.push({ hyperParameters: next });
  return history.map((trial) => trial.hyperParameters);
}

const score = (hp: Record<string, string>) => 1 - (Number(hp.x) - 0.3) ** 2 - 0.01 * (Number(hp.depth) - 4) ** 2;

let root: string;
let images: string;
let runtime: RuntimeProcess;
let sageMaker: SageMakerClient;
let s3: S3Client;
const trials = predictedTrials();
// Between the largest x and the next: exactly one trial fails.
const xs = trials.map((hp) => Number(hp.x)).sort((a, b) => a - b);
const failAbove = (xs[xs.length - 1]! + xs[xs.length - 2]!) / 2;
let tuned: DescribeHyperParameterTuningJobCommandOutput;
let mostInProgress = 0;
let summaries: HyperParameterTrainingJobSummary[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sluice-e2e-tuning-'));
  images = join(root, 'images.yaml');
  writeFileSync(images, JSON.stringify({ [IMAGE]: { Command: [process.execPath, TUNER] } }));
  runtime = await startRuntime({ dataDir: join(root, 'runtime'), images });
  sageMaker = new SageMakerClient({ endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  s3 = new S3Client({ endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'data/train/part-1.csv', Body: '1,2\n3,4\n' }));

  await sageMaker.send(
    new CreateHyperParameterTuningJobCommand({
      HyperParameterTuningJobName: NAME,
      HyperParameterTuningJobConfig: CONFIG,
      TrainingJobDefinition: {
        AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File', MetricDefinitions: [{ Name: OBJECTIVE, Regex: 'validation:score=([-0-9.]+)' }] },
        StaticHyperParameters: { epochs: '3', epoch_ms: '300', fail_above: String(failAbove) },
        RoleArn: ROLE,
        InputDataConfig: [{ ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/data/train/` } } }],
        OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/tuning/` },
        ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 10 },
        StoppingCondition: { MaxRuntimeInSeconds: 120 },
      },
      Tags: [{ Key: 'project', Value: 'tuning-e2e' }],
    }),
  );
  // Watch the training jobs while the tuning job runs: how many are InProgress at once.
  tuned = await waitUntil(
    runtime,
    async () => {
      const listed = await sageMaker.send(new ListTrainingJobsForHyperParameterTuningJobCommand({ HyperParameterTuningJobName: NAME, MaxResults: 100 }));
      mostInProgress = Math.max(mostInProgress, (listed.TrainingJobSummaries ?? []).filter((s) => s.TrainingJobStatus === 'InProgress').length);
      return sageMaker.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: NAME }));
    },
    (job) => TERMINAL.includes(job.HyperParameterTuningJobStatus ?? ''),
    60_000,
    `tuning job ${NAME} to end`,
  );
  summaries = (await sageMaker.send(new ListTrainingJobsForHyperParameterTuningJobCommand({ HyperParameterTuningJobName: NAME, SortBy: 'Name', MaxResults: 100 }))).TrainingJobSummaries ?? [];
}, 300_000);

afterAll(async () => {
  sageMaker?.destroy();
  s3?.destroy();
  await runtime?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('hyperparameter tuning on the local runtime', () => {
  it('runs the 4 training jobs the seed proposes, 2 at a time, and Completes despite the one that failed', () => {
    expect(tuned.FailureReason).toBeUndefined();
    expect(tuned.HyperParameterTuningJobStatus).toBe('Completed');
    expect(summaries.map((s) => s.TrainingJobName)).toEqual([1, 2, 3, 4].map((i) => expect.stringMatching(new RegExp(`^${NAME}-00${i}-[0-9a-f]{8}$`))));
    expect(summaries.map((s) => s.TunedHyperParameters)).toEqual(trials);
    expect(tuned.TrainingJobStatusCounters).toEqual({ Completed: 3, InProgress: 0, RetryableError: 0, NonRetryableError: 1, Stopped: 0 });
    expect(tuned.ObjectiveStatusCounters).toEqual({ Succeeded: 3, Pending: 0, Failed: 1 });
    // Never more than 2 seen InProgress; 2 holding a slot at once (the first two are created together).
    expect(mostInProgress).toBeLessThanOrEqual(2);
    expect(mostAtOnce(summaries.map(trialSlot))).toBe(2);
    // The third started only once one of the first two had ended.
    const [first, second, third] = summaries;
    expect(third!.CreationTime!.getTime()).toBeGreaterThanOrEqual(Math.min(first!.TrainingEndTime!.getTime(), second!.TrainingEndTime!.getTime()));
  });

  it('picks as BestTrainingJob the successful trial with the highest objective, read from its logs', () => {
    const succeeded = trials.filter((hp) => Number(hp.x) <= failAbove);
    const best = succeeded.reduce((a, b) => (score(b) > score(a) ? b : a));

    expect(tuned.BestTrainingJob).toMatchObject({
      TunedHyperParameters: best,
      TrainingJobStatus: 'Completed',
      ObjectiveStatus: 'Succeeded',
      TuningJobName: NAME,
      FinalHyperParameterTuningJobObjectiveMetric: { Type: 'Maximize', MetricName: OBJECTIVE, Value: Number(score(best).toFixed(6)) },
    });
    const failed = summaries.find((s) => s.TrainingJobStatus === 'Failed');
    expect(failed).toMatchObject({ ObjectiveStatus: 'Failed', FailureReason: expect.stringContaining('is above fail_above') });
    expect(Number(failed!.TunedHyperParameters!.x)).toBe(xs[xs.length - 1]);
  });

  it('makes each trial a real training job that names its tuning job, with the static and tuned hyperparameters and its model', async () => {
    const best = await sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: tuned.BestTrainingJob!.TrainingJobName }));

    expect(best).toMatchObject({
      TuningJobArn: tuned.HyperParameterTuningJobArn,
      TrainingJobStatus: 'Completed',
      HyperParameters: { epochs: '3', epoch_ms: '300', fail_above: String(failAbove), ...tuned.BestTrainingJob!.TunedHyperParameters },
      ModelArtifacts: { S3ModelArtifacts: `s3://${BUCKET}/tuning/${best.TrainingJobName}/output/model.tar.gz` },
    });
    expect(best.FinalMetricDataList).toContainEqual(expect.objectContaining({ MetricName: OBJECTIVE, Value: tuned.BestTrainingJob!.FinalHyperParameterTuningJobObjectiveMetric!.Value }));
  });

  it('publishes the tuning job state changes and each training job its own', () => {
    const events = runtimeEvents(join(root, 'runtime'));
    const tuning = events.filter((event) => event['detail-type'] === 'SageMaker HyperParameter Tuning Job State Change');
    const training = events.filter((event) => event['detail-type'] === 'SageMaker Training Job State Change' && String(event.detail.TrainingJobName).startsWith(`${NAME}-`));

    expect(tuning.map((event) => event.detail.HyperParameterTuningJobStatus)).toEqual(['InProgress', 'Completed']);
    expect(tuning[1]).toMatchObject({
      source: 'aws.sagemaker',
      resources: [tuned.HyperParameterTuningJobArn],
      detail: { HyperParameterTuningJobName: NAME, BestTrainingJob: { TrainingJobName: tuned.BestTrainingJob!.TrainingJobName }, TrainingJobStatusCounters: { Completed: 3, NonRetryableError: 1 }, Tags: { project: 'tuning-e2e' } },
    });
    expect(training.filter((event) => TERMINAL.includes(event.detail.TrainingJobStatus as string))).toHaveLength(4);
    expect(training[0]!.detail).toMatchObject({ TuningJobArn: tuned.HyperParameterTuningJobArn });
  });

  it('answers `aws sagemaker describe-hyper-parameter-tuning-job` and list-training-jobs-for-hyper-parameter-tuning-job', async () => {
    const described = await awsCliJson<Record<string, unknown>>(runtime.endpoint, 'sagemaker', 'describe-hyper-parameter-tuning-job', '--hyper-parameter-tuning-job-name', NAME);
    const listed = await awsCliJson<{ TrainingJobSummaries: Record<string, unknown>[] }>(
      runtime.endpoint,
      'sagemaker',
      'list-training-jobs-for-hyper-parameter-tuning-job',
      '--hyper-parameter-tuning-job-name',
      NAME,
      '--sort-by',
      'FinalObjectiveMetricValue',
      '--sort-order',
      'Descending',
    );

    expect(described).toMatchObject({
      HyperParameterTuningJobName: NAME,
      HyperParameterTuningJobStatus: 'Completed',
      HyperParameterTuningJobConfig: { Strategy: 'Random', ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2 } },
      TrainingJobStatusCounters: { Completed: 3, NonRetryableError: 1 },
      BestTrainingJob: { TrainingJobName: tuned.BestTrainingJob!.TrainingJobName },
    });
    expect(new Date(described.HyperParameterTuningEndTime as string).getTime()).toBeGreaterThanOrEqual(new Date(described.CreationTime as string).getTime());
    expect(listed.TrainingJobSummaries).toHaveLength(3);
    expect(listed.TrainingJobSummaries[0]).toMatchObject({ TrainingJobName: tuned.BestTrainingJob!.TrainingJobName, ObjectiveStatus: 'Succeeded' });
  }, 60_000);

  it('stops early, with TrainingJobEarlyStoppingType Auto, the trial whose objective falls below the median of the earlier ones', async () => {
    const name = 'tune-early';
    const config = { ...CONFIG, RandomSeed: 13, TrainingJobEarlyStoppingType: 'Auto' as const, ResourceLimits: { MaxNumberOfTrainingJobs: 3, MaxParallelTrainingJobs: 1 } };
    const search = createTuningSearch(config);
    const history: TrialRecord[] = [];
    for (let next = search.next(history); next; next = search.next(history)) history.push({ hyperParameters: next });
    const [s1, s2, s3] = history.map((trial) => score(trial.hyperParameters));
    // The seed's third trial scores below both earlier ones (and the second above the first), so only it is stopped, at its first epoch.
    expect(s3!).toBeLessThan(Math.min(s1!, s2!));
    expect(s2!).toBeGreaterThan(s1!);
    await sageMaker.send(
      new CreateHyperParameterTuningJobCommand({
        HyperParameterTuningJobName: name,
        HyperParameterTuningJobConfig: config,
        TrainingJobDefinition: {
          AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File', MetricDefinitions: [{ Name: OBJECTIVE, Regex: 'validation:score=([-0-9.]+)' }] },
          StaticHyperParameters: { epochs: '4', epoch_ms: '250' },
          RoleArn: ROLE,
          InputDataConfig: [{ ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/data/train/` } } }],
          OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/tuning/` },
          ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 10 },
          StoppingCondition: { MaxRuntimeInSeconds: 120 },
        },
      }),
    );

    const job = await waitUntil(
      runtime,
      () => sageMaker.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name })),
      (described) => TERMINAL.includes(described.HyperParameterTuningJobStatus ?? ''),
      60_000,
      `tuning job ${name} to end`,
    );
    const listed = (await sageMaker.send(new ListTrainingJobsForHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name, SortBy: 'Name' }))).TrainingJobSummaries ?? [];

    expect(job).toMatchObject({ HyperParameterTuningJobStatus: 'Completed', TrainingJobStatusCounters: { Completed: 2, Stopped: 1 }, BestTrainingJob: { TunedHyperParameters: history[1]!.hyperParameters } });
    expect(listed.map((s) => s.TrainingJobStatus)).toEqual(['Completed', 'Completed', 'Stopped']);
    expect(listed[2]).toMatchObject({ ObjectiveStatus: 'Succeeded', FinalHyperParameterTuningJobObjectiveMetric: { Value: Number((s3! / 4).toFixed(6)) } });
  }, 90_000);

  it('carries on after the runtime is killed mid-way: the interrupted training job reruns, then the rest of the budget', async () => {
    const name = 'tune-restart';
    await sageMaker.send(
      new CreateHyperParameterTuningJobCommand({
        HyperParameterTuningJobName: name,
        HyperParameterTuningJobConfig: { ...CONFIG, ResourceLimits: { MaxNumberOfTrainingJobs: 3, MaxParallelTrainingJobs: 1 } },
        TrainingJobDefinition: {
          AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File', MetricDefinitions: [{ Name: OBJECTIVE, Regex: 'validation:score=([-0-9.]+)' }] },
          StaticHyperParameters: { epochs: '3', epoch_ms: '500' },
          RoleArn: ROLE,
          InputDataConfig: [{ ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/data/train/` } } }],
          OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/tuning/` },
          ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 10 },
          StoppingCondition: { MaxRuntimeInSeconds: 120 },
        },
      }),
    );
    const running = await waitUntil(
      runtime,
      async () => (await sageMaker.send(new ListTrainingJobsForHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name }))).TrainingJobSummaries ?? [],
      (listed) => listed.length === 1 && listed[0]!.TrainingJobStatus === 'InProgress',
      30_000,
      'the first training job to run',
    );

    await runtime.crash();
    runtime = await startRuntime({ dataDir: join(root, 'runtime'), images, port: Number(new URL(runtime.endpoint).port) });
    const ended = await waitUntil(
      runtime,
      () => sageMaker.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name })),
      (job) => TERMINAL.includes(job.HyperParameterTuningJobStatus ?? ''),
      60_000,
      `tuning job ${name} to end after the restart`,
    );

    expect(ended).toMatchObject({ HyperParameterTuningJobStatus: 'Completed', TrainingJobStatusCounters: { Completed: 3, InProgress: 0 } });
    const rerun = await sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: running[0]!.TrainingJobName }));
    expect(rerun.TrainingJobStatus).toBe('Completed');
    expect(rerun.SecondaryStatusTransitions?.map((t) => t.StatusMessage)).toContain(RESTART_MESSAGE);
    const statuses = runtimeEvents(join(root, 'runtime'))
      .filter((event) => event['detail-type'] === 'SageMaker HyperParameter Tuning Job State Change' && event.detail.HyperParameterTuningJobName === name)
      .map((event) => event.detail.HyperParameterTuningJobStatus);
    expect(statuses).toEqual(['InProgress', 'Completed']);
  }, 120_000);
});
