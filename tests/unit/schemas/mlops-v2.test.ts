import { parseDocument } from 'yaml';

import { InvalidConfigError } from '../../../shared/errors';
import { parseMlopsConfig } from '../../../shared/schemas/parse-mlops-config';
import { pipelineText, testPolicy } from '../../helpers/pipelines';

/** tests/fixtures/pipelines/fork-join.yaml with edits applied at YAML paths (undefined deletes). */
function forkJoinWith(...edits: [(string | number)[], unknown][]): string {
  const document = parseDocument(pipelineText('fork-join'));
  for (const [path, value] of edits) {
    if (value === undefined) document.deleteIn(path);
    else document.setIn(path, value);
  }
  return document.toString();
}

const parse = (text: string) => parseMlopsConfig(text, testPolicy(), 'abalone');
const STEPS = 'Prepare, TrainXgb, TrainLinear, EvaluateXgb, EvaluateLinear, Gate, Register, NotBetter';

describe('parseMlopsConfig with a Version 2 file', () => {
  describe('accepting', () => {
    it('returns tests/fixtures/pipelines/fork-join.yaml\'s steps in the file\'s order', () => {
      expect(Object.keys(parse(pipelineText('fork-join')).Steps)).toEqual(STEPS.split(', '));
    });

    it('keeps the parameters with their types, defaults and EnumValues', () => {
      expect(parse(pipelineText('fork-join')).Parameters).toEqual({
        InstanceType: { Type: 'String', Default: 'ml.m5.large', EnumValues: ['ml.m5.large', 'ml.m5.xlarge'] },
        MaxMse: { Type: 'Float', Default: 6, Description: 'The largest mean squared error a registered model may have.' },
        Rounds: { Type: 'Integer', Default: 50 },
      });
    });

    it('keeps references as written', () => {
      expect(parse(pipelineText('fork-join')).Steps.TrainXgb).toMatchObject({ HyperParameters: { algorithm: 'xgboost', num_round: { Get: 'Parameters.Rounds' } } });
    });

    it('applies the documented defaults of job steps', () => {
      const { Prepare, TrainXgb } = parse(pipelineText('fork-join')).Steps;

      expect([Prepare, TrainXgb]).toEqual([
        expect.objectContaining({ ProcessingResources: { ClusterConfig: { InstanceType: { Get: 'Parameters.InstanceType' }, InstanceCount: 1, VolumeSizeInGB: 30 } }, PropertyFiles: [] }),
        expect.objectContaining({ AlgorithmSpecification: expect.objectContaining({ TrainingInputMode: 'File' }), ResourceConfig: expect.objectContaining({ InstanceCount: 1, VolumeSizeInGB: 30 }) }),
      ]);
    });

    it('applies the documented defaults of Condition, Fail and RegisterModel steps', () => {
      const config = parse(forkJoinWith([['Steps', 'Gate', 'Else'], undefined], [['Steps', 'NotBetter', 'Error'], undefined], [['Steps', 'NotBetter', 'DependsOn'], ['Gate']]));

      expect([config.Steps.Gate, config.Steps.NotBetter, config.Steps.Register]).toEqual([
        expect.objectContaining({ Else: [] }),
        expect.objectContaining({ Error: 'PipelineFailed', ErrorMessage: { 'Std:Join': expect.objectContaining({ On: '' }) } }),
        expect.objectContaining({
          ModelApprovalStatus: 'PendingManualApproval',
          InferenceSpecification: { SupportedContentTypes: ['text/csv'], SupportedResponseMIMETypes: ['text/csv'] },
        }),
      ]);
    });

    it('applies the documented defaults of a retry policy', () => {
      const config = parse(forkJoinWith([['Steps', 'Prepare', 'RetryPolicies'], [{ ExceptionType: ['SageMaker.CAPACITY_ERROR'] }]]));

      expect(config.Steps.Prepare).toMatchObject({ RetryPolicies: [{ ExceptionType: ['SageMaker.CAPACITY_ERROR'], IntervalSeconds: 10, BackoffRate: 2, MaxAttempts: 3 }] });
    });

    it('accepts a cache expiry in days', () => {
      const config = parse(forkJoinWith([['Steps', 'Prepare', 'Cache'], { ExpireAfter: 'P30D', Paths: ['preprocess/'] }]));

      expect(config.Steps.Prepare).toMatchObject({ Cache: { ExpireAfter: 'P30D', Paths: ['preprocess/'] } });
    });

    it('accepts a step name with "-" and "_"', () => {
      const config = parse(forkJoinWith([['Steps', 'extra_step-1'], { Type: 'Fail', ErrorMessage: 'x', DependsOn: ['Prepare'] }]));

      expect(config.Steps['extra_step-1']).toMatchObject({ Type: 'Fail' });
    });
  });

  describe('rejecting, naming the file, the step and the field', () => {
    it.each<[string, (string | number)[], unknown, string]>([
      ['a From that is not <step>/<output>', ['Steps', 'TrainXgb', 'Channels', 'train', 'From'], 'Prepare', 'Steps.TrainXgb.Channels.train.From: must be "<step>/<output>", "<training step>/model" or "<ForEach step>/<inner step>/<output>"'],
      ['a From naming no step', ['Steps', 'TrainXgb', 'Channels', 'train', 'From'], 'Prep/train', `Steps.TrainXgb.Channels.train.From: no step "Prep" (steps: ${STEPS})`],
      ['a From naming no output', ['Steps', 'TrainXgb', 'Channels', 'train', 'From'], 'Prepare/validation', 'Steps.TrainXgb.Channels.train.From: step "Prepare" has no output "validation" (outputs: train, test)'],
      ['an instance type the stage does not allow', ['Steps', 'TrainLinear', 'ResourceConfig', 'InstanceType'], 'ml.p4d.24xlarge', 'Steps.TrainLinear.ResourceConfig.InstanceType: instance type "ml.p4d.24xlarge" is not allowed on this stage (allowed: ml.m5.xlarge, ml.m5.large)'],
      ['an instance count below 1', ['Steps', 'TrainXgb', 'ResourceConfig', 'InstanceCount'], 0, 'Steps.TrainXgb.ResourceConfig.InstanceCount: Too small: expected number to be >=1'],
      ['an instance count that is not a whole number', ['Steps', 'TrainXgb', 'ResourceConfig', 'InstanceCount'], 1.5, 'Steps.TrainXgb.ResourceConfig.InstanceCount: Invalid input: expected int, received number'],
      ['an instance count from a Float parameter', ['Steps', 'TrainXgb', 'ResourceConfig', 'InstanceCount'], { Get: 'Parameters.MaxMse' }, 'Steps.TrainXgb.ResourceConfig.InstanceCount: needs an integer, but the value is a Float'],
      ['an instance count from a String parameter', ['Steps', 'Prepare', 'ProcessingResources', 'ClusterConfig', 'InstanceCount'], { Get: 'Parameters.InstanceType' }, 'Steps.Prepare.ProcessingResources.ClusterConfig.InstanceCount: needs an integer, but the value is a String'],
      ['an unknown step type', ['Steps', 'TrainXgb', 'Type'], 'Clustering', "Steps.TrainXgb.Type: Invalid discriminator value. Expected 'Processing' | 'Training' | 'Condition' | 'Fail' | 'RegisterModel' | 'Tuning' | 'Transform'"],
      ['an unknown field', ['Steps', 'TrainXgb', 'Colour'], 'red', 'Steps.TrainXgb.Colour: unknown field'],
      ['a Training step without channels', ['Steps', 'TrainXgb', 'Channels'], {}, 'Steps.TrainXgb.Channels: needs at least one channel'],
      ['a missing required field', ['Steps', 'TrainXgb', 'AlgorithmSpecification'], undefined, 'Steps.TrainXgb.AlgorithmSpecification: is required'],
      ['an unknown parameter in a condition', ['Steps', 'Gate', 'Condition', 'And', 0, 'Right'], { Get: 'Parameters.MaxMSE' }, 'Steps.Gate.Condition.And[0].Right.Get: no parameter "MaxMSE" (parameters: InstanceType, MaxMse, Rounds)'],
      ['a Get that is neither a parameter nor a step property', ['Steps', 'Gate', 'Condition', 'And', 0, 'Right'], { Get: 'MaxMse' }, 'Steps.Gate.Condition.And[0].Right.Get: must be "Parameters.<name>", "Steps.<step>.<property>", or inside a ForEach'],
      ['a report path that is not a path', ['Steps', 'Gate', 'Condition', 'And', 1, 'Right', 'Std:JsonGet', 'Path'], 'mse value', 'Steps.Gate.Condition.And[1].Right.Std:JsonGet.Path: must be a path such as regression_metrics.mse.value'],
      ['an unknown property file', ['Steps', 'Gate', 'Condition', 'And', 1, 'Right', 'Std:JsonGet', 'PropertyFile', 'Get'], 'Steps.EvaluateLinear.PropertyFiles.Metrics', 'Steps.Gate.Condition.And[1].Right.Std:JsonGet.PropertyFile.Get: step "EvaluateLinear" has no property file "Metrics" (property files: Report)'],
      ['a comparison with an unknown operator', ['Steps', 'Gate', 'Condition', 'And', 0, 'Operator'], '=~', 'Steps.Gate.Condition.And[0].Operator: Invalid option: expected one of "=="|"!="|"<"|"<="|">"|">="'],
      ['an ordered comparison of a String', ['Steps', 'Gate', 'Condition', 'And', 0, 'Right'], { Get: 'Parameters.InstanceType' }, 'Steps.Gate.Condition.And[0].Right: "<=" compares numbers, but this value is a String'],
      ['a branch naming no step', ['Steps', 'Gate', 'If', 0], 'Deploy', `Steps.Gate.If[0]: no step "Deploy" (steps: ${STEPS})`],
      ['a Fail error reserved by Step Functions', ['Steps', 'NotBetter', 'Error'], 'States.Custom', 'Steps.NotBetter.Error: must not start with "States." (reserved by Step Functions)'],
      ['a Fail error that is not a name', ['Steps', 'NotBetter', 'Error'], 'quality gate', 'Steps.NotBetter.Error: must be a name such as QualityGateFailed'],
      ['an empty Fail message', ['Steps', 'NotBetter', 'ErrorMessage'], '', 'Steps.NotBetter.ErrorMessage: Too small: expected string to have >=1 characters'],
      ['ModelData from a Processing step', ['Steps', 'Register', 'ModelData', 'From'], 'EvaluateXgb/evaluation', 'Steps.Register.ModelData.From: ModelData comes from a Training or Tuning step ("<step>/model")'],
      ['a runtime above the stage maximum', ['Steps', 'Prepare', 'StoppingCondition'], { MaxRuntimeInSeconds: 86_400 }, "Steps.Prepare.StoppingCondition.MaxRuntimeInSeconds: 86400 s exceeds this stage's maximum of 7200 s"],
      ['an input named "code"', ['Steps', 'Prepare', 'Inputs', 'code'], { Dataset: 'abalone/' }, 'Steps.Prepare.Inputs.code: the name "code" is reserved for the source tree'],
      ['a dataset key that climbs out of datasets/', ['Steps', 'Prepare', 'Inputs', 'raw', 'Dataset'], 'abalone/../../secrets', 'Steps.Prepare.Inputs.raw.Dataset: must not contain ".."'],
      ['a cache expiry in years', ['Steps', 'Prepare', 'Cache'], { ExpireAfter: 'P1Y' }, 'Steps.Prepare.Cache.ExpireAfter: must be an ISO-8601 duration in weeks, days, hours, minutes or seconds, e.g. P30D or PT12H'],
      ['an unknown retry exception type', ['Steps', 'Prepare', 'RetryPolicies'], [{ ExceptionType: ['SageMaker.OOM'] }], 'Steps.Prepare.RetryPolicies[0].ExceptionType[0]: Invalid option: expected one of'],
      ['more than 20 attempts', ['Steps', 'Prepare', 'RetryPolicies'], [{ ExceptionType: ['Step.THROTTLING'], MaxAttempts: 50 }], 'Steps.Prepare.RetryPolicies[0].MaxAttempts: Too big: expected number to be <=20'],
      ['retry policies on a Condition', ['Steps', 'Gate', 'RetryPolicies'], [{ ExceptionType: ['Step.THROTTLING'] }], 'Steps.Gate.RetryPolicies: unknown field'],
      ['a property file outside the outputs', ['Steps', 'EvaluateXgb', 'PropertyFiles', 0, 'OutputName'], 'metrics', 'Steps.EvaluateXgb.PropertyFiles[0].OutputName: "metrics" is not listed in Steps.EvaluateXgb.Outputs'],
      ['a property file that is not a relative .json path', ['Steps', 'EvaluateXgb', 'PropertyFiles', 0, 'FilePath'], '/evaluation.json', 'Steps.EvaluateXgb.PropertyFiles[0].FilePath: must be a relative path to a .json file inside the output'],
      ['a step that depends on itself', ['Steps', 'Prepare', 'DependsOn'], ['Prepare'], 'Steps.Prepare.DependsOn[0]: step "Prepare" refers to itself'],
      ['a step that waits for a Fail step', ['Steps', 'Register', 'DependsOn'], ['NotBetter'], 'Steps.Register.DependsOn[0]: "NotBetter" is a Fail step: it ends the run, nothing can wait for it'],
      ['a step outside a branch that waits for a branch step', ['Steps', 'EvaluateLinear', 'DependsOn'], ['Register'], 'Steps.EvaluateLinear.DependsOn[0]: "Register" runs only in the If branch of Condition "Gate"; "EvaluateLinear" is outside that branch, so it cannot wait for it'],
      ['a step listed in both branches', ['Steps', 'Gate', 'Else', 1], 'Register', 'Steps.Gate.Else[1]: "Register" is already in the If branch of "Gate"; a step belongs to one branch'],
      ['a cycle', ['Steps', 'Prepare', 'DependsOn'], ['Gate'], 'Steps: the steps form a cycle: Prepare → TrainXgb → Gate → Prepare'],
    ])('rejects %s', (_what, path, value, message) => {
      const text = forkJoinWith([path, value]);

      expect(() => parse(text)).toThrow(`mlops.yaml: ${message}`);
    });

    it.each([['RoleArn', 'arn:aws:iam::123456789012:role/Admin'], ['VpcConfig', { Subnets: ['subnet-1'] }], ['OutputDataConfig', { S3OutputPath: 's3://elsewhere/' }], ['KmsKeyId', 'alias/mine']])(
      'refuses %s in a step: the stage, not the repository, chooses roles, VPCs, KMS keys and buckets',
      (field, value) => {
        const text = forkJoinWith([['Steps', 'TrainXgb', field], value]);

        expect(() => parse(text)).toThrow(`mlops.yaml: Steps.TrainXgb.${field}: not allowed here: the stage decides roles, VPCs, KMS keys and buckets`);
      },
    );

    it('rejects a step name that is not a name', () => {
      expect(() => parse(forkJoinWith([['Steps', 'train model'], { Type: 'Fail', ErrorMessage: 'x' }]))).toThrow('mlops.yaml: Steps.train model: Invalid key in record');
    });

    it('rejects a file without steps', () => {
      expect(() => parse(forkJoinWith([['Steps'], {}]))).toThrow('mlops.yaml: Steps: needs at least one step');
    });

    it('rejects more than 100 steps', () => {
      const steps = Object.fromEntries(Array.from({ length: 101 }, (_value, index) => [`stop${index}`, { Type: 'Fail', ErrorMessage: 'x' }]));

      expect(() => parse(forkJoinWith([['Steps'], steps]))).toThrow('mlops.yaml: Steps: holds at most 100 steps');
    });

    it('rejects the Version 1 sections in a Version 2 file', () => {
      expect(() => parse(forkJoinWith([['QualityGate'], { Metric: 'mse', Operator: '<', Threshold: 1 }]))).toThrow('mlops.yaml: QualityGate: unknown field');
    });

    it('reports every problem at once, separated by "; "', () => {
      const text = forkJoinWith([['Steps', 'TrainXgb', 'Colour'], 'red'], [['Steps', 'TrainLinear', 'Colour'], 'blue']);

      expect(() => parse(text)).toThrow('mlops.yaml: Steps.TrainXgb.Colour: unknown field; Steps.TrainLinear.Colour: unknown field');
    });

    it('throws InvalidConfigError', () => {
      expect(() => parse(forkJoinWith([['Steps', 'TrainXgb', 'Colour'], 'red']))).toThrow(InvalidConfigError);
    });
  });

  describe('parameters', () => {
    it('rejects a default outside the parameter\'s EnumValues', () => {
      const text = forkJoinWith([['Parameters', 'InstanceType', 'EnumValues'], ['ml.m5.xlarge']]);

      expect(() => parse(text)).toThrow('mlops.yaml: Parameters.InstanceType.Default: must be one of "ml.m5.xlarge", got "ml.m5.large"');
    });

    it('rejects an instance type parameter with a value the stage does not allow, naming the step\'s field and the parameter', () => {
      const text = forkJoinWith([['Parameters', 'InstanceType', 'EnumValues'], ['ml.m5.large', 'ml.p3.2xlarge']]);

      expect(() => parse(text)).toThrow(
        'mlops.yaml: Steps.Prepare.ProcessingResources.ClusterConfig.InstanceType: instance type "ml.p3.2xlarge" is not allowed on this stage (allowed: ml.m5.xlarge, ml.m5.large) (a value of Parameters.InstanceType)',
      );
    });

    it('rejects an Integer default that is not a whole number', () => {
      expect(() => parse(forkJoinWith([['Parameters', 'Rounds', 'Default'], 2.5]))).toThrow('mlops.yaml: Parameters.Rounds.Default: Invalid input: expected int, received number');
    });

    it('rejects a default of another type than the parameter\'s', () => {
      expect(() => parse(forkJoinWith([['Parameters', 'MaxMse', 'Default'], 'six']))).toThrow('mlops.yaml: Parameters.MaxMse.Default: Invalid input: expected number, received string');
    });

    it('rejects an unknown parameter type', () => {
      expect(() => parse(forkJoinWith([['Parameters', 'Rounds', 'Type'], 'Long']))).toThrow("mlops.yaml: Parameters.Rounds.Type: Invalid discriminator value. Expected 'String' | 'Integer' | 'Float' | 'Boolean'");
    });

    it('rejects a parameter name that is not a name', () => {
      expect(() => parse(forkJoinWith([['Parameters', '1st'], { Type: 'Integer', Default: 1 }]))).toThrow('mlops.yaml: Parameters.1st: Invalid key in record');
    });
  });

  describe('Version', () => {
    it.each([[3, 'Version: must be 1 or 2, got 3'], ['2', 'Version: must be 1 or 2, got "2"'], [undefined, 'Version: is required (1 or 2)']])('rejects Version %j', (version, message) => {
      expect(() => parse(forkJoinWith([['Version'], version]))).toThrow(`mlops.yaml: ${message}`);
    });
  });

  describe('Deploy', () => {
    it('checks a Version 2 file\'s endpoint instance types against the stage', () => {
      const deploy = { Staging: { InstanceType: 'ml.g5.48xlarge' }, Prod: { InstanceType: 'ml.m5.large' }, SmokeTest: { Body: 'M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15' } };
      const text = forkJoinWith([['Deploy'], deploy]);

      expect(() => parseMlopsConfig(text, { ...testPolicy(), allowedEndpointInstanceTypes: ['ml.m5.large'], maxEndpointInstanceCount: 4 }, 'abalone')).toThrow(
        'mlops.yaml: Deploy.Staging.InstanceType: instance type "ml.g5.48xlarge" is not allowed for endpoints on this stage (allowed: ml.m5.large)',
      );
    });
  });
});

