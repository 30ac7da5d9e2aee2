import 'aws-sdk-client-mock-jest';

import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateProcessingJobCommand,
  CreateTrainingJobCommand,
  DescribeProcessingJobCommand,
  type DescribeProcessingJobCommandOutput,
  DescribeTrainingJobCommand,
  type DescribeTrainingJobCommandOutput,
  ProcessingJobStatus,
  ResourceInUse,
  ResourceLimitExceeded,
  SageMakerClient,
  SageMakerServiceException,
  StopProcessingJobCommand,
  StopTrainingJobCommand,
  TrainingJobStatus,
} from '@aws-sdk/client-sagemaker';
import { DescribeExecutionCommand, ExecutionStatus, InvalidToken, SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { JobToken } from '../../../shared/aws/dynamodb';
import { InvalidConfigError, InvalidInputError, RetryableError, SageMakerResourceLimitError } from '../../../shared/errors';
import { contentHash } from '../../../shared/pipeline/cache';
import { reconcileJobs, settleJob, startJob } from '../../../shared/pipeline/jobs';
import { jobName, SAGEMAKER_NAME } from '../../../shared/naming';
import type { PipelineConfig } from '../../../shared/schemas/mlops-v2';
import type { StartJobInput } from '../../../shared/schemas/task-inputs';
import { ACCOUNT, BUCKET, exampleConfig, REGION } from '../../helpers/fixtures';
import { loadPipeline } from '../../helpers/pipelines';
import {
  CACHE_TABLE,
  fakeS3,
  type FakeS3,
  fakeTable,
  type FakeTable,
  newRun,
  preprocessResult,
  STAGE,
  startJobInput,
  stepsBefore,
  storeDataset,
  storeManifest,
  storePipeline,
  TABLES,
  TASK_TOKEN,
  type TestRun,
  TOKEN_TABLE,
} from '../../helpers/step-tasks';

const sagemaker = mockClient(SageMakerClient);
const sfn = mockClient(SFNClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);

const NOW = new Date('2026-11-23T10:00:00Z');
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);
const THIRTY_DAYS = 30 * 86_400;

let store: FakeS3;
let tokens: FakeTable;
let cache: FakeTable;
let run: TestRun;

/** The job name of `step`'s `attempt` in `run`. */
function nameOf(step: string, attempt = 1, of: TestRun = run): string {
  return jobName(STAGE.stagePrefix, of.build.repository, step, of.executionArn, attempt);
}

/** A DescribeTrainingJob answer for the abalone Train job, Completed unless overridden. */
function trainingJob(name: string, overrides: Partial<DescribeTrainingJobCommandOutput> = {}): Partial<DescribeTrainingJobCommandOutput> {
  return {
    TrainingJobName: name,
    TrainingJobArn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:training-job/${name}`,
    TrainingJobStatus: TrainingJobStatus.COMPLETED,
    SecondaryStatus: 'Completed',
    ModelArtifacts: { S3ModelArtifacts: `${run.prefix}Train/${name}/output/model.tar.gz` },
    FinalMetricDataList: [
      { MetricName: 'train:rmse', Value: 1.9, Timestamp: NOW },
      { MetricName: 'validation:rmse', Value: 2.1, Timestamp: NOW },
    ],
    TrainingTimeInSeconds: 300,
    BillableTimeInSeconds: 300,
    TrainingStartTime: new Date('2026-11-23T09:50:00Z'),
    TrainingEndTime: new Date('2026-11-23T09:55:00Z'),
    ...overrides,
  };
}

/** A DescribeProcessingJob answer for the abalone Preprocess job, Completed unless overridden. */
function processingJob(name: string, overrides: Partial<DescribeProcessingJobCommandOutput> = {}): Partial<DescribeProcessingJobCommandOutput> {
  return {
    ProcessingJobName: name,
    ProcessingJobArn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:processing-job/${name}`,
    ProcessingJobStatus: ProcessingJobStatus.COMPLETED,
    ProcessingOutputConfig: {
      Outputs: ['train', 'validation', 'test'].map((output) => ({
        OutputName: output,
        S3Output: { S3Uri: `${run.prefix}Preprocess/${output}/`, LocalPath: `/opt/ml/processing/output/${output}`, S3UploadMode: 'EndOfJob' as const },
      })),
    },
    ProcessingStartTime: new Date('2026-11-23T09:50:00Z'),
    ProcessingEndTime: new Date('2026-11-23T09:52:30Z'),
    ...overrides,
  };
}

/** A token as start-job records it, for `run`'s Train job. */
function token(overrides: Partial<JobToken> = {}): JobToken {
  return {
    jobName: nameOf('Train'),
    kind: 'training',
    taskToken: TASK_TOKEN,
    executionArn: run.executionArn,
    step: 'Train',
    createdAt: NOW_SECONDS - 600,
    expiresAt: NOW_SECONDS + 100_000,
    ...overrides,
  };
}

function sentOutput(index = 0): Record<string, unknown> {
  const call = sfn.commandCalls(SendTaskSuccessCommand)[index];
  return JSON.parse(call?.args[0].input.output ?? 'null') as Record<string, unknown>;
}

/** SageMaker's answer to Describe*Job of a job that does not exist. */
const notFound = () => new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: 'Requested resource not found.', $metadata: { httpStatusCode: 400 } });
const throttled = () => new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: {} });

/** The abalone example with every job step cached for 30 days. */
function cachedPipeline(): PipelineConfig {
  const pipeline = exampleConfig();
  for (const name of ['Preprocess', 'Train', 'Evaluate']) Object.assign(pipeline.Steps[name]!, { Cache: { ExpireAfter: 'P30D' } });
  return pipeline;
}

