import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { InvalidConfigError } from '../../../shared/errors';
import { expandManifestSteps, manifestPaths } from '../../../shared/pipeline/ack-steps';
import { manifestsNamedIn, parseMlopsConfig } from '../../../shared/schemas/parse-mlops-config';
import { TEST_POLICY } from '../../helpers/fixtures';

/**
 * ACK manifests as steps (shared/pipeline/ack-steps.ts), with the real manifests of the ACK SageMaker
 * controller's repository (tests/fixtures/ack/SOURCES.md). Their `$PLACEHOLDERS` are filled in as
 * the controller's own e2e tests do before applying them.
 */

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'ack');
const PLACEHOLDERS: Record<string, string> = {
  XGBOOST_IMAGE_URI: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
  PYTORCH_TRAIN_IMAGE_URI: '763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1-cpu-py310',
  TRAINING_JOB_INSTANCE_TYPE: 'ml.m5.large',
  SAGEMAKER_EXECUTION_ROLE_ARN: 'arn:aws:iam::123456789012:role/ack-sagemaker-execution',
  SAGEMAKER_DATA_BUCKET: 'ack-data-bucket',
};

function manifest(file: string): string {
  return readFileSync(join(FIXTURES, file), 'utf8').replace(/\$([A-Z_]+)/g, (whole, name: string) => PLACEHOLDERS[name] ?? whole);
}

const policy = { allowedInstanceTypes: [...TEST_POLICY.allowedInstanceTypes, 'ml.m5.large'], maxRuntimeSeconds: 86_400, maxInstanceCount: 4, maxVolumeSizeInGB: 512, selfApprovalRepositories: [] };

const TRAIN_WIRING = { train: { Dataset: 'xgboost/train/' }, validation: { Dataset: 'xgboost/validation/' } };

function pipeline(steps: Record<string, unknown>): { Version: 2; Steps: Record<string, unknown> } {
  return { Version: 2, Steps: steps };
}

function expandOne(step: Record<string, unknown>, file: string, text = manifest(file)) {
  return expandManifestSteps(pipeline({ s: { ...step, Manifest: `k8s/${file}` } }), { [`k8s/${file}`]: text });
}

function stepOf(result: ReturnType<typeof expandManifestSteps>): Record<string, unknown> {
  return (result.document as { Steps: Record<string, Record<string, unknown>> }).Steps.s!;
}

