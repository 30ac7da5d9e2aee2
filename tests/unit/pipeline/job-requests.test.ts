import { InvalidConfigError } from '../../../shared/errors';
import { PROCESSING_CODE_PATH, processingJobRequest, type StageSettings, trainingJobRequest } from '../../../shared/pipeline/job-requests';
import type { StartJobInput } from '../../../shared/schemas/task-inputs';
import { BUCKET, buildContext, EXECUTION_ARN, exampleConfig, ROLE_ARN } from '../../helpers/fixtures';

const STAGE: StageSettings = { roleArn: ROLE_ARN, artifactsBucket: BUCKET, maxRuntimeSeconds: 7200 };
const BUILD_PREFIX = `s3://${BUCKET}/builds/${buildContext().executionName}/`;
const MODEL_ARTIFACTS = `${BUILD_PREFIX}train/abalone-train-0123456789ab/output/model.tar.gz`;

/** A start-job input after preprocess and train have completed. */
function startInput<S extends StartJobInput['step']>(step: S): StartJobInput & { step: S } {
  return {
    taskToken: 'token',
    step,
    executionArn: EXECUTION_ARN,
    build: buildContext(),
    config: exampleConfig(),
    jobs: {
      preprocess: {
        jobName: 'abalone-preprocess-0123456789ab',
        status: 'Completed',
        outputs: {
          train: `${BUILD_PREFIX}preprocess/train/`,
          validation: `${BUILD_PREFIX}preprocess/validation/`,
          test: `${BUILD_PREFIX}preprocess/test/`,
        },
      },
      train: {
        jobName: 'abalone-train-0123456789ab',
        status: 'Completed',
        modelArtifacts: MODEL_ARTIFACTS,
        finalMetrics: [],
      },
    },
  };
}

describe('processingJobRequest', () => {
  it('mounts the commit\'s unpacked source at /opt/ml/processing/input/code', () => {
    const request = processingJobRequest(startInput('preprocess'), STAGE);

    expect(PROCESSING_CODE_PATH).toBe('/opt/ml/processing/input/code');
    expect(request.ProcessingInputs).toContainEqual({
      InputName: 'code',
      S3Input: { S3Uri: buildContext().sourcePrefix, LocalPath: '/opt/ml/processing/input/code', S3DataType: 'S3Prefix', S3InputMode: 'File' },
    });
  });

  it('reads a Dataset input from the stage bucket\'s datasets/ prefix, mounted under its input name', () => {
    const request = processingJobRequest(startInput('preprocess'), STAGE);

    expect(request.ProcessingInputs).toContainEqual({
      InputName: 'raw',
      S3Input: { S3Uri: `s3://${BUCKET}/datasets/abalone/`, LocalPath: '/opt/ml/processing/input/raw', S3DataType: 'S3Prefix', S3InputMode: 'File' },
    });
  });

  it('reads From inputs from the earlier steps\' results', () => {
    const request = processingJobRequest(startInput('evaluate'), STAGE);

    const uris = Object.fromEntries((request.ProcessingInputs ?? []).map((input) => [input.InputName, input.S3Input?.S3Uri]));
    expect(uris).toEqual({ code: buildContext().sourcePrefix, model: MODEL_ARTIFACTS, test: `${BUILD_PREFIX}preprocess/test/` });
  });

  it('writes each output under the build\'s prefix, from /opt/ml/processing/output/<name>', () => {
    const request = processingJobRequest(startInput('preprocess'), STAGE);

    expect(request.ProcessingOutputConfig?.Outputs).toEqual(
      ['train', 'validation', 'test'].map((name) => ({
        OutputName: name,
        S3Output: { S3Uri: `${BUILD_PREFIX}preprocess/${name}/`, LocalPath: `/opt/ml/processing/output/${name}`, S3UploadMode: 'EndOfJob' },
      })),
    );
  });

  it('runs under the stage\'s role', () => {
    const stage = { ...STAGE, roleArn: 'arn:aws:iam::210987654321:role/another-stage-role' };

    expect(processingJobRequest(startInput('evaluate'), stage).RoleArn).toBe(stage.roleArn);
  });

  it('keeps the role the stage chose even if the config object carries one', () => {
    const input = startInput('preprocess');
    Object.assign(input.config.Preprocess, { RoleArn: 'arn:aws:iam::666666666666:role/attacker' });

    expect(processingJobRequest(input, STAGE).RoleArn).toBe(ROLE_ARN);
  });

  it('keeps a configured MaxRuntimeInSeconds within the stage maximum', () => {
    expect(processingJobRequest(startInput('preprocess'), STAGE).StoppingCondition).toEqual({ MaxRuntimeInSeconds: 900 });
  });

  it('caps MaxRuntimeInSeconds at the stage maximum', () => {
    const request = processingJobRequest(startInput('preprocess'), { ...STAGE, maxRuntimeSeconds: 600 });

    expect(request.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 600 });
  });

  it('uses the stage maximum when the step sets no StoppingCondition', () => {
    expect(processingJobRequest(startInput('evaluate'), STAGE).StoppingCondition).toEqual({ MaxRuntimeInSeconds: 7200 });
  });

  it('passes the image, container arguments and cluster through from mlops.yaml', () => {
    const request = processingJobRequest(startInput('preprocess'), STAGE);

    expect(request.AppSpecification).toEqual({
      ImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/sluice-abalone:latest',
      ContainerArguments: ['preprocess', '--input', '/opt/ml/processing/input/raw', '--output', '/opt/ml/processing/output'],
    });
    expect(request.ProcessingResources).toEqual({ ClusterConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 } });
  });

  it('rejects an input From an output the upstream step did not produce with InvalidConfig naming the field', () => {
    const input = startInput('evaluate');
    input.config.Evaluate.Inputs.test = { From: 'preprocess/holdout' };

    expect(() => processingJobRequest(input, STAGE)).toThrow(InvalidConfigError);
    expect(() => processingJobRequest(input, STAGE)).toThrow(/Evaluate\.Inputs\.test/);
  });

  it('rejects an input From an output name that only exists on Object.prototype', () => {
    const input = startInput('evaluate');
    input.config.Evaluate.Inputs.test = { From: 'preprocess/constructor' };

    expect(() => processingJobRequest(input, STAGE)).toThrow(expect.objectContaining({ name: 'InvalidConfig', message: expect.stringContaining('Evaluate.Inputs.test') }));
  });

  it('rejects train/model before the train step has run, naming the field', () => {
    const input = startInput('evaluate');
    delete input.jobs.train;

    expect(() => processingJobRequest(input, STAGE)).toThrow(expect.objectContaining({ name: 'InvalidConfig', message: expect.stringContaining('Evaluate.Inputs.model') }));
  });
});

