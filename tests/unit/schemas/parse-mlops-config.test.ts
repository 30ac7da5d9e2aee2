import { parseDocument } from 'yaml';

import { InvalidConfigError } from '../../../shared/errors';
import { parseMlopsConfig } from '../../../shared/schemas/parse-mlops-config';
import { EXAMPLE_CONFIG_TEXT, TEST_POLICY } from '../../helpers/fixtures';

/**
 * parseMlopsConfig with a Version 1 file (examples/abalone/mlops.yaml): it returns the pipeline as
 * Version 2 (tests/unit/pipeline/from-v1.test.ts shows how), while its errors keep Version 1's field
 * names. Version 2 files: tests/unit/schemas/mlops-v2.test.ts.
 */

const policy = { allowedInstanceTypes: [...TEST_POLICY.allowedInstanceTypes], maxRuntimeSeconds: TEST_POLICY.maxRuntimeSeconds, maxInstanceCount: 4, maxVolumeSizeInGB: 512, selfApprovalRepositories: [] };

/** The example file with one edit applied at a YAML path (undefined deletes). */
function exampleWith(path: (string | number)[], value: unknown): string {
  const document = parseDocument(EXAMPLE_CONFIG_TEXT);
  if (value === undefined) document.deleteIn(path);
  else document.setIn(path, value);
  return document.toString();
}

