import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand, DescribeTrainingJobCommand, ListModelPackagesCommand, ListProcessingJobsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DescribeExecutionCommand, type ExecutionListItem, ListExecutionsCommand, ListStateMachinesCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';

import { RESTART_MESSAGE } from '../../local/sagemaker/jobs';
import { cloneUrl, EXAMPLE_DIR, git, pushDirectory, seedExample } from '../../local/seed';
import { awsCli, awsCliJson } from '../helpers/aws-cli';
import { ROOT } from '../helpers/fixtures';
import { processesMentioning, type RuntimeProcess, runtimeEvents, startRuntime } from '../helpers/runtime-process';

/**
 * The whole build loop on the local runtime, as a user drives it: `sluice up` in a child process,
 * real git pushes, and only public AWS APIs to look at the result.
 */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const EXAMPLE_MLOPS = readFileSync(join(EXAMPLE_DIR, 'mlops.yaml'), 'utf8');

let dataDir: string;
let runtime: RuntimeProcess;
let sfn: SFNClient;
let sageMaker: SageMakerClient;
let s3: S3Client;

function connect(endpoint: string): void {
  sfn = new SFNClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  sageMaker = new SageMakerClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  s3 = new S3Client({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, forcePathStyle: true });
}

function disconnect(): void {
  sfn?.destroy();
  sageMaker?.destroy();
  s3?.destroy();
}

/** Every build run: each repository's pipeline is its own state machine (`sluice-local-build-…`), plus the rejected-build one. */
async function executions(): Promise<ExecutionListItem[]> {
  const machines = ((await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []).filter((machine) => machine.name?.startsWith('sluice-local-build-'));
  const runs = await Promise.all(machines.map(async (machine) => (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn }))).executions ?? []));
  return runs.flat();
}

/** Waits until the execution started for `commit` has ended; returns its description. */
async function finishedRun(commit: string, timeoutMs = 240_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const execution of await executions()) {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
      if (described.input?.includes(commit) && described.status !== 'RUNNING') return described;
    }
    if (Date.now() > deadline) throw new Error(`no finished execution for ${commit} after ${timeoutMs} ms:\n${runtime.output().slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Lines the source-push function logged for a commit (one per event it handled). */
function sourcePushLogLines(commit: string): string[] {
  const logs = join(dataDir, 'lambda', 'logs');
  const file = existsSync(logs) ? readdirSync(logs).find((name) => name.includes('onSourcePush')) : undefined;
  if (!file) return [];
  return readFileSync(join(logs, file), 'utf8')
    .split('\n')
    .filter((line) => line.includes('source push handled') && line.includes(commit));
}

async function readS3Json(uri: string): Promise<unknown> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new Error(`not an s3 uri: ${uri}`);
  const object = await s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
  return JSON.parse(await object.Body!.transformToString()) as unknown;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-'));
  runtime = await startRuntime({ dataDir });
  connect(runtime.endpoint);
}, 300_000);

afterAll(async () => {
  disconnect();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('S3 as the AWS CLI lists it', () => {
  const BUCKET = 'sluice-local-artifacts';
  const KEYS = ['datasets/aws-cli-ls/v1/train.csv', 'datasets/aws-cli-ls/v1/test.csv', 'builds/aws-cli-ls/run-1/model.tar.gz'];

  beforeAll(async () => {
    await Promise.all(KEYS.map((Key) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'x' }))));
  });

  it('aws s3 ls s3://<bucket>/ shows a PRE line for each top-level prefix, however deep its keys', async () => {
    const lines = (await awsCli(runtime.endpoint, ['s3', 'ls', `s3://${BUCKET}/`])).split('\n').map((line) => line.trim());

    expect(lines).toEqual(expect.arrayContaining(['PRE builds/', 'PRE datasets/']));
  });

  it('aws s3 ls s3://<bucket>/<prefix>/ shows the prefixes below it, and --recursive every key', async () => {
    const below = (await awsCli(runtime.endpoint, ['s3', 'ls', `s3://${BUCKET}/datasets/`])).split('\n').map((line) => line.trim());
    const everything = await awsCli(runtime.endpoint, ['s3', 'ls', '--recursive', `s3://${BUCKET}/`]);

    expect(below).toContain('PRE aws-cli-ls/');
    for (const key of KEYS) expect(everything).toContain(key);
  });
});

