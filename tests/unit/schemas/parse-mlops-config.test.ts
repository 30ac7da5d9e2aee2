import { parseDocument } from 'yaml';

import { InvalidConfigError } from '../../../shared/errors';
import { parseMlopsConfig } from '../../../shared/schemas/parse-mlops-config';
import { EXAMPLE_CONFIG_TEXT, TEST_POLICY } from '../../helpers/fixtures';

const policy = { allowedInstanceTypes: [...TEST_POLICY.allowedInstanceTypes], maxRuntimeSeconds: TEST_POLICY.maxRuntimeSeconds };

/** The example file with one edit applied at a YAML path (undefined deletes). */
function exampleWith(path: (string | number)[], value: unknown): string {
  const document = parseDocument(EXAMPLE_CONFIG_TEXT);
  if (value === undefined) document.deleteIn(path);
  else document.setIn(path, value);
  return document.toString();
}

describe('parseMlopsConfig', () => {
  it('accepts examples/abalone/mlops.yaml and applies the documented defaults', () => {
    const config = parseMlopsConfig(EXAMPLE_CONFIG_TEXT, policy);

    expect(config.QualityGate).toEqual({ Metric: 'regression_metrics.mse.value', Operator: '<=', Threshold: 6 });
    expect(config.Train.HyperParameters).toMatchObject({ num_round: '50', max_depth: '5', eta: '0.2', gamma: '4', min_child_weight: '6', subsample: '0.7' });
    expect(config.Evaluate.ProcessingResources.ClusterConfig.VolumeSizeInGB).toBe(30);
    expect(config.Register.ModelApprovalStatus).toBe('PendingManualApproval');
  });

  it('defaults Register to PendingManualApproval with text/csv when the section is absent', () => {
    const config = parseMlopsConfig(exampleWith(['Register'], undefined), policy);

    expect(config.Register).toEqual({
      ModelApprovalStatus: 'PendingManualApproval',
      InferenceSpecification: { SupportedContentTypes: ['text/csv'], SupportedResponseMIMETypes: ['text/csv'] },
    });
  });

  it('names the file and the missing field', () => {
    expect(() => parseMlopsConfig(exampleWith(['Train', 'ResourceConfig'], undefined), policy)).toThrow(
      'mlops.yaml: Train.ResourceConfig: is required',
    );
  });

  it('rejects an instance type the stage does not allow, naming the field and the allowed ones', () => {
    const text = exampleWith(['Train', 'ResourceConfig', 'InstanceType'], 'ml.p4d.24xlarge');

    expect(() => parseMlopsConfig(text, policy)).toThrow(
      /mlops\.yaml: Train\.ResourceConfig\.InstanceType: instance type "ml\.p4d\.24xlarge" is not allowed on this stage \(allowed: ml\.m5\.xlarge, ml\.m5\.large\)/,
    );
  });

  it('rejects a runtime above the stage maximum', () => {
    const text = exampleWith(['Preprocess', 'StoppingCondition', 'MaxRuntimeInSeconds'], 86_400);

    expect(() => parseMlopsConfig(text, policy)).toThrow(/Preprocess\.StoppingCondition\.MaxRuntimeInSeconds: 86400 s exceeds this stage's maximum of 7200 s/);
  });

  it.each([
    [['Train', 'RoleArn'], 'arn:aws:iam::123456789012:role/Admin'],
    [['Train', 'VpcConfig'], { Subnets: ['subnet-1'] }],
    [['Train', 'OutputDataConfig'], { S3OutputPath: 's3://someone-elses-bucket/' }],
    [['Evaluate', 'ProcessingResources', 'ClusterConfig', 'VolumeKmsKeyId'], 'alias/mine'],
  ])('refuses %j: the stage, not the repository, chooses roles, VPCs, KMS keys and buckets', (path, value) => {
    const text = exampleWith(path as string[], value);

    expect(() => parseMlopsConfig(text, policy)).toThrow(`${(path as string[]).join('.')}: not allowed here: the stage decides roles, VPCs, KMS keys and buckets`);
  });

  it('rejects an unknown field by its path', () => {
    expect(() => parseMlopsConfig(exampleWith(['QualityGate', 'Metrik'], 'x'), policy)).toThrow('QualityGate.Metrik: unknown field');
  });

  it('rejects an unsupported gate operator', () => {
    expect(() => parseMlopsConfig(exampleWith(['QualityGate', 'Operator'], '=='), policy)).toThrow(/QualityGate\.Operator/);
  });

  it('rejects a channel that reads an output no earlier step produces', () => {
    const text = exampleWith(['Train', 'Channels', 'train', 'From'], 'preprocess/training');

    expect(() => parseMlopsConfig(text, policy)).toThrow(/Train\.Channels\.train\.From: "preprocess\/training" is not an output of an earlier step/);
  });

  it('rejects a training channel that reads the model it is about to train', () => {
    const text = exampleWith(['Train', 'Channels', 'train', 'From'], 'train/model');

    expect(() => parseMlopsConfig(text, policy)).toThrow(/Train\.Channels\.train\.From/);
  });

  it('rejects a report whose output is not among Evaluate.Outputs', () => {
    const text = exampleWith(['Evaluate', 'Report'], 'metrics/evaluation.json');

    expect(() => parseMlopsConfig(text, policy)).toThrow('Evaluate.Report: output "metrics" is not listed in Evaluate.Outputs');
  });

  it('rejects a dataset key that climbs out of datasets/', () => {
    const text = exampleWith(['Preprocess', 'Inputs', 'raw', 'Dataset'], 'abalone/../../secrets');

    expect(() => parseMlopsConfig(text, policy)).toThrow(/Preprocess\.Inputs\.raw/);
  });

  it('reserves the input name "code" for the source tree', () => {
    const text = exampleWith(['Preprocess', 'Inputs', 'code'], { Dataset: 'abalone/' });

    expect(() => parseMlopsConfig(text, policy)).toThrow('Preprocess.Inputs.code: the name "code" is reserved');
  });

  it('reports YAML syntax errors as InvalidConfig naming the file', () => {
    expect(() => parseMlopsConfig('Version: 1\nTrain: [unclosed\n', policy)).toThrow(InvalidConfigError);
    expect(() => parseMlopsConfig('Version: 1\nTrain: [unclosed\n', policy)).toThrow(/^mlops\.yaml: not valid YAML/);
  });

  it('rejects duplicate keys instead of silently keeping the last one', () => {
    expect(() => parseMlopsConfig(`${EXAMPLE_CONFIG_TEXT}\nVersion: 1\n`, policy)).toThrow(/not valid YAML/);
  });

  it('rejects an unknown Version', () => {
    expect(() => parseMlopsConfig(exampleWith(['Version'], 2), policy)).toThrow(/Version/);
  });
});
