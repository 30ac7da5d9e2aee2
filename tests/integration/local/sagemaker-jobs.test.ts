/**
 * The local SageMaker's processing and training jobs: real child processes (the node scripts in
 * tests/fixtures/local-images/) under SageMaker's container contracts, S3 faked by a directory.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import { extract } from 'tar-stream';

import { processingJobStateChangeSchema, trainingJobStateChangeSchema } from '../../../shared/schemas/events';
import { RESTART_MESSAGE } from '../../../local/sagemaker/jobs';
import { createHarness, envelope, type Harness, IMAGES, isAlive, ROLE_ARN, waitFor } from '../../fixtures/local-images/harness';

const TERMINAL = ['Completed', 'Failed', 'Stopped'];
const BUCKET = 'artifacts';

let h: Harness;

beforeEach(() => {
  h = createHarness();
});

afterEach(async () => {
  await h.cleanup();
});

function processingRequest(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ProcessingJobName: name,
    RoleArn: ROLE_ARN,
    AppSpecification: {
      ImageUri: IMAGES.processing,
      ContainerArguments: ['--input', '/opt/ml/processing/input/raw', '--output', '/opt/ml/processing/output/clean'],
    },
    ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.xlarge', VolumeSizeInGB: 30 } },
    StoppingCondition: { MaxRuntimeInSeconds: 60 },
    Environment: { DATA_DIR: '/opt/ml/processing/input/raw' },
    ProcessingInputs: [{ InputName: 'raw', S3Input: { S3Uri: `s3://${BUCKET}/datasets/raw/`, LocalPath: '/opt/ml/processing/input/raw', S3DataType: 'S3Prefix', S3InputMode: 'File' } }],
    ProcessingOutputConfig: { Outputs: [{ OutputName: 'clean', S3Output: { S3Uri: `s3://${BUCKET}/out/clean/`, LocalPath: '/opt/ml/processing/output/clean', S3UploadMode: 'EndOfJob' } }] },
    Tags: [{ Key: 'sluice:repository', Value: 'abalone' }],
    ...overrides,
  };
}

function trainingRequest(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    TrainingJobName: name,
    RoleArn: ROLE_ARN,
    AlgorithmSpecification: {
      TrainingImage: IMAGES.training,
      TrainingInputMode: 'File',
      MetricDefinitions: [
        { Name: 'validation:rmse', Regex: 'validation-rmse:([0-9\\.]+)' },
        { Name: 'train:rmse', Regex: 'train-rmse:(?P<value>[0-9\\.]+)' },
      ],
    },
    HyperParameters: { num_round: '50', eta: '0.2', objective: 'reg:linear', sagemaker_program: '"train.py"' },
    InputDataConfig: [
      { ChannelName: 'train', ContentType: 'text/csv', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/data/train/`, S3DataDistributionType: 'FullyReplicated' } } },
      { ChannelName: 'validation', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/data/validation.csv` } } },
    ],
    OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/builds/b1/train/` },
    ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 },
    StoppingCondition: { MaxRuntimeInSeconds: 60 },
    Environment: { CUSTOM: '/opt/ml/model/extra' },
    ...overrides,
  };
}

async function seedTrainingData(): Promise<void> {
  await h.putObject(`s3://${BUCKET}/data/train/part-1.csv`, '1,2\n');
  await h.putObject(`s3://${BUCKET}/data/train/part-2.csv`, '3,4\n');
  await h.putObject(`s3://${BUCKET}/data/validation.csv`, '5,6\n');
}

const describeProcessing = (name: string) => () => h.call('DescribeProcessingJob', { ProcessingJobName: name });
const describeTraining = (name: string) => () => h.call('DescribeTrainingJob', { TrainingJobName: name });
const done = (field: string) => (job: Record<string, unknown>) => TERMINAL.includes(job[field] as string);

/** The files of a .tar.gz, by name. */
async function untar(archive: Buffer): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const reader = extract();
  Readable.from(archive).pipe(createGunzip()).pipe(reader);
  for await (const entry of reader) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    files[entry.header.name] = Buffer.concat(chunks).toString('utf8');
  }
  return files;
}

