import 'aws-sdk-client-mock-jest';

import { S3Client } from '@aws-sdk/client-s3';
import {
  CreateHyperParameterTuningJobCommand,
  CreateModelCommand,
  CreateTransformJobCommand,
  DescribeHyperParameterTuningJobCommand,
  type DescribeHyperParameterTuningJobCommandOutput,
  DescribeModelCommand,
  DescribeTrainingJobCommand,
  type DescribeTrainingJobCommandOutput,
  DescribeTransformJobCommand,
  type DescribeTransformJobCommandOutput,
  HyperParameterTuningJobStatus,
  SageMakerClient,
  SageMakerServiceException,
  StopHyperParameterTuningJobCommand,
  StopTransformJobCommand,
  TrainingJobStatus,
  TransformJobStatus,
} from '@aws-sdk/client-sagemaker';
import { DescribeExecutionCommand, ExecutionStatus, SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { JobToken } from '../../../shared/aws/dynamodb';
import { reconcileJobs, settleJob, startJob, stopRunJobs, transformOutcome, tuningOutcome } from '../../../shared/pipeline/jobs';
import { jobName, SAGEMAKER_NAME, transformModelName, tuningJobName } from '../../../shared/naming';
import type { PipelineConfig } from '../../../shared/schemas/mlops-v2';
import type { StepResult } from '../../../shared/schemas/task-inputs';
import { ACCOUNT, REGION } from '../../helpers/fixtures';
import { IMAGE, pipelineOf } from '../../helpers/pipelines';
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
  storeDataset,
  storeManifest,
  storePipeline,
  TABLES,
  TASK_TOKEN,
  type TestRun,
  TOKEN_TABLE,
  trainResult,
} from '../../helpers/step-tasks';

const sagemaker = mockClient(SageMakerClient);
const sfn = mockClient(SFNClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);

const NOW = new Date('2026-11-23T10:00:00Z');
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);

/** A pipeline with a Tuning step (tune) over Preprocess's outputs, and a Transform step (score) of Train's model over Preprocess's test output. */
function pipeline(): PipelineConfig {
  return pipelineOf({
    Preprocess: { Type: 'Processing', AppSpecification: { ImageUri: IMAGE }, ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.large' } }, Outputs: ['train', 'validation', 'test'] },
    Train: { Type: 'Training', AlgorithmSpecification: { TrainingImage: IMAGE }, ResourceConfig: { InstanceType: 'ml.m5.large' }, Channels: { train: { From: 'Preprocess/train' } } },
    tune: {
      Type: 'Tuning',
      HyperParameterTuningJobConfig: {
        Strategy: 'Bayesian',
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:rmse' },
        ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2 },
        ParameterRanges: {
          IntegerParameterRanges: [{ Name: 'max_depth', MinValue: 2, MaxValue: 8 }],
          ContinuousParameterRanges: [{ Name: 'eta', MinValue: 0.05, MaxValue: '0.5', ScalingType: 'Logarithmic' }],
        },
        RandomSeed: 7,
      },
      TrainingJobDefinition: {
        AlgorithmSpecification: { TrainingImage: IMAGE, MetricDefinitions: [{ Name: 'validation:rmse', Regex: 'validation-rmse:([0-9.]+)' }] },
        StaticHyperParameters: { num_round: 50 },
        ResourceConfig: { InstanceType: 'ml.m5.large' },
        StoppingCondition: { MaxRuntimeInSeconds: 600 },
        Channels: { train: { From: 'Preprocess/train' }, validation: { From: 'Preprocess/validation' } },
      },
    },
    score: {
      Type: 'Transform',
      Model: { ModelData: { From: 'Train/model' }, Image: IMAGE },
      TransformInput: { DataSource: { From: 'Preprocess/test' }, ContentType: 'text/csv', SplitType: 'Line' },
      TransformOutput: { Accept: 'text/csv', AssembleWith: 'Line' },
      TransformResources: { InstanceType: 'ml.m5.large' },
      BatchStrategy: 'MultiRecord',
    },
  });
}

