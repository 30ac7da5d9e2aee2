import { InvalidConfigError } from '../../../shared/errors';
import { cacheKey, keyMaterial } from '../../../shared/pipeline/cache';
import { analysePipeline } from '../../../shared/pipeline/graph';
import { resolveJob } from '../../../shared/pipeline/job-requests';
import { pipelinePolicyIssues } from '../../../shared/pipeline/stage-policy';
import { datasetsRead } from '../../../shared/pipeline/triggers';
import { resolveValue, type ValueContext } from '../../../shared/pipeline/values';
import { shortHash, stageResourcePrefix, transformModelName, tuningJobName } from '../../../shared/naming';
import type { PipelineConfig, TransformStep, TuningStep } from '../../../shared/schemas/mlops-v2';
import { parseMlopsConfig } from '../../../shared/schemas/parse-mlops-config';
import type { StepResult, TransformResult, TuningResult } from '../../../shared/schemas/task-inputs';
import { aslErrors, compile, IMAGE, loadPipeline, pipelineOf, processing, TEST_TARGETS, testPolicy, training } from '../../helpers/pipelines';
import { newRun, preprocessResult, STAGE, trainResult } from '../../helpers/step-tasks';

/** A Tuning step over `prep`'s train output, plus `overrides` (shallow, per section). */
function tuning(overrides: { config?: Record<string, unknown>; definition?: Record<string, unknown>; step?: Record<string, unknown> } = {}): Record<string, unknown> {
  return {
    Type: 'Tuning',
    HyperParameterTuningJobConfig: {
      HyperParameterTuningJobObjective: { Type: 'Maximize', MetricName: 'validation:accuracy' },
      ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2 },
      ParameterRanges: {
        IntegerParameterRanges: [{ Name: 'max_depth', MinValue: 2, MaxValue: 8 }],
        CategoricalParameterRanges: [{ Name: 'objective', Values: ['binary:logistic', 'binary:hinge'] }],
      },
      ...overrides.config,
    },
    TrainingJobDefinition: {
      AlgorithmSpecification: { TrainingImage: IMAGE, MetricDefinitions: [{ Name: 'validation:accuracy', Regex: 'validation-accuracy:([0-9.]+)' }] },
      StaticHyperParameters: { num_round: 50 },
      ResourceConfig: { InstanceType: 'ml.m5.large' },
      Channels: { train: { From: 'prep/train' } },
      ...overrides.definition,
    },
    ...overrides.step,
  };
}

/** A Transform step of `<model>`'s model over `prep`'s test output, plus `fields`. */
function transform(model = 'tune/model', fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Type: 'Transform',
    Model: { ModelData: { From: model }, Image: IMAGE },
    TransformInput: { DataSource: { From: 'prep/test' }, ContentType: 'text/csv', SplitType: 'Line' },
    TransformResources: { InstanceType: 'ml.m5.large' },
    ...fields,
  };
}

const prep = () => processing({ Outputs: ['train', 'test', 'report'] });

function issuesOf(steps: Record<string, unknown>, parameters: Record<string, unknown> = {}): string[] {
  return analysePipeline(pipelineOf(steps, parameters)).issues;
}