describe('parseMlopsConfig', () => {
  it('reads examples/abalone/mlops.yaml as a Version 2 pipeline', () => {
    const config = parseMlopsConfig(EXAMPLE_CONFIG_TEXT, policy, 'abalone');

    expect({ Version: config.Version, steps: Object.keys(config.Steps) }).toEqual({ Version: 2, steps: ['Preprocess', 'Train', 'Evaluate', 'QualityGate', 'Register', 'QualityGateFailed'] });
  });

  it('turns the quality gate into a Condition step on the report', () => {
    const config = parseMlopsConfig(EXAMPLE_CONFIG_TEXT, policy, 'abalone');

    expect(config.Steps.QualityGate).toMatchObject({
      Type: 'Condition',
      Condition: { Left: { 'Std:JsonGet': { PropertyFile: { Get: 'Steps.Evaluate.PropertyFiles.Report' }, Path: 'regression_metrics.mse.value' } }, Operator: '<=', Right: 6 },
    });
  });

  it('keeps hyperparameters as text, as SageMaker passes them', () => {
    const config = parseMlopsConfig(EXAMPLE_CONFIG_TEXT, policy, 'abalone');

    expect(config.Steps.Train).toMatchObject({ HyperParameters: { num_round: '50', max_depth: '5', eta: '0.2', gamma: '4', min_child_weight: '6', subsample: '0.7' } });
  });

  it('applies the documented defaults', () => {
    const { Evaluate, Register } = parseMlopsConfig(EXAMPLE_CONFIG_TEXT, policy, 'abalone').Steps;

    expect([Evaluate, Register]).toEqual([
      expect.objectContaining({ ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 } } }),
      expect.objectContaining({ ModelApprovalStatus: 'PendingManualApproval' }),
    ]);
  });

  it('defaults Register to PendingManualApproval with text/csv when the section is absent', () => {
    const config = parseMlopsConfig(exampleWith(['Register'], undefined), policy, 'abalone');

    expect(config.Steps.Register).toEqual({
      Type: 'RegisterModel',
      ModelData: { From: 'Train/model' },
      ModelApprovalStatus: 'PendingManualApproval',
      ModelMetrics: { ModelQuality: { Statistics: { Get: 'Steps.Evaluate.PropertyFiles.Report' } } },
      InferenceSpecification: { SupportedContentTypes: ['text/csv'], SupportedResponseMIMETypes: ['text/csv'] },
    });
  });

  it('names the file and the missing field', () => {
    expect(() => parseMlopsConfig(exampleWith(['Train', 'ResourceConfig'], undefined), policy, 'abalone')).toThrow('mlops.yaml: Train.ResourceConfig: is required');
  });

  it('rejects an instance type the stage does not allow, naming the field and the allowed ones', () => {
    const text = exampleWith(['Train', 'ResourceConfig', 'InstanceType'], 'ml.p4d.24xlarge');

    expect(() => parseMlopsConfig(text, policy, 'abalone')).toThrow(
      /mlops\.yaml: Train\.ResourceConfig\.InstanceType: instance type "ml\.p4d\.24xlarge" is not allowed on this stage \(allowed: ml\.m5\.xlarge, ml\.m5\.large\)/,
    );
  });

  it('rejects a runtime above the stage maximum', () => {
    const text = exampleWith(['Preprocess', 'StoppingCondition', 'MaxRuntimeInSeconds'], 86_400);

    expect(() => parseMlopsConfig(text, policy, 'abalone')).toThrow(/Preprocess\.StoppingCondition\.MaxRuntimeInSeconds: 86400 s exceeds this stage's maximum of 7200 s/);
  });

  it('reports a Version 1 problem once, with the Version 1 field name', () => {
    const text = exampleWith(['Train', 'ResourceConfig', 'InstanceType'], 'ml.p4d.24xlarge');

    expect(() => parseMlopsConfig(text, policy, 'abalone')).toThrow(/^mlops\.yaml: Train\.ResourceConfig\.InstanceType: [^;]*$/);
  });

  it.each([
    [['Train', 'RoleArn'], 'arn:aws:iam::123456789012:role/Admin'],
    [['Train', 'VpcConfig'], { Subnets: ['subnet-1'] }],
    [['Train', 'OutputDataConfig'], { S3OutputPath: 's3://someone-elses-bucket/' }],
    [['Evaluate', 'ProcessingResources', 'ClusterConfig', 'VolumeKmsKeyId'], 'alias/mine'],
  ])('refuses %j: the stage, not the repository, chooses roles, VPCs, KMS keys and buckets', (path, value) => {
    const text = exampleWith(path as string[], value);

    expect(() => parseMlopsConfig(text, policy, 'abalone')).toThrow(`${(path as string[]).join('.')}: not allowed here: the stage decides roles, VPCs, KMS keys and buckets`);
  });

  it('rejects an unknown field by its path', () => {
    expect(() => parseMlopsConfig(exampleWith(['QualityGate', 'Metrik'], 'x'), policy, 'abalone')).toThrow('QualityGate.Metrik: unknown field');
  });

  it('rejects an unsupported gate operator', () => {
    expect(() => parseMlopsConfig(exampleWith(['QualityGate', 'Operator'], '=='), policy, 'abalone')).toThrow(/QualityGate\.Operator/);
  });

  it('rejects a channel that reads an output no earlier step produces', () => {
    const text = exampleWith(['Train', 'Channels', 'train', 'From'], 'preprocess/training');

    expect(() => parseMlopsConfig(text, policy, 'abalone')).toThrow(/Train\.Channels\.train\.From: "preprocess\/training" is not an output of an earlier step/);
  });

  it('rejects a training channel that reads the model it is about to train', () => {
    const text = exampleWith(['Train', 'Channels', 'train', 'From'], 'train/model');

    expect(() => parseMlopsConfig(text, policy, 'abalone')).toThrow(/Train\.Channels\.train\.From/);
  });

  it('rejects a report whose output is not among Evaluate.Outputs', () => {
    const text = exampleWith(['Evaluate', 'Report'], 'metrics/evaluation.json');

    expect(() => parseMlopsConfig(text, policy, 'abalone')).toThrow('Evaluate.Report: output "metrics" is not listed in Evaluate.Outputs');
  });

  it('rejects a dataset key that climbs out of datasets/', () => {
    const text = exampleWith(['Preprocess', 'Inputs', 'raw', 'Dataset'], 'abalone/../../secrets');

    expect(() => parseMlopsConfig(text, policy, 'abalone')).toThrow(/Preprocess\.Inputs\.raw/);
  });

  it('reserves the input name "code" for the source tree', () => {
    const text = exampleWith(['Preprocess', 'Inputs', 'code'], { Dataset: 'abalone/' });

    expect(() => parseMlopsConfig(text, policy, 'abalone')).toThrow('Preprocess.Inputs.code: the name "code" is reserved');
  });

  it('reports YAML syntax errors as InvalidConfig', () => {
    expect(() => parseMlopsConfig('Version: 1\nTrain: [unclosed\n', policy, 'abalone')).toThrow(InvalidConfigError);
  });

  it('names the file in a YAML syntax error', () => {
    expect(() => parseMlopsConfig('Version: 1\nTrain: [unclosed\n', policy, 'abalone')).toThrow(/^mlops\.yaml: not valid YAML/);
  });

  it('rejects duplicate keys instead of silently keeping the last one', () => {
    expect(() => parseMlopsConfig(`${EXAMPLE_CONFIG_TEXT}\nVersion: 1\n`, policy, 'abalone')).toThrow(/not valid YAML/);
  });

  it('accepts Version 2 as a version: a Version 1 file marked 2 is read by Version 2\'s rules', () => {
    expect(() => parseMlopsConfig(exampleWith(['Version'], 2), policy, 'abalone')).toThrow(/^mlops\.yaml: Steps: is required; Preprocess: unknown field; /);
  });

  it('rejects an unknown Version, naming it', () => {
    expect(() => parseMlopsConfig(exampleWith(['Version'], 3), policy, 'abalone')).toThrow('mlops.yaml: Version: must be 1 or 2, got 3');
  });

  it('rejects a file without a Version', () => {
    expect(() => parseMlopsConfig(exampleWith(['Version'], undefined), policy, 'abalone')).toThrow('mlops.yaml: Version: is required (1 or 2)');
  });

  it('rejects a document that is not a mapping, asking for a Version', () => {
    expect(() => parseMlopsConfig('- just\n- a list\n', policy, 'abalone')).toThrow('mlops.yaml: Version: is required (1 or 2)');
  });
});