describe('trainingJobRequest', () => {
  it('feeds each channel from the preprocess output it names', () => {
    const request = trainingJobRequest(startInput('train'), STAGE);

    expect(request.InputDataConfig?.map((channel) => [channel.ChannelName, channel.DataSource?.S3DataSource?.S3Uri])).toEqual([
      ['train', `${BUILD_PREFIX}preprocess/train/`],
      ['validation', `${BUILD_PREFIX}preprocess/validation/`],
    ]);
  });

  it('passes each channel\'s ContentType on', () => {
    const request = trainingJobRequest(startInput('train'), STAGE);

    expect(request.InputDataConfig?.map((channel) => channel.ContentType)).toEqual(['text/csv', 'text/csv']);
  });

  it('passes the hyperparameters as strings and adds no script-mode entries without an EntryPoint', () => {
    const hyperParameters = trainingJobRequest(startInput('train'), STAGE).HyperParameters;

    expect(hyperParameters).toMatchObject({ objective: 'reg:linear', num_round: '50', eta: '0.2' });
    expect(hyperParameters).not.toHaveProperty('sagemaker_program');
    expect(hyperParameters).not.toHaveProperty('sagemaker_submit_directory');
  });

  it('adds JSON-encoded script-mode hyperparameters when an EntryPoint is set', () => {
    const input = startInput('train');
    input.config.Train.EntryPoint = 'train.py';

    expect(trainingJobRequest(input, STAGE).HyperParameters).toMatchObject({
      sagemaker_program: '"train.py"',
      sagemaker_submit_directory: `"${buildContext().sourceUri}"`,
    });
  });

  it('writes the model under the build\'s prefix', () => {
    expect(trainingJobRequest(startInput('train'), STAGE).OutputDataConfig).toEqual({ S3OutputPath: `${BUILD_PREFIX}train/` });
  });

  it('runs under the stage\'s role', () => {
    const stage = { ...STAGE, roleArn: 'arn:aws:iam::210987654321:role/another-stage-role' };

    expect(trainingJobRequest(startInput('train'), stage).RoleArn).toBe(stage.roleArn);
  });

  it('caps MaxRuntimeInSeconds at the stage maximum', () => {
    expect(trainingJobRequest(startInput('train'), { ...STAGE, maxRuntimeSeconds: 600 }).StoppingCondition).toEqual({ MaxRuntimeInSeconds: 600 });
  });

  it('rejects a channel From an output preprocess did not produce with InvalidConfig naming the field', () => {
    const input = startInput('train');
    input.config.Train.Channels.validation = { From: 'preprocess/holdout', ContentType: 'text/csv' };

    expect(() => trainingJobRequest(input, STAGE)).toThrow(expect.objectContaining({ name: 'InvalidConfig', message: expect.stringContaining('Train.Channels.validation') }));
  });

  it('rejects channels when preprocess has no result yet, naming the field', () => {
    const input = startInput('train');
    delete input.jobs.preprocess;

    expect(() => trainingJobRequest(input, STAGE)).toThrow(expect.objectContaining({ name: 'InvalidConfig', message: expect.stringContaining('Train.Channels.train') }));
  });
});

describe('lineage tags', () => {
  const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

  it('tag every job with repository, branch, commit and execution', () => {
    expect(trainingJobRequest(startInput('train'), STAGE).Tags).toEqual([
      { Key: 'sluice:repository', Value: 'abalone' },
      { Key: 'sluice:branch', Value: 'main' },
      { Key: 'sluice:commit', Value: buildContext().commit },
      { Key: 'sluice:execution', Value: EXECUTION_ARN },
    ]);
  });

  it('replace characters SageMaker tag values do not allow with _', () => {
    const input = startInput('preprocess');
    input.build = buildContext({ branch: 'fix/#42 "quotes" & (parens)' });

    const branch = processingJobRequest(input, STAGE).Tags?.find((tag) => tag.Key === 'sluice:branch');

    expect(branch?.Value).toBe('fix/_42 _quotes_ _ _parens_');
    expect(branch?.Value).toMatch(TAG_VALUE);
  });

  it('keep tag values within 256 characters', () => {
    const input = startInput('preprocess');
    input.build = buildContext({ branch: 'b'.repeat(300) });

    const branch = processingJobRequest(input, STAGE).Tags?.find((tag) => tag.Key === 'sluice:branch');

    expect(branch?.Value).toHaveLength(256);
  });
});