describe('the Tuning and Transform schemas', () => {
  const parse = (steps: Record<string, unknown>) => () => parseMlopsConfig(JSON.stringify({ Version: 2, Steps: steps }), testPolicy(), 'abalone');

  it('accepts both step types with the API\'s defaults (Bayesian, Off, Auto scaling; SplitType, AssembleWith and CompressionType None)', () => {
    const config = parse({ prep: prep(), tune: tuning(), score: transform() })();
    const tune = config.Steps.tune as TuningStep;
    const score = config.Steps.score as TransformStep;

    expect(tune.HyperParameterTuningJobConfig).toMatchObject({ Strategy: 'Bayesian', TrainingJobEarlyStoppingType: 'Off', ParameterRanges: { ContinuousParameterRanges: [] } });
    expect(tune.HyperParameterTuningJobConfig.ParameterRanges.IntegerParameterRanges[0]).toMatchObject({ ScalingType: 'Auto' });
    expect(score.TransformInput).toMatchObject({ SplitType: 'Line', CompressionType: 'None' });
    expect(score.TransformOutput).toEqual({ AssembleWith: 'None' });
  });

  it('names the field of a MaxParallelTrainingJobs out of range', () => {
    expect(parse({ prep: prep(), tune: tuning({ config: { ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 0 } } }) })).toThrow(
      'Steps.tune.HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs',
    );
  });

  it('requires MetricDefinitions in the training definition', () => {
    expect(parse({ prep: prep(), tune: tuning({ definition: { AlgorithmSpecification: { TrainingImage: IMAGE } } }) })).toThrow('Steps.tune.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions');
  });

  it('refuses a SplitType other than None and Line, naming the field', () => {
    expect(parse({ prep: prep(), tune: tuning(), score: transform('tune/model', { TransformInput: { DataSource: { From: 'prep/test' }, SplitType: 'RecordIO' } }) })).toThrow('Steps.score.TransformInput.SplitType');
  });

  it('takes DataProcessing\'s filters and join, and names the field of a filter that is not a JSONPath or too long', () => {
    const withProcessing = (DataProcessing: unknown) => parse({ prep: prep(), tune: tuning(), score: transform('tune/model', { DataProcessing }) });

    expect((withProcessing({ InputFilter: '$[1:]', JoinSource: 'Input', OutputFilter: '$[0,-1]' })().Steps.score as TransformStep).DataProcessing).toEqual({ InputFilter: '$[1:]', JoinSource: 'Input', OutputFilter: '$[0,-1]' });
    expect(withProcessing({ InputFilter: '[1:]' })).toThrow('Steps.score.DataProcessing.InputFilter: must be a JSONPath starting with $');
    expect(withProcessing({ OutputFilter: `$.${'a'.repeat(62)}` })).toThrow('Steps.score.DataProcessing.OutputFilter');
    expect(withProcessing({ JoinSource: 'Output' })).toThrow('Steps.score.DataProcessing.JoinSource');
  });

  it('refuses HyperParameters in a Tuning step (its static ones are StaticHyperParameters)', () => {
    expect(parse({ prep: prep(), tune: tuning({ definition: { HyperParameters: { a: 1 } } }) })).toThrow('Steps.tune.TrainingJobDefinition.HyperParameters: unknown field');
  });
});