describe('parseMlopsConfig: what a repository may claim (Version 1 field names)', () => {
  it('refuses a Register.ModelPackageGroupName of another repository, naming the field', () => {
    expect(() => parseMlopsConfig(exampleWith(['Register', 'ModelPackageGroupName'], 'victim'), policy, 'intruder')).toThrow(
      new InvalidConfigError('mlops.yaml: Register.ModelPackageGroupName: "victim" is not a group of repository intruder: a repository registers only into its own groups, "intruder" or "intruder--<name>"'),
    );
  });

  it('refuses Register.ModelApprovalStatus: Approved unless the stage lets the repository approve its own versions', () => {
    const text = exampleWith(['Register', 'ModelApprovalStatus'], 'Approved');

    expect(() => parseMlopsConfig(text, policy, 'abalone')).toThrow(/^mlops\.yaml: Register\.ModelApprovalStatus: "Approved" would deploy abalone's versions without review/);
    expect(parseMlopsConfig(text, { ...policy, selfApprovalRepositories: ['abalone'] }, 'abalone').Steps.Register).toMatchObject({ ModelApprovalStatus: 'Approved' });
  });

  it('refuses more instances per job and larger volumes than the stage allows, with Version 1\'s field names', () => {
    const text = exampleWith(['Train', 'ResourceConfig', 'InstanceCount'], 100);
    const both = parseDocument(text);
    both.setIn(['Preprocess', 'ProcessingResources', 'ClusterConfig', 'VolumeSizeInGB'], 16384);

    expect(() => parseMlopsConfig(both.toString(), policy, 'abalone')).toThrow(
      new InvalidConfigError(
        "mlops.yaml: Preprocess.ProcessingResources.ClusterConfig.VolumeSizeInGB: 16384 GB exceeds this stage's maximum volume of 512 GB; Train.ResourceConfig.InstanceCount: 100 instances exceed this stage's maximum of 4 per job",
      ),
    );
  });
});

describe('parseMlopsConfig: images (Version 1 field names)', () => {
  const images = { accountId: '123456789012', imageAccountIds: [], awsImageAccountIds: ['763104351884'], localImages: false };
  const FOREIGN = '999988887777.dkr.ecr.us-east-1.amazonaws.com/other:latest';

  it('accepts the example, whose images are in the stack\'s own account', () => {
    expect(() => parseMlopsConfig(EXAMPLE_CONFIG_TEXT, { ...policy, images }, 'abalone')).not.toThrow();
  });

  it.each([
    [['Preprocess', 'AppSpecification', 'ImageUri'], 'Preprocess.AppSpecification.ImageUri'],
    [['Train', 'AlgorithmSpecification', 'TrainingImage'], 'Train.AlgorithmSpecification.TrainingImage'],
    [['Evaluate', 'AppSpecification', 'ImageUri'], 'Evaluate.AppSpecification.ImageUri'],
    [['Register', 'InferenceSpecification', 'Image'], 'Register.InferenceSpecification.Image'],
  ])('refuses an image from an account the stage does not pull from at %j, naming %s', (path, field) => {
    expect(() => parseMlopsConfig(exampleWith(path, FOREIGN), { ...policy, images }, 'abalone')).toThrow(new RegExp(`${field.replace(/\./g, '\\.')}: image "${FOREIGN}" is in account 999988887777's ECR`));
  });
});
