import { analysePipeline } from '../../../shared/pipeline/graph';
import type { PipelineConfig } from '../../../shared/schemas/mlops-v2';
import { loadPipeline, pipelineOf, processing, training } from '../../helpers/pipelines';

/** The problems analysePipeline finds. */
function issuesOf(config: PipelineConfig): string[] {
  return analysePipeline(config).issues;
}

/** What `step` waits for, sorted. */
function waitsOf(config: PipelineConfig, step: string): string[] {
  return [...(analysePipeline(config).graph.dependencies.get(step) ?? [])].sort();
}

const report = (step: string, path = 'regression_metrics.mse.value') => ({ 'Std:JsonGet': { PropertyFile: { Get: `Steps.${step}.PropertyFiles.Report` }, Path: path } });

/** prepare → train → evaluate (with a Report property file): the start of most pipelines here. */
function chain(): Record<string, unknown> {
  return {
    prepare: processing({ Outputs: ['train', 'test'] }),
    train: training(
      { train: { From: 'prepare/train' } },
      { AlgorithmSpecification: { TrainingImage: 'image', MetricDefinitions: [{ Name: 'validation:rmse', Regex: 'rmse=([0-9.]+)' }] } },
    ),
    evaluate: processing({
      Inputs: { model: { From: 'train/model' }, test: { From: 'prepare/test' } },
      Outputs: ['evaluation'],
      PropertyFiles: [{ PropertyFileName: 'Report', OutputName: 'evaluation', FilePath: 'evaluation.json' }],
    }),
  };
}

/** chain() then a gate: register when mse <= 6, else fail. */
function gated(gate: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...chain(),
    gate: { Type: 'Condition', Condition: { Left: report('evaluate'), Operator: '<=', Right: 6 }, If: ['register'], Else: ['failed'], ...gate },
    register: { Type: 'RegisterModel', ModelData: { From: 'train/model' } },
    failed: { Type: 'Fail', ErrorMessage: 'mse above 6' },
  };
}