describe('the graph of Tuning and Transform steps', () => {
  it('accepts Processing → Tuning → Transform → Processing and RegisterModel of the best model, in that order', () => {
    const steps = {
      prep: prep(),
      tune: tuning(),
      score: transform(),
      check: processing({ Inputs: { scored: { From: 'score/output' } }, Outputs: ['report'] }),
      register: { Type: 'RegisterModel', ModelData: { From: 'tune/model' } },
    };
    const { graph, issues } = analysePipeline(pipelineOf(steps));

    expect(issues).toEqual([]);
    expect([...graph.dependencies.get('score')!].sort()).toEqual(['prep', 'tune']);
    expect([...graph.dependencies.get('check')!]).toEqual(['score']);
    expect([...graph.dependencies.get('register')!]).toEqual(['tune']);
  });

  it('refuses an objective metric that is not among the MetricDefinitions', () => {
    expect(issuesOf({ prep: prep(), tune: tuning({ config: { HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:rmse' } } }) })).toEqual([
      'Steps.tune.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName: "validation:rmse" is not among TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions (metrics: validation:accuracy)',
    ]);
  });

  it('refuses a tuned hyperparameter that is also static', () => {
    expect(issuesOf({ prep: prep(), tune: tuning({ definition: { StaticHyperParameters: { max_depth: 5 } } }) })).toEqual([
      'Steps.tune.TrainingJobDefinition.StaticHyperParameters.max_depth: "max_depth" is tuned (ParameterRanges) and cannot also be static',
    ]);
  });

  it('refuses a hyperparameter with two ranges, and no range at all', () => {
    const twice = { IntegerParameterRanges: [{ Name: 'depth', MinValue: 1, MaxValue: 3 }], ContinuousParameterRanges: [{ Name: 'depth', MinValue: 1, MaxValue: 3 }] };

    expect(issuesOf({ prep: prep(), tune: tuning({ config: { ParameterRanges: twice } }) })).toEqual(['Steps.tune.HyperParameterTuningJobConfig.ParameterRanges: "depth" has more than one range']);
    expect(issuesOf({ prep: prep(), tune: tuning({ config: { ParameterRanges: {} } }) })).toEqual(['Steps.tune.HyperParameterTuningJobConfig.ParameterRanges: needs at least one range to tune']);
  });

  it('refuses Grid over numeric ranges, and a missing MaxNumberOfTrainingJobs for the other strategies', () => {
    expect(issuesOf({ prep: prep(), tune: tuning({ config: { Strategy: 'Grid' } }) })).toEqual(['Steps.tune.HyperParameterTuningJobConfig.Strategy: Grid searches categorical ranges only (CategoricalParameterRanges)']);
    expect(issuesOf({ prep: prep(), tune: tuning({ config: { Strategy: 'Random', ResourceLimits: { MaxParallelTrainingJobs: 2 } } }) })).toEqual([
      'Steps.tune.HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs: required unless Strategy is Grid',
    ]);
  });

  it('says what a Tuning and a Transform step output', () => {
    expect(issuesOf({ prep: prep(), tune: tuning(), score: transform('tune/best') })).toEqual([
      'Steps.score.Model.ModelData.From: a Tuning step\'s output is "tune/model" (its best training job\'s model artifacts), not "best"',
    ]);
    expect(issuesOf({ prep: prep(), tune: tuning(), score: transform(), check: processing({ Inputs: { scored: { From: 'score/model' } } }) })).toEqual([
      'Steps.check.Inputs.scored.From: a Transform step\'s output is "score/output" (the prefix of its .out files), not "model"',
    ]);
  });

  it('takes a Transform\'s model only from a Training or Tuning step', () => {
    expect(issuesOf({ prep: prep(), score: transform('prep/train') })).toEqual(['Steps.score.Model.ModelData.From: ModelData comes from a Training or Tuning step ("<step>/model")']);
    expect(issuesOf({ prep: prep(), train: training({ train: { From: 'prep/train' } }), score: transform('train/model') })).toEqual([]);
  });

  it('knows the properties of both step types, and only tuned names among TunedHyperParameters', () => {
    const fail = (get: string) => ({ Type: 'Fail', ErrorMessage: { 'Std:Join': { On: ' ', Values: [{ Get: get }] } } });
    const valid = [
      'Steps.tune.HyperParameterTuningJobName',
      'Steps.tune.HyperParameterTuningJobArn',
      'Steps.tune.BestTrainingJob.TrainingJobName',
      'Steps.tune.BestTrainingJob.ModelArtifacts.S3ModelArtifacts',
      'Steps.tune.BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value',
      "Steps.tune.BestTrainingJob.TunedHyperParameters['max_depth']",
      'Steps.score.TransformJobName',
      'Steps.score.TransformJobArn',
      'Steps.score.TransformOutput.S3OutputPath',
    ];
    for (const get of valid) expect(issuesOf({ prep: prep(), tune: tuning(), score: transform(), stop: fail(get) })).toEqual([]);

    expect(issuesOf({ prep: prep(), tune: tuning(), stop: fail("Steps.tune.BestTrainingJob.TunedHyperParameters['num_round']") })).toEqual([
      expect.stringMatching(/^Steps\.stop\.ErrorMessage\.Std:Join\.Values\[0\]\.Get: "BestTrainingJob\.TunedHyperParameters\['num_round'\]" is not a property of Tuning step "tune" \(properties: .*tuned: max_depth, objective\)\)$/),
    ]);
  });

  it('checks a range bound given by a parameter, and the objective value as a Float in a condition', () => {
    const steps = {
      prep: prep(),
      tune: tuning({ config: { ParameterRanges: { IntegerParameterRanges: [{ Name: 'max_depth', MinValue: 2, MaxValue: { Get: 'Parameters.MaxDepth' } }] } } }),
      gate: { Type: 'Condition', Condition: { Left: { Get: 'Steps.tune.BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value' }, Operator: '>=', Right: 0.8 }, If: [] },
    };

    expect(issuesOf(steps)).toEqual(['Steps.tune.HyperParameterTuningJobConfig.ParameterRanges.IntegerParameterRanges[0].MaxValue.Get: no parameter "MaxDepth" (parameters: none)']);
    expect(issuesOf(steps, { MaxDepth: { Type: 'Integer', Default: 8 } })).toEqual([]);
  });
});

describe('compiling Tuning and Transform steps', () => {
  it('reads tests/fixtures/pipelines/tune-transform.yaml: tune → score with the best model → evaluate the scores → register the best model', () => {
    const config = loadPipeline('tune-transform');
    const { graph, issues } = analysePipeline(config);
    const compiled = compile(config);

    expect(issues).toEqual([]);
    expect(aslErrors(compiled.definition)).toEqual([]);
    expect(Object.fromEntries([...graph.dependencies].map(([step, waits]) => [step, [...waits].sort()]))).toEqual({
      prep: [],
      tune: ['prep'],
      score: ['prep', 'tune'],
      evaluate: ['prep', 'score', 'tune'],
      register: ['evaluate', 'tune'],
    });
  });


  it('makes each a start-job task that waits for its token, with the step\'s retries, its result in $.steps', () => {
    const config = pipelineOf({
      prep: prep(),
      tune: tuning({ step: { RetryPolicies: [{ ExceptionType: ['SageMaker.CAPACITY_ERROR'], MaxAttempts: 2 }] } }),
      score: transform(),
    });
    const { definition } = compile(config);
    const states = definition.States as Record<string, Record<string, unknown>>;

    expect(aslErrors(definition)).toEqual([]);
    for (const name of ['tune', 'score']) {
      expect(states[name]).toMatchObject({
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Parameters: { FunctionName: TEST_TARGETS.startJobFunctionArn, Payload: expect.objectContaining({ 'taskToken.$': '$$.Task.Token' }) },
        TimeoutSecondsPath: '$.build.taskTimeoutSeconds',
        ResultPath: `$.steps['${name}']`,
      });
    }
    expect(states.tune!.Retry).toEqual(expect.arrayContaining([expect.objectContaining({ ErrorEquals: ['SageMakerCapacityError'], MaxAttempts: 2 })]));
  });
});

describe('the stage policy at push', () => {
  it('checks the tuning definition\'s and the transform\'s instance types, naming their fields', () => {
    const config = pipelineOf({
      prep: prep(),
      tune: tuning({ definition: { ResourceConfig: { InstanceType: 'ml.p3.2xlarge' } } }),
      score: transform('tune/model', { TransformResources: { InstanceType: 'ml.g5.xlarge', InstanceCount: 9 } }),
    });

    expect(pipelinePolicyIssues(config, testPolicy())).toEqual([
      expect.stringMatching(/^Steps\.tune\.TrainingJobDefinition\.ResourceConfig\.InstanceType: instance type "ml\.p3\.2xlarge" is not allowed/),
      expect.stringMatching(/^Steps\.score\.TransformResources\.InstanceType: instance type "ml\.g5\.xlarge" is not allowed/),
      'Steps.score.TransformResources.InstanceCount: 9 instances exceed this stage\'s maximum of 4 per job',
    ]);
  });

  it('counts the datasets a Tuning step\'s channels and a Transform step\'s data source read (data-arrival triggers)', () => {
    const config = pipelineOf({
      tune: tuning({ definition: { Channels: { train: { Dataset: 'abalone/train/' } } } }),
      score: transform('tune/model', { TransformInput: { DataSource: { Dataset: 'batch/in/' } } }),
    });

    expect(Object.fromEntries(datasetsRead(config))).toEqual({ abalone: ['abalone/train/'], batch: ['batch/in/'] });
  });
});

describe('step properties at run time', () => {
  const tuned: TuningResult = {
    Type: 'Tuning',
    HyperParameterTuningJobName: 'sluice-test--abc',
    BestTrainingJob: { TrainingJobName: 'sluice-test--abc-002-0a1b2c3d', ModelArtifacts: 's3://b/m.tar.gz', ObjectiveMetricName: 'validation:accuracy', FinalObjectiveValue: 0.91, TunedHyperParameters: { max_depth: '6' } },
    TrainingJobCounts: { Completed: 4, Failed: 0, Stopped: 0 },
  };
  const scored: TransformResult = { Type: 'Transform', TransformJobName: 'sluice-test--abalone-score-1', ModelName: 'm', Output: 's3://b/builds/x/score/output/' };
  const ctx = (steps: Record<string, StepResult>): ValueContext => ({ config: {} as PipelineConfig, parameters: {}, steps, readJson: () => Promise.resolve(undefined) });

  it.each([
    ['Steps.tune.BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value', 0.91],
    ["Steps.tune.BestTrainingJob.TunedHyperParameters['max_depth']", '6'],
    ['Steps.tune.BestTrainingJob.ModelArtifacts.S3ModelArtifacts', 's3://b/m.tar.gz'],
    ['Steps.tune.HyperParameterTuningJobName', 'sluice-test--abc'],
    ['Steps.score.TransformOutput.S3OutputPath', 's3://b/builds/x/score/output/'],
    ['Steps.score.TransformJobName', 'sluice-test--abalone-score-1'],
  ])('resolves %s', async (get, expected) => {
    await expect(resolveValue({ Get: get }, ctx({ tune: tuned, score: scored }), 'field')).resolves.toBe(expected);
  });

  it('names the field when the step has not run', async () => {
    await expect(resolveValue({ Get: 'Steps.tune.HyperParameterTuningJobName' }, ctx({}), 'Steps.x.Field')).rejects.toThrow('Steps.x.Field: Steps.tune.HyperParameterTuningJobName has no value in this run (step "tune" has not run)');
  });
});

describe('resolveJob for a Tuning step', () => {
  const run = newRun();
  const steps = { prep: { ...preprocessResult(run), Outputs: { train: `${run.prefix}prep/train/`, test: `${run.prefix}prep/test/`, report: `${run.prefix}prep/report/` } } };
  const resolve = (tune: Record<string, unknown>, parameters: Record<string, string | number | boolean> = {}, parameterSpecs: Record<string, unknown> = {}) => {
    const config = pipelineOf({ prep: prep(), tune }, parameterSpecs);
    return resolveJob('tune', config.Steps.tune as TuningStep, run.build, { config, parameters, steps, readJson: () => Promise.resolve(undefined) }, STAGE);
  };

  it('sends range bounds as text, a parameter\'s value included', async () => {
    const job = await resolve(
      tuning({ config: { ParameterRanges: { IntegerParameterRanges: [{ Name: 'max_depth', MinValue: 2, MaxValue: { Get: 'Parameters.MaxDepth' } }], ContinuousParameterRanges: [{ Name: 'eta', MinValue: '0.1', MaxValue: 0.3 }] } } }),
      { MaxDepth: 9 },
      { MaxDepth: { Type: 'Integer', Default: 8 } },
    );

    expect(job.kind === 'tuning' && job.request.HyperParameterTuningJobConfig?.ParameterRanges).toEqual({
      IntegerParameterRanges: [{ Name: 'max_depth', MinValue: '2', MaxValue: '9', ScalingType: 'Auto' }],
      ContinuousParameterRanges: [{ Name: 'eta', MinValue: '0.1', MaxValue: '0.3', ScalingType: 'Auto' }],
      CategoricalParameterRanges: [],
    });
  });

  it.each([
    [{ IntegerParameterRanges: [{ Name: 'd', MinValue: 8, MaxValue: 2 }] }, 'Steps.tune.HyperParameterTuningJobConfig.ParameterRanges.IntegerParameterRanges[0]: MinValue 8 is greater than MaxValue 2'],
    [{ IntegerParameterRanges: [{ Name: 'd', MinValue: 1.5, MaxValue: 2 }] }, 'Steps.tune.HyperParameterTuningJobConfig.ParameterRanges.IntegerParameterRanges[0].MinValue: an IntegerParameterRanges bound must be an integer, got 1.5'],
    [{ ContinuousParameterRanges: [{ Name: 'eta', MinValue: 'low', MaxValue: 1 }] }, 'Steps.tune.HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges[0].MinValue: needs a number, got "low"'],
    [{ ContinuousParameterRanges: [{ Name: 'eta', MinValue: 0, MaxValue: 1, ScalingType: 'Logarithmic' }] }, 'Steps.tune.HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges[0].MinValue: Logarithmic scaling needs values above 0, got 0'],
  ])('refuses a range SageMaker would refuse (%j), naming the field', async (ranges, message) => {
    await expect(resolve(tuning({ config: { ParameterRanges: ranges } }))).rejects.toThrow(new InvalidConfigError(message));
  });

  it('bounds the whole tuning job by the stage\'s runtime cap, and refuses a longer MaxRuntimeInSeconds', async () => {
    await expect(resolve(tuning({ config: { ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2, MaxRuntimeInSeconds: 3600 } } }))).resolves.toMatchObject({
      request: { HyperParameterTuningJobConfig: { ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2, MaxRuntimeInSeconds: 3600 } } },
    });
    await expect(resolve(tuning({ config: { ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2, MaxRuntimeInSeconds: 86_400 } } }))).rejects.toThrow(
      'Steps.tune.HyperParameterTuningJobConfig.ResourceLimits.MaxRuntimeInSeconds: 86400 s exceeds this stage\'s maximum of 7200 s',
    );
  });

  it('applies the stage\'s runtime cap to each training job', async () => {
    await expect(resolve(tuning({ definition: { StoppingCondition: { MaxRuntimeInSeconds: 99_999 } } }))).rejects.toThrow(
      'Steps.tune.TrainingJobDefinition.StoppingCondition.MaxRuntimeInSeconds: 99999 s exceeds this stage\'s maximum of 7200 s',
    );
  });
});

