import type { MlopsV1Config } from '../schemas/mlops-config';
import type { PipelineConfig } from '../schemas/mlops-v2';

/**
 * How a Version 1 mlops.yaml reads as Version 2: its five sections become five steps of the same
 * names, and the quality gate a Condition with a Fail branch. README "mlops.yaml Version 1" shows
 * the same file written as Version 2. Pure.
 */

/** V1 wrote `From: preprocess/<output>` and `From: train/model`; the V2 steps keep the section names. */
const STEP_OF: Record<string, string> = { preprocess: 'Preprocess', train: 'Train' };

function renameFrom<T extends object>(sources: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.entries(sources).map(([name, source]) => {
      if (!('From' in source) || typeof source.From !== 'string') return [name, source];
      const [step = '', output = ''] = source.From.split('/');
      return [name, { ...source, From: `${STEP_OF[step] ?? step}/${output}` }];
    }),
  );
}

/** The Version 2 pipeline a Version 1 file stands for. */
export function pipelineFromV1(v1: MlopsV1Config): PipelineConfig {
  const [reportOutput = '', ...reportPath] = v1.Evaluate.Report.split('/');
  const report = { Get: 'Steps.Evaluate.PropertyFiles.Report' };
  const metric = { 'Std:JsonGet': { PropertyFile: report, Path: v1.QualityGate.Metric } };
  const { Report: _report, ...evaluate } = v1.Evaluate;
  const register = v1.Register;
  return {
    Version: 2,
    Parameters: {},
    Steps: {
      Preprocess: { Type: 'Processing', ...v1.Preprocess, Inputs: renameFrom(v1.Preprocess.Inputs), PropertyFiles: [] },
      Train: { Type: 'Training', ...v1.Train, Channels: renameFrom(v1.Train.Channels) },
      Evaluate: {
        Type: 'Processing',
        ...evaluate,
        Inputs: renameFrom(evaluate.Inputs),
        PropertyFiles: [{ PropertyFileName: 'Report', OutputName: reportOutput, FilePath: reportPath.join('/') }],
      },
      QualityGate: {
        Type: 'Condition',
        Condition: { Left: metric, Operator: v1.QualityGate.Operator, Right: v1.QualityGate.Threshold },
        If: ['Register'],
        Else: ['QualityGateFailed'],
      },
      Register: {
        Type: 'RegisterModel',
        ModelData: { From: 'Train/model' },
        ...(register.ModelPackageGroupName === undefined ? {} : { ModelPackageGroupName: register.ModelPackageGroupName }),
        ...(register.ModelPackageDescription === undefined ? {} : { ModelPackageDescription: register.ModelPackageDescription }),
        ModelApprovalStatus: register.ModelApprovalStatus,
        ModelMetrics: { ModelQuality: { Statistics: report } },
        InferenceSpecification: register.InferenceSpecification,
      },
      QualityGateFailed: {
        Type: 'Fail',
        Error: 'QualityGateFailed',
        ErrorMessage: {
          'Std:Join': {
            On: '',
            Values: [`quality gate not met: ${v1.QualityGate.Metric} = `, metric, `, required ${v1.QualityGate.Operator} ${v1.QualityGate.Threshold}`],
          },
        },
      },
    },
    ...(v1.Deploy === undefined ? {} : { Deploy: v1.Deploy }),
    ...(v1.Triggers === undefined ? {} : { Triggers: v1.Triggers }),
    ...(v1.Local === undefined ? {} : { Local: v1.Local }),
  };
}
