import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeProcessingJobCommand, DescribeTrainingJobCommand, type DescribeTrainingJobCommandOutput, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { type DescribeExecutionCommandOutput, type HistoryEvent, RedriveExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';

import { readRunLogs } from '../../cli/logs';
import { executionHistory, getStatus } from '../../cli/status';
import { localTarget } from '../../cli/target';
import { createRepository, LOCAL_ARTIFACTS_BUCKET, pushDirectory } from '../../local/seed';
import { jobName } from '../../shared/naming';
import { ROOT } from '../helpers/fixtures';
import { eventually, type RuntimeProcess, runtimeEvents, runsOfMachines, startRuntime } from '../helpers/runtime-process';

/**
 * A ForEach on the local runtime (tests/fixtures/repositories/for-each): prepare, then per sex
 * (M, F, I, MaxConcurrency 3) a processing job and a training job, then compare, which reads every
 * item's model through `From: per-sex/train-one/model`. The three items run at the same time (their
 * jobs' start and end times overlap); a run in which one item's training fails fails at that inner
 * step, and the other items' jobs are stopped (they were still training): no job is left running.
 * A redrive of a run that failed in one item runs the Map again: the items that completed find their
 * jobs and the failed item trains anew. A run whose Map is in flight when the runtime restarts goes on: the Map runs again as a whole
 * (the local runtime does not resume single iterations), and each item's start-job finds the job its
 * first attempt created, so no item trains twice.
 */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const REPOSITORY = 'per-sex';
const SOURCE = join(ROOT, 'tests', 'fixtures', 'repositories', 'for-each');
const ITEMS = ['M', 'F', 'I'];
/** The training's `control` channel (Dataset foreach-control/): a fail-<sex> file there fails that sex's training. */
const CONTROL = 'datasets/foreach-control/';

let dataDir: string;
let runtime: RuntimeProcess;
let sfn: SFNClient;
let sageMaker: SageMakerClient;
let s3: S3Client;

/** Every run of the repository's pipeline (its own state machine, `sluice-local-build-per-sex-…`). */
function runs(): Promise<DescribeExecutionCommandOutput[]> {
  return runsOfMachines(sfn, (name) => name.startsWith(`sluice-local-build-${REPOSITORY}-`));
}

/** The run of `commit` once it has ended (`redrives` times redriven). */
async function ended(commit: string, timeoutMs = 240_000, redrives = 0): Promise<DescribeExecutionCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = (await runs()).find((candidate) => candidate.input?.includes(commit) && (candidate.redriveCount ?? 0) === redrives);
    if (run && run.status !== 'RUNNING') return run;
    if (Date.now() > deadline) throw new Error(`the run of ${commit} did not end within ${timeoutMs} ms:\n${runtime.output().slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const history = (executionArn: string): Promise<HistoryEvent[]> => executionHistory(sfn, executionArn);

/** The training job of item `index` in `run` (first attempt). */
const training = (run: DescribeExecutionCommandOutput, index: number): Promise<DescribeTrainingJobCommandOutput> =>
  sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: jobName('sluice-local', REPOSITORY, `per-sex-${index}-train-one`, run.executionArn!) }));

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-foreach-'));
  runtime = await startRuntime({ dataDir });
  const options = { endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS };
  sfn = new SFNClient(options);
  sageMaker = new SageMakerClient(options);
  s3 = new S3Client({ ...options, forcePathStyle: true });
  await createRepository(runtime.endpoint, REPOSITORY);
  await s3.send(new PutObjectCommand({ Bucket: LOCAL_ARTIFACTS_BUCKET, Key: `${CONTROL}README`, Body: 'fail-<sex> here fails that sex\'s training\n' }));
}, 300_000);

afterAll(async () => {
  sfn?.destroy();
  sageMaker?.destroy();
  s3?.destroy();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('a ForEach on the local runtime', () => {
  it('runs prep-one → train-one for each of three items at the same time, and a later step reads every item\'s model', async () => {
    const commit = await pushDirectory(runtime.endpoint, REPOSITORY, SOURCE, { message: 'one model per sex' });

    const run = await ended(commit);

    expect({ status: run.status, error: run.error, cause: run.cause }).toEqual({ status: 'SUCCEEDED', error: undefined, cause: undefined });
    const jobs = await Promise.all(ITEMS.map((_sex, index) => training(run, index)));
    for (const [index, job] of jobs.entries()) {
      expect(job.TrainingJobStatus).toBe('Completed');
      expect(job.HyperParameters?.sex).toBe(ITEMS[index]);
      // Each item writes under the build's <ForEach>/<index>/<step>/ prefix.
      expect(job.ModelArtifacts?.S3ModelArtifacts).toMatch(new RegExp(`/${run.name}/per-sex/${index}/train-one/`));
    }
    // Concurrent: every two items' training intervals overlap (each starts before the other ends).
    for (const a of jobs) for (const b of jobs) expect(a.TrainingStartTime!.getTime()).toBeLessThan(b.TrainingEndTime!.getTime());
    const prep = await sageMaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: jobName('sluice-local', REPOSITORY, 'per-sex-2-prep-one', run.executionArn!) }));
    expect(prep.AppSpecification?.ContainerArguments?.slice(0, 5)).toEqual(['segment', '--sex', 'I', '--index', '2']);

    // compare got one input per item, models/<index>, and read each item's model.
    const compare = await sageMaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: jobName('sluice-local', REPOSITORY, 'compare', run.executionArn!) }));
    expect(compare.ProcessingInputs?.filter((input) => input.InputName !== 'code').map((input) => [input.InputName, input.S3Input?.LocalPath])).toEqual(
      ITEMS.map((_sex, index) => [`models-${index}`, `/opt/ml/processing/input/models/${index}`]),
    );
    const reportUri = compare.ProcessingOutputConfig!.Outputs![0]!.S3Output!.S3Uri!;
    const [, bucket = '', key = ''] = /^s3:\/\/([^/]+)\/(.+)$/.exec(reportUri) ?? [];
    const report = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${key.replace(/\/?$/, '/')}report.json` }))).Body!.transformToString()) as { models: unknown[] };
    expect(report.models).toEqual([
      { index: 0, sex: 'M', rows: 3 },
      { index: 1, sex: 'F', rows: 2 },
      { index: 2, sex: 'I', rows: 2 },
    ]);

    // The run's output holds each item's results, in item order.
    const output = JSON.parse(run.output!) as Record<string, { Items?: string[]; Results?: Record<string, { TrainingJobName?: string }>[] }>;
    expect(output['per-sex']?.Items).toEqual(ITEMS);
    expect(output['per-sex']?.Results?.map((results) => results['train-one']?.TrainingJobName)).toEqual(jobs.map((job) => job.TrainingJobName));

    // The history shows the Map and its three iterations; `sluice status` shows the ForEach and its inner steps.
    const events = await history(run.executionArn!);
    expect(events.filter((event) => event.type === 'MapIterationSucceeded')).toHaveLength(3);
    const status = (await getStatus(localTarget(runtime.endpoint))).runs.find((candidate) => candidate.name === run.name)!;
    expect(status.steps.map((step) => [step.name, step.status])).toEqual(
      expect.arrayContaining([
        ['per-sex', 'succeeded'],
        ['prep-one', 'succeeded'],
        ['train-one', 'succeeded'],
        ['compare', 'succeeded'],
      ]),
    );
    // `sluice logs --step train-one`: every item's training job, each its own step.
    const logs = await readRunLogs(localTarget(runtime.endpoint), run.executionArn!, 'train-one');
    expect(logs.jobs.map((job) => job.step).sort()).toEqual(['per-sex-0-train-one', 'per-sex-1-train-one', 'per-sex-2-train-one']);
    expect(logs.lines.filter((line) => /rows=\d/.test(line.message)).map((line) => [line.step, line.message.trim()]).sort()).toEqual([
      ['per-sex-0-train-one', 'rows=3'],
      ['per-sex-1-train-one', 'rows=2'],
      ['per-sex-2-train-one', 'rows=2'],
    ]);
  }, 300_000);

  it('fails the run at the inner step of the item that fails, naming its job, and stops the other items\' jobs', async () => {
    const text = readFileSync(join(SOURCE, 'mlops.yaml'), 'utf8');
    const failing = text.replace('FailSex: { Type: String, Default: none }', 'FailSex: { Type: String, Default: F }').replace('TrainSeconds: { Type: Integer, Default: 2 }', 'TrainSeconds: { Type: Integer, Default: 20 }');
    const commit = await pushDirectory(runtime.endpoint, REPOSITORY, SOURCE, { message: 'F cannot be trained', changes: { 'mlops.yaml': failing } });

    const run = await ended(commit);

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('SageMakerJobFailed');
    const failedJob = jobName('sluice-local', REPOSITORY, 'per-sex-1-train-one', run.executionArn!);
    expect(run.cause).toContain(`training job ${failedJob} failed`);
    expect(run.cause).toContain('no model for sex F');
    const announced = await eventually(runtime, () => runtimeEvents(dataDir).find((event) => event['detail-type'] === 'Model Build Failed' && event.detail.commit === commit), 'Model Build Failed', 60_000);
    expect(announced.detail.step).toBe('train-one');

    // The other items were still training (20 s each) when F failed (after 3 s): the failed run's jobs are stopped.
    const others = await eventually(
      runtime,
      async () => {
        const jobs = await Promise.all([0, 2].map((index) => training(run, index).catch(() => undefined)));
        return jobs.every((job) => job?.TrainingJobStatus === 'Stopped') ? jobs : undefined;
      },
      'the other items\' trainings stopped',
      60_000,
    );
    expect(others.map((job) => job?.TrainingJobStatus)).toEqual(['Stopped', 'Stopped']);
    expect((await training(run, 1)).TrainingJobStatus).toBe('Failed');
  }, 300_000);

  it('redrives a run that failed in one item: the completed items are not trained again, the failed one is', async () => {
    await s3.send(new PutObjectCommand({ Bucket: LOCAL_ARTIFACTS_BUCKET, Key: `${CONTROL}fail-F`, Body: 'fail\n' }));
    // M and I finish (1 s) well before F fails (10 s): the Map fails with two items done.
    const text = readFileSync(join(SOURCE, 'mlops.yaml'), 'utf8')
      .replace('TrainSeconds: { Type: Integer, Default: 2 }', 'TrainSeconds: { Type: Integer, Default: 1 }')
      .replace('FailAfterSeconds: { Type: Integer, Default: 3 }', 'FailAfterSeconds: { Type: Integer, Default: 10 }');
    const commit = await pushDirectory(runtime.endpoint, REPOSITORY, SOURCE, { message: 'quick trainings', changes: { 'mlops.yaml': text } });
    const failed = await ended(commit);
    expect(failed.status).toBe('FAILED');
    expect((await Promise.all(ITEMS.map((_sex, index) => training(failed, index)))).map((job) => job.TrainingJobStatus)).toEqual(['Completed', 'Failed', 'Completed']);

    await s3.send(new DeleteObjectCommand({ Bucket: LOCAL_ARTIFACTS_BUCKET, Key: `${CONTROL}fail-F` }));
    await sfn.send(new RedriveExecutionCommand({ executionArn: failed.executionArn }));
    const redriven = await ended(commit, 240_000, 1);

    expect({ status: redriven.status, cause: redriven.cause }).toEqual({ status: 'SUCCEEDED', cause: undefined });
    const attempt = (index: number, number: number) =>
      sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: jobName('sluice-local', REPOSITORY, `per-sex-${index}-train-one`, failed.executionArn!, number) })).then((job) => job.TrainingJobStatus, () => 'none');
    expect(await Promise.all([attempt(0, 2), attempt(1, 2), attempt(2, 2)])).toEqual(['none', 'Completed', 'none']);
    const output = JSON.parse(redriven.output!) as Record<string, { Results?: Record<string, { TrainingJobName?: string }>[] }>;
    expect(output['per-sex']?.Results?.map((results) => results['train-one']?.TrainingJobName)).toEqual([
      jobName('sluice-local', REPOSITORY, 'per-sex-0-train-one', failed.executionArn!),
      jobName('sluice-local', REPOSITORY, 'per-sex-1-train-one', failed.executionArn!, 2),
      jobName('sluice-local', REPOSITORY, 'per-sex-2-train-one', failed.executionArn!),
    ]);
  }, 300_000);

  it('goes on after the runtime restarts while the items train, without training any item twice', async () => {
    const text = readFileSync(join(SOURCE, 'mlops.yaml'), 'utf8').replace('TrainSeconds: { Type: Integer, Default: 2 }', 'TrainSeconds: { Type: Integer, Default: 8 }');
    const commit = await pushDirectory(runtime.endpoint, REPOSITORY, SOURCE, { message: 'slower trainings', changes: { 'mlops.yaml': text } });
    const started = await eventually(
      runtime,
      async () => {
        const run = (await runs()).find((candidate) => candidate.input?.includes(commit));
        if (!run) return undefined;
        const jobs = await Promise.all(ITEMS.map((_sex, index) => training(run, index).catch(() => undefined)));
        return jobs.every((job) => job?.TrainingJobStatus === 'InProgress') ? run : undefined;
      },
      'the three trainings in progress',
      120_000,
    );

    await runtime.stop();
    runtime = await startRuntime({ dataDir, port: Number(new URL(runtime.endpoint).port) });
    const run = await ended(commit);

    expect({ status: run.status, cause: run.cause }).toEqual({ status: 'SUCCEEDED', cause: undefined });
    expect(run.executionArn).toBe(started.executionArn);
    // Each item's first job completed; the rerun Map made no second attempt (…-train-one-<hash>-2).
    for (const index of ITEMS.keys()) expect((await training(run, index)).TrainingJobStatus).toBe('Completed');
    const second = await Promise.all(
      ITEMS.map((_sex, index) => sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: jobName('sluice-local', REPOSITORY, `per-sex-${index}-train-one`, run.executionArn!, 2) })).then(() => 'exists', () => 'none')),
    );
    expect(second).toEqual(['none', 'none', 'none']);
    const output = JSON.parse(run.output!) as Record<string, { Results?: unknown[] }>;
    expect(output['per-sex']?.Results).toHaveLength(3);
  }, 300_000);
});
