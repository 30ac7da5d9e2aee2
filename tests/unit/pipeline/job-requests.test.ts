import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

import { InvalidConfigError, MetricNotFoundError } from '../../../shared/errors';
import {
  buildPrefix,
  lineageTags,
  PROCESSING_CODE_PATH,
  processingOutputUris,
  resolveJob,
  type ResolvedJob,
  type StageSettings,
  tagValue,
} from '../../../shared/pipeline/job-requests';
import { stepOf, valueContext } from '../../../shared/pipeline/stored-pipeline';
import type { PipelineConfig } from '../../../shared/schemas/mlops-v2';
import type { StepResult } from '../../../shared/schemas/task-inputs';
import { BUCKET, exampleConfig, ROLE_ARN } from '../../helpers/fixtures';
import { loadPipeline } from '../../helpers/pipelines';
import { evaluateResult, evaluationReport, fakeS3, type FakeS3, hashOf, newRun, preprocessResult, STAGE, type TestRun, trainResult } from '../../helpers/step-tasks';
import { executionRoleArn } from '../../../shared/pipeline/tenancy';

const s3 = mockClient(S3Client);

const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/sluice-abalone:latest';

let store: FakeS3;
let run: TestRun;

beforeEach(() => {
  s3.reset();
  store = fakeS3(s3);
  run = newRun();
});

interface Resolve {
  pipeline?: PipelineConfig;
  steps?: Record<string, StepResult>;
  parameters?: Record<string, string | number | boolean>;
  stage?: StageSettings;
}

/** resolveJob for a step of the abalone example (or `pipeline`) after the steps before it ran in `run`. */
function resolve(step: string, given: Resolve = {}): Promise<ResolvedJob> {
  const pipeline = given.pipeline ?? exampleConfig();
  const steps = given.steps ?? { Preprocess: preprocessResult(run), Train: trainResult(run) };
  return resolveJob(step, stepOf(pipeline, step, ['Processing', 'Training']), run.build, valueContext(pipeline, { parameters: given.parameters ?? {}, steps }), given.stage ?? STAGE);
}

async function processingRequest(step: string, given: Resolve = {}) {
  const job = await resolve(step, given);
  if (job.kind !== 'processing') throw new Error(`${step} is not a processing step`);
  return job.request;
}

async function trainingRequest(step: string, given: Resolve = {}) {
  const job = await resolve(step, given);
  if (job.kind !== 'training') throw new Error(`${step} is not a training step`);
  return job.request;
}

/** The abalone example with one edit. */
function exampleWith(edit: (pipeline: PipelineConfig) => void): PipelineConfig {
  const pipeline = exampleConfig();
  edit(pipeline);
  return pipeline;
}