let store: FakeS3;
let tokens: FakeTable;
let run: TestRun;
let steps: Record<string, StepResult>;

const notFound = () => new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: 'Could not find requested job.', $metadata: { httpStatusCode: 400 } });
const tuningName = (attempt = 1) => tuningJobName(STAGE.stagePrefix, run.build.repository, 'tune', run.executionArn, attempt);
const transformName = () => jobName(STAGE.stagePrefix, run.build.repository, 'score', run.executionArn);
const bestName = () => `${tuningName()}-003-0a1b2c3d`;

/** DescribeHyperParameterTuningJob of `tune`, Completed with a best training job unless overridden. */
function tuningJob(overrides: Partial<DescribeHyperParameterTuningJobCommandOutput> = {}): Partial<DescribeHyperParameterTuningJobCommandOutput> {
  return {
    HyperParameterTuningJobName: tuningName(),
    HyperParameterTuningJobArn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:hyper-parameter-tuning-job/${tuningName()}`,
    HyperParameterTuningJobStatus: HyperParameterTuningJobStatus.COMPLETED,
    HyperParameterTuningJobConfig: { Strategy: 'Bayesian', ResourceLimits: { MaxParallelTrainingJobs: 2 }, HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:rmse' } },
    TrainingJobStatusCounters: { Completed: 3, InProgress: 0, RetryableError: 0, NonRetryableError: 1, Stopped: 0 },
    BestTrainingJob: {
      TrainingJobName: bestName(),
      TrainingJobArn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:training-job/${bestName()}`,
      CreationTime: NOW,
      TrainingJobStatus: TrainingJobStatus.COMPLETED,
      TunedHyperParameters: { max_depth: '5', eta: '0.12' },
      FinalHyperParameterTuningJobObjectiveMetric: { MetricName: 'validation:rmse', Value: 1.75 },
    },
    CreationTime: new Date('2026-11-23T09:30:00Z'),
    HyperParameterTuningEndTime: new Date('2026-11-23T09:58:00Z'),
    ...overrides,
  };
}