describe('resolveJob for a Transform step', () => {
  const run = newRun();
  const steps = { prep: { ...preprocessResult(run), Outputs: { train: `${run.prefix}prep/train/`, test: `${run.prefix}prep/test/` }, OutputHashes: { test: 'h-test' } }, train: trainResult(run) };
  const resolve = (fields: Record<string, unknown> = {}) => {
    const config = pipelineOf({ prep: prep(), train: training({ train: { From: 'prep/train' } }), score: transform('train/model', fields) });
    return resolveJob('score', config.Steps.score as TransformStep, run.build, { config, parameters: {}, steps, readJson: () => Promise.resolve(undefined) }, STAGE);
  };

  it('records the model\'s and the input\'s origins, for the cache key', async () => {
    const job = await resolve();

    expect(job.inputs).toEqual([
      { name: 'model', kind: 'step', uri: steps.train.ModelArtifacts, step: 'train', output: 'model', hash: steps.train.ModelArtifactsHash },
      { name: 'input', kind: 'step', uri: `${run.prefix}prep/test/`, step: 'prep', output: 'test', hash: 'h-test' },
    ]);
  });

  it('refuses a MaxPayloadInMB above SageMaker\'s 100 given by a parameter, naming the field', async () => {
    const config = pipelineOf({ prep: prep(), train: training({ train: { From: 'prep/train' } }), score: transform('train/model', { MaxPayloadInMB: { Get: 'Parameters.Payload' } }) }, { Payload: { Type: 'Integer', Default: 6 } });

    await expect(resolveJob('score', config.Steps.score as TransformStep, run.build, { config, parameters: { Payload: 200 }, steps, readJson: () => Promise.resolve(undefined) }, STAGE)).rejects.toThrow(
      'Steps.score.MaxPayloadInMB: must be between 0 and 100, got 200',
    );
  });

  it('keys the cache on the model\'s and the input\'s content and the job\'s settings, never on S3 locations or names', async () => {
    const job = await resolve();
    const key = (hashes: Record<string, string>) => cacheKey('abalone', keyMaterial(job, hashes, 'code-hash-ignored'));
    const material = keyMaterial(job, { model: 'm1', input: 'i1' }, 'code');

    expect(JSON.stringify(material)).not.toContain('s3://');
    expect(key({ model: 'm1', input: 'i1' })).toBe(cacheKey('abalone', keyMaterial(job, { model: 'm1', input: 'i1' }, 'other-code')));
    expect(key({ model: 'm2', input: 'i1' })).not.toBe(key({ model: 'm1', input: 'i1' }));
    expect(key({ model: 'm1', input: 'i2' })).not.toBe(key({ model: 'm1', input: 'i1' }));
    const other = await resolve({ BatchStrategy: 'SingleRecord' });
    expect(cacheKey('abalone', keyMaterial(other, { model: 'm1', input: 'i1' }, 'code'))).not.toBe(key({ model: 'm1', input: 'i1' }));
  });

  it('refuses an instance type the stage does not allow', async () => {
    await expect(resolve({ TransformResources: { InstanceType: 'ml.p3.2xlarge' } })).rejects.toThrow(/^Steps\.score\.TransformResources\.InstanceType: instance type "ml\.p3\.2xlarge" is not allowed on this stage/);
  });
});