describe('ACK manifests as steps', () => {
  describe('TrainingJob (test/e2e/resources/xgboost_trainingjob.yaml)', () => {
    it('becomes a Training step with the manifest\'s algorithm, hyperparameters, resources and stopping condition', () => {
      const result = expandOne({ Type: 'Training', Channels: TRAIN_WIRING }, 'xgboost_trainingjob.yaml');

      expect(result.issues).toEqual([]);
      expect(stepOf(result)).toEqual({
        Type: 'Training',
        AlgorithmSpecification: { TrainingImage: PLACEHOLDERS.XGBOOST_IMAGE_URI, TrainingInputMode: 'File' },
        HyperParameters: { max_depth: '5', gamma: '4', eta: '0.2', min_child_weight: '6', silent: '0', objective: 'multi:softmax', num_class: '10', num_round: '10' },
        ResourceConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 5 },
        StoppingCondition: { MaxRuntimeInSeconds: 86_400 },
        Channels: { train: { ContentType: 'text/csv', Dataset: 'xgboost/train/' }, validation: { ContentType: 'text/csv', Dataset: 'xgboost/validation/' } },
      });
    });

    it('warns about every stage-owned field it ignores, and about retryStrategy', () => {
      const { warnings } = expandOne({ Type: 'Training', Channels: TRAIN_WIRING }, 'xgboost_trainingjob.yaml');

      expect(warnings.map((warning) => /(spec\.[A-Za-z0-9.]+) is ignored/.exec(warning)?.[1])).toEqual(['spec.trainingJobName', 'spec.roleARN', 'spec.outputDataConfig.s3OutputPath', 'spec.tags', 'spec.retryStrategy']);
      expect(warnings[0]).toMatch(/^Steps\.s\.Manifest: k8s\/xgboost_trainingjob\.yaml: /);
    });

    it('parses through mlops.yaml as an ordinary Training step, the stage policy included', () => {
      const text = `Version: 2\nSteps:\n  train:\n    Type: Training\n    Manifest: k8s/train.yaml\n    Channels:\n      train: { Dataset: xgboost/train/ }\n      validation: { Dataset: xgboost/validation/ }\n`;
      const warnings: string[] = [];

      const config = parseMlopsConfig(text, policy, 'xgb', { files: { 'k8s/train.yaml': manifest('xgboost_trainingjob.yaml') }, warnings });

      expect(config.Steps.train).toMatchObject({ Type: 'Training', ResourceConfig: { InstanceType: 'ml.m5.large', VolumeSizeInGB: 5 }, HyperParameters: { num_round: '10' } });
      expect(warnings).toHaveLength(5);
      expect(() => parseMlopsConfig(text, { ...policy, allowedInstanceTypes: ['ml.c5.xlarge'] }, 'xgb', { files: { 'k8s/train.yaml': manifest('xgboost_trainingjob.yaml') } })).toThrow(
        /Steps\.train\.ResourceConfig\.InstanceType/,
      );
    });

    it('refuses a channel the pipeline does not wire, naming it', () => {
      const { issues } = expandOne({ Type: 'Training', Channels: { train: { Dataset: 'xgboost/train/' } } }, 'xgboost_trainingjob.yaml');

      expect(issues).toEqual([expect.stringMatching(/^Steps\.s\.Channels\.validation: the manifest's channel "validation" must be wired here/)]);
    });

    it('lets mlops.yaml override a manifest value (mlops.yaml wins)', () => {
      const result = expandOne({ Type: 'Training', Channels: TRAIN_WIRING, HyperParameters: { num_round: { Get: 'Parameters.Rounds' } } }, 'xgboost_trainingjob.yaml');

      expect(stepOf(result).HyperParameters).toMatchObject({ num_round: { Get: 'Parameters.Rounds' }, max_depth: '5' });
    });
  });

  it('refuses the debugger manifest\'s fields no Training step has, naming them (test/e2e/resources/xgboost_trainingjob_debugger.yaml)', () => {
    const { issues } = expandOne({ Type: 'Training', Channels: TRAIN_WIRING }, 'xgboost_trainingjob_debugger.yaml');

    expect(issues.some((issue) => /spec\.debugHookConfig: a Training step has no equivalent; remove it from the manifest/.test(issue))).toBe(true);
    expect(issues.some((issue) => /spec\.debugRuleConfigurations: a Training step has no equivalent/.test(issue))).toBe(true);
  });

  it('refuses processing paths outside Sluice\'s layout, naming each (test/e2e/resources/kmeans_processingjob.yaml)', () => {
    const { issues } = expandOne({ Type: 'Processing', Inputs: { mnist_tar: { Dataset: 'mnist/' }, source_code: { Dataset: 'code/' } } }, 'kmeans_processingjob.yaml');

    expect(issues).toEqual([
      expect.stringContaining('spec.processingInputs[0].s3Input.localPath: Sluice mounts input "mnist_tar" at /opt/ml/processing/input/mnist_tar, not /opt/ml/processing/input'),
      expect.stringContaining('spec.processingInputs[1].s3Input.localPath: Sluice mounts input "source_code" at /opt/ml/processing/input/source_code'),
      expect.stringContaining('spec.processingOutputConfig.outputs[0].s3Output.localPath: Sluice uploads output "train_data" from /opt/ml/processing/output/train_data, not /opt/ml/processing/output_train/'),
      expect.stringContaining('spec.processingOutputConfig.outputs[1].s3Output.localPath'),
      expect.stringContaining('spec.processingOutputConfig.outputs[2].s3Output.localPath'),
    ]);
  });

  it('turns a processing manifest in Sluice\'s layout into a Processing step whose inputs are wired and outputs listed', () => {
    const fixed = manifest('kmeans_processingjob.yaml')
      .replace('localPath: /opt/ml/processing/input\n', 'localPath: /opt/ml/processing/input/mnist_tar\n')
      .replace('localPath: /opt/ml/processing/code', 'localPath: /opt/ml/processing/input/source_code')
      .replace(/output_(train|test|valid)\//g, (_whole, part: string) => `output/${part}_data/`);

    const result = expandOne({ Type: 'Processing', Inputs: { mnist_tar: { Dataset: 'mnist/' }, source_code: { From: 'prep/code' } } }, 'kmeans_processingjob.yaml', fixed);

    expect(result.issues).toEqual([]);
    expect(stepOf(result)).toEqual({
      Type: 'Processing',
      AppSpecification: { ImageUri: PLACEHOLDERS.PYTORCH_TRAIN_IMAGE_URI, ContainerEntrypoint: ['python', '/opt/ml/processing/code/kmeans_preprocessing.py'] },
      ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 20 } },
      Environment: { my_var: 'my_value', my_var2: 'my_value2' },
      Outputs: ['train_data', 'test_data', 'valid_data'],
      Inputs: { mnist_tar: { Dataset: 'mnist/' }, source_code: { From: 'prep/code' } },
    });
  });

  it('turns a HyperParameterTuningJob into a Tuning step; empty range lists are dropped and mlops.yaml adds MetricDefinitions (test/e2e/resources/xgboost_hpojob.yaml)', () => {
    const metrics = [{ Name: 'validation:error', Regex: 'validation-error:([0-9.]+)' }];
    const result = expandOne({ Type: 'Tuning', TrainingJobDefinition: { AlgorithmSpecification: { MetricDefinitions: metrics }, Channels: TRAIN_WIRING } }, 'xgboost_hpojob.yaml');

    expect(result.issues).toEqual([]);
    expect(stepOf(result)).toEqual({
      Type: 'Tuning',
      HyperParameterTuningJobConfig: {
        Strategy: 'Bayesian',
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:error' },
        ResourceLimits: { MaxNumberOfTrainingJobs: 2, MaxParallelTrainingJobs: 2 },
        TrainingJobEarlyStoppingType: 'Auto',
        ParameterRanges: { IntegerParameterRanges: [{ Name: 'num_round', MinValue: '10', MaxValue: '20', ScalingType: 'Linear' }] },
      },
      TrainingJobDefinition: {
        AlgorithmSpecification: { TrainingImage: PLACEHOLDERS.XGBOOST_IMAGE_URI, TrainingInputMode: 'File', MetricDefinitions: metrics },
        StaticHyperParameters: { base_score: '0.5' },
        ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 25 },
        StoppingCondition: { MaxRuntimeInSeconds: 3600 },
        Channels: { train: { ContentType: 'text/csv', Dataset: 'xgboost/train/' }, validation: { ContentType: 'text/csv', Dataset: 'xgboost/validation/' } },
      },
    });
    expect(result.warnings.join('\n')).toMatch(/spec\.trainingJobDefinition\.enableNetworkIsolation is ignored/);
  });

  it('refuses a tuning manifest whose channels are not wired under TrainingJobDefinition.Channels', () => {
    const { issues } = expandOne({ Type: 'Tuning' }, 'xgboost_hpojob.yaml');

    expect(issues).toEqual([expect.stringMatching(/^Steps\.s\.TrainingJobDefinition\.Channels\.train: /), expect.stringMatching(/^Steps\.s\.TrainingJobDefinition\.Channels\.validation: /)]);
  });

  it('turns a TransformJob into a Transform step that needs its model and data wired (test/e2e/resources/xgboost_transformjob.yaml)', () => {
    const wiring = { Model: { ModelData: { From: 'train/model' }, Image: 'image' }, TransformInput: { DataSource: { From: 'split/test' } } };

    const result = expandOne({ Type: 'Transform', ...wiring }, 'xgboost_transformjob.yaml');
    const unwired = expandOne({ Type: 'Transform' }, 'xgboost_transformjob.yaml');

    expect(result.issues).toEqual([]);
    expect(stepOf(result)).toEqual({
      Type: 'Transform',
      TransformInput: { ContentType: 'text/csv', DataSource: { From: 'split/test' } },
      TransformResources: { InstanceCount: 1, InstanceType: 'ml.m5.large' },
      TransformOutput: {},
      Model: wiring.Model,
    });
    expect(result.warnings.join('\n')).toMatch(/spec\.modelName is ignored/);
    expect(unwired.issues).toEqual([expect.stringMatching(/^Steps\.s\.TransformInput\.DataSource: /), expect.stringMatching(/^Steps\.s\.Model: required beside a TransformJob manifest/)]);
  });

  it('keeps a TransformJob\'s dataProcessing (the CRD\'s inputFilter, joinSource, outputFilter; added to xgboost_transformjob.yaml)', () => {
    const wiring = { Model: { ModelData: { From: 'train/model' }, Image: 'image' }, TransformInput: { DataSource: { From: 'split/test' } } };
    const text = manifest('xgboost_transformjob.yaml').replace('  transformResources:', "  dataProcessing:\n    inputFilter: $[1:]\n    joinSource: Input\n    outputFilter: '$[0,-1]'\n  transformResources:");

    const result = expandOne({ Type: 'Transform', ...wiring }, 'xgboost_transformjob.yaml', text);

    expect(result.issues).toEqual([]);
    expect(stepOf(result).DataProcessing).toEqual({ InputFilter: '$[1:]', JoinSource: 'Input', OutputFilter: '$[0,-1]' });
  });

  it('turns a ModelPackage into a RegisterModel step (samples/model_package/my-model-package.yaml)', () => {
    const text = `Version: 2\nSteps:\n  train:\n    Type: Training\n    Manifest: k8s/train.yaml\n    Channels: { train: { Dataset: x/ }, validation: { Dataset: y/ } }\n  register:\n    Type: RegisterModel\n    Manifest: k8s/package.yaml\n    ModelData: { From: train/model }\n    ModelPackageGroupName: xgb\n`;

    const config = parseMlopsConfig(text, policy, 'xgb', { files: { 'k8s/train.yaml': manifest('xgboost_trainingjob.yaml'), 'k8s/package.yaml': manifest('my-model-package.yaml') } });

    expect(config.Steps.register).toEqual({
      Type: 'RegisterModel',
      ModelData: { From: 'train/model' },
      ModelPackageGroupName: 'xgb',
      ModelPackageDescription: 'Description for model package',
      ModelApprovalStatus: 'PendingManualApproval',
      InferenceSpecification: {
        Image: '433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:latest',
        SupportedContentTypes: ['text/csv'],
        SupportedResponseMIMETypes: ['text/csv'],
        SupportedTransformInstanceTypes: ['ml.m5.large'],
        SupportedRealtimeInferenceInstanceTypes: ['ml.m5.large'],
      },
    });
  });

  it('parses tuning and transform manifests through mlops.yaml into steps the graph accepts (xgboost_hpojob.yaml, xgboost_transformjob.yaml)', () => {
    const text = [
      'Version: 2',
      'Steps:',
      '  tune:',
      '    Type: Tuning',
      '    Manifest: k8s/hpo.yaml',
      '    TrainingJobDefinition:',
      "      AlgorithmSpecification: { MetricDefinitions: [{ Name: 'validation:error', Regex: 'validation-error:([0-9.]+)' }] }",
      '      Channels: { train: { Dataset: xgboost/train/ }, validation: { Dataset: xgboost/validation/ } }',
      '  score:',
      '    Type: Transform',
      '    Manifest: k8s/transform.yaml',
      '    Model: { ModelData: { From: tune/model }, Image: 683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1 }',
      '    TransformInput: { DataSource: { Dataset: xgboost/batch/ } }',
      '',
    ].join('\n');

    const config = parseMlopsConfig(text, policy, 'xgb', { files: { 'k8s/hpo.yaml': manifest('xgboost_hpojob.yaml'), 'k8s/transform.yaml': manifest('xgboost_transformjob.yaml') } });

    expect(config.Steps.tune).toMatchObject({
      Type: 'Tuning',
      HyperParameterTuningJobConfig: { Strategy: 'Bayesian', ResourceLimits: { MaxNumberOfTrainingJobs: 2, MaxParallelTrainingJobs: 2 }, TrainingJobEarlyStoppingType: 'Auto' },
      TrainingJobDefinition: { StaticHyperParameters: { base_score: '0.5' }, ResourceConfig: { InstanceType: 'ml.m5.large', VolumeSizeInGB: 25 } },
    });
    expect(config.Steps.score).toMatchObject({ Type: 'Transform', TransformInput: { ContentType: 'text/csv', DataSource: { Dataset: 'xgboost/batch/' } }, TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 } });
  });

  it('refuses a ModelPackage step without ModelData', () => {
    expect(expandOne({ Type: 'RegisterModel' }, 'my-model-package.yaml').issues).toEqual([expect.stringMatching(/^Steps\.s\.ModelData: required beside a ModelPackage manifest/)]);
  });

  it.each([
    [{ Type: 'Processing' }, 'xgboost_trainingjob.yaml', /Steps\.s\.Manifest: k8s\/xgboost_trainingjob\.yaml is a TrainingJob; a Processing step takes a ProcessingJob/],
    [{ Type: 'Condition' }, 'xgboost_trainingjob.yaml', /Steps\.s\.Manifest: a Condition cannot be given as a manifest/],
  ])('refuses a manifest of the wrong kind for its step (%j)', (step, file, message) => {
    expect(expandOne(step, file).issues).toEqual([expect.stringMatching(message)]);
  });

  it('refuses a manifest path outside the repository or missing from the commit', () => {
    const outside = expandManifestSteps(pipeline({ s: { Type: 'Training', Manifest: '../secrets.yaml' } }), {});
    const missing = expandManifestSteps(pipeline({ s: { Type: 'Training', Manifest: 'k8s/none.yaml' } }), {});

    expect([...outside.issues, ...missing.issues]).toEqual([
      'Steps.s.Manifest: must be the path of a manifest file in the repository (relative, no ".."), got "../secrets.yaml"',
      'Steps.s.Manifest: k8s/none.yaml is not in this commit',
    ]);
  });

  it('refuses a manifest that sets a VPC, through the conversion\'s own rule', () => {
    const text = manifest('xgboost_trainingjob.yaml').replace('  stoppingCondition:', '  vpcConfig:\n    subnets: [subnet-1]\n    securityGroupIDs: [sg-1]\n  stoppingCondition:');

    expect(expandOne({ Type: 'Training', Channels: TRAIN_WIRING }, 'x.yaml', text).issues).toEqual([expect.stringMatching(/^Steps\.s\.Manifest: k8s\/x\.yaml: spec\.vpcConfig: not allowed in a manifest/)]);
  });

  it('expands manifest steps inside a ForEach step', () => {
    const document = pipeline({ each: { Type: 'ForEach', Items: [1, 2], Steps: { t: { Type: 'Training', Manifest: 'k8s/t.yaml', Channels: TRAIN_WIRING } } } });

    const result = expandManifestSteps(document, { 'k8s/t.yaml': manifest('xgboost_trainingjob.yaml') });

    expect(result.issues).toEqual([]);
    expect(result.document).toMatchObject({ Steps: { each: { Type: 'ForEach', Steps: { t: { Type: 'Training', HyperParameters: { num_round: '10' } } } } } });
    expect(manifestPaths(document)).toEqual(['k8s/t.yaml']);
  });

  it('names the manifests of a file for the caller to read, none for text that is not YAML', () => {
    expect(manifestsNamedIn('Version: 2\nSteps:\n  a: { Type: Training, Manifest: k8s/b.yaml }\n  c: { Type: Processing, Manifest: k8s/a.yaml }\n')).toEqual(['k8s/a.yaml', 'k8s/b.yaml']);
    expect(manifestsNamedIn('Version: [')).toEqual([]);
  });

  it('reports manifest problems as an invalid mlops.yaml', () => {
    const text = 'Version: 2\nSteps:\n  train: { Type: Training, Manifest: k8s/none.yaml }\n';

    expect(() => parseMlopsConfig(text, policy, 'xgb')).toThrow(InvalidConfigError);
    expect(() => parseMlopsConfig(text, policy, 'xgb')).toThrow('mlops.yaml: Steps.train.Manifest: k8s/none.yaml is not in this commit');
  });
});