describe('processing jobs', () => {
  it('downloads the inputs, runs with /opt/ml rewritten, uploads the outputs and completes with events', async () => {
    // Prepare
    await h.putObject(`s3://${BUCKET}/datasets/raw/abalone.csv`, 'm,0.455\n');
    await h.putObject(`s3://${BUCKET}/datasets/raw/more/extra.csv`, 'f,0.35\n');

    // Act
    const created = await h.call('CreateProcessingJob', processingRequest('prep-1'));
    const job = await waitFor(describeProcessing('prep-1'), done('ProcessingJobStatus'));

    // Assess
    expect(created.ProcessingJobArn).toBe('arn:aws:sagemaker:us-east-1:123456789012:processing-job/prep-1');
    expect(job).toMatchObject({ ProcessingJobStatus: 'Completed', ProcessingJobName: 'prep-1' });
    expect(job.ProcessingOutputConfig).toEqual(processingRequest('prep-1').ProcessingOutputConfig);
    expect(typeof job.ProcessingStartTime).toBe('number');
    expect(job.ProcessingEndTime as number).toBeGreaterThanOrEqual(job.ProcessingStartTime as number);
    expect((await h.readObject(`s3://${BUCKET}/out/clean/abalone.csv`)).toString()).toBe('M,0.455\n');
    const run = JSON.parse((await h.readObject(`s3://${BUCKET}/out/clean/run.json`)).toString()) as { argv: string[]; dataDir: string };
    const jobDir = join(h.dataDir, 'jobs', 'prep-1');
    expect(run.argv).toEqual(['--input', `${jobDir}/processing/input/raw`, '--output', `${jobDir}/processing/output/clean`]);
    expect(run.dataDir).toBe(`${jobDir}/processing/input/raw`);
    expect(existsSync(join(jobDir, 'processing', 'input', 'raw', 'more', 'extra.csv'))).toBe(true);
    expect(readFileSync(join(h.dataDir, 'logs', 'ProcessingJobs', 'prep-1.log'), 'utf8')).toContain('processed 2 file(s)');
  });

  it('publishes InProgress and Completed events that our consumer schema parses', async () => {
    await h.putObject(`s3://${BUCKET}/datasets/raw/a.csv`, 'x\n');

    await h.call('CreateProcessingJob', processingRequest('prep-events'));
    await waitFor(describeProcessing('prep-events'), done('ProcessingJobStatus'));

    const events = h.events.filter((e) => e.DetailType === 'SageMaker Processing Job State Change');
    expect(events.map((e) => e.Detail.ProcessingJobStatus)).toEqual(['InProgress', 'Completed']);
    for (const event of events) {
      const parsed = processingJobStateChangeSchema.parse(envelope(event));
      expect(parsed.resources).toEqual(['arn:aws:sagemaker:us-east-1:123456789012:processing-job/prep-events']);
      expect(parsed.detail.ProcessingJobName).toBe('prep-events');
    }
    expect(events[1]!.Detail).toMatchObject({ Tags: { 'sluice:repository': 'abalone' } });
    expect(events[1]!.Detail.ProcessingEndTime as number).toBeGreaterThan(1e12);
  });

  it('runs ContainerEntrypoint instead of the image command when one is given', async () => {
    await h.putObject(`s3://${BUCKET}/datasets/raw/a.csv`, 'x\n');
    const script = join(__dirname, '..', '..', 'fixtures', 'local-images', 'processing.cjs');

    await h.call('CreateProcessingJob', processingRequest('prep-entry', { AppSpecification: { ImageUri: IMAGES.unknown.replace('unknown', 'failing'), ContainerEntrypoint: [process.execPath, script, '--input', '/opt/ml/processing/input/raw', '--output', '/opt/ml/processing/output/clean'] } }));
    const job = await waitFor(describeProcessing('prep-entry'), done('ProcessingJobStatus'));

    expect(job.ProcessingJobStatus).toBe('Completed');
  });

  it('fails with the tail of stderr and the exit code when the script exits non-zero', async () => {
    await h.putObject(`s3://${BUCKET}/datasets/raw/a.csv`, 'x\n');

    await h.call('CreateProcessingJob', processingRequest('prep-fail', { AppSpecification: { ImageUri: IMAGES.failing } }));
    const job = await waitFor(describeProcessing('prep-fail'), done('ProcessingJobStatus'));

    expect(job.ProcessingJobStatus).toBe('Failed');
    const reason = job.FailureReason as string;
    expect(reason).toMatch(/^AlgorithmError: .*exit code 3/);
    expect(reason).toContain('ValueError: could not convert string to float: "abc"');
    expect(reason).toContain('noise line 199');
    expect(reason).not.toContain('noise line 0\n');
    expect(reason.length).toBeLessThan(1300);
    expect(h.events.at(-1)?.Detail).toMatchObject({ ProcessingJobStatus: 'Failed', FailureReason: reason });
  });

  it('fails with ClientError when an image has no local command', async () => {
    await h.putObject(`s3://${BUCKET}/datasets/raw/a.csv`, 'x\n');

    await h.call('CreateProcessingJob', processingRequest('prep-noimage', { AppSpecification: { ImageUri: IMAGES.unknown } }));
    const job = await waitFor(describeProcessing('prep-noimage'), done('ProcessingJobStatus'));

    expect(job).toMatchObject({ ProcessingJobStatus: 'Failed', FailureReason: expect.stringMatching(/^ClientError: image .*unknown:latest has no local command/) });
  });

  it('StopProcessingJob stops the container and ends Stopped without uploading outputs', async () => {
    const pidFile = join(h.root, 'pids.json');
    await h.call('CreateProcessingJob', processingRequest('prep-stop', { AppSpecification: { ImageUri: IMAGES.sleeper }, Environment: { PID_FILE: pidFile } }));
    await waitFor(async () => existsSync(pidFile), (ready) => ready);

    await h.call('StopProcessingJob', { ProcessingJobName: 'prep-stop' });
    const job = await waitFor(describeProcessing('prep-stop'), done('ProcessingJobStatus'));

    expect(job.ProcessingJobStatus).toBe('Stopped');
    expect(existsSync(join(h.s3Root, BUCKET, 'out'))).toBe(false);
    expect(h.events.at(-1)?.Detail).toMatchObject({ ProcessingJobStatus: 'Stopped' });
  });

  it('refuses a duplicate job name with ResourceInUse', async () => {
    await h.call('CreateProcessingJob', processingRequest('prep-dup'));

    await expect(h.call('CreateProcessingJob', processingRequest('prep-dup'))).rejects.toMatchObject({ name: 'ResourceInUse' });
    await expect(h.call('CreateProcessingJob', processingRequest('PREP-DUP'))).rejects.toMatchObject({ name: 'ResourceInUse' });
    await waitFor(describeProcessing('prep-dup'), done('ProcessingJobStatus'));
  });

  it('refuses names outside SageMaker\'s pattern and LocalPaths outside /opt/ml/processing', async () => {
    await expect(h.call('CreateProcessingJob', processingRequest('bad_name'))).rejects.toMatchObject({ name: 'ValidationException' });
    const request = processingRequest('bad-path');
    (request.ProcessingInputs as { S3Input: { LocalPath: string } }[])[0]!.S3Input.LocalPath = '/etc/passwd';
    await expect(h.call('CreateProcessingJob', request)).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('answers Describe of an unknown job with the "Could not find" ValidationException shared/aws expects', async () => {
    await expect(h.call('DescribeProcessingJob', { ProcessingJobName: 'nope' })).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/could not find/i) });
    await expect(h.call('DescribeTrainingJob', { TrainingJobName: 'nope' })).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/not found/i) });
  });

  it('lists jobs with status filter, sort order and paging', async () => {
    await h.putObject(`s3://${BUCKET}/datasets/raw/a.csv`, 'x\n');
    for (const name of ['list-a', 'list-b', 'list-c']) {
      await h.call('CreateProcessingJob', processingRequest(name));
      await waitFor(describeProcessing(name), done('ProcessingJobStatus'));
    }

    const first = await h.call('ListProcessingJobs', { SortBy: 'Name', SortOrder: 'Descending', MaxResults: 2, StatusEquals: 'Completed' });
    const second = await h.call('ListProcessingJobs', { SortBy: 'Name', SortOrder: 'Descending', MaxResults: 2, StatusEquals: 'Completed', NextToken: first.NextToken });

    const names = (list: Record<string, unknown>) => (list.ProcessingJobSummaries as { ProcessingJobName: string }[]).map((s) => s.ProcessingJobName);
    expect(names(first)).toEqual(['list-c', 'list-b']);
    expect(names(second)).toEqual(['list-a']);
    expect(second.NextToken).toBeUndefined();
  });
});