describe('resolveJob: processing steps', () => {
  it('mounts the commit\'s unpacked source at /opt/ml/processing/input/code', async () => {
    const request = await processingRequest('Preprocess');

    expect(PROCESSING_CODE_PATH).toBe('/opt/ml/processing/input/code');
    expect(request.ProcessingInputs?.[0]).toEqual({
      InputName: 'code',
      S3Input: { S3Uri: run.build.sourcePrefix, LocalPath: '/opt/ml/processing/input/code', S3DataType: 'S3Prefix', S3InputMode: 'File' },
    });
  });

  it('reads a Dataset input from the stage bucket\'s datasets/ prefix, mounted under its input name', async () => {
    const request = await processingRequest('Preprocess');

    expect(request.ProcessingInputs).toContainEqual({
      InputName: 'raw',
      S3Input: { S3Uri: `s3://${BUCKET}/datasets/abalone/`, LocalPath: '/opt/ml/processing/input/raw', S3DataType: 'S3Prefix', S3InputMode: 'File' },
    });
  });

  it('reads From inputs from the earlier steps\' results in this run', async () => {
    const request = await processingRequest('Evaluate');

    const uris = Object.fromEntries((request.ProcessingInputs ?? []).map((input) => [input.InputName, input.S3Input?.S3Uri]));
    expect(uris).toEqual({ code: run.build.sourcePrefix, model: trainResult(run).ModelArtifacts, test: `${run.prefix}Preprocess/test/` });
  });

  it('writes each output under the build\'s prefix and the step\'s name, from /opt/ml/processing/output/<name>', async () => {
    const request = await processingRequest('Preprocess');

    expect(request.ProcessingOutputConfig?.Outputs).toEqual(
      ['train', 'validation', 'test'].map((name) => ({
        OutputName: name,
        S3Output: { S3Uri: `${run.prefix}Preprocess/${name}/`, LocalPath: `/opt/ml/processing/output/${name}`, S3UploadMode: 'EndOfJob' },
      })),
    );
  });

  it('runs under the stage\'s role', async () => {
    const stage = { ...STAGE, roleArn: 'arn:aws:iam::210987654321:role/another-stage-role' };

    expect((await processingRequest('Evaluate', { stage })).RoleArn).toBe(stage.roleArn);
  });

  it('keeps the role the stage chose even if the stored pipeline carries one', async () => {
    const pipeline = exampleWith((config) => Object.assign(config.Steps.Preprocess!, { RoleArn: 'arn:aws:iam::666666666666:role/attacker' }));

    expect((await processingRequest('Preprocess', { pipeline })).RoleArn).toBe(ROLE_ARN);
  });

  it('keeps a configured MaxRuntimeInSeconds within the stage maximum', async () => {
    expect((await processingRequest('Preprocess')).StoppingCondition).toEqual({ MaxRuntimeInSeconds: 900 });
  });

  it('uses the stage maximum when the step sets no StoppingCondition', async () => {
    expect((await processingRequest('Evaluate')).StoppingCondition).toEqual({ MaxRuntimeInSeconds: STAGE.maxRuntimeSeconds });
  });

  it('rejects a MaxRuntimeInSeconds above the stage maximum with InvalidConfig naming the field', async () => {
    await expect(processingRequest('Preprocess', { stage: { ...STAGE, maxRuntimeSeconds: 600 } })).rejects.toThrow(
      new InvalidConfigError('Steps.Preprocess.StoppingCondition.MaxRuntimeInSeconds: 900 s exceeds this stage\'s maximum of 600 s'),
    );
  });

  it('passes the image, container arguments and cluster through from mlops.yaml', async () => {
    const request = await processingRequest('Preprocess');

    expect(request.AppSpecification).toEqual({
      ImageUri: IMAGE,
      ContainerArguments: ['preprocess', '--input', '/opt/ml/processing/input/raw', '--output', '/opt/ml/processing/output'],
    });
    expect(request.ProcessingResources).toEqual({ ClusterConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 } });
  });

  it('leaves the name and tags to the caller (the name depends on the attempt)', async () => {
    const request = await processingRequest('Preprocess');

    expect(request).not.toHaveProperty('ProcessingJobName');
    expect(request).not.toHaveProperty('Tags');
  });

  it('rejects an input From an output the upstream step did not produce with InvalidConfig naming the field', async () => {
    const pipeline = exampleWith((config) => Object.assign(stepOf(config, 'Evaluate', ['Processing']).Inputs, { test: { From: 'Preprocess/holdout' } }));

    await expect(processingRequest('Evaluate', { pipeline })).rejects.toThrow(InvalidConfigError);
    await expect(processingRequest('Evaluate', { pipeline })).rejects.toThrow(/^Steps\.Evaluate\.Inputs\.test\.From: "Preprocess\/holdout" has no output in this run/);
  });

  it('rejects an input From an output name that only exists on Object.prototype', async () => {
    const pipeline = exampleWith((config) => Object.assign(stepOf(config, 'Evaluate', ['Processing']).Inputs, { test: { From: 'Preprocess/constructor' } }));

    await expect(processingRequest('Evaluate', { pipeline })).rejects.toMatchObject({ name: 'InvalidConfig', message: expect.stringContaining('Steps.Evaluate.Inputs.test') });
  });

  it('rejects Train/model before the Train step has run, naming the field and the step', async () => {
    await expect(processingRequest('Evaluate', { steps: { Preprocess: preprocessResult(run) } })).rejects.toMatchObject({
      name: 'InvalidConfig',
      message: 'Steps.Evaluate.Inputs.model.From: "Train/model" has no output in this run (step "Train" has not run)',
    });
  });

  it('resolves parameters, Std:Join and step properties in arguments and environment', async () => {
    const pipeline = exampleWith((config) => {
      config.Parameters.Seed = { Type: 'Integer', Default: 7 };
      const evaluate = stepOf(config, 'Evaluate', ['Processing']);
      evaluate.AppSpecification.ContainerArguments = ['evaluate', '--seed', { Get: 'Parameters.Seed' }];
      evaluate.Environment = { MODEL_JOB: { Get: 'Steps.Train.TrainingJobName' }, LABEL: { 'Std:Join': { On: '-', Values: ['abalone', { Get: 'Parameters.Seed' }] } } };
    });

    const request = await processingRequest('Evaluate', { pipeline, parameters: { Seed: 11 } });

    expect(request.AppSpecification?.ContainerArguments).toEqual(['evaluate', '--seed', '11']);
    expect(request.Environment).toEqual({ MODEL_JOB: trainResult(run).TrainingJobName, LABEL: 'abalone-11' });
  });

  it('resolves a report value (Std:JsonGet) read from an earlier step\'s property file', async () => {
    const pipeline = exampleWith((config) => {
      config.Steps.Report = {
        Type: 'Processing',
        AppSpecification: { ImageUri: IMAGE, ContainerArguments: ['report', '--mse', { 'Std:JsonGet': { PropertyFile: { Get: 'Steps.Evaluate.PropertyFiles.Report' }, Path: 'regression_metrics.mse.value' } }] },
        ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 30 } },
        Inputs: {},
        Outputs: [],
        PropertyFiles: [],
      };
    });
    store.put(`${evaluateResult(run).Outputs.evaluation}evaluation.json`, evaluationReport(4.2));

    const request = await processingRequest('Report', { pipeline, steps: { Preprocess: preprocessResult(run), Train: trainResult(run), Evaluate: evaluateResult(run) } });

    expect(request.AppSpecification?.ContainerArguments).toEqual(['report', '--mse', '4.2']);
  });

  it('rejects a report value whose report does not exist with MetricNotFound', async () => {
    const pipeline = exampleWith((config) => {
      stepOf(config, 'Evaluate', ['Processing']).Environment = { MSE: { 'Std:JsonGet': { PropertyFile: { Get: 'Steps.Evaluate.PropertyFiles.Report' }, Path: 'regression_metrics.mse.value' } } };
    });

    await expect(processingRequest('Evaluate', { pipeline, steps: { Preprocess: preprocessResult(run), Train: trainResult(run), Evaluate: evaluateResult(run) } })).rejects.toThrow(MetricNotFoundError);
  });

  it('rejects a Dataset key from a parameter that leaves datasets/ with InvalidConfig naming the field', async () => {
    const pipeline = exampleWith((config) => {
      config.Parameters.Data = { Type: 'String', Default: 'abalone/' };
      Object.assign(stepOf(config, 'Preprocess', ['Processing']).Inputs, { raw: { Dataset: { Get: 'Parameters.Data' } } });
    });

    await expect(processingRequest('Preprocess', { pipeline, parameters: { Data: '../builds/other-run/' } })).rejects.toMatchObject({
      name: 'InvalidConfig',
      message: expect.stringMatching(/^Steps\.Preprocess\.Inputs\.raw\.Dataset: "\.\.\/builds\/other-run\/"/),
    });
  });

  it('says where each input comes from, for the cache key: the code, data sets by URI, step outputs with their recorded hash', async () => {
    const job = await resolve('Evaluate');

    expect(job.inputs).toEqual([
      { name: 'code', kind: 'code' },
      { name: 'model', kind: 'step', uri: trainResult(run).ModelArtifacts, step: 'Train', output: 'model', hash: hashOf('model v1') },
      { name: 'test', kind: 'step', uri: `${run.prefix}Preprocess/test/`, step: 'Preprocess', output: 'test', hash: hashOf('preprocess v1 test') },
    ]);
    expect((await resolve('Preprocess')).inputs).toEqual([
      { name: 'code', kind: 'code' },
      { name: 'raw', kind: 'dataset', uri: `s3://${BUCKET}/datasets/abalone/` },
    ]);
  });
});