describe('EventBridge TestEventPattern as the AWS CLI calls it', () => {
  const EVENT = JSON.stringify({
    version: '0',
    id: 'a0f2e36b-8e0d-4c3a-9d47-1d2a6d6d4c3e',
    'detail-type': 'SageMaker Model Package State Change',
    source: 'aws.sagemaker',
    account: '123456789012',
    time: '2026-12-04T12:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: { ModelPackageGroupName: 'sluice-local--abalone', ModelApprovalStatus: 'Approved' },
  });
  const testPattern = async (pattern: unknown, event = EVENT) =>
    JSON.parse(await awsCli(runtime.endpoint, ['events', 'test-event-pattern', '--event-pattern', JSON.stringify(pattern), '--event', event])) as unknown;

  it('answers {"Result": true} and {"Result": false} with the runtime\'s matcher', async () => {
    await expect(testPattern({ source: ['aws.sagemaker'], detail: { ModelApprovalStatus: [{ 'equals-ignore-case': 'APPROVED' }] } })).resolves.toEqual({ Result: true });
    await expect(testPattern({ source: ['aws.sagemaker'], detail: { ModelApprovalStatus: ['Rejected'] } })).resolves.toEqual({ Result: false });
  });

  it('fails with InvalidEventPatternException for a bad pattern and ValidationException for a bad event', async () => {
    await expect(testPattern({ detail: { ModelApprovalStatus: [{ prefix: 5 }] } })).rejects.toThrow(/InvalidEventPatternException.*Event pattern is not valid/);
    await expect(testPattern({ source: ['aws.sagemaker'] }, JSON.stringify({ source: 'aws.sagemaker' }))).rejects.toThrow(/ValidationException.*Parameter Event is not valid/);
  });
});