/** A run whose pipeline.json and source manifest are in S3. */
function runOf(pipeline: PipelineConfig = exampleConfig()): TestRun {
  const started = newRun();
  storePipeline(store, started, pipeline);
  storeManifest(store, started);
  return started;
}

function input(step: 'Preprocess' | 'Train' | 'Evaluate', overrides: Partial<StartJobInput> = {}, of: TestRun = run): StartJobInput {
  return startJobInput(of, step, { steps: stepsBefore(step, of), ...overrides });
}

beforeEach(() => {
  sagemaker.reset();
  sfn.reset();
  dynamo.reset();
  s3.reset();
  store = fakeS3(s3);
  tokens = fakeTable(dynamo, TOKEN_TABLE, 'jobName');
  cache = fakeTable(dynamo, CACHE_TABLE, 'cacheKey');
  storeDataset(store);
  run = runOf();
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  sagemaker.on(DescribeTrainingJobCommand).rejects(notFound());
  sagemaker.on(DescribeProcessingJobCommand).rejects(notFound());
  sagemaker.on(CreateTrainingJobCommand).resolves({ TrainingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/x' });
  sagemaker.on(CreateProcessingJobCommand).resolves({ ProcessingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:processing-job/x' });
});

describe('startJob: a new job', () => {
  it('records the task token before it creates the job', async () => {
    const order: string[] = [];
    dynamo.on(PutCommand, { TableName: TOKEN_TABLE }).callsFake(() => {
      order.push('PutItem');
      return {};
    });
    sagemaker.on(CreateProcessingJobCommand).callsFake(() => {
      order.push('CreateProcessingJob');
      return {};
    });

    await startJob(input('Preprocess'), STAGE, TABLES, NOW);

    expect(order).toEqual(['PutItem', 'CreateProcessingJob']);
  });

  it('records the token under the job name with its execution, step and an expiry one day past the task timeout', async () => {
    await startJob(input('Train'), STAGE, TABLES, NOW);

    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: TOKEN_TABLE,
      Item: {
        jobName: nameOf('Train'),
        kind: 'training',
        taskToken: TASK_TOKEN,
        executionArn: run.executionArn,
        step: 'Train',
        createdAt: NOW_SECONDS,
        expiresAt: NOW_SECONDS + run.build.taskTimeoutSeconds + 86_400,
      },
    });
  });

  it('creates the job under its attempt\'s name, with the resolved request and lineage tags naming the step', async () => {
    await startJob(input('Train'), STAGE, TABLES, NOW);

    expect(sagemaker).toHaveReceivedCommandWith(CreateTrainingJobCommand, {
      TrainingJobName: nameOf('Train'),
      RoleArn: STAGE.roleArn,
      OutputDataConfig: { S3OutputPath: `${run.prefix}Train/` },
      Tags: expect.arrayContaining([
        { Key: 'sluice:execution', Value: run.executionArn },
        { Key: 'sluice:step', Value: 'Train' },
      ]),
    });
    expect(nameOf('Train')).toMatch(SAGEMAKER_NAME);
  });

  it('creates the job under the stage\'s network isolation, VPC and KMS keys', async () => {
    const isolation = { networkIsolation: true, vpc: { Subnets: ['subnet-1'], SecurityGroupIds: ['sg-1'] }, volumeKmsKeyId: 'alias/volumes', outputKmsKeyId: 'alias/outputs' };

    await startJob(input('Train'), { ...STAGE, isolation }, TABLES, NOW);
    await startJob(input('Preprocess'), { ...STAGE, isolation }, TABLES, NOW);

    expect(sagemaker).toHaveReceivedCommandWith(CreateTrainingJobCommand, {
      EnableNetworkIsolation: true,
      VpcConfig: isolation.vpc,
      ResourceConfig: expect.objectContaining({ VolumeKmsKeyId: 'alias/volumes' }),
      OutputDataConfig: { S3OutputPath: `${run.prefix}Train/`, KmsKeyId: 'alias/outputs' },
    });
    expect(sagemaker).toHaveReceivedCommandWith(CreateProcessingJobCommand, { NetworkConfig: { EnableNetworkIsolation: true, VpcConfig: isolation.vpc } });
  });

  it('reports the job it started', async () => {
    await expect(startJob(input('Preprocess'), STAGE, TABLES, NOW)).resolves.toEqual({ outcome: 'started', jobName: nameOf('Preprocess'), kind: 'processing' });
  });

  it('leaves the token waiting while the new job is in progress', async () => {
    sagemaker.on(CreateTrainingJobCommand).callsFake(() => {
      sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train') }).resolves(trainingJob(nameOf('Train'), { TrainingJobStatus: TrainingJobStatus.IN_PROGRESS }));
      return {};
    });

    await startJob(input('Train'), STAGE, TABLES, NOW);

    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(tokens.items.get(nameOf('Train'))).toMatchObject({ taskToken: TASK_TOKEN });
  });

  it('gives each execution its own job name', async () => {
    const other = runOf();

    const first = await startJob(input('Preprocess'), STAGE, TABLES, NOW);
    const second = await startJob(input('Preprocess', {}, other), STAGE, TABLES, NOW);

    expect(first).toMatchObject({ jobName: nameOf('Preprocess') });
    expect(second).toMatchObject({ jobName: nameOf('Preprocess', 1, other) });
    expect(nameOf('Preprocess', 1, other)).not.toBe(nameOf('Preprocess'));
  });
});

describe('startJob: a step inside a ForEach', () => {
  /** The task of per-sex's prep-one for item `index`, after prepare ran. */
  function itemInput(index: number, of: TestRun): StartJobInput {
    const prepare = { ...preprocessResult(of), ProcessingJobName: 'prepare-job', Outputs: { all: `${of.prefix}prepare/all/` }, OutputHashes: {} };
    return startJobInput(of, 'prep-one', { parameters: { Rounds: 20 }, steps: { prepare }, item: { forEach: 'per-sex', index, value: ['M', 'F', 'I'][index]! } });
  }

  it('runs each item as its own job step <ForEach>-<index>-<step>: job name, token and lineage tag', async () => {
    const perSex = runOf(loadPipeline('for-each'));

    await startJob(itemInput(1, perSex), STAGE, TABLES, NOW);
    await startJob(itemInput(2, perSex), STAGE, TABLES, NOW);

    const created = sagemaker.commandCalls(CreateProcessingJobCommand).map((call) => call.args[0].input);
    expect(created.map((job) => job.ProcessingJobName)).toEqual([nameOf('per-sex-1-prep-one', 1, perSex), nameOf('per-sex-2-prep-one', 1, perSex)]);
    expect(created[0]!.Tags).toContainEqual({ Key: 'sluice:step', Value: 'per-sex-1-prep-one' });
    expect(created[0]!.AppSpecification?.ContainerArguments).toEqual(['segment', '--sex', 'F', '--index', '1']);
    expect(tokens.items.get(nameOf('per-sex-2-prep-one', 1, perSex))).toMatchObject({ step: 'per-sex-2-prep-one', executionArn: perSex.executionArn });
  });
});

describe('startJob: repeated invocations, retries and redrives', () => {
  it('gives a repeated invocation for a running job the same job name, and the newer token', async () => {
    await startJob(input('Preprocess'), STAGE, TABLES, NOW);
    sagemaker.on(DescribeProcessingJobCommand, { ProcessingJobName: nameOf('Preprocess') }).resolves(processingJob(nameOf('Preprocess'), { ProcessingJobStatus: ProcessingJobStatus.IN_PROGRESS }));
    sagemaker.on(CreateProcessingJobCommand).rejects(new ResourceInUse({ message: `Job name must be unique within an AWS account and region, and a job with this name already exists (${nameOf('Preprocess')})`, $metadata: {} }));

    const second = await startJob(input('Preprocess', { taskToken: 'a-newer-token' }), STAGE, TABLES, NOW);

    const names = sagemaker.commandCalls(CreateProcessingJobCommand).map((call) => call.args[0].input.ProcessingJobName);
    expect(names).toEqual([nameOf('Preprocess'), nameOf('Preprocess')]);
    expect(second).toEqual({ outcome: 'started', jobName: nameOf('Preprocess'), kind: 'processing' });
    expect(tokens.items.get(nameOf('Preprocess'))).toMatchObject({ taskToken: 'a-newer-token' });
  });

  it('moves a retry after a Failed job to the next attempt\'s job name (…-2)', async () => {
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train') }).resolves(trainingJob(nameOf('Train'), { TrainingJobStatus: TrainingJobStatus.FAILED, FailureReason: 'CapacityError: Unable to provision requested ML compute capacity.' }));

    const outcome = await startJob(input('Train', { taskToken: 'the-retry-token' }), STAGE, TABLES, NOW);

    expect(outcome).toEqual({ outcome: 'started', jobName: `${nameOf('Train')}-2`, kind: 'training' });
    expect(nameOf('Train', 2)).toBe(`${nameOf('Train')}-2`);
    expect(nameOf('Train', 2)).toMatch(SAGEMAKER_NAME);
    expect(sagemaker).toHaveReceivedCommandWith(CreateTrainingJobCommand, { TrainingJobName: nameOf('Train', 2) });
    expect(tokens.items.get(nameOf('Train', 2))).toMatchObject({ taskToken: 'the-retry-token' });
  });

  it('moves past a Stopped job as well', async () => {
    sagemaker.on(DescribeProcessingJobCommand, { ProcessingJobName: nameOf('Preprocess') }).resolves(processingJob(nameOf('Preprocess'), { ProcessingJobStatus: ProcessingJobStatus.STOPPED }));

    await expect(startJob(input('Preprocess'), STAGE, TABLES, NOW)).resolves.toMatchObject({ jobName: nameOf('Preprocess', 2) });
  });

  it('takes the third attempt\'s name after two failed attempts (a redrive after a retried failure)', async () => {
    for (const attempt of [1, 2]) {
      sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train', attempt) }).resolves(trainingJob(nameOf('Train', attempt), { TrainingJobStatus: TrainingJobStatus.FAILED, FailureReason: 'AlgorithmError: out of memory' }));
    }

    await expect(startJob(input('Train'), STAGE, TABLES, NOW)).resolves.toMatchObject({ jobName: nameOf('Train', 3) });
  });

  it('keeps the second attempt\'s name while that attempt is running', async () => {
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train') }).resolves(trainingJob(nameOf('Train'), { TrainingJobStatus: TrainingJobStatus.FAILED, FailureReason: 'CapacityError: …' }));
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train', 2) }).resolves(trainingJob(nameOf('Train', 2), { TrainingJobStatus: TrainingJobStatus.IN_PROGRESS }));
    sagemaker.on(CreateTrainingJobCommand).rejects(new ResourceInUse({ message: 'Training job names must be unique within an AWS account and region', $metadata: {} }));

    await expect(startJob(input('Train'), STAGE, TABLES, NOW)).resolves.toMatchObject({ jobName: nameOf('Train', 2) });
  });

  it('treats ResourceInUse from CreateTrainingJob as the job already created', async () => {
    sagemaker.on(CreateTrainingJobCommand).rejects(new ResourceInUse({ message: `Training job names must be unique. ${nameOf('Train')} exists`, $metadata: {} }));

    await expect(startJob(input('Train'), STAGE, TABLES, NOW)).resolves.toEqual({ outcome: 'started', jobName: nameOf('Train'), kind: 'training' });
  });

  it('settles the new token at once when the existing job has already completed', async () => {
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train') }).resolves(trainingJob(nameOf('Train')));
    sagemaker.on(CreateTrainingJobCommand).rejects(new ResourceInUse({ message: 'exists', $metadata: {} }));

    await startJob(input('Train', { taskToken: 'a-newer-token' }), STAGE, TABLES, NOW);

    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'a-newer-token' });
    expect(tokens.items.has(nameOf('Train'))).toBe(false);
  });
});

