import { parse } from 'yaml';

import { compilePipeline } from '../../../shared/pipeline/compile';
import { pipelineFromV1 } from '../../../shared/pipeline/from-v1';
import { analysePipeline } from '../../../shared/pipeline/graph';
import { type MlopsV1Config, mlopsV1Schema } from '../../../shared/schemas/mlops-config';
import { parseMlopsConfig } from '../../../shared/schemas/parse-mlops-config';
import { EXAMPLE_CONFIG_TEXT } from '../../helpers/fixtures';
import { pipelineText, TEST_TARGETS, testPolicy } from '../../helpers/pipelines';

/** examples/abalone/mlops.yaml as the Version 1 schema reads it (a fresh object each call). */
function exampleV1(): MlopsV1Config {
  return mlopsV1Schema.parse(parse(EXAMPLE_CONFIG_TEXT));
}

const report = { Get: 'Steps.Evaluate.PropertyFiles.Report' };
const mse = { 'Std:JsonGet': { PropertyFile: report, Path: 'regression_metrics.mse.value' } };

describe('how a Version 1 file reads as Version 2', () => {
  it('reads examples/abalone/mlops.yaml as the pipeline tests/fixtures/pipelines/abalone-v2.yaml writes out', () => {
    const fromV1 = parseMlopsConfig(EXAMPLE_CONFIG_TEXT, testPolicy(), 'abalone');
    const written = parseMlopsConfig(pipelineText('abalone-v2'), testPolicy(), 'abalone');

    expect(fromV1).toEqual(written);
  });

  it('compiles examples/abalone/mlops.yaml and abalone-v2.yaml to the same state machine, byte for byte', () => {
    const definitionOf = (text: string) => {
      const config = parseMlopsConfig(text, testPolicy(), 'abalone');
      return JSON.stringify(compilePipeline(config, analysePipeline(config).graph, TEST_TARGETS));
    };

    expect(definitionOf(EXAMPLE_CONFIG_TEXT)).toBe(definitionOf(pipelineText('abalone-v2')));
  });
});

describe('pipelineFromV1', () => {
  it('makes the five sections steps of the same names, and the gate\'s failure a Fail step', () => {
    const pipeline = pipelineFromV1(exampleV1());

    expect(Object.entries(pipeline.Steps).map(([name, step]) => [name, step.Type])).toEqual([
      ['Preprocess', 'Processing'],
      ['Train', 'Training'],
      ['Evaluate', 'Processing'],
      ['QualityGate', 'Condition'],
      ['Register', 'RegisterModel'],
      ['QualityGateFailed', 'Fail'],
    ]);
  });

  it('gives a valid pipeline: the graph analysis finds nothing', () => {
    expect(analysePipeline(pipelineFromV1(exampleV1())).issues).toEqual([]);
  });

  it('declares no parameters', () => {
    expect(pipelineFromV1(exampleV1()).Parameters).toEqual({});
  });

  it('points `From: preprocess/<output>` and `From: train/model` at the renamed steps', () => {
    const { Steps } = pipelineFromV1(exampleV1());

    expect([Steps.Train, Steps.Evaluate]).toEqual([
      expect.objectContaining({ Channels: { train: { From: 'Preprocess/train', ContentType: 'text/csv' }, validation: { From: 'Preprocess/validation', ContentType: 'text/csv' } } }),
      expect.objectContaining({ Inputs: { model: { From: 'Train/model' }, test: { From: 'Preprocess/test' } } }),
    ]);
  });

  it('leaves dataset inputs as they are', () => {
    expect(pipelineFromV1(exampleV1()).Steps.Preprocess).toMatchObject({ Inputs: { raw: { Dataset: 'abalone/' } } });
  });

  it('turns Evaluate.Report into a property file named Report of that output', () => {
    const v1 = exampleV1();
    v1.Evaluate.Report = 'evaluation/reports/evaluation.json';

    expect(pipelineFromV1(v1).Steps.Evaluate).toMatchObject({ PropertyFiles: [{ PropertyFileName: 'Report', OutputName: 'evaluation', FilePath: 'reports/evaluation.json' }] });
  });

  it('drops the Report field from the Evaluate step', () => {
    expect(pipelineFromV1(exampleV1()).Steps.Evaluate).not.toHaveProperty('Report');
  });

  it('makes the quality gate a Condition on the report\'s metric: Register if it holds, QualityGateFailed if not', () => {
    expect(pipelineFromV1(exampleV1()).Steps.QualityGate).toEqual({
      Type: 'Condition',
      Condition: { Left: mse, Operator: '<=', Right: 6 },
      If: ['Register'],
      Else: ['QualityGateFailed'],
    });
  });

  it('fails a run that misses the gate with QualityGateFailed and a message naming the metric, its value and the rule', () => {
    const v1 = exampleV1();
    v1.QualityGate = { Metric: 'regression_metrics.r2.value', Operator: '>', Threshold: 0.75 };

    expect(pipelineFromV1(v1).Steps.QualityGateFailed).toEqual({
      Type: 'Fail',
      Error: 'QualityGateFailed',
      ErrorMessage: {
        'Std:Join': {
          On: '',
          Values: ['quality gate not met: regression_metrics.r2.value = ', { 'Std:JsonGet': { PropertyFile: report, Path: 'regression_metrics.r2.value' } }, ', required > 0.75'],
        },
      },
    });
  });

  it('registers the Train step\'s model with the report as its model quality', () => {
    expect(pipelineFromV1(exampleV1()).Steps.Register).toMatchObject({
      ModelData: { From: 'Train/model' },
      ModelPackageGroupName: 'abalone',
      ModelApprovalStatus: 'PendingManualApproval',
      ModelMetrics: { ModelQuality: { Statistics: report } },
    });
  });

  it('keeps a description and leaves out a group name the file does not give', () => {
    const v1 = exampleV1();
    v1.Register = { ...v1.Register, ModelPackageGroupName: undefined, ModelPackageDescription: 'abalone rings' };

    const register = pipelineFromV1(v1).Steps.Register!;

    expect({ hasGroup: 'ModelPackageGroupName' in register, description: 'ModelPackageDescription' in register ? register.ModelPackageDescription : undefined }).toEqual({
      hasGroup: false,
      description: 'abalone rings',
    });
  });

  it('keeps Deploy and Local as they are', () => {
    const v1 = exampleV1();

    expect(pipelineFromV1(v1)).toMatchObject({ Deploy: v1.Deploy, Local: v1.Local });
  });

  it('has no Deploy or Local when the file has none', () => {
    const { Deploy: _deploy, Local: _local, ...v1 } = exampleV1();

    expect(Object.keys(pipelineFromV1(v1))).toEqual(['Version', 'Parameters', 'Steps']);
  });
});
