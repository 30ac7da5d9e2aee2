import { instanceCountIssue, instanceTypeIssue, pipelinePolicyIssues, runtimeIssue, volumeSizeIssue } from '../../../shared/pipeline/stage-policy';
import { pipelineOf, processing, testPolicy, training } from '../../helpers/pipelines';

const ALLOWED = 'allowed: ml.m5.xlarge, ml.m5.large';

/** A Processing step on `instanceType`, stopping after `maxRuntime` (when given). */
function processingOn(instanceType: unknown, maxRuntime?: unknown): Record<string, unknown> {
  return processing({ ProcessingResources: { ClusterConfig: { InstanceType: instanceType } }, ...(maxRuntime === undefined ? {} : { StoppingCondition: { MaxRuntimeInSeconds: maxRuntime } }) });
}

describe('instanceTypeIssue', () => {
  it('allows an instance type on the stage\'s list', () => {
    expect(instanceTypeIssue('field', 'ml.m5.large', testPolicy())).toBeUndefined();
  });

  it('names the field, the type and the allowed ones for any other', () => {
    expect(instanceTypeIssue('Steps.train.ResourceConfig.InstanceType', 'ml.p4d.24xlarge', testPolicy())).toBe(
      `Steps.train.ResourceConfig.InstanceType: instance type "ml.p4d.24xlarge" is not allowed on this stage (${ALLOWED})`,
    );
  });
});

describe('runtimeIssue', () => {
  it.each([[undefined], [7200], [60]])('allows a runtime of %j s under a 7200 s maximum', (seconds) => {
    expect(runtimeIssue('field', seconds, testPolicy())).toBeUndefined();
  });

  it('names the field, the runtime and the maximum above it', () => {
    expect(runtimeIssue('Steps.train.StoppingCondition.MaxRuntimeInSeconds', 7201, testPolicy())).toBe("Steps.train.StoppingCondition.MaxRuntimeInSeconds: 7201 s exceeds this stage's maximum of 7200 s");
  });
});

describe('instanceCountIssue and volumeSizeIssue', () => {
  it('allow up to the stage\'s maximums (4 instances, 512 GB)', () => {
    expect([instanceCountIssue('f', 4, testPolicy()), volumeSizeIssue('f', 512, testPolicy())]).toEqual([undefined, undefined]);
  });

  it('name the field, the value and the maximum above them', () => {
    expect([instanceCountIssue('Steps.train.ResourceConfig.InstanceCount', 100, testPolicy()), volumeSizeIssue('Steps.train.ResourceConfig.VolumeSizeInGB', 16384, testPolicy())]).toEqual([
      "Steps.train.ResourceConfig.InstanceCount: 100 instances exceed this stage's maximum of 4 per job",
      "Steps.train.ResourceConfig.VolumeSizeInGB: 16384 GB exceeds this stage's maximum volume of 512 GB",
    ]);
  });
});