describe('startJob: failures', () => {
  it('rejects with RetryableError when CreateTrainingJob is throttled, removing the token', async () => {
    sagemaker.on(CreateTrainingJobCommand).rejects(throttled());

    await expect(startJob(input('Train'), STAGE, TABLES, NOW)).rejects.toThrow(RetryableError);

    expect(tokens.items.size).toBe(0);
  });

  it('rejects with SageMakerResourceLimit when SageMaker refuses the job for an account limit, deleting the token', async () => {
    sagemaker.on(CreateTrainingJobCommand).rejects(
      new ResourceLimitExceeded({ message: 'The account-level service limit \'ml.m5.xlarge for training job usage\' is 0 Instances, with current utilization of 0 Instances and a request delta of 1 Instances.', $metadata: {} }),
    );

    await expect(startJob(input('Train'), STAGE, TABLES, NOW)).rejects.toThrow(SageMakerResourceLimitError);

    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { TableName: TOKEN_TABLE, Key: { jobName: nameOf('Train') }, ExpressionAttributeValues: { ':token': TASK_TOKEN } });
    expect(tokens.items.size).toBe(0);
  });

  it('names the error SageMakerResourceLimit, as RetryPolicies SageMaker.RESOURCE_LIMIT expects', async () => {
    sagemaker.on(CreateProcessingJobCommand).rejects(new ResourceLimitExceeded({ message: 'limit', $metadata: {} }));

    await expect(startJob(input('Preprocess'), STAGE, TABLES, NOW)).rejects.toMatchObject({ name: 'SageMakerResourceLimit' });
  });

  it('fails a parameter override to an instance type the stage does not allow with InvalidConfig naming the field, starting nothing', async () => {
    const forkJoin = runOf(loadPipeline('fork-join'));
    const prepared = { ...preprocessResult(forkJoin), Outputs: { train: `${forkJoin.prefix}Prepare/train/`, test: `${forkJoin.prefix}Prepare/test/` } };
    const task = startJobInput(forkJoin, 'TrainXgb', { parameters: { InstanceType: 'ml.m5.xlarge', MaxMse: 6, Rounds: 50 }, steps: { Prepare: prepared } });

    await expect(startJob(task, { ...STAGE, allowedInstanceTypes: ['ml.m5.large'] }, TABLES, NOW)).rejects.toThrow(
      new InvalidConfigError('Steps.TrainXgb.ResourceConfig.InstanceType: instance type "ml.m5.xlarge" is not allowed on this stage (allowed: ml.m5.large)'),
    );
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
    expect(sagemaker).not.toHaveReceivedCommand(CreateTrainingJobCommand);
  });

  it('rejects a step that is not a job step of the run\'s pipeline with InvalidInput', async () => {
    await expect(startJob(startJobInput(run, 'QualityGate'), STAGE, TABLES, NOW)).rejects.toThrow(new InvalidInputError('the pipeline has no Processing, Training, Tuning or Transform step "QualityGate"'));
  });

  it('rejects with InvalidInput when the run\'s pipeline.json is missing', async () => {
    const lost = newRun();

    await expect(startJob(input('Preprocess', {}, lost), STAGE, TABLES, NOW)).rejects.toThrow(InvalidInputError);
    expect(sagemaker).not.toHaveReceivedAnyCommand();
  });

  it('rejects with RetryableError when DescribeTrainingJob is throttled while choosing the job name, recording nothing', async () => {
    sagemaker.on(DescribeTrainingJobCommand).rejects(throttled());

    await expect(startJob(input('Train'), STAGE, TABLES, NOW)).rejects.toThrow(RetryableError);
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
  });
});