/** DescribeTransformJob of `score`, Completed unless overridden. */
function transformJob(overrides: Partial<DescribeTransformJobCommandOutput> = {}): Partial<DescribeTransformJobCommandOutput> {
  return {
    TransformJobName: transformName(),
    TransformJobArn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:transform-job/${transformName()}`,
    TransformJobStatus: TransformJobStatus.COMPLETED,
    ModelName: transformModelName(STAGE.stagePrefix, run.build.repository, 'score', run.executionArn),
    TransformOutput: { S3OutputPath: `${run.prefix}score/output/` },
    TransformStartTime: new Date('2026-11-23T09:50:00Z'),
    TransformEndTime: new Date('2026-11-23T09:52:00Z'),
    ...overrides,
  };
}

function token(overrides: Partial<JobToken>): JobToken {
  return { jobName: tuningName(), kind: 'tuning', taskToken: TASK_TOKEN, executionArn: run.executionArn, step: 'tune', createdAt: NOW_SECONDS - 600, expiresAt: NOW_SECONDS + 100_000, ...overrides };
}

function sentOutput(): Record<string, unknown> {
  return JSON.parse(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input.output ?? 'null') as Record<string, unknown>;
}

beforeEach(() => {
  sagemaker.reset();
  sfn.reset();
  dynamo.reset();
  s3.reset();
  store = fakeS3(s3);
  tokens = fakeTable(dynamo, TOKEN_TABLE, 'jobName');
  fakeTable(dynamo, CACHE_TABLE, 'cacheKey');
  storeDataset(store);
  run = newRun();
  storePipeline(store, run, pipeline());
  storeManifest(store, run);
  steps = { Preprocess: preprocessResult(run), Train: trainResult(run) };
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  sagemaker.on(DescribeHyperParameterTuningJobCommand).rejects(notFound());
  sagemaker.on(DescribeTransformJobCommand).rejects(notFound());
  sagemaker.on(DescribeTrainingJobCommand).rejects(notFound());
  sagemaker.on(DescribeModelCommand).rejects(notFound());
  sagemaker.on(CreateHyperParameterTuningJobCommand).resolves({ HyperParameterTuningJobArn: 'arn:x' });
  sagemaker.on(CreateModelCommand).resolves({ ModelArn: 'arn:x' });
  sagemaker.on(CreateTransformJobCommand).resolves({ TransformJobArn: 'arn:x' });
});

describe('startJob: a Tuning step', () => {
  it('creates the tuning job under a name of at most 32 characters, its training definition resolved, with lineage tags', async () => {
    const outcome = await startJob(startJobInput(run, 'tune', { steps }), STAGE, TABLES, NOW);

    expect(outcome).toEqual({ outcome: 'started', jobName: tuningName(), kind: 'tuning' });
    expect(tuningName().length).toBeLessThanOrEqual(32);
    expect(sagemaker).toHaveReceivedCommandWith(CreateHyperParameterTuningJobCommand, {
      HyperParameterTuningJobName: tuningName(),
      HyperParameterTuningJobConfig: {
        Strategy: 'Bayesian',
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:rmse' },
        // The whole tuning job within the stage's runtime cap, which bounds the step's wait.
        ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2, MaxRuntimeInSeconds: STAGE.maxRuntimeSeconds },
        ParameterRanges: {
          IntegerParameterRanges: [{ Name: 'max_depth', MinValue: '2', MaxValue: '8', ScalingType: 'Auto' }],
          ContinuousParameterRanges: [{ Name: 'eta', MinValue: '0.05', MaxValue: '0.5', ScalingType: 'Logarithmic' }],
          CategoricalParameterRanges: [],
        },
        TrainingJobEarlyStoppingType: 'Off',
        RandomSeed: 7,
      },
      TrainingJobDefinition: expect.objectContaining({
        RoleArn: STAGE.roleArn,
        StaticHyperParameters: { num_round: '50' },
        OutputDataConfig: { S3OutputPath: `${run.prefix}tune/` },
        StoppingCondition: { MaxRuntimeInSeconds: 600 },
        InputDataConfig: [
          expect.objectContaining({ ChannelName: 'train', DataSource: { S3DataSource: expect.objectContaining({ S3Uri: `${run.prefix}Preprocess/train/` }) } }),
          expect.objectContaining({ ChannelName: 'validation', DataSource: { S3DataSource: expect.objectContaining({ S3Uri: `${run.prefix}Preprocess/validation/` }) } }),
        ],
      }),
      Tags: expect.arrayContaining([{ Key: 'sluice:execution', Value: run.executionArn }, { Key: 'sluice:step', Value: 'tune' }]),
    });
    expect(tokens.items.get(tuningName())).toMatchObject({ kind: 'tuning', step: 'tune' });
  });

  it('isolates the training definition as a training job is (network, VPC, KMS keys)', async () => {
    const isolation = { networkIsolation: true, vpc: { Subnets: ['subnet-1'], SecurityGroupIds: ['sg-1'] }, volumeKmsKeyId: 'alias/volumes', outputKmsKeyId: 'alias/outputs' };

    await startJob(startJobInput(run, 'tune', { steps }), { ...STAGE, isolation }, TABLES, NOW);

    expect(sagemaker).toHaveReceivedCommandWith(CreateHyperParameterTuningJobCommand, {
      TrainingJobDefinition: expect.objectContaining({
        EnableNetworkIsolation: true,
        VpcConfig: isolation.vpc,
        ResourceConfig: expect.objectContaining({ VolumeKmsKeyId: 'alias/volumes' }),
        OutputDataConfig: { S3OutputPath: `${run.prefix}tune/`, KmsKeyId: 'alias/outputs' },
      }),
    });
  });

  it('takes the next attempt\'s name when the first tuning job failed (a retry)', async () => {
    sagemaker.on(DescribeHyperParameterTuningJobCommand, { HyperParameterTuningJobName: tuningName() }).resolves(tuningJob({ HyperParameterTuningJobStatus: HyperParameterTuningJobStatus.FAILED }));

    const outcome = await startJob(startJobInput(run, 'tune', { steps }), STAGE, TABLES, NOW);

    expect(outcome).toMatchObject({ jobName: tuningName(2) });
    expect(tuningName(2)).toBe(`${tuningName()}-2`);
    expect(tuningName(2).length).toBeLessThanOrEqual(32);
    expect(tuningName(2)).toMatch(SAGEMAKER_NAME);
  });

  it('refuses an instance type the stage does not allow, naming the training definition\'s field, and starts nothing', async () => {
    const refused = pipeline();
    Object.assign((refused.Steps.tune as { TrainingJobDefinition: { ResourceConfig: Record<string, unknown> } }).TrainingJobDefinition.ResourceConfig, { InstanceType: 'ml.p4d.24xlarge' });
    const other = newRun();
    storePipeline(store, other, refused);
    storeManifest(store, other);

    await expect(startJob(startJobInput(other, 'tune', { steps: { Preprocess: preprocessResult(other) } }), STAGE, TABLES, NOW)).rejects.toThrow(
      'Steps.tune.TrainingJobDefinition.ResourceConfig.InstanceType: instance type "ml.p4d.24xlarge" is not allowed on this stage',
    );
    expect(sagemaker).not.toHaveReceivedCommand(CreateHyperParameterTuningJobCommand);
  });
});

describe('startJob: a Transform step', () => {
  it('creates the model from the training step\'s artifacts first, then the transform job writing under the step\'s output prefix', async () => {
    const order: string[] = [];
    sagemaker.on(CreateModelCommand).callsFake(() => order.push('CreateModel') && {});
    sagemaker.on(CreateTransformJobCommand).callsFake(() => order.push('CreateTransformJob') && {});
    const modelName = transformModelName(STAGE.stagePrefix, run.build.repository, 'score', run.executionArn);

    const outcome = await startJob(startJobInput(run, 'score', { steps }), STAGE, TABLES, NOW);

    expect(outcome).toEqual({ outcome: 'started', jobName: transformName(), kind: 'transform' });
    expect(order).toEqual(['CreateModel', 'CreateTransformJob']);
    expect(sagemaker).toHaveReceivedCommandWith(CreateModelCommand, {
      ModelName: modelName,
      ExecutionRoleArn: STAGE.roleArn,
      PrimaryContainer: { Image: IMAGE, ModelDataUrl: steps.Train!.Type === 'Training' ? steps.Train!.ModelArtifacts : '' },
      Tags: expect.arrayContaining([{ Key: 'sluice:step', Value: 'score' }]),
    });
    expect(sagemaker).toHaveReceivedCommandWith(CreateTransformJobCommand, {
      TransformJobName: transformName(),
      ModelName: modelName,
      BatchStrategy: 'MultiRecord',
      TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `${run.prefix}Preprocess/test/` } }, ContentType: 'text/csv', SplitType: 'Line', CompressionType: 'None' },
      TransformOutput: { S3OutputPath: `${run.prefix}score/output/`, Accept: 'text/csv', AssembleWith: 'Line' },
      TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
    });
    expect(modelName.length).toBeLessThanOrEqual(63);
    expect(modelName).toMatch(SAGEMAKER_NAME);
  });

  it('passes the step\'s DataProcessing (filters and join) to the transform job, and none when the step has none', async () => {
    const filtered = pipeline();
    Object.assign(filtered.Steps.score!, { DataProcessing: { InputFilter: '$[1:]', JoinSource: 'Input', OutputFilter: '$[0,-1]' } });
    const other = newRun();
    storePipeline(store, other, filtered);
    storeManifest(store, other);

    await startJob(startJobInput(run, 'score', { steps }), STAGE, TABLES, NOW);
    await startJob(startJobInput(other, 'score', { steps: { Preprocess: preprocessResult(other), Train: trainResult(other) } }), STAGE, TABLES, NOW);

    const requests = sagemaker.commandCalls(CreateTransformJobCommand).map((call) => call.args[0].input);
    expect(requests.map((request) => request.DataProcessing)).toEqual([undefined, { InputFilter: '$[1:]', JoinSource: 'Input', OutputFilter: '$[0,-1]' }]);
  });

  it('finds the model a repeated task created and does not create it again', async () => {
    sagemaker.on(DescribeModelCommand).resolves({ ModelName: 'found', ModelArn: 'arn:x' });

    await startJob(startJobInput(run, 'score', { steps }), STAGE, TABLES, NOW);

    expect(sagemaker).not.toHaveReceivedCommand(CreateModelCommand);
    expect(sagemaker).toHaveReceivedCommandTimes(CreateTransformJobCommand, 1);
  });

  it('puts the model in the stage\'s network and the job under its KMS keys', async () => {
    const isolation = { networkIsolation: true, vpc: { Subnets: ['subnet-1'], SecurityGroupIds: ['sg-1'] }, volumeKmsKeyId: 'alias/volumes', outputKmsKeyId: 'alias/outputs' };

    await startJob(startJobInput(run, 'score', { steps }), { ...STAGE, isolation }, TABLES, NOW);

    expect(sagemaker).toHaveReceivedCommandWith(CreateModelCommand, { EnableNetworkIsolation: true, VpcConfig: isolation.vpc });
    expect(sagemaker).toHaveReceivedCommandWith(CreateTransformJobCommand, {
      TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeKmsKeyId: 'alias/volumes' },
      TransformOutput: expect.objectContaining({ KmsKeyId: 'alias/outputs' }),
    });
  });

  it('fails the task (and leaves no token) when the training step has not run, naming the field', async () => {
    await expect(startJob(startJobInput(run, 'score', { steps: { Preprocess: preprocessResult(run) } }), STAGE, TABLES, NOW)).rejects.toThrow(
      'Steps.score.Model.ModelData.From: "Train/model" has no output in this run (step "Train" has not run)',
    );
    expect(sagemaker).not.toHaveReceivedCommand(CreateModelCommand);
    expect(tokens.items.size).toBe(0);
  });
});

describe('tuningOutcome', () => {
  const best = () => ({ TrainingJobName: bestName(), ModelArtifacts: { S3ModelArtifacts: `${run.prefix}tune/${bestName()}/output/model.tar.gz` } }) as DescribeTrainingJobCommandOutput;

  it('reads the best training job: its model artifacts, objective value and tuned hyperparameters, and how the trials ended', () => {
    expect(tuningOutcome(tuningJob() as DescribeHyperParameterTuningJobCommandOutput, best())).toEqual({
      state: 'completed',
      output: {
        Type: 'Tuning',
        HyperParameterTuningJobName: tuningName(),
        HyperParameterTuningJobArn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:hyper-parameter-tuning-job/${tuningName()}`,
        BestTrainingJob: {
          TrainingJobName: bestName(),
          TrainingJobArn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:training-job/${bestName()}`,
          ModelArtifacts: `${run.prefix}tune/${bestName()}/output/model.tar.gz`,
          ObjectiveMetricName: 'validation:rmse',
          FinalObjectiveValue: 1.75,
          TunedHyperParameters: { max_depth: '5', eta: '0.12' },
        },
        TrainingJobCounts: { Completed: 3, Failed: 1, Stopped: 0 },
        StartTime: '2026-11-23T09:30:00.000Z',
        EndTime: '2026-11-23T09:58:00.000Z',
        CachedFrom: null,
        ReusedFrom: null,
      },
    });
  });

  it('fails the step when the tuning job completed without a best training job, saying how its trials ended', () => {
    expect(tuningOutcome(tuningJob({ BestTrainingJob: undefined, TrainingJobStatusCounters: { Completed: 0, NonRetryableError: 4, RetryableError: 0, Stopped: 0 } }) as DescribeHyperParameterTuningJobCommandOutput, undefined)).toEqual({
      state: 'failed',
      error: 'SageMakerJobFailed',
      cause: `tuning job ${tuningName()} completed without a BestTrainingJob (0 completed, 4 failed, 0 stopped training jobs)`,
    });
  });

  it('fails the step when the best training job has no model artifacts', () => {
    expect(tuningOutcome(tuningJob() as DescribeHyperParameterTuningJobCommandOutput, { TrainingJobName: bestName() } as DescribeTrainingJobCommandOutput)).toMatchObject({ state: 'failed', cause: expect.stringContaining(`best training job ${bestName()} has no ModelArtifacts.S3ModelArtifacts`) });
  });

  it('names the FailureReason of a failed tuning job, and is still running while InProgress or Stopping', () => {
    expect(tuningOutcome(tuningJob({ HyperParameterTuningJobStatus: HyperParameterTuningJobStatus.FAILED, FailureReason: 'All training jobs failed' }) as DescribeHyperParameterTuningJobCommandOutput, undefined)).toEqual({
      state: 'failed',
      error: 'SageMakerJobFailed',
      cause: `tuning job ${tuningName()} failed: All training jobs failed (3 completed, 1 failed, 0 stopped training jobs)`,
    });
    expect(tuningOutcome(tuningJob({ HyperParameterTuningJobStatus: HyperParameterTuningJobStatus.STOPPED }) as DescribeHyperParameterTuningJobCommandOutput, undefined)).toMatchObject({ state: 'failed', error: 'SageMakerJobStopped' });
    for (const status of [HyperParameterTuningJobStatus.IN_PROGRESS, HyperParameterTuningJobStatus.STOPPING]) {
      expect(tuningOutcome(tuningJob({ HyperParameterTuningJobStatus: status }) as DescribeHyperParameterTuningJobCommandOutput, undefined)).toEqual({ state: 'running' });
    }
    expect(tuningOutcome(undefined, undefined)).toEqual({ state: 'missing' });
  });
});

describe('transformOutcome', () => {
  it('reads the output prefix, the model and the times of a completed transform job', () => {
    expect(transformOutcome(transformJob() as DescribeTransformJobCommandOutput)).toEqual({
      state: 'completed',
      output: {
        Type: 'Transform',
        TransformJobName: transformName(),
        TransformJobArn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:transform-job/${transformName()}`,
        ModelName: transformModelName(STAGE.stagePrefix, run.build.repository, 'score', run.executionArn),
        Output: `${run.prefix}score/output/`,
        StartTime: '2026-11-23T09:50:00.000Z',
        EndTime: '2026-11-23T09:52:00.000Z',
        DurationSeconds: 120,
        CachedFrom: null,
        ReusedFrom: null,
      },
    });
  });

  it('fails with the job\'s FailureReason, capacity errors named so RetryPolicies can retry them', () => {
    const failed = (reason: string) => transformOutcome(transformJob({ TransformJobStatus: TransformJobStatus.FAILED, FailureReason: reason }) as DescribeTransformJobCommandOutput);

    expect(failed('ClientError: the model container did not pass the ping health check')).toEqual({
      state: 'failed',
      error: 'SageMakerJobFailed',
      cause: `transform job ${transformName()} failed: ClientError: the model container did not pass the ping health check`,
    });
    expect(failed('CapacityError: Unable to provision requested ML compute capacity')).toMatchObject({ error: 'SageMakerCapacityError' });
  });
});

