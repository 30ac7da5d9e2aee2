/**
 * `npm run bench`: one JSON object with the function benchmarks of bench/run.mjs (bundle sizes,
 * cold init; run first, on an otherwise idle machine) under `functions`, and the local-runtime
 * benchmarks under `localRuntime`:
 *  - orchestration overhead: a build of bench/noop-model (jobs that do nothing) — execution time
 *    minus the jobs' own time, per state entered;
 *  - job completion → next state: from a job's end time to the state machine entering its next
 *    state (SageMaker event → EventBridge → on-job-state-change → SendTaskSuccess), median;
 *  - 50 concurrent builds (50 repositories pushed at once): all must succeed, each exactly once,
 *    with exactly one model version each — none lost, none duplicated.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  DescribeModelPackageCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  ListModelPackagesCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { DescribeExecutionCommand, ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';

import { LOCAL_REGION } from '../local/context';
import { LOCAL_CREDENTIALS, LocalRuntime, ROOT } from '../local/runtime';
import { createRepository, pushDirectory } from '../local/seed';
import { executionHistory } from '../local/status';
import { jobName } from '../shared/naming';

const NOOP_MODEL = join(ROOT, 'bench', 'noop-model');
const CONCURRENT_BUILDS = Number(process.env.BENCH_CONCURRENT_BUILDS ?? 50);
const JOB_STEPS = [
  { state: 'Preprocess', step: 'preprocess', kind: 'processing' },
  { state: 'Train', step: 'train', kind: 'training' },
  { state: 'Evaluate', step: 'evaluate', kind: 'processing' },
] as const;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  const functionsRun = spawnSync(process.execPath, [join(ROOT, 'bench', 'run.mjs')], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const functions = JSON.parse(functionsRun.stdout) as { ok: boolean };
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const runtime = await LocalRuntime.start({ port: 0, dataDir, log: () => undefined });
  const clientOptions = { endpoint: runtime.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const sfn = new SFNClient({ ...clientOptions, maxAttempts: 10 });
  const sageMaker = new SageMakerClient({ ...clientOptions, maxAttempts: 10 });
  try {
    const machine = ((await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []).find((m) => m.name?.includes('model-build'))!;
    const listAll = async () => {
      const all = [];
      let nextToken: string | undefined;
      do {
        const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn, nextToken, maxResults: 1000 }));
        all.push(...(page.executions ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      return all;
    };
    const waitForEnded = async (count: number, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const all = await listAll();
        if (all.length >= count && all.every((execution) => execution.status !== 'RUNNING')) return all;
        if (Date.now() > deadline) return all;
        await sleep(250);
      }
    };

    // 1. One build of the no-op model: overhead per state and completion → next-state latency.
    await createRepository(runtime.endpoint, 'noop');
    const commit = await pushDirectory(runtime.endpoint, 'noop', NOOP_MODEL, { message: 'noop model' });
    const [single] = await waitForEnded(1, 120_000);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: single!.executionArn }));
    const events = await executionHistory(sfn, single!.executionArn!);
    const statesEntered = events.filter((event) => event.type?.endsWith('StateEntered')).length;
    let jobMs = 0;
    const latencies: number[] = [];
    for (const { state, step, kind } of JOB_STEPS) {
      const name = jobName('noop', step, single!.executionArn!);
      const job =
        kind === 'training'
          ? await sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name })).then((j) => ({ created: j.CreationTime!, ended: j.TrainingEndTime! }))
          : await sageMaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: name })).then((j) => ({ created: j.CreationTime!, ended: j.ProcessingEndTime! }));
      jobMs += job.ended.getTime() - job.created.getTime();
      const exitIndex = events.findIndex((event) => event.type === 'TaskStateExited' && event.stateExitedEventDetails?.name === state);
      const next = events.slice(exitIndex + 1).find((event) => event.type?.endsWith('StateEntered'));
      if (next?.timestamp) latencies.push(next.timestamp.getTime() - job.ended.getTime());
    }
    const executionMs = described.stopDate!.getTime() - described.startDate!.getTime();

    // 2. Concurrent builds: one repository each, all pushed at once.
    const started = performance.now();
    const commits = await Promise.all(
      Array.from({ length: CONCURRENT_BUILDS }, async (_, index) => {
        const repository = `noop-${index}`;
        await createRepository(runtime.endpoint, repository);
        return pushDirectory(runtime.endpoint, repository, NOOP_MODEL, { message: `noop ${index}` });
      }),
    );
    const all = await waitForEnded(CONCURRENT_BUILDS + 1, 15 * 60_000);
    const wallSeconds = (performance.now() - started) / 1000;
    const packages = [];
    let nextToken: string | undefined;
    do {
      const page = await sageMaker.send(new ListModelPackagesCommand({ ModelPackageGroupName: 'sluice-local-noop', MaxResults: 100, NextToken: nextToken }));
      packages.push(...(page.ModelPackageSummaryList ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    const packageCommits: string[] = [];
    for (const summary of packages) {
      const pkg = await sageMaker.send(new DescribeModelPackageCommand({ ModelPackageName: summary.ModelPackageArn }));
      packageCommits.push(pkg.CustomerMetadataProperties?.['sluice:commit'] ?? '');
    }
    const expected = new Set([commit, ...commits]);
    const registeredOnce = [...expected].filter((c) => packageCommits.filter((p) => p === c).length === 1).length;
    const concurrent = {
      builds: CONCURRENT_BUILDS,
      wallSeconds: Math.round(wallSeconds * 10) / 10,
      executions: all.length - 1,
      succeeded: all.filter((execution) => execution.status === 'SUCCEEDED').length - 1,
      notSucceeded: all.filter((execution) => execution.status !== 'SUCCEEDED').map((execution) => `${execution.name}:${execution.status}`),
      lost: [...expected].filter((c) => !packageCommits.includes(c)).length,
      duplicated: packageCommits.length - new Set(packageCommits).size,
    };
    const ok = described.status === 'SUCCEEDED' && concurrent.succeeded === CONCURRENT_BUILDS && concurrent.lost === 0 && concurrent.duplicated === 0 && registeredOnce === expected.size;
    console.log(
      JSON.stringify(
        {
          ok: ok && functions.ok,
          functions,
          localRuntime: {
            ok,
            noopBuild: {
              status: described.status,
              statesEntered,
              executionMs,
              jobMs,
              overheadMsPerState: Math.round(((executionMs - jobMs) / statesEntered) * 10) / 10,
            },
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
