import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateTrainingJobCommand, DescribeTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';

import { createRepository, EXAMPLE_DIR, pushDirectory } from '../../local/seed';
import { repositoryKey } from '../../shared/naming';
import { executionRoleArn } from '../../shared/pipeline/tenancy';
import { awsCliJson } from '../helpers/aws-cli';
import { ROOT } from '../helpers/fixtures';
import { eventually, processesMentioning, type RuntimeProcess, startRuntime } from '../helpers/runtime-process';

/**
 * Issue 11 on the local runtime: a training job's output lines land in CloudWatch Logs where
 * SageMaker puts them (`/aws/sagemaker/TrainingJobs`, stream `<job>/algo-1-<epoch seconds>`), and
 * the AWS CLI (v1) reads them back with describe-log-streams, get-log-events and filter-log-events,
 * and writes its own with create-log-group/create-log-stream/put-log-events.
 */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const BUCKET = 'sluice-local-artifacts';
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/logs-probe:latest';
const ROLE_ARN = executionRoleArn('abalone', { roleArn: 'unused', repositoryRoles: { arnPrefix: 'arn:aws:iam::123456789012:role/sluice-local-job-', repositories: ['abalone'] } });
const GROUP = '/aws/sagemaker/TrainingJobs';
const JOB = 'logs-job';
/** A job that prints, pauses, prints again: what `sluice logs --follow` follows. */
const SLOW_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/logs-slow:latest';
const LINES = ['epoch 1 loss 0.50', 'epoch 2 loss 0.25', 'training done'];
/** Lines on stdout, then (after a pause, so the order is certain) one on stderr. */
const SCRIPT = `${LINES.map((line) => `echo "${line}"`).join('; ')}; sleep 0.3; echo "warning: on stderr" >&2`;

/** A pipeline of two independent Processing steps, each printing its own lines (a pause keeps the run going while it is followed). */
const RUN_REPOSITORY = 'logs-run';
const MLOPS_YAML = `Version: 2
Steps:
  prepare:
    Type: Processing
    AppSpecification: { ImageUri: echo.local/prepare:latest }
    ProcessingResources: { ClusterConfig: { InstanceType: ml.m5.large } }
  report:
    Type: Processing
    AppSpecification: { ImageUri: echo.local/report:latest }
    ProcessingResources: { ClusterConfig: { InstanceType: ml.m5.large } }
Local:
  Images:
    echo.local/prepare:latest:
      Command: [sh, -c, 'echo "prepare line 1"; sleep 2; echo "prepare line 2"']
    echo.local/report:latest:
      Command: [sh, -c, 'echo "report line"']
`;

let dataDir: string;
let runtime: RuntimeProcess;
let sageMaker: SageMakerClient;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-logs-'));
  const images = join(dataDir, 'images.yaml');
  writeFileSync(images, JSON.stringify({ [IMAGE]: { Command: ['sh', '-c', SCRIPT] }, [SLOW_IMAGE]: { Command: ['sh', '-c', 'echo "before the pause"; sleep 2; echo "after the pause"'] } }));
  runtime = await startRuntime({ dataDir: join(dataDir, 'runtime'), images });
  sageMaker = new SageMakerClient({ endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
}, 300_000);

