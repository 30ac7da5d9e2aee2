import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateProcessingJobCommand,
  CreateTrainingJobCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  type DescribeTrainingJobCommandOutput,
  SageMakerClient,
  StopTrainingJobCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';

import { RESTART_MESSAGE } from '../../local/sagemaker/jobs';
import { bubblewrapSandbox } from '../../local/sagemaker/sandbox';
import { ROOT } from '../helpers/fixtures';
import { processesMentioning, type RuntimeProcess, startRuntime, waitUntil } from '../helpers/runtime-process';

/**
 * Jobs and endpoints in the runtime's bubblewrap sandbox, with a bring-your-own container
 * (tests/fixtures/byo-container/container.py) that opens SageMaker's literal /opt/ml paths: it
 * trains, processes and serves; nothing lands on the host's /opt/ml or in the runtime's data;
 * EnableNetworkIsolation takes its network away.
 */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/byo-container:latest';
const ROLE = 'arn:aws:iam::123456789012:role/sluice-sandbox-test';
const BUCKET = 'sandbox-test';
const CONTAINER = join(ROOT, 'tests', 'fixtures', 'byo-container', 'container.py');

/** Whether bwrap can build a sandbox here, probed like the runtime does; why not otherwise. */
function bubblewrapUnusable(): string | undefined {
  const scratch = mkdtempSync(join(tmpdir(), 'sluice-sandbox-check-'));
  try {
    const [file, ...args] = bubblewrapSandbox({ hide: [] }).launch({ command: ['true'], env: {}, cwd: scratch, mlDirectory: scratch, networkIsolation: true }).command;
    const result = spawnSync(file!, args, { encoding: 'utf8', timeout: 10_000 });
    if (result.error) return result.error.message;
    return result.status === 0 ? undefined : result.stderr.trim() || `exit ${result.status}`;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The host's /opt/ml as a comparable snapshot (absent, or its entries with their mtimes). */
function hostOptMl(): string {
  if (!existsSync('/opt/ml')) return 'absent';
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = statSync(path);
    return [`${path} ${stat.mtimeMs}`, ...(stat.isDirectory() ? walk(path) : [])];
  });
  return [`/opt/ml ${statSync('/opt/ml').mtimeMs}`, ...walk('/opt/ml')].join('\n');
}

const unusable = bubblewrapUnusable();
if (unusable) process.stderr.write(`local-sandbox: skipped, bubblewrap cannot build a sandbox here (${unusable}); the runtime falls back to path rewriting\n`);
const describeSandboxed = unusable ? describe.skip : describe;

let dataDir: string;
let runtime: RuntimeProcess;
let sageMaker: SageMakerClient;
let invoker: SageMakerRuntimeClient;
let s3: S3Client;
let optMlBefore: string;
let imagesFile: string;

function connect(endpoint: string): void {
  sageMaker = new SageMakerClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  invoker = new SageMakerRuntimeClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
  s3 = new S3Client({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, forcePathStyle: true });
}

function disconnect(): void {
  sageMaker?.destroy();
  invoker?.destroy();
  s3?.destroy();
}

beforeAll(async () => {
  if (unusable) return;
  optMlBefore = hostOptMl();
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-sandbox-'));
  imagesFile = join(dataDir, 'images.yaml');
  writeFileSync(imagesFile, JSON.stringify({ [IMAGE]: { Command: ['python3', CONTAINER] } }));
  runtime = await startRuntime({ dataDir: join(dataDir, 'runtime'), images: imagesFile });
  connect(runtime.endpoint);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'train/part-1.csv', Body: '1,2\n3\n' }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'train/part-2.csv', Body: '4\n' }));
}, 300_000);

afterAll(async () => {
  disconnect();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

async function startTraining(name: string, hyperParameters: Record<string, string> = {}, isolated = false): Promise<void> {
  await sageMaker.send(
    new CreateTrainingJobCommand({
      TrainingJobName: name,
      RoleArn: ROLE,
      AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File' },
      HyperParameters: { scale: '2', ...hyperParameters },
      InputDataConfig: [{ ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/train/` } } }],
      OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/models/` },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
      StoppingCondition: { MaxRuntimeInSeconds: 60 },
      EnableNetworkIsolation: isolated,
    }),
  );
}

async function train(name: string, hyperParameters: Record<string, string> = {}, isolated = false): Promise<DescribeTrainingJobCommandOutput> {
  await startTraining(name, hyperParameters, isolated);
  return waitUntil(runtime, 
    () => sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name })),
    (job) => ['Completed', 'Failed', 'Stopped'].includes(job.TrainingJobStatus ?? ''),
  );
}