describe('names', () => {
  const execution = 'arn:aws:states:us-east-1:123456789012:execution:sluice-dev-build-abalone-1a2b3c4d:abalone-0123456789abcdef';

  it('names a tuning job <stage prefix><base-36 hash>, at most 32 characters, so its training jobs (<name>-NNN-<8 hex>) stay within 63', () => {
    for (const stage of ['sluice-dev', 'sluice-prod-eu', 'sluice-Staging']) {
      for (const attempt of [1, 2, 100]) {
        const name = tuningJobName(stage, 'a-very-long-repository-name-that-would-not-fit', 'tune-hyper-parameters', execution, attempt);
        expect(name.length).toBeLessThanOrEqual(32);
        expect(name).toMatch(/^[a-z0-9](-*[a-z0-9]){0,31}$/);
        expect(name.startsWith(stageResourcePrefix(stage).toLowerCase())).toBe(true);
        expect(`${name}-004-${shortHash([name])}`.length).toBeLessThanOrEqual(63);
      }
    }
  });

  it('gives each repository, run, step and attempt its own tuning job name, and the same one again for the same', () => {
    const names = [
      tuningJobName('sluice-dev', 'abalone', 'tune', execution),
      tuningJobName('sluice-dev', 'abalone-age', 'tune', execution),
      tuningJobName('sluice-dev', 'abalone', 'tune2', execution),
      tuningJobName('sluice-dev', 'abalone', 'tune', `${execution}x`),
      tuningJobName('sluice-dev', 'abalone', 'tune', execution, 2),
    ];

    expect(new Set(names).size).toBe(names.length);
    expect(tuningJobName('sluice-dev', 'abalone', 'tune', execution)).toBe(names[0]);
  });

  it('refuses a stage prefix that leaves no room for the hash', () => {
    expect(() => tuningJobName('sluice-a-very-long-stage-name', 'abalone', 'tune', execution)).toThrow('too long for tuning job names');
  });

  it('names a transform model under the stage, deterministic, at most 63 characters, never under a deploy model\'s <group>-v prefix', () => {
    const name = transformModelName('sluice-dev', 'Abalone_Age', 'v2-score', execution);

    expect(name).toBe(transformModelName('sluice-dev', 'Abalone_Age', 'v2-score', execution));
    expect(name).toMatch(/^sluice-dev--abalone-age-[0-9a-f]{12}-v2-score$/);
    expect(name.startsWith('sluice-dev--abalone-age-v')).toBe(false);
    expect(transformModelName('sluice-dev', 'x'.repeat(100), 'y'.repeat(48), execution, 3).length).toBeLessThanOrEqual(63);
    expect(transformModelName('sluice-dev', 'abalone', 'score', execution, 2)).not.toBe(transformModelName('sluice-dev', 'abalone', 'score', execution));
  });
});