describe('pipelinePolicyIssues', () => {
  it('rejects literal instance counts and volume sizes above the stage\'s maximums', () => {
    const config = pipelineOf({
      prepare: processing({ ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.large', InstanceCount: 100 } } }),
      train: training({ d: { Dataset: 'x/' } }, { ResourceConfig: { InstanceType: 'ml.m5.xlarge', VolumeSizeInGB: 16384 } }),
    });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([
      "Steps.prepare.ProcessingResources.ClusterConfig.InstanceCount: 100 instances exceed this stage's maximum of 4 per job",
      "Steps.train.ResourceConfig.VolumeSizeInGB: 16384 GB exceeds this stage's maximum volume of 512 GB",
    ]);
  });

  it('finds nothing wrong with allowed literals', () => {
    const config = pipelineOf({ prepare: processingOn('ml.m5.large', 3600), train: training({ d: { Dataset: 'x/' } }, { ResourceConfig: { InstanceType: 'ml.m5.xlarge' } }) });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([]);
  });

  it('rejects a literal instance type of a Processing step', () => {
    const config = pipelineOf({ prepare: processingOn('ml.c5.large') });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([`Steps.prepare.ProcessingResources.ClusterConfig.InstanceType: instance type "ml.c5.large" is not allowed on this stage (${ALLOWED})`]);
  });

  it('rejects a literal instance type of a Training step', () => {
    const config = pipelineOf({ train: training({ d: { Dataset: 'x/' } }, { ResourceConfig: { InstanceType: 'ml.p3.2xlarge' } }) });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([`Steps.train.ResourceConfig.InstanceType: instance type "ml.p3.2xlarge" is not allowed on this stage (${ALLOWED})`]);
  });

  it('rejects an instance type parameter whose default the stage does not allow', () => {
    const config = pipelineOf({ prepare: processingOn({ Get: 'Parameters.Instance' }) }, { Instance: { Type: 'String', Default: 'ml.g5.xlarge' } });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([
      `Steps.prepare.ProcessingResources.ClusterConfig.InstanceType: instance type "ml.g5.xlarge" is not allowed on this stage (${ALLOWED}) (a value of Parameters.Instance)`,
    ]);
  });

  it('rejects each of an instance type parameter\'s EnumValues that the stage does not allow', () => {
    const parameters = { Instance: { Type: 'String', Default: 'ml.m5.large', EnumValues: ['ml.m5.large', 'ml.p4d.24xlarge', 'ml.m5.xlarge', 'ml.g5.xlarge'] } };
    const config = pipelineOf({ train: training({ d: { Dataset: 'x/' } }, { ResourceConfig: { InstanceType: { Get: 'Parameters.Instance' } } }) }, parameters);

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([
      `Steps.train.ResourceConfig.InstanceType: instance type "ml.p4d.24xlarge" is not allowed on this stage (${ALLOWED}) (a value of Parameters.Instance)`,
      `Steps.train.ResourceConfig.InstanceType: instance type "ml.g5.xlarge" is not allowed on this stage (${ALLOWED}) (a value of Parameters.Instance)`,
    ]);
  });

  it('reports a disallowed value once even when it is both the default and among the EnumValues', () => {
    const parameters = { Instance: { Type: 'String', Default: 'ml.g5.xlarge', EnumValues: ['ml.g5.xlarge', 'ml.m5.large'] } };
    const config = pipelineOf({ prepare: processingOn({ Get: 'Parameters.Instance' }) }, parameters);

    expect(pipelinePolicyIssues(config, testPolicy())).toHaveLength(1);
  });

  it('rejects a literal runtime above the stage maximum', () => {
    const config = pipelineOf({ prepare: processingOn('ml.m5.large', 86_400) });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual(["Steps.prepare.StoppingCondition.MaxRuntimeInSeconds: 86400 s exceeds this stage's maximum of 7200 s"]);
  });

  it('rejects a runtime parameter whose default is above the stage maximum', () => {
    const config = pipelineOf(
      { train: training({ d: { Dataset: 'x/' } }, { StoppingCondition: { MaxRuntimeInSeconds: { Get: 'Parameters.MaxRuntime' } } }) },
      { MaxRuntime: { Type: 'Integer', Default: 10_800 } },
    );

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([
      "Steps.train.StoppingCondition.MaxRuntimeInSeconds: 10800 s exceeds this stage's maximum of 7200 s (the default of Parameters.MaxRuntime)",
    ]);
  });

  it('leaves to the run what only the run can tell: step properties and report values', () => {
    const config = pipelineOf({
      prepare: processing({ Outputs: ['evaluation'], PropertyFiles: [{ PropertyFileName: 'Plan', OutputName: 'evaluation', FilePath: 'plan.json' }] }),
      train: training(
        { d: { Dataset: 'x/' } },
        {
          ResourceConfig: { InstanceType: { 'Std:JsonGet': { PropertyFile: { Get: 'Steps.prepare.PropertyFiles.Plan' }, Path: 'instance' } } },
          StoppingCondition: { MaxRuntimeInSeconds: { 'Std:JsonGet': { PropertyFile: { Get: 'Steps.prepare.PropertyFiles.Plan' }, Path: 'seconds' } } },
        },
      ),
    });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([]);
  });

  it('checks no instance type or runtime of the steps that run no job', () => {
    const config = pipelineOf({ stop: { Type: 'Fail', ErrorMessage: 'ml.p4d.24xlarge' } });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([]);
  });
});