/** The `probe: {...}` lines a job printed (its log under the runtime's data directory). */
function probes(kind: 'TrainingJobs' | 'ProcessingJobs', name: string): Record<string, unknown>[] {
  const log = join(dataDir, 'runtime', 'sagemaker', 'logs', kind, `${name}.log`);
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('probe: '))
    .map((line) => JSON.parse(line.slice('probe: '.length)) as Record<string, unknown>);
}

/** A loopback TCP listener counting the connections it accepts. */
async function listener(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server: Server = createServer((socket) => {
    count += 1;
    socket.resume();
    socket.on('error', () => undefined);
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { port, connections: () => count, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describeSandboxed('jobs and endpoints in the bubblewrap sandbox', () => {
  let modelUri: string;

  it('trains a bring-your-own container that reads and writes the literal /opt/ml paths', async () => {
    const job = await train('byo-train');

    expect(job.FailureReason).toBeUndefined();
    expect(job.TrainingJobStatus).toBe('Completed');
    modelUri = job.ModelArtifacts!.S3ModelArtifacts!;
    expect(probes('TrainingJobs', 'byo-train')).toContainEqual(expect.objectContaining({ trained: 20 }));
    expect(runtime.output()).not.toContain('bubblewrap (bwrap) is not usable');
  }, 60_000);

  it('runs a processing job that reads /opt/ml/processing/input and writes /opt/ml/processing/output', async () => {
    await sageMaker.send(
      new CreateProcessingJobCommand({
        ProcessingJobName: 'byo-process',
        RoleArn: ROLE,
        AppSpecification: { ImageUri: IMAGE, ContainerArguments: ['process'] },
        ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 } },
        ProcessingInputs: [{ InputName: 'numbers', S3Input: { S3Uri: `s3://${BUCKET}/train/`, LocalPath: '/opt/ml/processing/input/numbers', S3DataType: 'S3Prefix', S3InputMode: 'File' } }],
        ProcessingOutputConfig: { Outputs: [{ OutputName: 'sum', S3Output: { S3Uri: `s3://${BUCKET}/processed/`, LocalPath: '/opt/ml/processing/output/sum', S3UploadMode: 'EndOfJob' } }] },
      }),
    );
    const job = await waitUntil(runtime, 
      () => sageMaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'byo-process' })),
      (described) => ['Completed', 'Failed', 'Stopped'].includes(described.ProcessingJobStatus ?? ''),
    );

    expect(job.FailureReason).toBeUndefined();
    expect(job.ProcessingJobStatus).toBe('Completed');
    const output = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'processed/sum.json' }));
    expect(JSON.parse(await output.Body!.transformToString())).toEqual({ sum: 10 });
  }, 60_000);

  it('serves the trained model from an endpoint whose container reads /opt/ml/model', async () => {
    await sageMaker.send(new CreateModelCommand({ ModelName: 'byo-model', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: IMAGE, ModelDataUrl: modelUri } }));
    await sageMaker.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'byo-config', ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'byo-model', InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }] }));
    await sageMaker.send(new CreateEndpointCommand({ EndpointName: 'byo-endpoint', EndpointConfigName: 'byo-config' }));
    const endpoint = await waitUntil(runtime, 
      () => sageMaker.send(new DescribeEndpointCommand({ EndpointName: 'byo-endpoint' })),
      (described) => described.EndpointStatus !== 'Creating',
    );
    expect(endpoint.FailureReason).toBeUndefined();
    expect(endpoint.EndpointStatus).toBe('InService');

    const answer = await invoker.send(new InvokeEndpointCommand({ EndpointName: 'byo-endpoint', ContentType: 'text/plain', Body: Buffer.from('3') }));

    expect(JSON.parse(Buffer.from(answer.Body!).toString('utf8'))).toEqual({ prediction: 60 });
    await sageMaker.send(new DeleteEndpointCommand({ EndpointName: 'byo-endpoint' }));
  }, 60_000);

  it('fails a network-isolated job that opens a socket, and lets the same job connect without isolation', async () => {
    const server = await listener();
    try {
      const isolated = await train('byo-isolated', { connect_port: String(server.port) }, true);
      const connected = await train('byo-connected', { connect_port: String(server.port) });

      expect(isolated.TrainingJobStatus).toBe('Failed');
      expect(isolated.FailureReason).toMatch(/^AlgorithmError: could not connect to 127\.0\.0\.1:\d+/);
      expect(connected.TrainingJobStatus).toBe('Completed');
      expect(server.connections()).toBe(1);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('fails a network-isolated processing job (NetworkConfig.EnableNetworkIsolation) that opens a socket', async () => {
    const server = await listener();
    try {
      await sageMaker.send(
        new CreateProcessingJobCommand({
          ProcessingJobName: 'byo-process-isolated',
          RoleArn: ROLE,
          AppSpecification: { ImageUri: IMAGE, ContainerArguments: ['process', 'connect_port', String(server.port)] },
          ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 } },
          NetworkConfig: { EnableNetworkIsolation: true },
        }),
      );
      const job = await waitUntil(runtime, 
        () => sageMaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'byo-process-isolated' })),
        (described) => ['Completed', 'Failed', 'Stopped'].includes(described.ProcessingJobStatus ?? ''),
      );

      expect(job.ProcessingJobStatus).toBe('Failed');
      expect(job.FailureReason).toMatch(/could not connect/);
      expect(server.connections()).toBe(0);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('fails a job that writes into /etc, even after trying to remount / writable, and the file does not appear on the host', async () => {
    const target = `/etc/sluice-sandbox-${process.pid}`;

    const job = await train('byo-write-etc', { remount_rw: '1', write_to: target });

    expect(probes('TrainingJobs', 'byo-write-etc')).toContainEqual({ remount_rw: false });
    expect(job.TrainingJobStatus).toBe('Failed');
    expect(job.FailureReason).toMatch(/could not write .*Read-only file system/);
    expect(existsSync(target)).toBe(false);
  }, 60_000);

  it('hides the runtime data directory: the job sees it empty and read-only, and its write never reaches the host', async () => {
    const runtimeData = join(dataDir, 'runtime');
    const target = join(runtimeData, 'sagemaker', 'planted-by-a-job');

    const job = await train('byo-write-data', { list_dir: runtimeData, write_to: join(runtimeData, 'planted-by-a-job') });

    expect(probes('TrainingJobs', 'byo-write-data')).toContainEqual({ list_dir: runtimeData, entries: [] });
    expect(job.TrainingJobStatus).toBe('Failed');
    expect(job.FailureReason).toMatch(/could not write .*Read-only file system/);
    expect(existsSync(target)).toBe(false);
    expect(existsSync(join(runtimeData, 'planted-by-a-job'))).toBe(false);
  }, 60_000);

  it('stops a sandboxed job with SIGTERM to the container, not to bwrap, so it saves its model in the stop window', async () => {
    await startTraining('byo-stop', { wait_for_stop: '1' });
    await waitUntil(runtime, async () => probes('TrainingJobs', 'byo-stop'), (lines) => lines.some((line) => line.waiting === true));

    await sageMaker.send(new StopTrainingJobCommand({ TrainingJobName: 'byo-stop' }));
    const job = await waitUntil(runtime, 
      () => sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'byo-stop' })),
      (described) => described.TrainingJobStatus === 'Stopped',
      10_000,
    );

    expect(job.ModelArtifacts?.S3ModelArtifacts).toBe(`s3://${BUCKET}/models/byo-stop/output/model.tar.gz`);
  }, 60_000);

  it('records the bwrap command line as /proc shows it; a crashed runtime takes its sandboxes along, and the job runs again after the restart', async () => {
    await startTraining('byo-crash', { wait_for_stop: '1' });
    await waitUntil(runtime, async () => probes('TrainingJobs', 'byo-crash'), (lines) => lines.some((line) => line.waiting === true));
    const [record] = JSON.parse(readFileSync(join(dataDir, 'runtime', 'sagemaker', 'containers', 'training-job.byo-crash.json'), 'utf8')) as { pid: number; command: string[] }[];
    expect(record!.command[0]).toBe('bwrap');
    expect(readFileSync(`/proc/${record!.pid}/cmdline`, 'utf8')).toBe(`${record!.command.join('\0')}\0`);

    await runtime.crash();
    await waitUntil(runtime, async () => processesMentioning(dataDir), (left) => left.length === 0, 5_000);
    disconnect();
    runtime = await startRuntime({ dataDir: join(dataDir, 'runtime'), images: imagesFile });
    connect(runtime.endpoint);

    const job = await sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'byo-crash' }));
    expect(job.TrainingJobStatus).toBe('InProgress');
    expect(job.SecondaryStatusTransitions?.map((transition) => transition.StatusMessage)).toContain(RESTART_MESSAGE);
    await sageMaker.send(new StopTrainingJobCommand({ TrainingJobName: 'byo-crash' }));
    await waitUntil(runtime, () => sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'byo-crash' })), (described) => described.TrainingJobStatus === 'Stopped', 20_000);
  }, 60_000);

  it('leaves the host /opt/ml as it found it, and no sandbox process behind once stopped', async () => {
    expect(hostOptMl()).toBe(optMlBefore);
    await runtime.stop();
    expect(processesMentioning(dataDir)).toEqual([]);
  }, 60_000);
});