describe('parseMlopsConfig with a Version 2 file: what a repository may claim', () => {
  it('refuses a RegisterModel step naming another repository\'s group, and an Approved status the stage does not allow, naming both fields', () => {
    const text = forkJoinWith([['Steps', 'Register', 'ModelPackageGroupName'], 'victim'], [['Steps', 'Register', 'ModelApprovalStatus'], 'Approved']);

    expect(() => parseMlopsConfig(text, testPolicy(), 'intruder')).toThrow(
      /^mlops\.yaml: Steps\.Register\.ModelPackageGroupName: "victim" is not a group of repository intruder: .*; Steps\.Register\.ModelApprovalStatus: "Approved" would deploy intruder's versions without review/,
    );
  });

  it('accepts a further group in the repository\'s own namespace', () => {
    const text = forkJoinWith([['Steps', 'Register', 'ModelPackageGroupName'], 'abalone--candidates']);

    expect(parse(text).Steps.Register).toMatchObject({ ModelPackageGroupName: 'abalone--candidates' });
  });

  it('refuses an instance count parameter whose default is above the stage\'s maximum', () => {
    const text = forkJoinWith([['Parameters', 'Nodes'], { Type: 'Integer', Default: 100 }], [['Steps', 'TrainXgb', 'ResourceConfig', 'InstanceCount'], { Get: 'Parameters.Nodes' }]);

    expect(() => parse(text)).toThrow(
      new InvalidConfigError("mlops.yaml: Steps.TrainXgb.ResourceConfig.InstanceCount: 100 instances exceed this stage's maximum of 4 per job (a value of Parameters.Nodes)"),
    );
  });
});
