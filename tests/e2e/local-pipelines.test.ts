import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DescribeTrainingJobCommand, ListProcessingJobsCommand, ListTrainingJobsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { type DescribeExecutionCommandOutput, SFNClient } from '@aws-sdk/client-sfn';

import { createRepository, exampleDir, pushDirectory, uploadExampleData } from '../../local/seed';
import { executionHistory, getStatus } from '../../cli/status';
import { localTarget } from '../../cli/target';
import { jobName } from '../../shared/naming';
import { ROOT } from '../helpers/fixtures';
import { eventually, type RuntimeProcess, runtimeEvents, runsOfMachines, startRuntime } from '../helpers/runtime-process';

/**
 * A Version 2 pipeline on the local runtime (examples/abalone-age: split → two trainings at the same
 * time → evaluate → a Condition with a Fail branch → a Condition choosing which model to register),
 * driven as a user would: a push before the data is there fails at its first step; after the upload,
 * `sluice retry` (RedriveExecution) of that very run succeeds; a new commit with an unchanged tree is served from the
 * cache without a single SageMaker job; a run started by hand (`sluice run --from-step`) from a later step reuses the earlier
 * steps' results.
 */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const REPOSITORY = 'abalone-age';
const TRAININGS = ['train-xgboost', 'train-logistic'];
const JOB_STEPS = ['split', ...TRAININGS, 'evaluate'];

let dataDir: string;
let runtime: RuntimeProcess;
let sfn: SFNClient;
let sageMaker: SageMakerClient;

/** Every run of the repository's pipeline (its own state machine, `sluice-local-build-abalone-age-…`). */
function runs(): Promise<DescribeExecutionCommandOutput[]> {
  return runsOfMachines(sfn, (name) => name.startsWith(`sluice-local-build-${REPOSITORY}-`));
}

/** Waits until the run matching `match` has ended (or, after a redrive, ended again). */
async function ended(match: (run: DescribeExecutionCommandOutput) => boolean, timeoutMs = 240_000): Promise<DescribeExecutionCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = (await runs()).find(match);
    if (run && run.status !== 'RUNNING') return run;
    if (Date.now() > deadline) throw new Error(`no matching run ended after ${timeoutMs} ms:\n${runtime.output().slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Waits for an event the runtime delivered (Model Build Failed follows the run's end by one Lambda call). */
function delivered(match: (event: ReturnType<typeof runtimeEvents>[number]) => boolean, timeoutMs = 30_000) {
  return eventually(runtime, () => runtimeEvents(dataDir).find(match), 'matching event', timeoutMs);
}

/** Runs the `sluice` command against the runtime, as a user would; returns what it printed. */
function sluice(args: string[]): string {
  const result = spawnSync(join(ROOT, 'bin', 'sluice'), [...args, '--endpoint', runtime.endpoint], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`sluice ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

const ofCommit = (commit: string) => (run: DescribeExecutionCommandOutput) => run.input?.includes(commit) === true;

async function jobCounts(): Promise<number> {
  const training = (await sageMaker.send(new ListTrainingJobsCommand({ MaxResults: 100 }))).TrainingJobSummaries ?? [];
  const processing = (await sageMaker.send(new ListProcessingJobsCommand({ MaxResults: 100 }))).ProcessingJobSummaries ?? [];
  return training.length + processing.length;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-pipelines-'));
  runtime = await startRuntime({ dataDir });
  const options = { endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS };
  sfn = new SFNClient(options);
  sageMaker = new SageMakerClient(options);
}, 300_000);