describe('resolveJob: training steps', () => {
  it('feeds each channel from the upstream output it names', async () => {
    const request = await trainingRequest('Train');

    expect(request.InputDataConfig?.map((channel) => [channel.ChannelName, channel.DataSource?.S3DataSource?.S3Uri])).toEqual([
      ['train', `${run.prefix}Preprocess/train/`],
      ['validation', `${run.prefix}Preprocess/validation/`],
    ]);
  });

  it('passes each channel\'s ContentType on', async () => {
    const request = await trainingRequest('Train');

    expect(request.InputDataConfig?.map((channel) => channel.ContentType)).toEqual(['text/csv', 'text/csv']);
  });

  it('passes the hyperparameters as strings and adds no script-mode entries without an EntryPoint', async () => {
    const hyperParameters = (await trainingRequest('Train')).HyperParameters;

    expect(hyperParameters).toMatchObject({ objective: 'reg:linear', num_round: '50', eta: '0.2' });
    expect(hyperParameters).not.toHaveProperty('sagemaker_program');
    expect(hyperParameters).not.toHaveProperty('sagemaker_submit_directory');
  });

  it('writes a hyperparameter taken from a run parameter as text', async () => {
    const pipeline = exampleWith((config) => {
      config.Parameters.Rounds = { Type: 'Integer', Default: 50 };
      stepOf(config, 'Train', ['Training']).HyperParameters.num_round = { Get: 'Parameters.Rounds' };
    });

    expect((await trainingRequest('Train', { pipeline, parameters: { Rounds: 80 } })).HyperParameters).toMatchObject({ num_round: '80' });
  });

  it('adds JSON-encoded script-mode hyperparameters when an EntryPoint is set', async () => {
    const pipeline = exampleWith((config) => {
      stepOf(config, 'Train', ['Training']).EntryPoint = 'train.py';
    });

    expect((await trainingRequest('Train', { pipeline })).HyperParameters).toMatchObject({
      sagemaker_program: '"train.py"',
      sagemaker_submit_directory: `"${run.build.sourceUri}"`,
    });
  });

  it('writes the model under the build\'s prefix and the step\'s name', async () => {
    expect((await trainingRequest('Train')).OutputDataConfig).toEqual({ S3OutputPath: `${run.prefix}Train/` });
  });

  it('runs under the stage\'s role', async () => {
    const stage = { ...STAGE, roleArn: 'arn:aws:iam::210987654321:role/another-stage-role' };

    expect((await trainingRequest('Train', { stage })).RoleArn).toBe(stage.roleArn);
  });

  it('passes the algorithm specification through, with the image resolved', async () => {
    expect((await trainingRequest('Train')).AlgorithmSpecification).toEqual({
      TrainingImage: IMAGE,
      TrainingInputMode: 'File',
      MetricDefinitions: [
        { Name: 'train:rmse', Regex: 'train-rmse:([0-9\\.]+)' },
        { Name: 'validation:rmse', Regex: 'validation-rmse:([0-9\\.]+)' },
      ],
    });
  });

  it('rejects a channel From an output the upstream step did not produce with InvalidConfig naming the field', async () => {
    const pipeline = exampleWith((config) => {
      stepOf(config, 'Train', ['Training']).Channels.validation = { From: 'Preprocess/holdout', ContentType: 'text/csv' };
    });

    await expect(trainingRequest('Train', { pipeline })).rejects.toMatchObject({ name: 'InvalidConfig', message: expect.stringContaining('Steps.Train.Channels.validation.From') });
  });

  it('rejects channels when the upstream step has no result yet, naming the field', async () => {
    await expect(trainingRequest('Train', { steps: {} })).rejects.toMatchObject({ name: 'InvalidConfig', message: expect.stringContaining('Steps.Train.Channels.train.From') });
  });
});

