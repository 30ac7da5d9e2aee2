/**
 * `npm run bench`: one JSON object with the function benchmarks of bench/run.mjs (bundle sizes,
 * cold init against each function's client floor; run first, on an otherwise idle machine) under
 * `functions` (BENCH_ONLY=local skips them), and the local-runtime benchmarks under `localRuntime`:
 *  - the fixed build (bench/noop-model, Version 1: 3 no-op jobs, 10 states): execution time minus the
 *    work (the jobs' own time and the Source snapshot task's), per state entered — `cold` is the
 *    runtime's first build (Lambda workers start), `warm` the next commit's;
 *  - a 20-step pipeline of width 5 (bench/noop-wide, Version 2: 4 layers of 5 no-op processing steps):
 *    its wall time against its critical path (the longest job of each layer, summed), and the
 *    orchestration overhead per step of that path;
 *  - a fully cached run: a new commit of bench/noop-wide with the same tree, from the end of its
 *    `git push` (CodeCommit has it) to `Model Build Succeeded`, every step served from the cache and
 *    no SageMaker job started (the git client's own time reported apart);
 *  - job completion → next state: from a job's end time to the state machine entering its next
 *    state (SageMaker event → EventBridge → on-job-state-change → SendTaskSuccess), median;
 *  - issue 12's step types (examples/abalone-segments): the tuning job's wall time against its trials'
 *    (parallelism, with MaxParallelTrainingJobs 2) and how fast a freed slot gets its next trial; the
 *    ForEach's Map wall time against its three trainings (concurrency); the batch transform's time;
 *  - 50 concurrent builds (50 repositories pushed at once): all must succeed, each exactly once,
 *    with exactly one model version each — none lost, none duplicated.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  DescribeHyperParameterTuningJobCommand,
  DescribeModelPackageCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  DescribeTransformJobCommand,
  ListModelPackagesCommand,
  ListProcessingJobsCommand,
  ListTrainingJobsForHyperParameterTuningJobCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { DescribeExecutionCommand, type DescribeExecutionCommandOutput, type ExecutionListItem, ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';

import { LOCAL_REGION } from '../local/context';
import { LOCAL_CREDENTIALS, ROOT } from '../local/context';
import { LocalRuntime } from '../local/runtime';
import { createRepository, pushDirectory, seedExample } from '../local/seed';
import { executionHistory } from '../cli/status';
import { SNAPSHOT_STATE } from '../shared/pipeline/compile';
import { jobName, modelPackageGroupName } from '../shared/naming';

const NOOP_MODEL = join(ROOT, 'bench', 'noop-model');
const NOOP_WIDE = join(ROOT, 'bench', 'noop-wide');
const CONCURRENT_BUILDS = Number(process.env.BENCH_CONCURRENT_BUILDS ?? 50);
/** The fixed build's job steps (a Version 1 file reads as steps of its section names). */
const FIXED_JOB_STEPS = [
  { step: 'Preprocess', kind: 'processing' },
  { step: 'Train', kind: 'training' },
  { step: 'Evaluate', kind: 'processing' },
] as const;
const WIDE_LAYERS = 4;
const WIDE_WIDTH = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const round1 = (ms: number) => Math.round(ms * 10) / 10;

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  // BENCH_ONLY=local skips the function benchmarks (minutes) while working on the runtime.
  const functions =
    process.env.BENCH_ONLY === 'local'
      ? { ok: true, skipped: 'BENCH_ONLY=local' }
      : (JSON.parse(spawnSync(process.execPath, [join(ROOT, 'bench', 'run.mjs')], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout) as { ok: boolean });
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const runtime = await LocalRuntime.start({ port: 0, dataDir, log: () => undefined });
  const clientOptions = { endpoint: runtime.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const sfn = new SFNClient({ ...clientOptions, maxAttempts: 10 });
  const sageMaker = new SageMakerClient({ ...clientOptions, maxAttempts: 10 });
  try {
    /** Every build run: each repository's pipeline is its own state machine (`sluice-local-build-…`). */
    const listAll = async (): Promise<ExecutionListItem[]> => {
      const all: ExecutionListItem[] = [];
      const machines = ((await sfn.send(new ListStateMachinesCommand({ maxResults: 1000 }))).stateMachines ?? []).filter((machine) => machine.name?.startsWith('sluice-local-build-'));
      for (const machine of machines) {
        let nextToken: string | undefined;
        do {
          const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn, nextToken, maxResults: 1000 }));
          all.push(...(page.executions ?? []));
          nextToken = page.nextToken;
        } while (nextToken);
      }
      return all;
    };
    const waitForEnded = async (count: number, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const all = await listAll();
        if (all.length >= count && all.every((execution) => execution.status !== 'RUNNING')) return all;
        if (Date.now() > deadline) return all;
        await sleep(100);
      }
    };
    /** Pushes `dir` to `repository` and waits for the run of that commit to end. */
    const build = async (repository: string, dir: string, message: string, changes?: Record<string, string>) => {
      const pushing = Date.now();
      const commit = await pushDirectory(runtime.endpoint, repository, dir, { message, changes });
      // The push is done when git returns: CodeCommit has the commit and has emitted its event.
      const pushedAt = Date.now();
      const gitPushMs = pushedAt - pushing;
      // The run publishes Model Build Succeeded as its last state: its stop time is when the build was done.
      return { commit, run: await waitForRun(commit), pushedAt, gitPushMs };
    };
    /** The run of `commit` once it has ended. */
    const waitForRun = async (commit: string): Promise<DescribeExecutionCommandOutput> => {
      const deadline = Date.now() + 300_000;
      for (;;) {
        const runs = await Promise.all((await listAll()).map((execution) => sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }))));
        const run = runs.find((candidate) => candidate.input?.includes(commit) && candidate.status !== 'RUNNING');
        if (run) return run;
        if (Date.now() > deadline) throw new Error(`no run of ${commit} ended within 300 s`);
        await sleep(50);
      }
    };
    const jobTimes = async (kind: 'processing' | 'training', name: string) =>
      kind === 'training'
        ? sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name })).then((j) => ({ created: j.CreationTime!, ended: j.TrainingEndTime! }))
        : sageMaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: name })).then((j) => ({ created: j.CreationTime!, ended: j.ProcessingEndTime! }));
    const executionMs = (run: DescribeExecutionCommandOutput) => run.stopDate!.getTime() - run.startDate!.getTime();

    // 1. The fixed build: overhead per state, cold (first build) and warm (the next commit).
    await createRepository(runtime.endpoint, 'noop');
    const latencies: number[] = [];
    /** How long the run's Source snapshot task took (work, like a job's, not orchestration). */
    const snapshotMsOf = (events: Awaited<ReturnType<typeof executionHistory>>) => {
      const entered = events.findIndex((event) => event.type === 'TaskStateEntered' && event.stateEnteredEventDetails?.name === SNAPSHOT_STATE);
      const scheduled = events.slice(entered).find((event) => event.type === 'LambdaFunctionScheduled');
      const succeeded = events.slice(entered).find((event) => event.type === 'LambdaFunctionSucceeded');
      return scheduled?.timestamp && succeeded?.timestamp ? succeeded.timestamp.getTime() - scheduled.timestamp.getTime() : 0;
    };
    const fixed = async (label: string, changes?: Record<string, string>) => {
      const { run } = await build('noop', NOOP_MODEL, label, changes);
      const events = await executionHistory(sfn, run.executionArn!);
      const statesEntered = events.filter((event) => event.type?.endsWith('StateEntered')).length;
      const snapshotMs = snapshotMsOf(events);
      let jobMs = 0;
      for (const { step, kind } of FIXED_JOB_STEPS) {
        const job = await jobTimes(kind, jobName('sluice-local', 'noop', step, run.executionArn!));
        jobMs += job.ended.getTime() - job.created.getTime();
        const exitIndex = events.findIndex((event) => event.type === 'TaskStateExited' && event.stateExitedEventDetails?.name === step);
        const next = events.slice(exitIndex + 1).find((event) => event.type?.endsWith('StateEntered'));
        if (next?.timestamp && label === 'warm') latencies.push(next.timestamp.getTime() - job.ended.getTime());
      }
      return { status: run.status, statesEntered, executionMs: executionMs(run), jobMs, snapshotMs, overheadMsPerState: round1((executionMs(run) - jobMs - snapshotMs) / statesEntered) };
    };
    const fixedCold = await fixed('cold');
    const fixedWarm = await fixed('warm', { 'README.md': 'the next commit\n' });

    // 2. The wide pipeline: wall time against its critical path; `cold` meets Lambda workers that have
    // never run five invocations at once, `warm` is the next commit (a changed file: nothing cached).
    await createRepository(runtime.endpoint, 'wide');
    const widely = async (label: string, changes?: Record<string, string>) => {
      const { run } = await build('wide', NOOP_WIDE, label, changes);
      const layers: number[] = [];
      let allJobsMs = 0;
      for (let layer = 1; layer <= WIDE_LAYERS; layer += 1) {
        const durations = await Promise.all(
          Array.from({ length: WIDE_WIDTH }, async (_, index) => {
            const job = await jobTimes('processing', jobName('sluice-local', 'wide', `l${layer}-s${index + 1}`, run.executionArn!));
            return job.ended.getTime() - job.created.getTime();
          }),
        );
        allJobsMs += durations.reduce((sum, value) => sum + value, 0);
        layers.push(Math.max(...durations));
      }
      const criticalPathJobMs = layers.reduce((sum, value) => sum + value, 0);
      const snapshotMs = snapshotMsOf(await executionHistory(sfn, run.executionArn!));
      // The critical path: the snapshot, then the longest job of each layer.
      const criticalPathMs = snapshotMs + criticalPathJobMs;
      return {
        status: run.status,
        executionMs: executionMs(run),
        snapshotMs,
        criticalPathJobMs,
        allJobsMs,
        wallVsCriticalPath: round1(executionMs(run) / criticalPathMs),
        overheadMsPerCriticalPathStep: round1((executionMs(run) - criticalPathMs) / WIDE_LAYERS),
      };
    };
    const wideCold = await widely('wide pipeline');
    const wideWarm = await widely('wide pipeline, next commit', { 'README.md': 'the next commit\n' });
    const widePipeline = { steps: WIDE_LAYERS * WIDE_WIDTH, width: WIDE_WIDTH, criticalPathSteps: WIDE_LAYERS, cold: wideCold, warm: wideWarm };

    // 3. A fully cached run: a new commit with the same tree.
    const jobsBefore = ((await sageMaker.send(new ListProcessingJobsCommand({ MaxResults: 100 }))).ProcessingJobSummaries ?? []).length;
    const cached = await build('wide', NOOP_WIDE, 'same tree, new commit', { 'README.md': 'the next commit\n' });
    const jobsAfter = ((await sageMaker.send(new ListProcessingJobsCommand({ MaxResults: 100 }))).ProcessingJobSummaries ?? []).length;
    const cachedSteps = Object.values(JSON.parse(cached.run.output ?? '{}') as Record<string, { CachedFrom?: string | null }>).filter((result) => result.CachedFrom).length;
    const cachedRun = {
      status: cached.run.status,
      stepsFromCache: cachedSteps,
      newJobs: jobsAfter - jobsBefore,
      executionMs: executionMs(cached.run),
      gitPushMs: cached.gitPushMs,
      pushedToSucceededMs: cached.run.stopDate!.getTime() - cached.pushedAt,
    };

    // 4. Issue 12's step types, as examples/abalone-segments runs them: a tuning job of 4 trials, 2 at a
    // time; a ForEach of three trainings at once; a batch transform of three files.
    const segments = await seedExample(runtime.endpoint, 'abalone-segments');
    const segmentsRun = await waitForRun(segments.commit!);
    const segmentSteps = JSON.parse(segmentsRun.output ?? '{}') as {
      tune?: { HyperParameterTuningJobName: string };
      'per-sex'?: { Results: { 'train-sex': { TrainingJobName: string } }[] };
      score?: { TransformJobName: string };
    };
    const spanMs = (from?: Date, to?: Date) => (from && to ? to.getTime() - from.getTime() : Number.NaN);
    const tuning = await sageMaker.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: segmentSteps.tune!.HyperParameterTuningJobName }));
    const trials = (await sageMaker.send(new ListTrainingJobsForHyperParameterTuningJobCommand({ HyperParameterTuningJobName: tuning.HyperParameterTuningJobName, MaxResults: 100 }))).TrainingJobSummaries ?? [];
    const trialMs = trials.map((trial) => spanMs(trial.CreationTime, trial.TrainingEndTime));
    // From a trial's end to the next trial's creation: how fast the tuner fills a freed slot.
    const byCreation = [...trials].sort((a, b) => a.CreationTime!.getTime() - b.CreationTime!.getTime());
    const refillMs = byCreation.slice(2).map((trial) => trial.CreationTime!.getTime() - Math.max(...byCreation.filter((other) => other.TrainingEndTime! <= trial.CreationTime!).map((other) => other.TrainingEndTime!.getTime())));
    const tuningWallMs = spanMs(tuning.CreationTime, tuning.HyperParameterTuningEndTime);
    const items = await Promise.all((segmentSteps['per-sex']?.Results ?? []).map((result) => sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: result['train-sex'].TrainingJobName }))));
    const itemMs = items.map((job) => spanMs(job.CreationTime, job.TrainingEndTime));
    const segmentsHistory = await executionHistory(sfn, segmentsRun.executionArn!);
    const mapEntered = segmentsHistory.find((event) => event.type === 'MapStateEntered')?.timestamp;
    const mapExited = segmentsHistory.find((event) => event.type === 'MapStateExited')?.timestamp;
    const transform = await sageMaker.send(new DescribeTransformJobCommand({ TransformJobName: segmentSteps.score!.TransformJobName }));
    const stepTypes = {
      status: segmentsRun.status,
      executionMs: executionMs(segmentsRun),
      tuning: {
        trials: trials.length,
        maxParallel: tuning.HyperParameterTuningJobConfig?.ResourceLimits?.MaxParallelTrainingJobs,
        wallMs: tuningWallMs,
        trialsSumMs: trialMs.reduce((sum, value) => sum + value, 0),
        parallelism: round1(trialMs.reduce((sum, value) => sum + value, 0) / tuningWallMs),
        slotRefillMs: { median: median(refillMs), samples: refillMs },
      },
      forEach: {
        items: items.length,
        mapWallMs: spanMs(mapEntered, mapExited),
        longestItemMs: Math.max(...itemMs),
        itemsSumMs: itemMs.reduce((sum, value) => sum + value, 0),
        concurrency: round1(itemMs.reduce((sum, value) => sum + value, 0) / spanMs(mapEntered, mapExited)),
      },
      transform: { wallMs: spanMs(transform.CreationTime, transform.TransformEndTime), status: transform.TransformJobStatus },
    };

    // 5. Concurrent builds: one repository each, all pushed at once.
    const before = (await listAll()).length;
    const started = performance.now();
    // Each repository registers into a group of its own (a repository never reaches another's: shared/pipeline/tenancy.ts).
    const noopMlops = readFileSync(join(NOOP_MODEL, 'mlops.yaml'), 'utf8');
    const commits = await Promise.all(
      Array.from({ length: CONCURRENT_BUILDS }, async (_, index) => {
        const repository = `noop-${index}`;
        await createRepository(runtime.endpoint, repository);
        const changes = { 'mlops.yaml': noopMlops.replace(/^(\s*ModelPackageGroupName:) noop$/m, `$1 ${repository}`) };
        return pushDirectory(runtime.endpoint, repository, NOOP_MODEL, { message: `noop ${index}`, changes });
      }),
    );
    const all = await waitForEnded(before + CONCURRENT_BUILDS, 15 * 60_000);
    const wallSeconds = (performance.now() - started) / 1000;
    const concurrentRuns = await Promise.all(all.map((execution) => sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }))));
    const ofConcurrent = concurrentRuns.filter((run) => commits.some((commit) => run.input?.includes(commit)));
    const packages = [];
    for (let index = 0; index < CONCURRENT_BUILDS; index += 1) {
      const page = await sageMaker.send(new ListModelPackagesCommand({ ModelPackageGroupName: modelPackageGroupName('sluice-local', `noop-${index}`), MaxResults: 100 }));
      packages.push(...(page.ModelPackageSummaryList ?? []));
    }
    const packageCommits: string[] = [];
    for (const summary of packages) {
      const pkg = await sageMaker.send(new DescribeModelPackageCommand({ ModelPackageName: summary.ModelPackageArn }));
      packageCommits.push(pkg.CustomerMetadataProperties?.['sluice:commit'] ?? '');
    }
    const concurrent = {
      builds: CONCURRENT_BUILDS,
      wallSeconds: Math.round(wallSeconds * 10) / 10,
      executions: ofConcurrent.length,
      succeeded: ofConcurrent.filter((run) => run.status === 'SUCCEEDED').length,
      notSucceeded: ofConcurrent.filter((run) => run.status !== 'SUCCEEDED').map((run) => `${run.name}: ${run.status} ${run.error ?? ''} ${run.cause?.slice(0, 300) ?? ''}`.trim()),
      lost: commits.filter((commit) => !packageCommits.includes(commit)).length,
      duplicated: packageCommits.length - new Set(packageCommits).size,
    };
    const ok =
      fixedCold.status === 'SUCCEEDED' &&
      fixedWarm.status === 'SUCCEEDED' &&
      wideCold.status === 'SUCCEEDED' &&
      wideWarm.status === 'SUCCEEDED' &&
      cachedRun.status === 'SUCCEEDED' &&
      cachedRun.stepsFromCache === widePipeline.steps &&
      cachedRun.newJobs === 0 &&
      stepTypes.status === 'SUCCEEDED' &&
      concurrent.succeeded === CONCURRENT_BUILDS &&
      concurrent.lost === 0 &&
      concurrent.duplicated === 0;
    console.log(
      JSON.stringify(
        {
          ok: ok && functions.ok,
          functions,
          localRuntime: {
            ok,
            fixedBuild: { cold: fixedCold, warm: fixedWarm },
            widePipeline,
            cachedRun,
            stepTypes,
            jobCompletionToNextStateMs: { median: median(latencies), samples: latencies },
            concurrentBuilds: concurrent,
          },
        },
        null,
        2,
      ),
    );
    process.exitCode = ok && functions.ok ? 0 : 1;
  } finally {
    sfn.destroy();
    sageMaker.destroy();
    await runtime.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error((error as Error).stack ?? String(error));
  process.exit(1);
});