afterAll(async () => {
  sfn?.destroy();
  sageMaker?.destroy();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('a Version 2 pipeline on the local runtime', () => {
  let firstCommit: string;
  let firstRun: DescribeExecutionCommandOutput;

  it('fails at its first step while the dataset is missing, naming the step', async () => {
    await createRepository(runtime.endpoint, REPOSITORY);
    firstCommit = await pushDirectory(runtime.endpoint, REPOSITORY, exampleDir(REPOSITORY), { message: 'abalone-age before its data' });

    firstRun = await ended(ofCommit(firstCommit));

    expect(firstRun.status).toBe('FAILED');
    expect(firstRun.error).toBe('SageMakerJobFailed');
    const failed = await delivered((event) => event['detail-type'] === 'Model Build Failed' && event.detail.commit === firstCommit);
    expect(failed.detail.step).toBe('split');
  }, 300_000);

  it('succeeds when the same execution is redriven after the upload, running its two trainings at the same time', async () => {
    await uploadExampleData(runtime.endpoint, REPOSITORY);

    // As a user retries it: `sluice retry <state machine>/<execution>`, the run as `sluice status` shows it.
    const machine = firstRun.stateMachineArn!.split(':').at(-1)!;
    expect(sluice(['retry', `${machine}/${firstRun.name!}`])).toContain(`Retrying ${firstRun.executionArn!} from its failed step (redrive 1)`);
    const redriven = await ended((run) => run.executionArn === firstRun.executionArn && (run.redriveCount ?? 0) === 1);

    expect(redriven.status).toBe('SUCCEEDED');
    expect((await runs()).filter(ofCommit(firstCommit))).toHaveLength(1);
    const jobs = await Promise.all(TRAININGS.map((step) => sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: jobName('sluice-local', REPOSITORY, step, firstRun.executionArn!) }))));
    expect(jobs.map((job) => job.TrainingJobStatus)).toEqual(['Completed', 'Completed']);
    // At the same time: the run entered both training steps before it left either. (Whether the two
    // jobs' processes overlap too depends on how fast the example trains under the machine's load.)
    const history = await executionHistory(sfn, firstRun.executionArn!);
    const entered = TRAININGS.map((step) => history.findLastIndex((event) => event.type === 'TaskStateEntered' && event.stateEnteredEventDetails?.name === step));
    const firstExit = history.findIndex((event) => event.type === 'TaskStateExited' && TRAININGS.includes(event.stateExitedEventDetails?.name ?? ''));
    expect(Math.min(...entered)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...entered)).toBeLessThan(firstExit);
    const registered = await delivered((event) => event['detail-type'] === 'Model Package Registered' && event.detail.commit === firstCommit);
    expect(registered.detail.modelPackageGroupName).toBe('sluice-local--abalone-age');
    // The first failure was announced once (recorded per run and redrive), and the redrive that succeeded not at all.
    expect(runtimeEvents(dataDir).filter((event) => event['detail-type'] === 'Model Build Failed' && event.detail.commit === firstCommit)).toHaveLength(1);
  }, 300_000);

  it('serves every step of a new commit with an unchanged tree from the cache, starting no SageMaker job', async () => {
    const jobsBefore = await jobCounts();

    const commit = await pushDirectory(runtime.endpoint, REPOSITORY, exampleDir(REPOSITORY), { message: 'same tree, new commit' });
    const run = await ended(ofCommit(commit));

    expect(run.status).toBe('SUCCEEDED');
    expect(await jobCounts()).toBe(jobsBefore);
    const status = (await getStatus(localTarget(runtime.endpoint))).runs.find((candidate) => candidate.name === run.name)!;
    const cached = status.steps.filter((step) => step.cachedFrom === firstRun.executionArn).map((step) => step.name);
    expect(cached).toEqual(expect.arrayContaining(JOB_STEPS));
  }, 300_000);

  it('runs from a chosen step on, reusing the earlier steps of a previous run', async () => {
    const jobsBefore = await jobCounts();

    expect(sluice(['run', REPOSITORY, '--commit', firstCommit, '--from-step', 'evaluate', '--source', firstRun.executionArn!, '--param', 'MinAccuracy=0.5'])).toMatch(
      new RegExp(`^Build requested for ${REPOSITORY}@${firstCommit} \\(request [0-9a-f-]{36}\\)`),
    );
    const run = await ended((candidate) => candidate.name?.includes('-run-') === true && ofCommit(firstCommit)(candidate));

    expect(run.status).toBe('SUCCEEDED');
    const status = (await getStatus(localTarget(runtime.endpoint))).runs.find((candidate) => candidate.name === run.name)!;
    expect(status.steps.filter((step) => step.reusedFrom === firstRun.executionArn).map((step) => step.name)).toEqual(expect.arrayContaining(['split', ...TRAININGS]));
    expect(JSON.parse(run.input!).parameters.MinAccuracy).toBe(0.5);
    // evaluate runs again as a step, and its unchanged inputs find the first run's result in the cache: no job at all.
    expect(status.steps.find((step) => step.name === 'evaluate')?.cachedFrom).toBe(firstRun.executionArn);
    expect(await jobCounts()).toBe(jobsBefore);
  }, 300_000);
});