describe('resolveJob: the execution role', () => {
  const ownRoles = { repositoryRoles: { arnPrefix: 'arn:aws:iam::123456789012:role/sluice-test-job-', repositories: ['abalone'] } };

  it('runs the jobs of a repository the stage lists by name as that repository\'s own role', async () => {
    const stage = { ...STAGE, ...ownRoles };

    const [processing, training] = [await processingRequest('Preprocess', { stage }), await trainingRequest('Train', { stage })];

    expect([processing.RoleArn, training.RoleArn]).toEqual([executionRoleArn('abalone', stage), executionRoleArn('abalone', stage)]);
    expect(processing.RoleArn).not.toBe(STAGE.roleArn);
  });

  it('runs them as the stage\'s shared role otherwise', async () => {
    const stage = { ...STAGE, repositoryRoles: { ...ownRoles.repositoryRoles, repositories: ['churn'] } };

    await expect(trainingRequest('Train', { stage })).resolves.toMatchObject({ RoleArn: STAGE.roleArn });
  });
});

describe('resolveJob: the stage policy at run time', () => {
  /** tests/fixtures/pipelines/fork-join.yaml: InstanceType is a parameter (ml.m5.large or ml.m5.xlarge). */
  const forkJoin = () => loadPipeline('fork-join');
  const forkJoinSteps = () => ({ Prepare: { ...preprocessResult(run), Outputs: { train: `${run.prefix}Prepare/train/`, test: `${run.prefix}Prepare/test/` } } });

  it('uses the run\'s value of an instance type parameter', async () => {
    const request = await trainingRequest('TrainXgb', { pipeline: forkJoin(), steps: forkJoinSteps(), parameters: { InstanceType: 'ml.m5.xlarge', Rounds: 50, MaxMse: 6 } });

    expect(request.ResourceConfig).toEqual({ InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 });
  });

  it('rejects a parameter override to an instance type the stage does not allow, naming Steps.<step>.ResourceConfig.InstanceType', async () => {
    const stage = { ...STAGE, allowedInstanceTypes: ['ml.m5.large'] };

    await expect(trainingRequest('TrainXgb', { pipeline: forkJoin(), steps: forkJoinSteps(), parameters: { InstanceType: 'ml.m5.xlarge', Rounds: 50, MaxMse: 6 }, stage })).rejects.toThrow(
      new InvalidConfigError('Steps.TrainXgb.ResourceConfig.InstanceType: instance type "ml.m5.xlarge" is not allowed on this stage (allowed: ml.m5.large)'),
    );
  });

  it('rejects a processing instance type the stage does not allow, naming its ClusterConfig field', async () => {
    await expect(processingRequest('Prepare', { pipeline: forkJoin(), steps: {}, parameters: { InstanceType: 'ml.p4d.24xlarge', Rounds: 50, MaxMse: 6 } })).rejects.toMatchObject({
      name: 'InvalidConfig',
      message: expect.stringMatching(/^Steps\.Prepare\.ProcessingResources\.ClusterConfig\.InstanceType: instance type "ml\.p4d\.24xlarge" is not allowed/),
    });
  });

  it('rejects a runtime from a parameter above the stage maximum, naming the StoppingCondition field', async () => {
    const pipeline = exampleWith((config) => {
      config.Parameters.Runtime = { Type: 'Integer', Default: 900 };
      stepOf(config, 'Train', ['Training']).StoppingCondition = { MaxRuntimeInSeconds: { Get: 'Parameters.Runtime' } };
    });

    await expect(trainingRequest('Train', { pipeline, parameters: { Runtime: 86_400 } })).rejects.toThrow(
      'Steps.Train.StoppingCondition.MaxRuntimeInSeconds: 86400 s exceeds this stage\'s maximum of 7200 s',
    );
  });

  it('rejects an instance count below 1 from a parameter, naming the field', async () => {
    const pipeline = exampleWith((config) => {
      config.Parameters.Instances = { Type: 'Integer', Default: 1 };
      stepOf(config, 'Train', ['Training']).ResourceConfig.InstanceCount = { Get: 'Parameters.Instances' };
    });

    await expect(trainingRequest('Train', { pipeline, parameters: { Instances: 0 } })).rejects.toThrow('Steps.Train.ResourceConfig.InstanceCount: must be at least 1, got 0');
  });

  it('rejects a parameter override above the stage\'s maximum instance count at run time, naming the field', async () => {
    const pipeline = exampleWith((config) => {
      config.Parameters.Instances = { Type: 'Integer', Default: 1 };
      stepOf(config, 'Train', ['Training']).ResourceConfig.InstanceCount = { Get: 'Parameters.Instances' };
    });

    await expect(trainingRequest('Train', { pipeline, parameters: { Instances: 100 } })).rejects.toThrow("Steps.Train.ResourceConfig.InstanceCount: 100 instances exceed this stage's maximum of 4 per job");
  });

  it('rejects an integer field whose parameter is not an integer, naming the field', async () => {
    const pipeline = exampleWith((config) => {
      config.Parameters.Volume = { Type: 'Float', Default: 30 };
      stepOf(config, 'Train', ['Training']).ResourceConfig.VolumeSizeInGB = { Get: 'Parameters.Volume' };
    });

    await expect(trainingRequest('Train', { pipeline, parameters: { Volume: 30.5 } })).rejects.toThrow('Steps.Train.ResourceConfig.VolumeSizeInGB: needs an integer, got 30.5');
  });

  it('lists every policy problem of a step in one error', async () => {
    const stage = { ...STAGE, maxRuntimeSeconds: 600, allowedInstanceTypes: ['ml.m5.large'] };

    await expect(trainingRequest('Train', { stage })).rejects.toThrow(/ResourceConfig\.InstanceType: .*; Steps\.Train\.StoppingCondition\.MaxRuntimeInSeconds: 900 s/);
  });
});