/** `sluice <args>` against the runtime, from the repository root. */
function sluiceCli(args: string[]) {
  return spawnSync(join(ROOT, 'bin', 'sluice'), [...args, '--endpoint', runtime.endpoint], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
}

afterAll(async () => {
  sageMaker?.destroy();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

/** `aws logs <args>` against the runtime. */
async function awsLogs<T>(...args: string[]): Promise<T> {
  return awsCliJson<T>(runtime.endpoint, 'logs', ...args);
}

interface LogStreams {
  logStreams: { logStreamName: string; firstEventTimestamp?: number; lastEventTimestamp?: number }[];
}
interface LogEvents {
  events: { timestamp: number; message: string }[];
  nextForwardToken: string;
}

describe('CloudWatch Logs on the local runtime, through the AWS CLI', () => {
  let stream: string;

  it('names the training job stream <job>/algo-1-<epoch seconds> in /aws/sagemaker/TrainingJobs', async () => {
    const before = Math.floor(Date.now() / 1000);
    await sageMaker.send(
      new CreateTrainingJobCommand({
        TrainingJobName: JOB,
        RoleArn: ROLE_ARN,
        AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File' },
        OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/builds/${repositoryKey('abalone')}/models/` },
        ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
        StoppingCondition: { MaxRuntimeInSeconds: 60 },
      }),
    );
    const job = await eventually(
      runtime,
      async () => {
        const described = await sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: JOB }));
        return ['Completed', 'Failed', 'Stopped'].includes(described.TrainingJobStatus ?? '') ? described : undefined;
      },
      'finished training job',
    );
    expect(job.FailureReason).toBeUndefined();

    const { logStreams } = await awsLogs<LogStreams>('describe-log-streams', '--log-group-name', GROUP);

    expect(logStreams.map((s) => s.logStreamName)).toEqual([expect.stringMatching(new RegExp(`^${JOB}/algo-1-\\d{10}$`))]);
    stream = logStreams[0]!.logStreamName;
    const epoch = Number(stream.split('-').at(-1));
    expect(epoch).toBeGreaterThanOrEqual(before);
    expect(epoch).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
  }, 120_000);

  it("shows the job's lines in order with get-log-events, stderr included", async () => {
    const output = await awsLogs<LogEvents>('get-log-events', '--log-group-name', GROUP, '--log-stream-name', stream, '--start-from-head');

    expect(output.events.map((event) => event.message)).toEqual([...LINES, 'warning: on stderr']);
    expect(output.events.every((event, index) => index === 0 || event.timestamp >= output.events[index - 1]!.timestamp)).toBe(true);
    const after = await awsLogs<LogEvents>('get-log-events', '--log-group-name', GROUP, '--log-stream-name', stream, '--next-token', output.nextForwardToken);
    expect(after.events).toEqual([]);
  }, 30_000);

  it('shows the same lines with `sluice logs <job>`, and says where it looked for a name that never ran', () => {
    const sluice = (args: string[]) => spawnSync(join(ROOT, 'bin', 'sluice'), ['logs', ...args, '--endpoint', runtime.endpoint], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });

    const shown = sluice([JOB, '--json']);
    const missing = sluice(['no-such-job']);

    expect(shown.status).toBe(0);
    expect((JSON.parse(shown.stdout) as { lines: { message: string }[] }).lines.map((line) => line.message)).toEqual([...LINES, 'warning: on stderr']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no log lines for "no-such-job" in /aws/sagemaker/TrainingJobs, /aws/sagemaker/ProcessingJobs, /aws/sagemaker/TransformJobs, /aws/sagemaker/Endpoints/no-such-job');
  }, 60_000);

  it('finds lines by a plain term with filter-log-events, and lists the group with describe-log-groups', async () => {
    const filtered = await awsLogs<{ events: { logStreamName: string; message: string }[] }>('filter-log-events', '--log-group-name', GROUP, '--log-stream-names', stream, '--filter-pattern', 'loss');
    const { logGroups } = await awsLogs<{ logGroups: { logGroupName: string }[] }>('describe-log-groups', '--log-group-name-prefix', '/aws/sagemaker/');

    expect(filtered.events.map((event) => [event.logStreamName, event.message])).toEqual([
      [stream, LINES[0]],
      [stream, LINES[1]],
    ]);
    expect(logGroups.map((group) => group.logGroupName)).toEqual([GROUP]);
  }, 30_000);

  it('takes events written with create-log-group, create-log-stream and put-log-events', async () => {
    await awsLogs('create-log-group', '--log-group-name', 'cli-group');
    await awsLogs('create-log-stream', '--log-group-name', 'cli-group', '--log-stream-name', 'cli-stream');
    await awsLogs('put-log-events', '--log-group-name', 'cli-group', '--log-stream-name', 'cli-stream', '--log-events', `timestamp=${Date.now()},message=hello from the CLI`);

    const output = await awsLogs<LogEvents>('get-log-events', '--log-group-name', 'cli-group', '--log-stream-name', 'cli-stream');

    expect(output.events.map((event) => event.message)).toEqual(['hello from the CLI']);
  }, 30_000);

  it('follows a running job\'s lines with `sluice logs --follow`, and returns when the job ends', async () => {
    await sageMaker.send(
      new CreateTrainingJobCommand({
        TrainingJobName: 'logs-follow',
        RoleArn: ROLE_ARN,
        AlgorithmSpecification: { TrainingImage: SLOW_IMAGE, TrainingInputMode: 'File' },
        OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/builds/${repositoryKey('abalone')}/models/` },
        ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
        StoppingCondition: { MaxRuntimeInSeconds: 60 },
      }),
    );

    const child = spawn(join(ROOT, 'bin', 'sluice'), ['logs', 'logs-follow', '--follow', '--json', '--endpoint', runtime.endpoint], { cwd: ROOT });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    expect(code).toBe(0);
    expect(output.trim().split('\n').map((line) => (JSON.parse(line) as { message: string }).message)).toEqual(['before the pause', 'after the pause']);
    const job = await sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'logs-follow' }));
    expect(job.TrainingJobStatus).toBe('Completed');
  }, 60_000);

  describe('by run and step', () => {
    let run: string;

    it('follows a running build\'s job lines with `sluice logs <run> --follow`, each tagged with its step, until the run ends', async () => {
      const sfn = new SFNClient({ endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
      try {
        await createRepository(runtime.endpoint, RUN_REPOSITORY);
        await pushDirectory(runtime.endpoint, RUN_REPOSITORY, EXAMPLE_DIR, { changes: { 'mlops.yaml': MLOPS_YAML } });
        run = await eventually(
          runtime,
          async () => {
            for (const machine of (await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []) {
              if (!machine.name?.includes(RUN_REPOSITORY)) continue;
              const [execution] = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn }))).executions ?? [];
              if (execution) return `${machine.name}/${execution.name}`;
            }
            return undefined;
          },
          'the pushed build run',
          30_000,
        );
      } finally {
        sfn.destroy();
      }

      const child = spawn(join(ROOT, 'bin', 'sluice'), ['logs', run, '--follow', '--json', '--endpoint', runtime.endpoint], { cwd: ROOT });
      let output = '';
      let errors = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

      expect(code).toBe(0);
      expect(errors).toContain('run SUCCEEDED');
      const lines = output.trim().split('\n').map((line) => JSON.parse(line) as { step: string; message: string });
      expect(lines.filter((line) => line.step === 'prepare').map((line) => line.message)).toEqual(['prepare line 1', 'prepare line 2']);
      expect(lines.filter((line) => line.step === 'report').map((line) => line.message)).toEqual(['report line']);
    }, 120_000);

    it('shows one step\'s lines with `sluice logs <run> --step`, and names the job steps for a step that ran no job', () => {
      const prepare = sluiceCli(['logs', run, '--step', 'prepare', '--json']);
      const text = sluiceCli(['logs', run]);
      const missing = sluiceCli(['logs', run, '--step', 'nope']);

      expect(prepare.status).toBe(0);
      const shown = JSON.parse(prepare.stdout) as { status: string; lines: { step: string; stream: string; message: string }[] };
      expect(shown.status).toBe('SUCCEEDED');
      expect(shown.lines.map((line) => [line.step, line.message])).toEqual([
        ['prepare', 'prepare line 1'],
        ['prepare', 'prepare line 2'],
      ]);
      expect(shown.lines[0]!.stream).toMatch(/^sluice-local--logs-run-prepare-[0-9a-f]{12}\/algo-1-\d{10}$/);
      expect(text.status).toBe(0);
      expect(text.stdout).toMatch(/^report\s+\S+Z {2}report line$/m);
      expect(text.stdout).toMatch(/^prepare\s+\S+Z {2}prepare line 2$/m);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toMatch(/started no job for step "nope": its job steps are (prepare, report|report, prepare)/);
    }, 60_000);

    it('starts a build with `sluice run --wait`, shows its steps as they change on stderr, and answers with the run', () => {
      const result = sluiceCli(['run', RUN_REPOSITORY, '--wait', '--json']);

      expect(result.status).toBe(0);
      const answer = JSON.parse(result.stdout) as { executionArn: string; status: string; steps: { name: string; status: string }[] };
      expect(answer.status).toBe('SUCCEEDED');
      expect(answer.executionArn).toMatch(/:execution:sluice-local-build-logs-run-[0-9a-f]{8}:logs-run-[0-9a-f]{12}-run-[0-9a-f]{12}$/);
      expect(answer.steps).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'prepare', status: 'succeeded' }), expect.objectContaining({ name: 'report', status: 'succeeded' })]));
      expect(result.stderr).toContain('waiting for its run');
      expect(result.stderr).toMatch(/prepare succeeded/);
      expect(result.stderr).toMatch(/SUCCEEDED/);

      const logs = sluiceCli(['logs', answer.executionArn, '--step', 'report', '--json']);
      expect((JSON.parse(logs.stdout) as { lines: { message: string }[] }).lines.map((line) => line.message)).toEqual(['report line']);
    }, 120_000);
  });

  it('leaves no process behind once the runtime stops', async () => {
    await runtime.stop();

    expect(processesMentioning(dataDir)).toEqual([]);
  }, 60_000);
});