describe('training jobs', () => {
  it('puts every output line of the container in /aws/sagemaker/TrainingJobs, stream <job>/algo-1-<epoch seconds>', async () => {
    // Prepare
    await h.cleanup();
    const lines: { group: string; stream: string; message: string }[] = [];
    h = createHarness({ logs: { put: (group, stream, message) => lines.push({ group, stream, message }) } });
    await seedTrainingData();
    const before = Math.floor(Date.now() / 1000);

    // Act
    await h.call('CreateTrainingJob', trainingRequest('train-logs'));
    await waitFor(describeTraining('train-logs'), done('TrainingJobStatus'));

    // Assess
    const streams = [...new Set(lines.map((line) => `${line.group} ${line.stream}`))];
    expect(streams).toHaveLength(1);
    const [, epoch] = /^\/aws\/sagemaker\/TrainingJobs train-logs\/algo-1-(\d+)$/.exec(streams[0]!) ?? [];
    expect(Number(epoch)).toBeGreaterThanOrEqual(before);
    expect(lines.map((line) => line.message)).toEqual(expect.arrayContaining(['[0]#011train-rmse:2.5#011validation-rmse:3.25', '[1]#011train-rmse:1.5#011validation-rmse:2.125']));
  });

  it('runs `train` with the SM_* contract and hyperparameters.json, and uploads a real model.tar.gz', async () => {
    // Prepare
    await seedTrainingData();

    // Act
    await h.call('CreateTrainingJob', trainingRequest('train-1'));
    const job = await waitFor(describeTraining('train-1'), done('TrainingJobStatus'));

    // Assess
    expect(job).toMatchObject({ TrainingJobStatus: 'Completed', SecondaryStatus: 'Completed' });
    const modelUri = `s3://${BUCKET}/builds/b1/train/train-1/output/model.tar.gz`;
    expect(job.ModelArtifacts).toEqual({ S3ModelArtifacts: modelUri });
    const files = await untar(await h.readObject(modelUri));
    expect(Object.keys(files)).toEqual(['model.json']);
    const model = JSON.parse(files['model.json']!) as { hyperparameters: Record<string, string>; files: Record<string, string[]>; env: Record<string, string>; argv: string[] };
    const jobDir = join(h.dataDir, 'jobs', 'train-1');
    expect(model.argv).toEqual(['train']);
    expect(model.hyperparameters).toEqual({ num_round: '50', eta: '0.2', objective: 'reg:linear', sagemaker_program: '"train.py"' });
    expect(model.files).toEqual({ train: ['part-1.csv', 'part-2.csv'], validation: ['validation.csv'] });
    expect(model.env).toMatchObject({
      SM_MODEL_DIR: `${jobDir}/model`,
      SM_CHANNEL_TRAIN: `${jobDir}/input/data/train`,
      SM_CHANNEL_VALIDATION: `${jobDir}/input/data/validation`,
      SM_CHANNELS: '["train","validation"]',
      SM_HP_NUM_ROUND: '50',
      SM_HP_OBJECTIVE: 'reg:linear',
      SM_OUTPUT_DATA_DIR: `${jobDir}/output/data`,
      SM_OUTPUT_DIR: `${jobDir}/output`,
      SM_INPUT_DIR: `${jobDir}/input`,
      SM_INPUT_CONFIG_DIR: `${jobDir}/input/config`,
      SM_CURRENT_HOST: 'algo-1',
      SM_HOSTS: '["algo-1"]',
      SM_USER_ENTRY_POINT: 'train.py',
      TRAINING_JOB_NAME: 'train-1',
      CUSTOM: `${jobDir}/model/extra`,
    });
    expect(JSON.parse(model.env.SM_HPS!)).toEqual({ num_round: 50, eta: 0.2, objective: 'reg:linear' });
    expect(Number(model.env.SM_NUM_CPUS)).toBeGreaterThan(0);
    const output = await untar(await h.readObject(`s3://${BUCKET}/builds/b1/train/train-1/output/output.tar.gz`));
    expect(output).toEqual({ 'notes.txt': 'trained\n' });
  });

  it('reports the last value of each MetricDefinitions regex in FinalMetricDataList, and timings', async () => {
    await seedTrainingData();

    await h.call('CreateTrainingJob', trainingRequest('train-metrics'));
    const job = await waitFor(describeTraining('train-metrics'), done('TrainingJobStatus'));

    const metrics = job.FinalMetricDataList as { MetricName: string; Value: number; Timestamp: number }[];
    expect(metrics.map(({ MetricName, Value }) => ({ MetricName, Value })).sort((a, b) => a.MetricName.localeCompare(b.MetricName))).toEqual([
      { MetricName: 'train:rmse', Value: 1.5 },
      { MetricName: 'validation:rmse', Value: 2.125 },
    ]);
    expect(job.TrainingTimeInSeconds).toBeGreaterThanOrEqual(1);
    expect((job.SecondaryStatusTransitions as { Status: string }[]).map((t) => t.Status)).toEqual(['Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
    expect(typeof job.TrainingStartTime).toBe('number');
  });

  it('publishes InProgress and Completed events that our consumer schema parses', async () => {
    await seedTrainingData();

    await h.call('CreateTrainingJob', trainingRequest('train-events'));
    await waitFor(describeTraining('train-events'), done('TrainingJobStatus'));

    const events = h.events.filter((e) => e.DetailType === 'SageMaker Training Job State Change');
    expect(events.map((e) => e.Detail.TrainingJobStatus)).toEqual(['InProgress', 'Completed']);
    for (const event of events) expect(trainingJobStateChangeSchema.parse(envelope(event)).resources).toEqual(['arn:aws:sagemaker:us-east-1:123456789012:training-job/train-events']);
    expect(events[1]!.Detail.ModelArtifacts).toEqual({ S3ModelArtifacts: `s3://${BUCKET}/builds/b1/train/train-events/output/model.tar.gz` });
  });

  it('fails with the stderr tail and exit code when the script exits non-zero', async () => {
    await seedTrainingData();

    await h.call('CreateTrainingJob', trainingRequest('train-fail', { AlgorithmSpecification: { TrainingImage: IMAGES.failing, TrainingInputMode: 'File' } }));
    const job = await waitFor(describeTraining('train-fail'), done('TrainingJobStatus'));

    expect(job).toMatchObject({ TrainingJobStatus: 'Failed', SecondaryStatus: 'Failed' });
    expect(job.FailureReason).toMatch(/^AlgorithmError: .*exit code 3[\s\S]*ValueError: could not convert string to float: "abc"\s*$/);
    expect(job.ModelArtifacts).toBeUndefined();
    expect(trainingJobStateChangeSchema.parse(envelope(h.events.at(-1)!)).detail).toMatchObject({ TrainingJobStatus: 'Failed', FailureReason: job.FailureReason });
  });

  it('takes FailureReason from /opt/ml/output/failure when the container writes it', async () => {
    await seedTrainingData();

    await h.call('CreateTrainingJob', trainingRequest('train-failfile', { AlgorithmSpecification: { TrainingImage: IMAGES.failing }, Environment: { WRITE_FAILURE: 'ExecuteUserScriptError: bad csv' } }));
    const job = await waitFor(describeTraining('train-failfile'), done('TrainingJobStatus'));

    expect(job.FailureReason).toBe('AlgorithmError: ExecuteUserScriptError: bad csv');
  });

  it('StopTrainingJob goes Stopping → Stopped, keeps what the algorithm saved, and kills the whole process group', async () => {
    await seedTrainingData();
    const pidFile = join(h.root, 'pids.json');
    await h.call('CreateTrainingJob', trainingRequest('train-stop', { AlgorithmSpecification: { TrainingImage: IMAGES.sleeper }, Environment: { PID_FILE: pidFile } }));
    await waitFor(async () => existsSync(pidFile), (ready) => ready);
    const pids = JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number; grandchild: number };

    await h.call('StopTrainingJob', { TrainingJobName: 'train-stop' });
    const stopping = await h.call('DescribeTrainingJob', { TrainingJobName: 'train-stop' });
    const job = await waitFor(describeTraining('train-stop'), done('TrainingJobStatus'));

    expect(['Stopping', 'Stopped']).toContain(stopping.TrainingJobStatus);
    expect(job).toMatchObject({ TrainingJobStatus: 'Stopped', SecondaryStatus: 'Stopped' });
    expect(await untar(await h.readObject((job.ModelArtifacts as { S3ModelArtifacts: string }).S3ModelArtifacts))).toEqual({ 'partial.json': '{"partial":true}' });
    await waitFor(async () => isAlive(pids.pid) || isAlive(pids.grandchild), (alive) => !alive, 5000);
    await expect(h.call('StopTrainingJob', { TrainingJobName: 'train-stop' })).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('stops a job that exceeds MaxRuntimeInSeconds: Stopped with SecondaryStatus MaxRuntimeExceeded, SIGKILL after the grace period', async () => {
    await seedTrainingData();

    await h.call('CreateTrainingJob', trainingRequest('train-timeout', { AlgorithmSpecification: { TrainingImage: IMAGES.sleeper }, Environment: { IGNORE_SIGTERM: '1' }, StoppingCondition: { MaxRuntimeInSeconds: 1 } }));
    const job = await waitFor(describeTraining('train-timeout'), done('TrainingJobStatus'));

    expect(job).toMatchObject({ TrainingJobStatus: 'Stopped', SecondaryStatus: 'MaxRuntimeExceeded', FailureReason: expect.stringContaining('MaxRuntimeInSeconds (1 s)') });
    expect(h.events.at(-1)?.Detail).toMatchObject({ TrainingJobStatus: 'Stopped' });
  });

  it('runs a job left running by a stopped runtime again from the beginning when the next runtime starts; it then ends with its event', async () => {
    // Prepare: a long job, then the runtime goes away mid-job.
    await seedTrainingData();
    const pidFile = join(h.root, 'pids.json');
    await h.call('CreateTrainingJob', trainingRequest('train-restart', { AlgorithmSpecification: { TrainingImage: IMAGES.sleeper }, Environment: { PID_FILE: pidFile } }));
    await h.call('CreateProcessingJob', processingRequest('prep-restart', { AppSpecification: { ImageUri: IMAGES.sleeper } }));
    await waitFor(async () => existsSync(pidFile), (ready) => ready);
    const pids = JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number; grandchild: number };
    await h.service.stop();
    expect(isAlive(pids.pid) || isAlive(pids.grandchild)).toBe(false);
    expect((await h.call('DescribeTrainingJob', { TrainingJobName: 'train-restart' })).TrainingJobStatus).toBe('InProgress');
    rmSync(pidFile);
    const before = h.events.length;

    // Act
    const restarted = h.restart();
    await restarted.start();
    await waitFor(async () => existsSync(pidFile), (ready) => ready);
    const rerun = JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number; grandchild: number };
    await h.call('StopTrainingJob', { TrainingJobName: 'train-restart' }, restarted);
    await h.call('StopProcessingJob', { ProcessingJobName: 'prep-restart' }, restarted);
    const training = await waitFor(async () => h.call('DescribeTrainingJob', { TrainingJobName: 'train-restart' }, restarted), done('TrainingJobStatus'));
    const processing = await waitFor(async () => h.call('DescribeProcessingJob', { ProcessingJobName: 'prep-restart' }, restarted), done('ProcessingJobStatus'));

    // Assess
    expect(rerun.pid).not.toBe(pids.pid);
    expect(training).toMatchObject({ TrainingJobStatus: 'Stopped' });
    expect((training.SecondaryStatusTransitions as { StatusMessage: string }[]).map((t) => t.StatusMessage)).toContain(RESTART_MESSAGE);
    expect(processing).toMatchObject({ ProcessingJobStatus: 'Stopped' });
    const trainingEvents = h.events.slice(before).filter((e) => e.DetailType === 'SageMaker Training Job State Change');
    expect(trainingEvents.map((e) => trainingJobStateChangeSchema.parse(envelope(e)).detail.TrainingJobStatus)).toEqual(['InProgress', 'Stopped']);
    expect(h.events.slice(before).filter((e) => e.DetailType === 'SageMaker Processing Job State Change').at(-1)?.Detail).toMatchObject({ ProcessingJobStatus: 'Stopped' });
  });

  it('ends Stopped, with its event, a job that was stopping when the runtime went away', async () => {
    await seedTrainingData();
    const pidFile = join(h.root, 'pids.json');
    await h.call('CreateTrainingJob', trainingRequest('train-stopping', { AlgorithmSpecification: { TrainingImage: IMAGES.sleeper }, Environment: { PID_FILE: pidFile, IGNORE_SIGTERM: '1' } }));
    await waitFor(async () => existsSync(pidFile), (ready) => ready);
    await h.call('StopTrainingJob', { TrainingJobName: 'train-stopping' });
    await h.service.stop();
    expect((await h.call('DescribeTrainingJob', { TrainingJobName: 'train-stopping' })).TrainingJobStatus).toBe('Stopping');
    const before = h.events.length;

    const restarted = h.restart();
    await restarted.start();

    expect(await h.call('DescribeTrainingJob', { TrainingJobName: 'train-stopping' }, restarted)).toMatchObject({ TrainingJobStatus: 'Stopped', SecondaryStatus: 'Stopped' });
    expect(h.events.slice(before).map((e) => e.Detail.TrainingJobStatus)).toEqual(['Stopped']);
  });

  it('kills the process group a crashed runtime left behind when the next runtime starts', async () => {
    // Prepare: the first runtime is never stopped, as after a SIGKILL.
    await seedTrainingData();
    const pidFile = join(h.root, 'pids.json');
    await h.call('CreateTrainingJob', trainingRequest('train-orphan', { AlgorithmSpecification: { TrainingImage: IMAGES.sleeper }, Environment: { PID_FILE: pidFile } }));
    await waitFor(async () => existsSync(pidFile), (ready) => ready);
    const pids = JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number; grandchild: number };

    // Act
    const restarted = h.restart();
    await restarted.start();

    // Assess
    await waitFor(async () => isAlive(pids.pid) || isAlive(pids.grandchild), (alive) => !alive, 5000);
  });
});