describe('output locations', () => {
  it('keep everything a build produces under builds/<execution>/', () => {
    expect(buildPrefix(BUCKET, run.build)).toBe(run.prefix);
  });

  it('put each processing output at builds/<execution>/<step>/<output>/', () => {
    expect(processingOutputUris('Evaluate', ['evaluation'], run.build, BUCKET)).toEqual({ evaluation: `${run.prefix}Evaluate/evaluation/` });
  });
});

describe('lineage tags', () => {
  const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

  it('tag a job with repository, branch, commit, execution and step', () => {
    expect(lineageTags(run.build, run.executionArn, 'Train')).toEqual([
      { Key: 'sluice:repository', Value: 'abalone' },
      { Key: 'sluice:branch', Value: 'main' },
      { Key: 'sluice:commit', Value: run.build.commit },
      { Key: 'sluice:execution', Value: run.executionArn },
      { Key: 'sluice:step', Value: 'Train' },
    ]);
  });

  it('leave the step out when there is none (a model package group)', () => {
    expect(lineageTags(run.build, run.executionArn).map((tag) => tag.Key)).not.toContain('sluice:step');
  });

  it('replace characters SageMaker tag values do not allow with _', () => {
    const branch = lineageTags({ ...run.build, branch: 'fix/#42 "quotes" & (parens)' }, run.executionArn).find((tag) => tag.Key === 'sluice:branch');

    expect(branch?.Value).toBe('fix/_42 _quotes_ _ _parens_');
    expect(branch?.Value).toMatch(TAG_VALUE);
  });

  it('keep tag values within 256 characters', () => {
    expect(tagValue('b'.repeat(300))).toHaveLength(256);
  });
});