describe('settleJob', () => {
  it('settles a tuning token with the best job\'s model artifacts and their content hash (DescribeTrainingJob at settle time)', async () => {
    const artifacts = `${run.prefix}tune/${bestName()}/output/model.tar.gz`;
    store.put(artifacts, 'the best model');
    tokens.items.set(tuningName(), { ...token({}) });
    sagemaker.on(DescribeHyperParameterTuningJobCommand, { HyperParameterTuningJobName: tuningName() }).resolves(tuningJob());
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: bestName() }).resolves({ TrainingJobName: bestName(), ModelArtifacts: { S3ModelArtifacts: artifacts } });

    await expect(settleJob(TABLES, tuningName(), 'tuning', NOW)).resolves.toBe('completed');

    expect(sentOutput()).toMatchObject({ Type: 'Tuning', BestTrainingJob: { TrainingJobName: bestName(), ModelArtifacts: artifacts, ModelArtifactsHash: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(tokens.items.has(tuningName())).toBe(false);
  });

  it('fails a transform token with the transform job\'s FailureReason', async () => {
    tokens.items.set(transformName(), { ...token({ jobName: transformName(), kind: 'transform', step: 'score' }) });
    sagemaker.on(DescribeTransformJobCommand, { TransformJobName: transformName() }).resolves(transformJob({ TransformJobStatus: TransformJobStatus.FAILED, FailureReason: 'serve exited with code 4' }));

    await expect(settleJob(TABLES, transformName(), 'transform', NOW)).resolves.toBe('failed');

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: TASK_TOKEN, error: 'SageMakerJobFailed', cause: `transform job ${transformName()} failed: serve exited with code 4` });
  });

  it('settles a transform token with the hash of what the job wrote', async () => {
    store.put(`${run.prefix}score/output/test.csv.out`, '1\n2\n');
    tokens.items.set(transformName(), { ...token({ jobName: transformName(), kind: 'transform', step: 'score' }) });
    sagemaker.on(DescribeTransformJobCommand, { TransformJobName: transformName() }).resolves(transformJob());

    await expect(settleJob(TABLES, transformName(), 'transform', NOW)).resolves.toBe('completed');

    expect(sentOutput()).toMatchObject({ Type: 'Transform', Output: `${run.prefix}score/output/`, OutputHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });
});

describe('stopRunJobs', () => {
  it('stops the run\'s tuning and transform jobs still in progress, and leaves ended ones alone', async () => {
    tokens.items.set(tuningName(), { ...token({}) });
    tokens.items.set(transformName(), { ...token({ jobName: transformName(), kind: 'transform', step: 'score' }) });
    sagemaker.on(DescribeHyperParameterTuningJobCommand).resolves(tuningJob({ HyperParameterTuningJobStatus: HyperParameterTuningJobStatus.IN_PROGRESS }));
    sagemaker.on(DescribeTransformJobCommand).resolves(transformJob());
    sagemaker.on(StopHyperParameterTuningJobCommand).resolves({});

    await expect(stopRunJobs(run.executionArn, TOKEN_TABLE)).resolves.toEqual({ stopped: [tuningName()] });

    expect(sagemaker).toHaveReceivedCommandWith(StopHyperParameterTuningJobCommand, { HyperParameterTuningJobName: tuningName() });
    expect(sagemaker).not.toHaveReceivedCommand(StopTransformJobCommand);
  });
});

describe('reconcileJobs', () => {
  it('settles a tuning job whose event was lost, and stops a transform job still running for a run that ended', async () => {
    const artifacts = `${run.prefix}tune/${bestName()}/output/model.tar.gz`;
    store.put(artifacts, 'the best model');
    tokens.items.set(tuningName(), { ...token({}) });
    tokens.items.set(transformName(), { ...token({ jobName: transformName(), kind: 'transform', step: 'score', taskToken: 'other-token' }) });
    sagemaker.on(DescribeHyperParameterTuningJobCommand).resolves(tuningJob());
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: bestName() }).resolves({ TrainingJobName: bestName(), ModelArtifacts: { S3ModelArtifacts: artifacts } });
    sagemaker.on(DescribeTransformJobCommand).resolves(transformJob({ TransformJobStatus: TransformJobStatus.IN_PROGRESS }));
    sagemaker.on(StopTransformJobCommand).resolves({});
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: run.executionArn, status: ExecutionStatus.ABORTED });

    await expect(reconcileJobs(TABLES, 120, NOW)).resolves.toEqual({ checked: 2, settled: 1, running: 0, abandoned: 0, stopped: 1 });

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN });
    expect(sagemaker).toHaveReceivedCommandWith(StopTransformJobCommand, { TransformJobName: transformName() });
    expect(tokens.items.size).toBe(0);
  });
});