describe('startJob: results from earlier runs', () => {
  it('completes a step carried over from an earlier run with that result, reading and creating nothing', async () => {
    const source = newRun();
    const carried = { ...preprocessResult(source), ReusedFrom: source.executionArn };

    const outcome = await startJob(input('Preprocess', { reuse: { Preprocess: carried } }), STAGE, TABLES, NOW);

    expect(outcome).toEqual({ outcome: 'reused', from: source.executionArn });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN, output: JSON.stringify(carried) });
    expect(sagemaker).not.toHaveReceivedAnyCommand();
    expect(dynamo).not.toHaveReceivedAnyCommand();
    expect(s3.calls()).toHaveLength(0);
  });

  it('runs a step that is not among the carried-over results', async () => {
    const source = newRun();

    await expect(startJob(input('Train', { reuse: { Preprocess: preprocessResult(source) } }), STAGE, TABLES, NOW)).resolves.toMatchObject({ outcome: 'started' });
  });

  describe('with Cache', () => {
    let first: TestRun;

    /** The first run of the cached pipeline: Train misses, its job completes and settles. */
    beforeEach(async () => {
      first = runOf(cachedPipeline());
      run = first;
      await startJob(input('Train', {}, first), STAGE, TABLES, NOW);
      const job = trainingJob(nameOf('Train', 1, first));
      store.put(job.ModelArtifacts!.S3ModelArtifacts!, 'model.tar.gz bytes');
      sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train', 1, first) }).resolves(job);
      // SageMaker's completion event arrives as the job ends, at NOW.
      await settleJob(TABLES, nameOf('Train', 1, first), 'training', NOW);
      sagemaker.resetHistory();
      sfn.resetHistory();
      dynamo.resetHistory();
    });

    it('stores the first run\'s result under a repository-scoped key once its job completed', () => {
      expect(cache.items.size).toBe(1);
      const [key] = [...cache.items.keys()];
      expect(key).toMatch(/^abalone#[0-9a-f]{64}$/);
      expect(cache.items.get(key!)).toMatchObject({ step: 'Train', executionArn: first.executionArn, expiresAt: NOW_SECONDS + THIRTY_DAYS });
    });

    it('completes a later run\'s identical step from the cache, marked CachedFrom the first run, creating no SageMaker job', async () => {
      const second = runOf(cachedPipeline());

      const outcome = await startJob(input('Train', { taskToken: 'second-run-token' }, second), STAGE, TABLES, NOW);

      expect(outcome).toEqual({ outcome: 'cached', from: first.executionArn, cacheKey: [...cache.items.keys()][0] });
      expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'second-run-token' });
      expect(sentOutput()).toMatchObject({ Type: 'Training', TrainingJobName: nameOf('Train', 1, first), CachedFrom: first.executionArn, ReusedFrom: null });
      expect(sagemaker).not.toHaveReceivedCommand(CreateTrainingJobCommand);
      expect(sagemaker).not.toHaveReceivedCommand(CreateProcessingJobCommand);
      expect(dynamo).not.toHaveReceivedCommandWith(PutCommand, { TableName: TOKEN_TABLE });
    });

    it('starts the job when an input\'s content differs (a changed upstream output), recording a new key', async () => {
      const second = runOf(cachedPipeline());

      const outcome = await startJob(input('Train', { steps: { Preprocess: preprocessResult(second, 'preprocess v2') } }, second), STAGE, TABLES, NOW);

      expect(outcome).toMatchObject({ outcome: 'started', jobName: nameOf('Train', 1, second) });
      const recorded = tokens.items.get(nameOf('Train', 1, second)) as unknown as JobToken;
      expect(recorded.cache?.key).not.toBe([...cache.items.keys()][0]);
    });

    it('starts the job when the cached entry is older than ExpireAfter', async () => {
      const second = runOf(cachedPipeline());
      const later = new Date(NOW.getTime() + (THIRTY_DAYS + 60) * 1000);

      await expect(startJob(input('Train', {}, second), STAGE, TABLES, later)).resolves.toMatchObject({ outcome: 'started' });
    });

    it('starts the job when the cached model artifact has changed since', async () => {
      const second = runOf(cachedPipeline());
      store.put(trainingJob(nameOf('Train', 1, first)).ModelArtifacts!.S3ModelArtifacts!, 'overwritten bytes');

      await expect(startJob(input('Train', {}, second), STAGE, TABLES, NOW)).resolves.toMatchObject({ outcome: 'started' });
    });
  });

  it('records the cache key and ExpireAfter with the token of a cached step\'s job', async () => {
    const cached = runOf(cachedPipeline());

    await startJob(input('Preprocess', {}, cached), STAGE, TABLES, NOW);

    expect(tokens.items.get(nameOf('Preprocess', 1, cached))).toMatchObject({ cache: { key: expect.stringMatching(/^abalone#[0-9a-f]{64}$/), maxAgeSeconds: THIRTY_DAYS } });
    expect(dynamo).toHaveReceivedCommandWith(GetCommand, { TableName: CACHE_TABLE, Key: { cacheKey: expect.stringMatching(/^abalone#/) } });
  });

  it('records no cache key with the token of a step without Cache, and reads no manifest', async () => {
    await startJob(input('Train'), STAGE, TABLES, NOW);

    expect(tokens.items.get(nameOf('Train'))).not.toHaveProperty('cache');
    expect(dynamo).not.toHaveReceivedCommandWith(GetCommand, { TableName: CACHE_TABLE });
    expect(s3).not.toHaveReceivedCommandWith(GetObjectCommand, { Key: run.build.sourceManifestUri.replace(`s3://${BUCKET}/`, '') });
  });
});

describe('settleJob', () => {
  beforeEach(() => {
    tokens.items.set(nameOf('Train'), { ...token() });
    tokens.items.set(nameOf('Preprocess'), { ...token({ jobName: nameOf('Preprocess'), kind: 'processing', step: 'Preprocess' }) });
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train') }).resolves(trainingJob(nameOf('Train')));
    sagemaker.on(DescribeProcessingJobCommand, { ProcessingJobName: nameOf('Preprocess') }).resolves(processingJob(nameOf('Preprocess')));
    store.put(`${run.prefix}Train/${nameOf('Train')}/output/model.tar.gz`, 'model.tar.gz bytes');
    for (const output of ['train', 'validation', 'test']) store.put(`${run.prefix}Preprocess/${output}/${output}.csv`, `${output} rows\n`);
  });

  it('completes a finished training job with its model artifacts, their hash and the final metrics', async () => {
    await expect(settleJob(TABLES, nameOf('Train'), 'training')).resolves.toBe('completed');

    const modelArtifacts = `${run.prefix}Train/${nameOf('Train')}/output/model.tar.gz`;
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN });
    expect(sentOutput()).toEqual({
      Type: 'Training',
      TrainingJobName: nameOf('Train'),
      TrainingJobArn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:training-job/${nameOf('Train')}`,
      ModelArtifacts: modelArtifacts,
      ModelArtifactsHash: await contentHash(modelArtifacts),
      FinalMetrics: { 'train:rmse': 1.9, 'validation:rmse': 2.1 },
      TrainingTimeSeconds: 300,
      BillableTimeSeconds: 300,
      StartTime: '2026-11-23T09:50:00.000Z',
      EndTime: '2026-11-23T09:55:00.000Z',
      CachedFrom: null,
      ReusedFrom: null,
    });
  });

  it('leaves out final metrics that have no value', async () => {
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train') }).resolves(trainingJob(nameOf('Train'), { FinalMetricDataList: [{ MetricName: 'train:rmse' }, { MetricName: 'validation:rmse', Value: 2.1 }] }));

    await settleJob(TABLES, nameOf('Train'), 'training');

    expect(sentOutput().FinalMetrics).toEqual({ 'validation:rmse': 2.1 });
  });

  it('completes a finished processing job with its outputs keyed by OutputName, their content hashes and its duration', async () => {
    await expect(settleJob(TABLES, nameOf('Preprocess'), 'processing')).resolves.toBe('completed');

    expect(sentOutput()).toMatchObject({
      Type: 'Processing',
      ProcessingJobName: nameOf('Preprocess'),
      Outputs: { train: `${run.prefix}Preprocess/train/`, validation: `${run.prefix}Preprocess/validation/`, test: `${run.prefix}Preprocess/test/` },
      OutputHashes: {
        train: await contentHash(`${run.prefix}Preprocess/train/`),
        validation: await contentHash(`${run.prefix}Preprocess/validation/`),
        test: await contentHash(`${run.prefix}Preprocess/test/`),
      },
      DurationSeconds: 150,
      CachedFrom: null,
    });
  });

  it('stores the result with its output hashes under the token\'s cache key when the step is cached, for ExpireAfter from the job\'s end', async () => {
    const key = 'abalone#0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';
    tokens.items.set(nameOf('Preprocess'), { ...token({ jobName: nameOf('Preprocess'), kind: 'processing', step: 'Preprocess', cache: { key, maxAgeSeconds: THIRTY_DAYS } }) });

    await settleJob(TABLES, nameOf('Preprocess'), 'processing', NOW);

    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: CACHE_TABLE,
      Item: { cacheKey: key, result: JSON.stringify(sentOutput()), executionArn: run.executionArn, step: 'Preprocess', createdAt: NOW_SECONDS, expiresAt: NOW_SECONDS + THIRTY_DAYS },
    });
    expect(JSON.parse(cache.items.get(key)!.result as string)).toMatchObject({ OutputHashes: { train: await contentHash(`${run.prefix}Preprocess/train/`) } });
  });

  it('keeps the expiry a token recorded before maxAgeSeconds existed carries (a job running across the deploy)', async () => {
    const key = 'abalone#0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';
    tokens.items.set(nameOf('Preprocess'), { ...token({ jobName: nameOf('Preprocess'), kind: 'processing', step: 'Preprocess', cache: { key, expiresAt: NOW_SECONDS + 3600 } }) });

    await expect(settleJob(TABLES, nameOf('Preprocess'), 'processing', NOW)).resolves.toBe('completed');

    expect(cache.items.get(key)).toMatchObject({ createdAt: NOW_SECONDS, expiresAt: NOW_SECONDS + 3600 });
  });

  it('stores nothing in the cache for a token without a cache key', async () => {
    await settleJob(TABLES, nameOf('Preprocess'), 'processing');

    expect(dynamo).not.toHaveReceivedCommandWith(PutCommand, { TableName: CACHE_TABLE });
  });

  it('stores nothing in the cache for a cached step whose job failed', async () => {
    tokens.items.set(nameOf('Train'), { ...token({ cache: { key: 'abalone#ab', maxAgeSeconds: THIRTY_DAYS } }) });
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train') }).resolves(trainingJob(nameOf('Train'), { TrainingJobStatus: TrainingJobStatus.FAILED, FailureReason: 'AlgorithmError: out of memory' }));

    await settleJob(TABLES, nameOf('Train'), 'training');

    expect(cache.items.size).toBe(0);
  });

  it('fails the task with SageMakerJobFailed and the FailureReason when the job failed', async () => {
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train') }).resolves(trainingJob(nameOf('Train'), { TrainingJobStatus: TrainingJobStatus.FAILED, FailureReason: 'AlgorithmError: out of memory' }));

    await expect(settleJob(TABLES, nameOf('Train'), 'training')).resolves.toBe('failed');

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: TASK_TOKEN, error: 'SageMakerJobFailed', cause: expect.stringContaining('AlgorithmError: out of memory') });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('fails the task with SageMakerCapacityError when the FailureReason is a CapacityError, so RetryPolicies can retry it', async () => {
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train') }).resolves(
      trainingJob(nameOf('Train'), { TrainingJobStatus: TrainingJobStatus.FAILED, FailureReason: 'CapacityError: Unable to provision requested ML compute capacity. Please retry using a different ML instance type.' }),
    );

    await settleJob(TABLES, nameOf('Train'), 'training');

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { error: 'SageMakerCapacityError', cause: expect.stringContaining('Unable to provision requested ML compute capacity') });
  });

  it('fails the task with SageMakerInternalError when SageMaker failed the processing job internally', async () => {
    sagemaker.on(DescribeProcessingJobCommand, { ProcessingJobName: nameOf('Preprocess') }).resolves(
      processingJob(nameOf('Preprocess'), { ProcessingJobStatus: ProcessingJobStatus.FAILED, FailureReason: 'InternalServerError: We encountered an internal error. Please try again.' }),
    );

    await settleJob(TABLES, nameOf('Preprocess'), 'processing');

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { error: 'SageMakerInternalError' });
  });

  it('fails the task with SageMakerJobFailed when a completed training job reports no model artifacts', async () => {
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train') }).resolves(trainingJob(nameOf('Train'), { ModelArtifacts: undefined }));

    await expect(settleJob(TABLES, nameOf('Train'), 'training')).resolves.toBe('failed');

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: TASK_TOKEN, error: 'SageMakerJobFailed', cause: expect.stringContaining('without ModelArtifacts') });
  });

  it('fails the task with SageMakerJobStopped when the job was stopped', async () => {
    sagemaker.on(DescribeProcessingJobCommand, { ProcessingJobName: nameOf('Preprocess') }).resolves(processingJob(nameOf('Preprocess'), { ProcessingJobStatus: ProcessingJobStatus.STOPPED }));

    await expect(settleJob(TABLES, nameOf('Preprocess'), 'processing')).resolves.toBe('failed');

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: TASK_TOKEN, error: 'SageMakerJobStopped', cause: expect.stringContaining(nameOf('Preprocess')) });
  });

  it('deletes the token record only if it still holds the settled token', async () => {
    await settleJob(TABLES, nameOf('Train'), 'training');

    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: TOKEN_TABLE,
      Key: { jobName: nameOf('Train') },
      ConditionExpression: expect.stringContaining('taskToken = :token'),
      ExpressionAttributeValues: { ':token': TASK_TOKEN },
    });
    expect(tokens.items.has(nameOf('Train'))).toBe(false);
  });

  it('treats a record replaced by a newer token (ConditionalCheckFailed on delete) as done, keeping the newer record', async () => {
    dynamo.on(DeleteCommand, { TableName: TOKEN_TABLE }).callsFake(() => {
      tokens.items.set(nameOf('Train'), { ...token({ taskToken: 'a-newer-token' }) });
      throw Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
    });

    await expect(settleJob(TABLES, nameOf('Train'), 'training')).resolves.toBe('completed');
    expect(tokens.items.get(nameOf('Train'))).toMatchObject({ taskToken: 'a-newer-token' });
  });

  it('sends nothing and keeps the record while the job is in progress', async () => {
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train') }).resolves(trainingJob(nameOf('Train'), { TrainingJobStatus: TrainingJobStatus.IN_PROGRESS }));

    await expect(settleJob(TABLES, nameOf('Train'), 'training')).resolves.toBe('running');

    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });

  it('does nothing for a job Sluice does not wait on', async () => {
    await expect(settleJob(TABLES, 'someone-elses-job', 'training')).resolves.toBe('untracked');

    expect(sagemaker).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });

  it('leaves an endpoint deploy\'s record to the endpoint reconciler', async () => {
    tokens.items.set('endpoint:sluice-test-abalone-staging', { ...token({ jobName: 'endpoint:sluice-test-abalone-staging', kind: 'endpoint', step: 'DeployStaging' }) });

    await expect(settleJob(TABLES, 'endpoint:sluice-test-abalone-staging', 'training')).resolves.toBe('untracked');
    expect(sagemaker).not.toHaveReceivedAnyCommand();
  });

  it('reports a job that does not exist as missing and keeps its record', async () => {
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train') }).rejects(notFound());

    await expect(settleJob(TABLES, nameOf('Train'), 'training')).resolves.toBe('missing');

    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });

  it.each([
    ['TaskTimedOut', () => new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} })],
    ['InvalidToken', () => new InvalidToken({ message: 'Invalid token', $metadata: {} })],
  ])('returns already-settled and deletes the record when SendTaskSuccess says %s', async (_name, error) => {
    sfn.on(SendTaskSuccessCommand).rejects(error());

    await expect(settleJob(TABLES, nameOf('Train'), 'training')).resolves.toBe('already-settled');

    expect(tokens.items.has(nameOf('Train'))).toBe(false);
  });

  it('rejects with RetryableError and keeps the record when DescribeTrainingJob is throttled', async () => {
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: nameOf('Train') }).rejects(throttled());

    await expect(settleJob(TABLES, nameOf('Train'), 'training')).rejects.toThrow(RetryableError);

    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });

  it('rejects with RetryableError and keeps the record when SendTaskSuccess is throttled', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(settleJob(TABLES, nameOf('Train'), 'training')).rejects.toMatchObject({ name: 'RetryableError' });

    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });
});

describe('reconcileJobs', () => {
  function outstanding(...records: JobToken[]): void {
    for (const record of records) tokens.items.set(record.jobName, { ...record });
  }

  beforeEach(() => {
    store.put(`${run.prefix}Train/${nameOf('Train')}/output/model.tar.gz`, 'model.tar.gz bytes');
  });

  it('leaves tokens younger than the minimum age to the event path', async () => {
    outstanding(token({ createdAt: NOW_SECONDS - 30 }));
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob(nameOf('Train')));

    await expect(reconcileJobs(TABLES, 120, NOW)).resolves.toEqual({ checked: 0, settled: 0, running: 0, abandoned: 0, stopped: 0 });

    expect(sagemaker).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('settles a token whose job ended while its event was lost', async () => {
    outstanding(token({ createdAt: NOW_SECONDS - 600 }));
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob(nameOf('Train')));

    await expect(reconcileJobs(TABLES, 120, NOW)).resolves.toEqual({ checked: 1, settled: 1, running: 0, abandoned: 0, stopped: 0 });

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN });
  });

  it('stores a cached step\'s result when it settles the token', async () => {
    outstanding(token({ createdAt: NOW_SECONDS - 600, cache: { key: 'abalone#cd', maxAgeSeconds: THIRTY_DAYS } }));
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob(nameOf('Train')));

    await reconcileJobs(TABLES, 120, NOW);

    expect(cache.items.get('abalone#cd')).toMatchObject({ step: 'Train', executionArn: run.executionArn });
  });

  it('counts jobs still in progress for a RUNNING run as running and leaves them alone', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: run.executionArn, status: ExecutionStatus.RUNNING });
    outstanding(
      token({ createdAt: NOW_SECONDS - 600 }),
      token({ jobName: nameOf('Preprocess'), kind: 'processing', step: 'Preprocess', taskToken: 'other-token', createdAt: NOW_SECONDS - 900 }),
    );
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob(nameOf('Train'), { TrainingJobStatus: TrainingJobStatus.IN_PROGRESS }));
    sagemaker.on(DescribeProcessingJobCommand).resolves(processingJob(nameOf('Preprocess'), { ProcessingJobStatus: ProcessingJobStatus.IN_PROGRESS }));

    await expect(reconcileJobs(TABLES, 120, NOW)).resolves.toEqual({ checked: 2, settled: 0, running: 2, abandoned: 0, stopped: 0 });

    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(sfn).not.toHaveReceivedCommand(SendTaskFailureCommand);
    expect(sagemaker).not.toHaveReceivedCommand(StopTrainingJobCommand);
    expect(sagemaker).not.toHaveReceivedCommand(StopProcessingJobCommand);
    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });

  // https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html: status RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING_REDRIVE.
  it.each([ExecutionStatus.ABORTED, ExecutionStatus.TIMED_OUT, ExecutionStatus.FAILED])('stops the jobs still running for a run that is %s, and removes their tokens (its status event was lost)', async (status) => {
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: run.executionArn, status });
    sagemaker.on(StopTrainingJobCommand).resolves({});
    sagemaker.on(StopProcessingJobCommand).resolves({});
    outstanding(
      token({ createdAt: NOW_SECONDS - 600 }),
      token({ jobName: nameOf('Preprocess'), kind: 'processing', step: 'Preprocess', taskToken: 'other-token', createdAt: NOW_SECONDS - 900 }),
    );
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob(nameOf('Train'), { TrainingJobStatus: TrainingJobStatus.IN_PROGRESS }));
    sagemaker.on(DescribeProcessingJobCommand).resolves(processingJob(nameOf('Preprocess'), { ProcessingJobStatus: ProcessingJobStatus.IN_PROGRESS }));

    await expect(reconcileJobs(TABLES, 120, NOW)).resolves.toEqual({ checked: 2, settled: 0, running: 0, abandoned: 0, stopped: 2 });

    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: run.executionArn });
    expect(sagemaker).toHaveReceivedCommandWith(StopTrainingJobCommand, { TrainingJobName: nameOf('Train') });
    expect(sagemaker).toHaveReceivedCommandWith(StopProcessingJobCommand, { ProcessingJobName: nameOf('Preprocess') });
    expect(tokens.items.size).toBe(0);
  });

  it('leaves a running job alone when Step Functions does not know its run', async () => {
    outstanding(token({ createdAt: NOW_SECONDS - 600 }));
    sagemaker.on(DescribeTrainingJobCommand).resolves(trainingJob(nameOf('Train'), { TrainingJobStatus: TrainingJobStatus.IN_PROGRESS }));

    await expect(reconcileJobs(TABLES, 120, NOW)).resolves.toEqual({ checked: 1, settled: 0, running: 1, abandoned: 0, stopped: 0 });
    expect(sagemaker).not.toHaveReceivedCommand(StopTrainingJobCommand);
  });

  it('skips endpoint deploys, which shared/deploy/endpoint.ts reconciles', async () => {
    outstanding(token({ jobName: 'endpoint:sluice-test-abalone-prod', kind: 'endpoint', step: 'DeployProd', createdAt: NOW_SECONDS - 900 }));

    await expect(reconcileJobs(TABLES, 120, NOW)).resolves.toEqual({ checked: 0, settled: 0, running: 0, abandoned: 0, stopped: 0 });
    expect(sagemaker).not.toHaveReceivedAnyCommand();
  });

  it('fails and removes a token whose job never came to exist once it is older than the abandon threshold', async () => {
    outstanding(token({ createdAt: NOW_SECONDS - 4000 }));

    await expect(reconcileJobs(TABLES, 120, NOW, 3600)).resolves.toEqual({ checked: 1, settled: 0, running: 0, abandoned: 1, stopped: 0 });

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: TASK_TOKEN, error: 'SageMakerJobFailed', cause: expect.stringContaining(nameOf('Train')) });
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { Key: { jobName: nameOf('Train') }, ExpressionAttributeValues: { ':token': TASK_TOKEN } });
  });

  it('keeps a token whose job does not exist yet while it is younger than the abandon threshold', async () => {
    outstanding(token({ createdAt: NOW_SECONDS - 600 }));

    await expect(reconcileJobs(TABLES, 120, NOW, 3600)).resolves.toEqual({ checked: 1, settled: 0, running: 0, abandoned: 0, stopped: 0 });

    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });
});