describe('analysePipeline', () => {
  describe('a valid pipeline', () => {
    it('finds no issues in tests/fixtures/pipelines/fork-join.yaml', () => {
      const config = loadPipeline('fork-join');

      expect(issuesOf(config)).toEqual([]);
    });

    it('lists the steps in the order the file declares them', () => {
      const { graph } = analysePipeline(pipelineOf(gated()));

      expect(graph.order).toEqual(['prepare', 'train', 'evaluate', 'gate', 'register', 'failed']);
    });

    it('makes a step wait for the steps whose outputs it reads (From)', () => {
      const config = pipelineOf(chain());

      expect(waitsOf(config, 'evaluate')).toEqual(['prepare', 'train']);
    });

    it('makes a step wait for the steps named in DependsOn', () => {
      const config = pipelineOf({ first: processing(), second: processing({ DependsOn: ['first'] }) });

      expect(waitsOf(config, 'second')).toEqual(['first']);
    });

    it('makes a step wait for the step whose property it reads (Get)', () => {
      const config = pipelineOf({ ...chain(), tag: processing({ Environment: { JOB: { Get: 'Steps.train.TrainingJobName' } } }) });

      expect(waitsOf(config, 'tag')).toEqual(['train']);
    });

    it('makes a step wait for the step whose report it reads (Std:JsonGet), even inside a Std:Join', () => {
      const config = pipelineOf({ ...chain(), note: processing({ Environment: { NOTE: { 'Std:Join': { On: ' ', Values: ['mse', report('evaluate')] } } } }) });

      expect(waitsOf(config, 'note')).toEqual(['evaluate']);
    });

    it('records which branch of which Condition each branch step belongs to', () => {
      const { graph } = analysePipeline(pipelineOf(gated()));

      expect(Object.fromEntries(graph.branchOf)).toEqual({ register: { condition: 'gate', side: 'If' }, failed: { condition: 'gate', side: 'Else' } });
    });
  });

  describe('references', () => {
    it('rejects a From naming no step, listing the steps', () => {
      const config = pipelineOf({ ...chain(), train: training({ train: { From: 'prep/train' } }) });

      expect(issuesOf(config)).toContain('Steps.train.Channels.train.From: no step "prep" (steps: prepare, train, evaluate)');
    });

    it('rejects a DependsOn naming no step', () => {
      const config = pipelineOf({ only: processing({ DependsOn: ['ghost'] }) });

      expect(issuesOf(config)).toEqual(['Steps.only.DependsOn[0]: no step "ghost" (steps: only)']);
    });

    it('rejects a Get naming no step', () => {
      const config = pipelineOf({ only: processing({ Environment: { JOB: { Get: 'Steps.ghost.ProcessingJobName' } } }) });

      expect(issuesOf(config)).toEqual(['Steps.only.Environment.JOB.Get: no step "ghost" (steps: only)']);
    });

    it('rejects a Condition branch listing no step', () => {
      const config = pipelineOf(gated({ If: ['register', 'deploy'] }));

      expect(issuesOf(config)).toContain('Steps.gate.If[1]: no step "deploy" (steps: prepare, train, evaluate, gate, register, failed)');
    });

    it('rejects an unknown parameter, listing the parameters', () => {
      const config = pipelineOf({ only: processing({ ProcessingResources: { ClusterConfig: { InstanceType: { Get: 'Parameters.Instance' } } } }) }, { InstanceType: { Type: 'String', Default: 'ml.m5.large' } });

      expect(issuesOf(config)).toEqual(['Steps.only.ProcessingResources.ClusterConfig.InstanceType.Get: no parameter "Instance" (parameters: InstanceType)']);
    });

    it('does not take an Object property name for a parameter', () => {
      const config = pipelineOf({ only: processing({ Environment: { X: { Get: 'Parameters.constructor' } } }) });

      expect(issuesOf(config)).toEqual(['Steps.only.Environment.X.Get: no parameter "constructor" (parameters: none)']);
    });

    it('rejects a From naming an output the step does not list', () => {
      const config = pipelineOf({ ...chain(), train: training({ train: { From: 'prepare/validation' } }) });

      expect(issuesOf(config)).toContain('Steps.train.Channels.train.From: step "prepare" has no output "validation" (outputs: train, test)');
    });

    it('rejects a From reading a Training step other than its model', () => {
      const config = pipelineOf({ ...chain(), deploy: processing({ Inputs: { model: { From: 'train/artifacts' } } }) });

      expect(issuesOf(config)).toEqual(['Steps.deploy.Inputs.model.From: a Training step\'s output is "train/model" (its model artifacts), not "artifacts"']);
    });

    it('rejects a From reading a step type that has no outputs', () => {
      const config = pipelineOf({ ...gated(), after: processing({ Inputs: { gate: { From: 'gate/outcome' } } }) });

      expect(issuesOf(config)).toContain('Steps.after.Inputs.gate.From: step "gate" is a Condition step and has no outputs');
    });

    it('rejects ModelData that does not come from a Training or Tuning step', () => {
      const config = pipelineOf({ ...gated(), register: { Type: 'RegisterModel', ModelData: { From: 'evaluate/evaluation' } } });

      expect(issuesOf(config)).toEqual(['Steps.register.ModelData.From: ModelData comes from a Training or Tuning step ("<step>/model")']);
    });

    it('rejects an unknown property of a step, listing the properties of its type', () => {
      const config = pipelineOf({ ...chain(), tag: processing({ Environment: { JOB: { Get: 'Steps.train.JobName' } } }) });

      expect(issuesOf(config)).toEqual([
        'Steps.tag.Environment.JOB.Get: "JobName" is not a property of Training step "train" (properties: TrainingJobName, TrainingJobArn, ModelArtifacts.S3ModelArtifacts, FinalMetricDataList[\'<metric>\'].Value (metrics: validation:rmse))',
      ]);
    });

    it('rejects an output URI property for an output the step does not list', () => {
      const config = pipelineOf({ ...chain(), tag: processing({ Environment: { DATA: { Get: "Steps.prepare.ProcessingOutputConfig.Outputs['validation'].S3Output.S3Uri" } } }) });

      expect(issuesOf(config)).toEqual([
        expect.stringMatching(/^Steps\.tag\.Environment\.DATA\.Get: "ProcessingOutputConfig\.Outputs\['validation'\]\.S3Output\.S3Uri" is not a property of Processing step "prepare" .*\(outputs: train, test\)\)$/),
      ]);
    });

    it('accepts an output URI property for a listed output', () => {
      const config = pipelineOf({ ...chain(), tag: processing({ Environment: { DATA: { Get: "Steps.prepare.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri" } } }) });

      expect(issuesOf(config)).toEqual([]);
    });

    it('rejects a metric the Training step does not define', () => {
      const config = pipelineOf({ ...chain(), tag: processing({ Environment: { RMSE: { Get: "Steps.train.FinalMetricDataList['train:rmse'].Value" } } }) });

      expect(issuesOf(config)).toEqual([expect.stringMatching(/^Steps\.tag\.Environment\.RMSE\.Get: "FinalMetricDataList\['train:rmse'\]\.Value" is not a property of Training step "train" .*\(metrics: validation:rmse\)\)$/)]);
    });

    it('rejects a property file read with Get, showing the Std:JsonGet form', () => {
      const config = pipelineOf({ ...chain(), tag: processing({ Environment: { R: { Get: 'Steps.evaluate.PropertyFiles.Report' } } }) });

      expect(issuesOf(config)).toEqual([
        'Steps.tag.Environment.R.Get: a property file is read with Std:JsonGet, e.g. {Std:JsonGet: {PropertyFile: {Get: Steps.evaluate.PropertyFiles.Report}, Path: <path>}}',
      ]);
    });

    it('rejects a property file the step does not declare, listing those it does', () => {
      const config = pipelineOf(gated({ Condition: { Left: { 'Std:JsonGet': { PropertyFile: { Get: 'Steps.evaluate.PropertyFiles.Metrics' }, Path: 'mse' } }, Operator: '<=', Right: 6 } }));

      expect(issuesOf(config)).toEqual(['Steps.gate.Condition.Left.Std:JsonGet.PropertyFile.Get: step "evaluate" has no property file "Metrics" (property files: Report)']);
    });

    it('rejects a property file of a step that writes none', () => {
      const config = pipelineOf(gated({ Condition: { Left: report('train'), Operator: '<=', Right: 6 } }));

      expect(issuesOf(config)).toContain('Steps.gate.Condition.Left.Std:JsonGet.PropertyFile.Get: step "train" has no property file "Report" (property files: none)');
    });

    it('rejects a RegisterModel statistics file the step does not declare', () => {
      const config = pipelineOf({
        ...gated(),
        register: { Type: 'RegisterModel', ModelData: { From: 'train/model' }, ModelMetrics: { ModelQuality: { Statistics: { Get: 'Steps.evaluate.PropertyFiles.Stats' } } } },
      });

      expect(issuesOf(config)).toEqual(['Steps.register.ModelMetrics.ModelQuality.Statistics.Get: step "evaluate" has no property file "Stats" (property files: Report)']);
    });

    it('rejects a property file whose output the step does not list', () => {
      const config = pipelineOf({ only: processing({ Outputs: ['metrics'], PropertyFiles: [{ PropertyFileName: 'Report', OutputName: 'evaluation', FilePath: 'evaluation.json' }] }) });

      expect(issuesOf(config)).toEqual(['Steps.only.PropertyFiles[0].OutputName: "evaluation" is not listed in Steps.only.Outputs']);
    });

    it('rejects two property files of the same name', () => {
      const files = [
        { PropertyFileName: 'Report', OutputName: 'evaluation', FilePath: 'a.json' },
        { PropertyFileName: 'Report', OutputName: 'evaluation', FilePath: 'b.json' },
      ];
      const config = pipelineOf({ only: processing({ Outputs: ['evaluation'], PropertyFiles: files }) });

      expect(issuesOf(config)).toEqual(['Steps.only.PropertyFiles: "Report" is named twice']);
    });

    it('reserves the input name "code" for the source tree', () => {
      const config = pipelineOf({ only: processing({ Inputs: { code: { Dataset: 'abalone/' } } }) });

      expect(issuesOf(config)).toEqual(['Steps.only.Inputs.code: the name "code" is reserved for the source tree']);
    });

    it('rejects a step that reads its own output', () => {
      const config = pipelineOf({ loop: processing({ Inputs: { previous: { From: 'loop/out' } }, Outputs: ['out'] }) });

      expect(issuesOf(config)).toEqual(['Steps.loop.Inputs.previous.From: step "loop" refers to itself']);
    });

    it('rejects a step that reads its own property', () => {
      const config = pipelineOf({ loop: processing({ Environment: { NAME: { Get: 'Steps.loop.ProcessingJobName' } } }) });

      expect(issuesOf(config)).toEqual(['Steps.loop.Environment.NAME: step "loop" refers to itself']);
    });

    it('rejects a step that depends on itself', () => {
      const config = pipelineOf({ loop: processing({ DependsOn: ['loop'] }) });

      expect(issuesOf(config)).toEqual(['Steps.loop.DependsOn[0]: step "loop" refers to itself']);
    });

    it('rejects a Condition that lists itself in a branch', () => {
      const config = pipelineOf(gated({ Else: ['failed', 'gate'] }));

      expect(issuesOf(config)).toEqual(['Steps.gate.Else[1]: a Condition cannot list itself']);
    });

    it('rejects waiting for a Fail step: it ends the run', () => {
      const config = pipelineOf({ stop: { Type: 'Fail', ErrorMessage: 'stop' }, after: processing({ DependsOn: ['stop'] }) });

      expect(issuesOf(config)).toEqual(['Steps.after.DependsOn[0]: "stop" is a Fail step: it ends the run, nothing can wait for it']);
    });

    it('rejects reading a property of a Fail step: it has none and ends the run', () => {
      const config = pipelineOf({ stop: { Type: 'Fail', ErrorMessage: 'stop' }, after: processing({ Environment: { X: { Get: 'Steps.stop.Error' } } }) });

      expect(issuesOf(config)).toEqual([
        'Steps.after.Environment.X.Get: "Error" is not a property of Fail step "stop" (properties: none (a Fail step ends the run))',
        'Steps.after.Environment.X: "stop" is a Fail step: it ends the run, nothing can wait for it',
      ]);
    });
  });

  describe('branches', () => {
    it('rejects a step listed in two branches of one Condition', () => {
      const config = pipelineOf(gated({ Else: ['failed', 'register'] }));

      expect(issuesOf(config)).toContain('Steps.gate.Else[1]: "register" is already in the If branch of "gate"; a step belongs to one branch');
    });

    it('rejects a step listed in the branches of two Conditions', () => {
      const config = pipelineOf({ ...gated(), recheck: { Type: 'Condition', Condition: { Left: report('evaluate'), Operator: '<', Right: 1 }, If: ['register'] } });

      expect(issuesOf(config)).toContain('Steps.recheck.If[0]: "register" is already in the If branch of "gate"; a step belongs to one branch');
    });

    it('rejects a step listed both in a nested Condition\'s branch and in the enclosing branch', () => {
      const config = pipelineOf({
        ...chain(),
        gate: { Type: 'Condition', Condition: { Left: report('evaluate'), Operator: '<=', Right: 6 }, If: ['extra', 'inner', 'register'] },
        extra: processing({ Outputs: ['notes'] }),
        inner: { Type: 'Condition', Condition: { Left: report('evaluate', 'regression_metrics.r2.value'), Operator: '>', Right: 0.5 }, If: ['register'] },
        register: { Type: 'RegisterModel', ModelData: { From: 'train/model' }, ModelPackageDescription: { Get: "Steps.extra.ProcessingOutputConfig.Outputs['notes'].S3Output.S3Uri" } },
      });

      expect(issuesOf(config)).toContain('Steps.inner.If[0]: "register" is already in the If branch of "gate"; a step belongs to one branch');
    });

    it('rejects a step outside a branch that waits for a step inside it', () => {
      const config = pipelineOf({ ...gated(), announce: processing({ Environment: { ARN: { Get: 'Steps.register.ModelPackageArn' } } }) });

      expect(issuesOf(config)).toContain(
        'Steps.announce.Environment.ARN: "register" runs only in the If branch of Condition "gate"; "announce" is outside that branch, so it cannot wait for it',
      );
    });

    it('rejects an Else step that waits for an If step of the same Condition', () => {
      const config = pipelineOf({ ...gated(), failed: { Type: 'Fail', ErrorMessage: 'x', DependsOn: ['register'] } });

      expect(issuesOf(config)).toContain('Steps.failed.DependsOn[0]: "register" runs only in the If branch of Condition "gate"; "failed" is outside that branch, so it cannot wait for it');
    });

    it('lets steps of one branch wait for each other', () => {
      const config = pipelineOf({ ...gated({ If: ['register', 'announce'] }), announce: processing({ Environment: { ARN: { Get: 'Steps.register.ModelPackageArn' } } }) });

      expect(issuesOf(config)).toEqual([]);
      expect(waitsOf(config, 'announce')).toEqual(['register']);
    });

    it('lets a branch step read its own Condition\'s outcome without waiting for it twice', () => {
      const config = pipelineOf({ ...gated(), failed: { Type: 'Fail', ErrorMessage: { 'Std:Join': { Values: ['outcome: ', { Get: 'Steps.gate.Outcome' }] } } } });

      expect(issuesOf(config)).toEqual([]);
      expect(waitsOf(config, 'failed')).toEqual([]);
    });

    it('lets a step after a Condition wait for the Condition itself', () => {
      const config = pipelineOf({ ...gated(), after: processing({ DependsOn: ['gate'] }) });

      expect(issuesOf(config)).toEqual([]);
      expect(waitsOf(config, 'after')).toEqual(['gate']);
    });
  });

  describe('implicit waits', () => {
    it('makes a Condition wait for what its branch steps read from outside the branch', () => {
      const config = pipelineOf(gated());

      // The gate reads only evaluate; register (in its If branch) reads train's model.
      expect(waitsOf(config, 'gate')).toEqual(['evaluate', 'train']);
      expect(waitsOf(config, 'register')).toEqual([]);
    });

    it('makes the Condition whose branch holds a nested Condition wait for what the nested branch reads', () => {
      const config = pipelineOf({
        ...chain(),
        gate: { Type: 'Condition', Condition: { Left: report('evaluate'), Operator: '<=', Right: 6 }, If: ['extra', 'inner'] },
        extra: processing({ Outputs: ['notes'] }),
        inner: { Type: 'Condition', Condition: { Left: report('evaluate', 'regression_metrics.r2.value'), Operator: '>', Right: 0.5 }, If: ['register'] },
        register: { Type: 'RegisterModel', ModelData: { From: 'train/model' }, ModelPackageDescription: { Get: "Steps.extra.ProcessingOutputConfig.Outputs['notes'].S3Output.S3Uri" } },
      });

      expect(issuesOf(config)).toEqual([]);
      // register reads extra (gate's If branch, where inner sits): inner waits for extra.
      expect(waitsOf(config, 'inner')).toEqual(['extra']);
      // register reads train (top level): gate, the outermost Condition, waits for it.
      expect(waitsOf(config, 'gate')).toEqual(['evaluate', 'train']);
    });
  });

  describe('cycles', () => {
    it('rejects two steps that wait for each other, showing the cycle', () => {
      const config = pipelineOf({ a: processing({ DependsOn: ['b'] }), b: processing({ DependsOn: ['a'] }) });

      expect(issuesOf(config)).toEqual(['Steps: the steps form a cycle: a → b → a']);
    });

    it('shows a longer cycle in the order the steps would have to run', () => {
      const config = pipelineOf({ a: processing({ DependsOn: ['c'] }), b: processing({ DependsOn: ['a'] }), c: processing({ DependsOn: ['b'] }) });

      expect(issuesOf(config)).toEqual(['Steps: the steps form a cycle: a → b → c → a']);
    });

    it('finds a cycle that goes through a Condition\'s implicit wait', () => {
      // register (in gate's branch) reads train, so gate waits for train; train waits for gate.
      const config = pipelineOf({ ...gated(), train: training({ train: { From: 'prepare/train' } }, { DependsOn: ['gate'] }) });

      expect(issuesOf(config)).toContain('Steps: the steps form a cycle: train → gate → train');
    });

    it('finds a Condition that reads a step of its own branch', () => {
      const config = pipelineOf({
        ...gated({ If: ['register', 'check'], Condition: { Left: { Get: 'Steps.check.ProcessingJobName' }, Operator: '==', Right: 'x' } }),
        check: processing(),
      });

      expect(issuesOf(config)).toEqual([
        'Steps.gate.Condition.Left: "check" runs only in the If branch of Condition "gate"; "gate" is outside that branch, so it cannot wait for it',
        'Steps: the steps form a cycle: gate → check → gate',
      ]);
    });
  });

  describe('types', () => {
    const parameters = {
      Name: { Type: 'String', Default: 'abalone' },
      Count: { Type: 'Integer', Default: 2 },
      Ratio: { Type: 'Float', Default: 0.5 },
      Enabled: { Type: 'Boolean', Default: true },
    };

    it('rejects an Integer field given a String parameter', () => {
      const config = pipelineOf({ only: processing({ ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.large', InstanceCount: { Get: 'Parameters.Name' } } } }) }, parameters);

      expect(issuesOf(config)).toEqual(['Steps.only.ProcessingResources.ClusterConfig.InstanceCount: needs an integer, but the value is a String']);
    });

    it('rejects an Integer field given a Float parameter', () => {
      const config = pipelineOf({ only: training({ d: { Dataset: 'x/' } }, { ResourceConfig: { InstanceType: 'ml.m5.large', VolumeSizeInGB: { Get: 'Parameters.Ratio' } } }) }, parameters);

      expect(issuesOf(config)).toEqual(['Steps.only.ResourceConfig.VolumeSizeInGB: needs an integer, but the value is a Float']);
    });

    it('rejects an Integer field given a metric (a Float)', () => {
      const config = pipelineOf({ ...chain(), more: processing({ StoppingCondition: { MaxRuntimeInSeconds: { Get: "Steps.train.FinalMetricDataList['validation:rmse'].Value" } } }) });

      expect(issuesOf(config)).toEqual(['Steps.more.StoppingCondition.MaxRuntimeInSeconds: needs an integer, but the value is a Float']);
    });

    it('accepts an Integer field given an Integer parameter', () => {
      const config = pipelineOf({ only: processing({ ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.large', InstanceCount: { Get: 'Parameters.Count' } } } }) }, parameters);

      expect(issuesOf(config)).toEqual([]);
    });

    it('leaves an Integer field read from a report to the run (its type is unknown until then)', () => {
      const config = pipelineOf({ ...chain(), more: processing({ ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.large', InstanceCount: report('evaluate', 'workers') } } }) });

      expect(issuesOf(config)).toEqual([]);
    });

    it('accepts any parameter type in a text field and in a hyperparameter', () => {
      const config = pipelineOf(
        { only: training({ d: { Dataset: 'x/' } }, { Environment: { ON: { Get: 'Parameters.Enabled' } }, HyperParameters: { ratio: { Get: 'Parameters.Ratio' }, n: { Get: 'Parameters.Count' } } }) },
        parameters,
      );

      expect(issuesOf(config)).toEqual([]);
    });

    it('rejects an ordered comparison on a String', () => {
      const config = pipelineOf(gated({ Condition: { Left: { Get: 'Parameters.Name' }, Operator: '<', Right: 3 } }), parameters);

      expect(issuesOf(config)).toEqual(['Steps.gate.Condition.Left: "<" compares numbers, but this value is a String']);
    });

    it('rejects an ordered comparison with a string literal', () => {
      const config = pipelineOf(gated({ Condition: { Left: report('evaluate'), Operator: '>=', Right: '6' } }));

      expect(issuesOf(config)).toEqual(['Steps.gate.Condition.Right: ">=" compares numbers, but this value is a String']);
    });

    it('rejects an ordered comparison on a Boolean', () => {
      const config = pipelineOf(gated({ Condition: { Left: { Get: 'Parameters.Enabled' }, Operator: '>', Right: 0 } }), parameters);

      expect(issuesOf(config)).toEqual(['Steps.gate.Condition.Left: ">" compares numbers, but this value is a Boolean']);
    });

    it('rejects == between a string and a number', () => {
      const config = pipelineOf(gated({ Condition: { Left: { Get: 'Parameters.Name' }, Operator: '==', Right: 1 } }), parameters);

      expect(issuesOf(config)).toEqual(['Steps.gate.Condition: "==" compares a String with an Integer']);
    });

    it('rejects != between a Boolean and a string', () => {
      const config = pipelineOf(gated({ Condition: { Left: { Get: 'Parameters.Enabled' }, Operator: '!=', Right: 'true' } }), parameters);

      expect(issuesOf(config)).toEqual(['Steps.gate.Condition: "!=" compares a Boolean with a String']);
    });

    it('accepts == between an Integer and a Float (both numbers)', () => {
      const config = pipelineOf(gated({ Condition: { Left: { Get: 'Parameters.Count' }, Operator: '==', Right: { Get: 'Parameters.Ratio' } } }), parameters);

      expect(issuesOf(config)).toEqual([]);
    });

    it('accepts == between a report value and anything (checked at run time)', () => {
      const config = pipelineOf(gated({ Condition: { Left: report('evaluate', 'label'), Operator: '==', Right: 'good' } }));

      expect(issuesOf(config)).toEqual([]);
    });

    it('rejects In whose values do not match the type of its value', () => {
      const config = pipelineOf(gated({ Condition: { In: { Value: { Get: 'Parameters.Name' }, Values: ['abalone', 2, { Get: 'Parameters.Enabled' }] } } }), parameters);

      expect(issuesOf(config)).toEqual([
        'Steps.gate.Condition.In.Values[1]: a number cannot equal the string In.Value',
        'Steps.gate.Condition.In.Values[2]: a boolean cannot equal the string In.Value',
      ]);
    });

    it('accepts In over Integers and Floats alike', () => {
      const config = pipelineOf(gated({ Condition: { In: { Value: { Get: 'Parameters.Count' }, Values: [1, 2.5, { Get: 'Parameters.Ratio' }] } } }), parameters);

      expect(issuesOf(config)).toEqual([]);
    });

    it('finds type errors inside Not, And and Or with their paths', () => {
      const condition = {
        Or: [{ Not: { Left: 'a', Operator: '<', Right: 1 } }, { And: [{ Left: report('evaluate'), Operator: '<', Right: 6 }, { Left: true, Operator: '==', Right: 1 }] }],
      };
      const config = pipelineOf(gated({ Condition: condition }));

      expect(issuesOf(config)).toEqual([
        'Steps.gate.Condition.Or[0].Not.Left: "<" compares numbers, but this value is a String',
        'Steps.gate.Condition.Or[1].And[1]: "==" compares a Boolean with an Integer',
      ]);
    });

    it('checks the references inside a Std:Join', () => {
      const config = pipelineOf({ ...gated(), failed: { Type: 'Fail', ErrorMessage: { 'Std:Join': { Values: ['mse ', report('evaluate'), ' max ', { Get: 'Parameters.MaxMse' }] } } } });

      expect(issuesOf(config)).toEqual(['Steps.failed.ErrorMessage.Std:Join.Values[3].Get: no parameter "MaxMse" (parameters: none)']);
    });
  });
});
