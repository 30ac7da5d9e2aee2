import { parameterDefaultIssues, resolveParameters } from '../../../shared/pipeline/parameters';
import type { PipelineConfig } from '../../../shared/schemas/mlops-v2';
import { loadPipeline, pipelineOf, processing } from '../../helpers/pipelines';

/** A one-step pipeline declaring `parameters`. */
function withParameters(parameters: Record<string, unknown>): PipelineConfig {
  return pipelineOf({ only: processing() }, parameters);
}

const PARAMETERS = {
  InstanceType: { Type: 'String', Default: 'ml.m5.large', EnumValues: ['ml.m5.large', 'ml.m5.xlarge'] },
  Label: { Type: 'String', Default: 'nightly' },
  Rounds: { Type: 'Integer', Default: 50 },
  MaxMse: { Type: 'Float', Default: 6.5 },
  Register: { Type: 'Boolean', Default: true },
};

describe('parameterDefaultIssues', () => {
  it('finds nothing wrong with defaults of their own type', () => {
    expect(parameterDefaultIssues(withParameters(PARAMETERS))).toEqual([]);
  });

  it('rejects a String default outside its EnumValues, naming the parameter and the allowed values', () => {
    const config = withParameters({ InstanceType: { Type: 'String', Default: 'ml.c5.large', EnumValues: ['ml.m5.large', 'ml.m5.xlarge'] } });

    expect(parameterDefaultIssues(config)).toEqual(['Parameters.InstanceType.Default: must be one of "ml.m5.large", "ml.m5.xlarge", got "ml.c5.large"']);
  });

  it('accepts any String default when there are no EnumValues', () => {
    expect(parameterDefaultIssues(withParameters({ Label: { Type: 'String', Default: '' } }))).toEqual([]);
  });
});

describe('resolveParameters', () => {
  it('gives every parameter its default when the run sets none', () => {
    expect(resolveParameters(withParameters(PARAMETERS))).toEqual({ values: { InstanceType: 'ml.m5.large', Label: 'nightly', Rounds: 50, MaxMse: 6.5, Register: true } });
  });

  it('gives an empty set of values to a pipeline without parameters', () => {
    expect(resolveParameters(pipelineOf({ only: processing() }), {})).toEqual({ values: {} });
  });

  it('lets a run override some parameters and keeps the defaults of the others', () => {
    const result = resolveParameters(loadPipeline('fork-join'), { InstanceType: 'ml.m5.xlarge', Rounds: 200 });

    expect(result).toEqual({ values: { InstanceType: 'ml.m5.xlarge', MaxMse: 6, Rounds: 200 } });
  });

  it('accepts a whole number for a Float parameter', () => {
    expect(resolveParameters(withParameters(PARAMETERS), { MaxMse: 7 })).toMatchObject({ values: { MaxMse: 7 } });
  });

  it('accepts false for a Boolean parameter whose default is true', () => {
    expect(resolveParameters(withParameters(PARAMETERS), { Register: false })).toMatchObject({ values: { Register: false } });
  });

  it('rejects an override that names no parameter, listing the parameters', () => {
    expect(resolveParameters(loadPipeline('fork-join'), { Round: 10 })).toEqual({ issues: ['Parameters.Round: no such parameter in mlops.yaml (parameters: InstanceType, MaxMse, Rounds)'] });
  });

  it('does not take an Object property name for a parameter', () => {
    expect(resolveParameters(withParameters({}), JSON.parse('{"constructor": "x"}') as Record<string, unknown>)).toEqual({
      issues: ['Parameters.constructor: no such parameter in mlops.yaml (parameters: none)'],
    });
  });

  it.each([
    ['Label', 42, 'must be a String, got 42'],
    ['InstanceType', 'ml.p4d.24xlarge', 'must be one of "ml.m5.large", "ml.m5.xlarge", got "ml.p4d.24xlarge"'],
    ['Rounds', 2.5, 'must be an Integer, got 2.5'],
    ['Rounds', '50', 'must be an Integer, got "50"'],
    ['MaxMse', '6.5', 'must be a Float, got "6.5"'],
    ['MaxMse', null, 'must be a Float, got null'],
    ['Register', 'true', 'must be a Boolean, got "true"'],
  ])('rejects %s = %j: %s', (name, value, problem) => {
    expect(resolveParameters(withParameters(PARAMETERS), { [name]: value })).toEqual({ issues: [`Parameters.${name}: ${problem}`] });
  });

  it('reports every wrong override at once', () => {
    const result = resolveParameters(withParameters(PARAMETERS), { Rounds: 'many', Nope: 1, Register: 0 });

    expect(result).toEqual({
      issues: ['Parameters.Rounds: must be an Integer, got "many"', 'Parameters.Nope: no such parameter in mlops.yaml (parameters: InstanceType, Label, Rounds, MaxMse, Register)', 'Parameters.Register: must be a Boolean, got 0'],
    });
  });
});