describe('the build loop on the local runtime', () => {
  let firstCommit: string;

  it('builds, evaluates and registers the abalone example pushed with git', async () => {
    const seeded = await seedExample(runtime.endpoint);
    firstCommit = seeded.commit!;

    const run = await finishedRun(firstCommit);

    expect(run.status).toBe('SUCCEEDED');
    expect(await executions()).toHaveLength(1);
    const packages = (await sageMaker.send(new ListModelPackagesCommand({ ModelPackageGroupName: 'sluice-local--abalone' }))).ModelPackageSummaryList ?? [];
    expect(packages).toHaveLength(1);
    const described = await sageMaker.send(new DescribeModelPackageCommand({ ModelPackageName: packages[0]!.ModelPackageArn }));
    expect(described.ModelApprovalStatus).toBe('PendingManualApproval');
    const report = (await readS3Json(described.ModelMetrics!.ModelQuality!.Statistics!.S3Uri!)) as { regression_metrics: { mse: { value: number } } };
    expect(report.regression_metrics.mse.value).toBeLessThanOrEqual(6.0);
    expect(report.regression_metrics.mse.value).toBeGreaterThan(0);
  }, 300_000);

  it('answers `sluice status --json` and `sluice lineage` from any folder with only AWS_ENDPOINT_URL set', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'sluice-e2e-cwd-'));
    try {
      const result = spawnSync(join(ROOT, 'bin', 'sluice'), ['status', '--json'], {
        cwd: elsewhere,
        env: { PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`, AWS_ENDPOINT_URL: runtime.endpoint },
        encoding: 'utf8',
        timeout: 60_000,
      });

      expect(result.stderr).toBe('');
      const status = JSON.parse(result.stdout) as { runs: { status: string; steps: { status: string; durationSeconds?: number }[] }[]; modelVersions: { group: string }[] };
      const succeeded = status.runs.find((run) => run.status === 'SUCCEEDED');
      expect(succeeded?.steps.length).toBeGreaterThan(3);
      for (const step of succeeded!.steps) expect(step).toMatchObject({ status: 'succeeded', durationSeconds: expect.any(Number) });
      expect(status.modelVersions.map((version) => version.group)).toContain('sluice-local--abalone');

      const lineage = spawnSync(join(ROOT, 'bin', 'sluice'), ['lineage', 'sluice-local--abalone/1', '--json'], {
        cwd: elsewhere,
        env: { PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`, AWS_ENDPOINT_URL: runtime.endpoint },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(lineage.stderr).toBe('');
      expect(JSON.parse(lineage.stdout)).toMatchObject({
        version: 'sluice-local--abalone/1',
        repository: 'abalone',
        commit: firstCommit,
        run: { status: 'SUCCEEDED' },
        trainingJob: expect.stringMatching(/^sluice-local--abalone-train-[0-9a-f]{12}$/),
        endpoints: [],
      });
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  }, 90_000);

  it("puts the source-push function's output in CloudWatch Logs, /aws/lambda/<name>, streams named as Lambda names them", async () => {
    const { logGroups } = await awsCliJson<{ logGroups: { logGroupName: string }[] }>(runtime.endpoint, 'logs', 'describe-log-groups', '--log-group-name-prefix', '/aws/lambda/');
    const group = logGroups.map((g) => g.logGroupName).find((name) => name.includes('onSourcePush'));
    expect(group).toBeDefined();

    const { logStreams } = await awsCliJson<{ logStreams: { logStreamName: string }[] }>(runtime.endpoint, 'logs', 'describe-log-streams', '--log-group-name', group!);
    const found = await awsCliJson<{ events: { message: string }[] }>(runtime.endpoint, 'logs', 'filter-log-events', '--log-group-name', group!, '--filter-pattern', `"source push handled" ${firstCommit}`);

    expect(logStreams.map((stream) => stream.logStreamName)).toEqual(expect.arrayContaining([expect.stringMatching(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/)]));
    expect(found.events.length).toBeGreaterThan(0);
    expect(found.events.map((event) => event.message)).toEqual(sourcePushLogLines(firstCommit));
  }, 30_000);

  it('starts nothing when the same commit is pushed again', async () => {
    const work = mkdtempSync(join(tmpdir(), 'sluice-repush-'));
    try {
      await git(work, ['init', '-q']);
      await git(work, ['fetch', '-q', cloneUrl(runtime.endpoint, 'abalone'), 'main']);
      // Delete main and push the very same commit again: CodeCommit emits referenceCreated anew.
      await git(work, ['push', '-q', cloneUrl(runtime.endpoint, 'abalone'), ':refs/heads/main']);
      await git(work, ['push', '-q', cloneUrl(runtime.endpoint, 'abalone'), `${firstCommit}:refs/heads/main`]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    const deadline = Date.now() + 60_000;
    while (sourcePushLogLines(firstCommit).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));

    expect(sourcePushLogLines(firstCommit)).toHaveLength(2);
    expect(sourcePushLogLines(firstCommit)[1]).toContain('already-started');
    expect(await executions()).toHaveLength(1);
  }, 120_000);

  it('fails an invalid mlops.yaml at once, a gate that cannot pass, and a crashing training script', async () => {
    const invalid = await pushDirectory(runtime.endpoint, 'abalone', EXAMPLE_DIR, {
      message: 'Invalid operator',
      changes: { 'mlops.yaml': EXAMPLE_MLOPS.replace(/Operator: '<='/, "Operator: '=<'") },
    });
    const strictGate = await pushDirectory(runtime.endpoint, 'abalone', EXAMPLE_DIR, {
      message: 'Unreachable gate',
      changes: { 'mlops.yaml': EXAMPLE_MLOPS.replace(/Threshold: 6\.0/, 'Threshold: 0.01') },
    });
    const crashing = await pushDirectory(runtime.endpoint, 'abalone', EXAMPLE_DIR, {
      message: 'Broken training',
      changes: { 'train.js': "throw new Error('boom: the training data is corrupt');\n" },
    });

    const invalidRun = await finishedRun(invalid);
    const gateRun = await finishedRun(strictGate);
    const crashRun = await finishedRun(crashing);

    expect(invalidRun.status).toBe('FAILED');
    expect(invalidRun.error).toBe('InvalidConfig');
    expect(invalidRun.cause).toContain('mlops.yaml');
    expect(invalidRun.cause).toContain('QualityGate.Operator');
    const jobs = (await sageMaker.send(new ListProcessingJobsCommand({ MaxResults: 100 }))).ProcessingJobSummaries ?? [];
    expect(jobs.filter((job) => job.ProcessingJobName?.includes(invalid.slice(0, 7)))).toHaveLength(0);
    expect(gateRun.status).toBe('FAILED');
    expect(gateRun.error).toBe('QualityGateFailed');
    expect(gateRun.cause).toMatch(/regression_metrics\.mse\.value.*<=.*0\.01/);
    expect(crashRun.status).toBe('FAILED');
    expect(crashRun.error).toBe('SageMakerJobFailed');
    expect(crashRun.cause).toContain('boom: the training data is corrupt');
  }, 600_000);

  it('continues a build that was running when the runtime stopped: after the restart its training job runs again, the run still RUNNING', async () => {
    const trainingsInProgress = () => runtimeEvents(dataDir).filter((event) => event['detail-type'] === 'SageMaker Training Job State Change' && event.detail.TrainingJobStatus === 'InProgress').length;
    const before = trainingsInProgress();
    const slow = await pushDirectory(runtime.endpoint, 'abalone', EXAMPLE_DIR, {
      message: 'Slow training',
      changes: { 'train.js': 'setTimeout(() => undefined, 600_000);\nmodule.exports = { main: () => new Promise(() => undefined), trainingPaths: () => ({}) };\n' },
    });
    const deadline = Date.now() + 120_000;
    const trainingStarted = () => trainingsInProgress() > before;
    while (!trainingStarted() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(trainingStarted()).toBe(true);
    disconnect();

    const trainingJobName = String(runtimeEvents(dataDir).findLast((event) => event['detail-type'] === 'SageMaker Training Job State Change' && event.detail.TrainingJobStatus === 'InProgress')!.detail.TrainingJobName);

    expect(await runtime.stop()).toBe(0);
    runtime = await startRuntime({ dataDir });
    connect(runtime.endpoint);
    const job = await sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: trainingJobName }));
    const running = (await executions()).find((execution) => execution.name?.includes(slow));

    expect(job.TrainingJobStatus).toBe('InProgress');
    expect(job.SecondaryStatusTransitions?.map((transition) => transition.StatusMessage)).toContain(RESTART_MESSAGE);
    expect(running?.status).toBe('RUNNING');
    // Stopped by hand, the run stops its job too: nothing is left running for the tests after this one.
    await sfn.send(new StopExecutionCommand({ executionArn: running!.executionArn, error: 'Stopped', cause: 'the test is done with it' }));
    expect((await finishedRun(slow, 60_000)).status).toBe('ABORTED');
  }, 300_000);

  it('keeps repositories, runs and model versions across a restart and leaves no process behind', async () => {
    const before = (await executions()).map((execution) => `${execution.name}:${execution.status}`).sort();
    disconnect();

    expect(await runtime.stop()).toBe(0);
    expect(processesMentioning(dataDir)).toEqual([]);

    runtime = await startRuntime({ dataDir });
    connect(runtime.endpoint);
    const after = (await executions()).map((execution) => `${execution.name}:${execution.status}`).sort();
    expect(after).toEqual(before);
    const packages = (await sageMaker.send(new ListModelPackagesCommand({ ModelPackageGroupName: 'sluice-local--abalone' }))).ModelPackageSummaryList ?? [];
    expect(packages).toHaveLength(1);
    const work = mkdtempSync(join(tmpdir(), 'sluice-clone-'));
    try {
      await git(work, ['clone', '-q', cloneUrl(runtime.endpoint, 'abalone'), 'abalone']);
      expect(existsSync(join(work, 'abalone', 'mlops.yaml'))).toBe(true);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    disconnect();
    expect(await runtime.stop()).toBe(0);
    expect(processesMentioning(dataDir)).toEqual([]);
    expect(processesMentioning(ROOT).filter((line) => line.includes('bootstrap.cjs') || line.includes(' up --port'))).toEqual([]);
  }, 300_000);
});
