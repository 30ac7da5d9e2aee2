import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { StateMachine } from 'aws-local-stepfunctions';

import { InvalidConfigError, MetricNotFoundError } from '../../../shared/errors';
import { compilePipeline, stepOfState } from '../../../shared/pipeline/compile';
import { resolveForEachItems } from '../../../shared/pipeline/evaluate-step';
import { everyStep, itemStepName, itemStepPath } from '../../../shared/pipeline/for-each';
import { analysePipeline } from '../../../shared/pipeline/graph';
import { resolveJob } from '../../../shared/pipeline/job-requests';
import { stepOf, valueContext } from '../../../shared/pipeline/stored-pipeline';
import { resolveValue, type ValueContext } from '../../../shared/pipeline/values';
import type { ForEachStep, PipelineConfig } from '../../../shared/schemas/mlops-v2';
import { type PipelineRunInput, type ProcessingResult, type StepResult, stepTaskInputSchema, type TrainingResult } from '../../../shared/schemas/task-inputs';
import { type Json, type LocalHandler, namedError, runPath, withFixedTaskTimeoutsDeep } from '../../helpers/asl';
import { BUCKET, buildContext, EXECUTION_ARN } from '../../helpers/fixtures';
import { allStrings, aslErrors, asDefinition, compile, IMAGE, loadPipeline, pipelineOf, pipelineText, processing, TEST_TARGETS, testPolicy, training } from '../../helpers/pipelines';
import { STAGE } from '../../helpers/step-tasks';
import { parseMlopsConfig } from '../../../shared/schemas/parse-mlops-config';

/**
 * The ForEach step (design §3): its schema and graph rules, item references, items resolved at run
 * time, the compiled Task + inline Map, and per-item job requests (names, prefixes, the
 * three-part From). Path tests run the compiled definition in-process (aws-local-stepfunctions)
 * with every Task overridden by state name.
 */

const s3 = mockClient(S3Client);

beforeEach(() => {
  s3.reset();
});

/** A ForEach `per-sex` over `items` running prep-one → train-one, then `fields`. */
function perSex(items: unknown = ['M', 'F', 'I'], fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Type: 'ForEach',
    Items: items,
    Steps: {
      'prep-one': processing({ AppSpecification: { ImageUri: IMAGE, ContainerArguments: ['--sex', { Get: 'ForEach.Item' }] }, Inputs: { all: { From: 'prepare/all' } }, Outputs: ['train'] }),
      'train-one': training({ train: { From: 'prep-one/train' } }),
    },
    ...fields,
  };
}

/** prepare → per-sex → compare (reading every item's model), plus `extra` steps. */
function fanOut(extra: Record<string, unknown> = {}, forEach: Record<string, unknown> = perSex()): PipelineConfig {
  return pipelineOf({
    prepare: processing({ Outputs: ['all'] }),
    'per-sex': forEach,
    compare: processing({ Inputs: { models: { From: 'per-sex/train-one/model' } }, Outputs: ['report'] }),
    ...extra,
  });
}

const issuesOf = (config: PipelineConfig) => analysePipeline(config).issues;
const parse = (steps: Record<string, unknown>, parameters: Record<string, unknown> = {}) => pipelineOf(steps, parameters);

describe('the ForEach step: schema', () => {
  it('parses a ForEach with MaxConcurrency 10 by default', () => {
    const spec = fanOut().Steps['per-sex'] as ForEachStep;

    expect(spec.MaxConcurrency).toBe(10);
    expect(Object.keys(spec.Steps)).toEqual(['prep-one', 'train-one']);
  });

  it('refuses MaxConcurrency above 40 (Step Functions inline Map), naming the field', () => {
    expect(() => parseMlopsConfig(pipelineText('for-each').replace('MaxConcurrency: 3', 'MaxConcurrency: 41'), testPolicy(), 'abalone')).toThrow(/Steps\.per-sex\.MaxConcurrency/);
  });

  it('refuses an empty literal list and a list of lists', () => {
    expect(() => pipelineOf({ 'per-sex': perSex([]) })).toThrow();
    expect(() => pipelineOf({ 'per-sex': perSex([['M']]) })).toThrow();
  });

  it('accepts a From with three parts in Processing Inputs (the design\'s per-item outputs)', () => {
    expect(issuesOf(loadPipeline('for-each'))).toEqual([]);
  });
});

describe('the ForEach step: graph', () => {
  it('makes the ForEach wait for what its inner steps read from outside, and the reader of its outputs wait for it', () => {
    const { graph, issues } = analysePipeline(fanOut());

    expect(issues).toEqual([]);
    expect([...graph.dependencies.get('per-sex')!]).toEqual(['prepare']);
    expect([...graph.dependencies.get('compare')!]).toEqual(['per-sex']);
    expect([...graph.dependencies.get('train-one')!]).toEqual(['prep-one']);
    expect(graph.forEach.get('per-sex')).toEqual({ order: ['prep-one', 'train-one'] });
    expect(graph.order).toEqual(['prepare', 'per-sex', 'compare']);
  });

  it('refuses a Condition or Fail step inside a ForEach, naming the field', () => {
    const forEach = perSex(['M']);
    (forEach.Steps as Record<string, unknown>).stop = { Type: 'Fail', ErrorMessage: 'no' };

    expect(issuesOf(fanOut({}, forEach))).toContain('Steps.per-sex.Steps.stop.Type: a Fail step cannot run inside a ForEach in this version (inner steps: Processing, Training, Tuning, Transform, RegisterModel)');
  });

  it('refuses a nested ForEach (the schema has no ForEach among inner steps)', () => {
    const forEach = perSex(['M']);
    (forEach.Steps as Record<string, unknown>).inner = perSex(['x']);

    expect(() => fanOut({}, forEach)).toThrow();
  });

  it('refuses an inner step named like a step elsewhere in the pipeline', () => {
    expect(issuesOf(fanOut({ 'train-one': processing() }))).toContain('Steps.per-sex.Steps.train-one: the name "train-one" is also a step at the top level; step names are unique across the pipeline');
  });

  it('refuses ForEach.Item outside a ForEach', () => {
    expect(issuesOf(fanOut({ other: processing({ AppSpecification: { ImageUri: { Get: 'ForEach.Item' } } }) }))).toContain(
      "Steps.other.AppSpecification.ImageUri.Get: ForEach.Item can be read only inside a ForEach's Steps",
    );
  });

  it('refuses an outer step reading an inner step directly, pointing at the three-part From', () => {
    expect(issuesOf(fanOut({ evaluate: processing({ Inputs: { model: { From: 'train-one/model' } } }) }))).toContain(
      'Steps.evaluate.Inputs.model.From: "train-one" runs once per item inside ForEach "per-sex"; outside it, a Processing step reads every item\'s output with From: per-sex/train-one/<output>',
    );
  });

  it('refuses the three-part From in a Training channel', () => {
    expect(issuesOf(fanOut({ retrain: training({ train: { From: 'per-sex/prep-one/train' } }) }))).toContain(
      'Steps.retrain.Channels.train.From: "per-sex/prep-one/train" (the output of every item of a ForEach) can be read only by a Processing step\'s Inputs',
    );
  });

  it('refuses a three-part From naming no inner step or no output', () => {
    const issues = issuesOf(fanOut({ a: processing({ Inputs: { x: { From: 'per-sex/nope/model' } } }), b: processing({ Inputs: { x: { From: 'per-sex/prep-one/test' } } }) }));

    expect(issues).toContain('Steps.a.Inputs.x.From: ForEach "per-sex" has no step "nope" (its steps: prep-one, train-one)');
    expect(issues).toContain('Steps.b.Inputs.x.From: step "prep-one" has no output "test" (outputs: train)');
  });

  it('checks ForEach.Item.<key> against literal object items', () => {
    const forEach = perSex([{ sex: 'M', rounds: 10 }, { sex: 'F' }]);
    (forEach.Steps as Record<string, Record<string, unknown>>)['train-one']!.HyperParameters = { rounds: { Get: 'ForEach.Item.rounds' }, all: { Get: 'ForEach.Item' } };

    const issues = issuesOf(fanOut({}, forEach));

    expect(issues).toContain('Steps.per-sex.Steps.train-one.HyperParameters.rounds.Get: item 1 of ForEach "per-sex" has no key "rounds"');
    expect(issues).toContain('Steps.per-sex.Steps.train-one.HyperParameters.all.Get: the items of ForEach "per-sex" are objects; read a field with ForEach.Item.<key>');
  });

  it('types ForEach.Index as an Integer (usable in integer fields)', () => {
    const forEach = perSex(['M']);
    (forEach.Steps as Record<string, Record<string, unknown>>)['prep-one']!.ProcessingResources = { ClusterConfig: { InstanceType: 'ml.m5.large', VolumeSizeInGB: { Get: 'ForEach.Index' } } };

    expect(issuesOf(fanOut({}, forEach))).toEqual([]);
  });

  it('takes Items from a String parameter only', () => {
    const issues = issuesOf(parse({ prepare: processing({ Outputs: ['all'] }), 'per-sex': perSex({ Get: 'Parameters.Count' }) }, { Count: { Type: 'Integer', Default: 3 } }));

    expect(issues).toContain('Steps.per-sex.Items: needs a String parameter holding a JSON list, but the parameter is a Integer');
  });

  it('refuses a literal list whose items × steps would not fit in one run\'s history (25,000 events)', () => {
    const forEach = perSex(Array.from({ length: 200 }, (_v, index) => `s${index}`));
    Object.assign(forEach.Steps as Record<string, unknown>, { a: processing(), b: processing(), c: processing(), d: processing(), e: processing(), f: processing(), g: processing() });

    expect(issuesOf(fanOut({}, forEach))).toContain(
      'Steps.per-sex.Items: 200 items × 9 steps would write up to 22400 history events; one run holds 25,000 (Step Functions), so a ForEach keeps to 20000: fewer items or fewer steps per item',
    );
    expect(issuesOf(fanOut({}, perSex(Array.from({ length: 200 }, (_v, index) => `s${index}`))))).toEqual([]);
  });

  it('checks the values a String parameter of Items may take (its default and EnumValues) are JSON lists', () => {
    const steps = { prepare: processing({ Outputs: ['all'] }), 'per-sex': perSex({ Get: 'Parameters.Segments' }) };

    expect(issuesOf(parse(steps, { Segments: { Type: 'String', Default: '["M","F"]', EnumValues: ['["M","F"]', '["I"]'] } }))).toEqual([]);
    expect(issuesOf(parse(steps, { Segments: { Type: 'String', Default: 'M,F' } }))).toContain('Steps.per-sex.Items: Parameters.Segments may be "M,F", not a JSON list such as ["M","F"]');
    expect(issuesOf(parse(steps, { Segments: { Type: 'String', Default: '["M"]', EnumValues: ['["M"]', '[]'] } }))).toContain(
      'Steps.per-sex.Items: Parameters.Segments may be "[]", which is not a list of 1 to 200 items (strings, numbers, booleans or flat objects of those)',
    );
  });

  it('finds a cycle through the ForEach', () => {
    const forEach = perSex(['M']);
    (forEach.Steps as Record<string, Record<string, unknown>>)['prep-one']!.DependsOn = ['compare'];

    expect(issuesOf(fanOut({}, forEach)).join('\n')).toMatch(/Steps: the steps form a cycle: .*per-sex.*compare/);
  });
});

describe('ForEach item references', () => {
  const ctx = (item?: ValueContext['item']): ValueContext => ({ config: fanOut(), parameters: {}, steps: {}, readJson: () => Promise.resolve(undefined), ...(item ? { item } : {}) });

  it('resolves ForEach.Item, ForEach.Index and ForEach.Item.<key> from the task\'s item', async () => {
    expect(await resolveValue({ Get: 'ForEach.Item' }, ctx({ forEach: 'per-sex', index: 2, value: 'I' }), 'f')).toBe('I');
    expect(await resolveValue({ Get: 'ForEach.Index' }, ctx({ forEach: 'per-sex', index: 2, value: 'I' }), 'f')).toBe(2);
    expect(await resolveValue({ Get: 'ForEach.Item.rounds' }, ctx({ forEach: 'per-sex', index: 0, value: { sex: 'M', rounds: 7 } }), 'f')).toBe(7);
  });

  it('fails naming the field when the step runs outside a ForEach or the item lacks the key', async () => {
    await expect(resolveValue({ Get: 'ForEach.Item' }, ctx(), 'Steps.x.Environment.A')).rejects.toThrow(new InvalidConfigError("Steps.x.Environment.A: ForEach.Item has a value only inside a ForEach's Steps"));
    await expect(resolveValue({ Get: 'ForEach.Item.rounds' }, ctx({ forEach: 'per-sex', index: 1, value: { sex: 'F' } }), 'f')).rejects.toThrow(/f: item 1 of ForEach "per-sex" has no key "rounds"/);
  });
});

describe('resolveForEachItems', () => {
  const report = { 'Std:JsonGet': { PropertyFile: { Get: 'Steps.prepare.PropertyFiles.Segments' }, Path: 'segments' } };
  const withReport = () =>
    parse({ prepare: processing({ Outputs: ['all'], PropertyFiles: [{ PropertyFileName: 'Segments', OutputName: 'all', FilePath: 'segments.json' }] }), 'per-sex': perSex(report) });
  const prepared: ProcessingResult = { Type: 'Processing', ProcessingJobName: 'job-prepare', Outputs: { all: `s3://${BUCKET}/builds/x/prepare/all/` }, OutputHashes: {} };
  const ctx = (config: PipelineConfig, parameters: Record<string, string> = {}, document?: unknown): ValueContext => ({
    config,
    parameters,
    steps: { prepare: prepared },
    readJson: (uri) => Promise.resolve(uri === `s3://${BUCKET}/builds/x/prepare/all/segments.json` ? document : undefined),
  });
  const items = (config: PipelineConfig, context: ValueContext) => resolveForEachItems('per-sex', config.Steps['per-sex'] as ForEachStep, context);

  it('returns a literal list as it is', async () => {
    const config = fanOut();
    expect(await items(config, ctx(config))).toEqual(['M', 'F', 'I']);
  });

  it('parses the JSON list a String parameter holds', async () => {
    const config = parse({ 'per-sex': perSex({ Get: 'Parameters.Segments' }), prepare: processing({ Outputs: ['all'] }) }, { Segments: { Type: 'String', Default: '["M","F"]' } });

    expect(await items(config, ctx(config, { Segments: '[{"sex":"M"},{"sex":"F"}]' }))).toEqual([{ sex: 'M' }, { sex: 'F' }]);
  });

  it('reads the JSON list a step\'s report holds (Std:JsonGet)', async () => {
    const config = withReport();

    expect(await items(config, ctx(config, {}, { segments: ['M', 'F', 'I', 'X'] }))).toEqual(['M', 'F', 'I', 'X']);
  });

  it('refuses what is not a list of 1 to 200 items, naming Steps.<ForEach>.Items', async () => {
    const config = withReport();

    await expect(items(config, ctx(config, {}, { segments: [] }))).rejects.toThrow(/^Steps\.per-sex\.Items: segments in s3:\/\/.* holds 0 items; a ForEach runs 1 to 200$/);
    await expect(items(config, ctx(config, {}, { segments: Array.from({ length: 201 }, (_v, i) => i) }))).rejects.toThrow(/holds 201 items/);
    await expect(items(config, ctx(config, {}, { segments: 'M,F' }))).rejects.toThrow(new InvalidConfigError(`Steps.per-sex.Items: segments in s3://${BUCKET}/builds/x/prepare/all/segments.json is "M,F", not a JSON list`));
    await expect(items(config, ctx(config, {}, { segments: [{ nested: { deep: 1 } }] }))).rejects.toThrow(/item 0 of .* is \{"nested":\{"deep":1\}\}; an item is a string, number, boolean or a flat object of those/);
    await expect(items(config, ctx(config, {}, {}))).rejects.toThrow(MetricNotFoundError);
  });

  it('refuses a parameter that is not JSON', async () => {
    const config = parse({ 'per-sex': perSex({ Get: 'Parameters.Segments' }), prepare: processing({ Outputs: ['all'] }) }, { Segments: { Type: 'String', Default: 'M' } });

    await expect(items(config, ctx(config, { Segments: 'M,F' }))).rejects.toThrow('Steps.per-sex.Items: parameter Segments is "M,F", not a JSON list such as ["M","F"]');
  });
});

describe('compilePipeline with a ForEach', () => {
  const config = () => loadPipeline('for-each');
  const definition = () => compile(config()).definition as { States: Record<string, Record<string, unknown>> };

  it('compiles to a definition asl-validator accepts and aws-local-stepfunctions builds', () => {
    expect(aslErrors(compile(config()).definition)).toEqual([]);
    expect(() => new StateMachine(asDefinition(compile(config())))).not.toThrow();
  });

  it('compiles the ForEach into its Task, a Choice that skips a carried-over result, and an inline Map with its MaxConcurrency', () => {
    const states = definition().States;

    expect(states['per-sex']).toMatchObject({ Type: 'Task', Resource: TEST_TARGETS.evaluateStepFunctionArn, ResultPath: "$.steps['per-sex']", Next: 'per-sex ?' });
    expect(states['per-sex ?']).toMatchObject({ Type: 'Choice', Choices: [{ Variable: "$.steps['per-sex'].Results", IsPresent: true, Next: 'compare' }], Default: 'per-sex (each)' });
    const map = states['per-sex (each)']!;
    expect(map).toMatchObject({
      Type: 'Map',
      ItemsPath: "$.steps['per-sex'].Items",
      MaxConcurrency: 3,
      ResultPath: "$.steps['per-sex'].Results",
      Next: 'compare',
      ItemSelector: { 'build.$': '$.build', 'parameters.$': '$.parameters', 'steps.$': '$.steps', 'reuse.$': '$.reuse', item: { forEach: 'per-sex', 'index.$': '$$.Map.Item.Index', 'value.$': '$$.Map.Item.Value' } },
    });
    const processor = map.ItemProcessor as { StartAt: string; States: Record<string, Record<string, unknown>> };
    expect(processor.StartAt).toBe('prep-one');
    expect(Object.keys(processor.States)).toEqual(['prep-one', 'train-one', 'per-sex (item)']);
    expect((processor.States['train-one']!.Parameters as { Payload: Record<string, unknown> }).Payload).toMatchObject({ step: 'train-one', 'item.$': '$.item' });
    expect(processor.States['per-sex (item)']).toEqual(expect.objectContaining({ Type: 'Pass', Parameters: { 'prep-one.$': "$.steps['prep-one']", 'train-one.$': "$.steps['train-one']" }, End: true }));
  });

  it('keeps ForEach-only fields out of every top-level step\'s payload', () => {
    const states = definition().States;

    expect(allStrings(states.prepare)).not.toContain('item.$');
  });

  it('maps the Map, the Choice and the closing Pass to the ForEach step', () => {
    expect(['per-sex (each)', 'per-sex (item)', 'per-sex ?', 'per-sex (reused)'].map(stepOfState)).toEqual(['per-sex', 'per-sex', 'per-sex', 'per-sex']);
  });

  it('carries the item through a Parallel of independent inner steps', () => {
    const forEach = perSex(['M']);
    (forEach.Steps as Record<string, unknown>)['other-one'] = processing({ Outputs: ['x'] });
    const compiled = compile(fanOut({}, forEach)).definition as { States: Record<string, { ItemProcessor?: { States: Record<string, { Type: string; ResultSelector?: Record<string, string> }> } }> };
    const parallel = Object.values(compiled.States['per-sex (each)']!.ItemProcessor!.States).find((state) => state.Type === 'Parallel');

    expect(parallel?.ResultSelector).toMatchObject({ 'item.$': '$[0].item' });
  });

  describe('paths (run in-process)', () => {
    const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAd1Tq0cEXAMPLE';
    const PREFIX = `s3://${BUCKET}/builds/${buildContext().executionName}`;
    const machine = () => new StateMachine(withFixedTaskTimeoutsDeep(asDefinition(compile(config()))));
    const input = (reuse: Record<string, StepResult> = {}): Json => JSON.parse(JSON.stringify({ build: buildContext(), parameters: { Rounds: 20 }, steps: {}, reuse } satisfies PipelineRunInput)) as Json;
    type Payload = { step: string; item?: { forEach: string; index: number; value: string }; reuse?: Record<string, StepResult>; steps: Record<string, StepResult> };
    const payloadOf = (taskInput: Json) => ((taskInput as { Payload?: Payload }).Payload ?? taskInput) as Payload;
    const processingResult = (name: string, outputs: string[]): ProcessingResult => ({ Type: 'Processing', ProcessingJobName: `job-${name}`, Outputs: Object.fromEntries(outputs.map((o) => [o, `${PREFIX}/${name}/${o}/`])), OutputHashes: {} });
    const trainingResult = (name: string): TrainingResult => ({ Type: 'Training', TrainingJobName: `job-${name}`, ModelArtifacts: `${PREFIX}/${name}/model.tar.gz`, FinalMetrics: {} });
    const itemName = (payload: Payload) => itemStepName(payload.step, payload.item);
    const handlers = (overrides: Record<string, LocalHandler> = {}): Record<string, LocalHandler> => ({
      'Build started': () => ({}),
      'Source snapshot': () => ({}),
      prepare: () => processingResult('prepare', ['all']),
      'per-sex': (taskInput) => {
        const payload = payloadOf(taskInput);
        const carried = payload.reuse?.['per-sex'];
        return (carried ?? { Type: 'ForEach', Items: ['M', 'F', 'I'], CachedFrom: null, ReusedFrom: null }) as unknown as Json;
      },
      'prep-one': (taskInput) => processingResult(itemName(payloadOf(taskInput)), ['train']) as unknown as Json,
      'train-one': (taskInput) => trainingResult(itemName(payloadOf(taskInput))) as unknown as Json,
      compare: () => processingResult('compare', ['report']),
      'Build succeeded': () => ({}),
      ...overrides,
    });

    it('runs the inner steps once per item, each with its item, and collects the items\' results in item order', async () => {
      const path = await runPath(machine(), input(), handlers(), { Execution: { Id: EXECUTION_ARN }, Task: { Token: TOKEN } });

      expect(path.outcome.status).toBe('SUCCEEDED');
      const trains = path.calls.filter((call) => call.state === 'train-one').map((call) => payloadOf(call.input));
      expect(trains.map((payload) => payload.item).sort((a, b) => a!.index - b!.index)).toEqual([
        { forEach: 'per-sex', index: 0, value: 'M' },
        { forEach: 'per-sex', index: 1, value: 'F' },
        { forEach: 'per-sex', index: 2, value: 'I' },
      ]);
      // Each training sees its own item's preparation.
      for (const payload of trains) expect((payload.steps['prep-one'] as ProcessingResult).ProcessingJobName).toBe(`job-per-sex-${payload.item!.index}-prep-one`);
      const compare = payloadOf(path.calls.find((call) => call.state === 'compare')!.input);
      const forEach = compare.steps['per-sex'];
      expect(forEach).toMatchObject({ Type: 'ForEach', Items: ['M', 'F', 'I'] });
      expect(forEach?.Type === 'ForEach' && forEach.Results?.map((results) => (results['train-one'] as TrainingResult).TrainingJobName)).toEqual([
        'job-per-sex-0-train-one',
        'job-per-sex-1-train-one',
        'job-per-sex-2-train-one',
      ]);
      // Only the inner steps' results come back from an iteration, not the run's whole state.
      expect(forEach?.Type === 'ForEach' && forEach.Results?.every((results) => Object.keys(results).sort().join() === 'prep-one,train-one')).toBe(true);
    });

    it('fails the run at the inner step of the item that fails, with its error', async () => {
      const path = await runPath(
        machine(),
        input(),
        handlers({
          'train-one': (taskInput) => {
            const payload = payloadOf(taskInput);
            if (payload.item!.index === 1) throw namedError('SageMakerJobFailed', 'training job per-sex-1-train-one failed: AlgorithmError');
            return trainingResult(itemName(payload)) as unknown as Json;
          },
        }),
        { Execution: { Id: EXECUTION_ARN }, Task: { Token: TOKEN } },
      );

      expect(path.outcome).toEqual({ status: 'FAILED', error: 'SageMakerJobFailed', cause: 'training job per-sex-1-train-one failed: AlgorithmError' });
      expect(path.calls.some((call) => call.state === 'compare')).toBe(false);
    });

    it('runs at most MaxConcurrency items at a time', async () => {
      const items = ['a', 'b', 'c', 'd', 'e'];
      const limited = compile(fanOut({}, perSex(items, { MaxConcurrency: 2 })));
      let running = 0;
      let most = 0;
      const slow: LocalHandler = async (taskInput) => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 20));
        running -= 1;
        return processingResult(itemName(payloadOf(taskInput)), ['train']) as unknown as Json;
      };

      const path = await runPath(
        new StateMachine(withFixedTaskTimeoutsDeep(asDefinition(limited))),
        input(),
        handlers({ 'per-sex': () => ({ Type: 'ForEach', Items: items, CachedFrom: null, ReusedFrom: null }), 'prep-one': slow }),
        { Execution: { Id: EXECUTION_ARN }, Task: { Token: TOKEN } },
      );

      expect(path.outcome.status).toBe('SUCCEEDED');
      expect(path.calls.filter((call) => call.state === 'prep-one')).toHaveLength(5);
      expect(most).toBe(2);
    });

    it('skips the Map for a ForEach carried over from an earlier run', async () => {
      const carried: StepResult = { Type: 'ForEach', Items: ['M'], Results: [{ 'prep-one': processingResult('old-prep', ['train']), 'train-one': trainingResult('old-train') }], CachedFrom: null, ReusedFrom: 'arn:earlier' };

      const path = await runPath(machine(), input({ 'per-sex': carried }), handlers(), { Execution: { Id: EXECUTION_ARN }, Task: { Token: TOKEN } });

      expect(path.outcome.status).toBe('SUCCEEDED');
      expect(path.calls.filter((call) => ['prep-one', 'train-one'].includes(call.state))).toEqual([]);
      expect(payloadOf(path.calls.find((call) => call.state === 'compare')!.input).steps['per-sex']).toEqual(carried);
    });
  });
});

describe('the task input of an inner step', () => {
  const base = () => ({ step: 'train-one', executionArn: EXECUTION_ARN, build: buildContext(), parameters: {}, steps: {}, reuse: {} });

  it('carries the item: its ForEach, index and value', () => {
    expect(stepTaskInputSchema.parse({ ...base(), item: { forEach: 'per-sex', index: 1, value: { sex: 'F', rounds: 3 } } }).item).toEqual({ forEach: 'per-sex', index: 1, value: { sex: 'F', rounds: 3 } });
  });

  it('refuses an item with a negative index or a nested value', () => {
    expect(stepTaskInputSchema.safeParse({ ...base(), item: { forEach: 'per-sex', index: -1, value: 'F' } }).success).toBe(false);
    expect(stepTaskInputSchema.safeParse({ ...base(), item: { forEach: 'per-sex', index: 0, value: { a: { b: 1 } } } }).success).toBe(false);
  });
});

describe('per-item job requests', () => {
  const run = { build: buildContext() };
  const config = () => loadPipeline('for-each');
  const prepared: ProcessingResult = { Type: 'Processing', ProcessingJobName: 'job-prepare', Outputs: { all: `s3://${BUCKET}/p/all/` }, OutputHashes: { all: 'h-all' } };

  it('names an item\'s job step <ForEach>-<index>-<step> and its prefix <ForEach>/<index>/<step>', () => {
    expect(itemStepName('train-one', { forEach: 'per-sex', index: 2 })).toBe('per-sex-2-train-one');
    expect(itemStepPath('train-one', { forEach: 'per-sex', index: 2 })).toBe('per-sex/2/train-one');
    expect(itemStepName('prepare', undefined)).toBe('prepare');
  });

  it('lists inner steps among every step, with their ForEach', () => {
    expect(everyStep(config()).map(({ name, forEach }) => [name, forEach])).toEqual([
      ['prepare', undefined],
      ['per-sex', undefined],
      ['compare', undefined],
      ['prep-one', 'per-sex'],
      ['train-one', 'per-sex'],
    ]);
  });

  it('resolves an inner step with its item: arguments, hyperparameters, outputs under <ForEach>/<index>/<step>/', async () => {
    const pipeline = config();
    const item = { forEach: 'per-sex', index: 2, value: 'I' };
    const prep = await resolveJob('prep-one', stepOf(pipeline, 'prep-one', ['Processing', 'Training']), run.build, valueContext(pipeline, { parameters: { Rounds: 20 }, steps: { prepare: prepared }, item }), STAGE);
    const base = `s3://${STAGE.artifactsBucket}/builds/`;

    expect(prep.kind).toBe('processing');
    if (prep.kind !== 'processing') return;
    expect(prep.request.AppSpecification?.ContainerArguments).toEqual(['segment', '--sex', 'I', '--index', '2']);
    expect(prep.request.ProcessingOutputConfig?.Outputs?.[0]?.S3Output?.S3Uri).toMatch(new RegExp(`^${base}.*/${buildContext().executionName}/per-sex/2/prep-one/train/$`));

    const trainResult: ProcessingResult = { ...prepared, ProcessingJobName: 'job-prep', Outputs: { train: 's3://b/prep/train/' } };
    const train = await resolveJob('train-one', stepOf(pipeline, 'train-one', ['Processing', 'Training']), run.build, valueContext(pipeline, { parameters: { Rounds: 20 }, steps: { prepare: prepared, 'prep-one': trainResult }, item }), STAGE);
    if (train.kind !== 'training') throw new Error('not a training job');
    expect(train.request.HyperParameters).toMatchObject({ num_round: '20', sex: 'I' });
    expect(train.request.OutputDataConfig?.S3OutputPath).toMatch(/\/per-sex\/2\/train-one\/$/);
  });

  it('names the inner step\'s fields under its ForEach in errors', async () => {
    const pipeline = config();
    const context = valueContext(pipeline, { parameters: { Rounds: 20 }, steps: {}, item: { forEach: 'per-sex', index: 0, value: 'M' } });

    await expect(resolveJob('prep-one', stepOf(pipeline, 'prep-one', ['Processing']), run.build, context, STAGE)).rejects.toThrow(/^Steps\.per-sex\.Steps\.prep-one\.Inputs\.all\.From: "prepare\/all" has no output in this run/);
  });

  it('gives a Processing step one input per item for a three-part From, at <input>/<index>', async () => {
    const pipeline = config();
    const results = ['M', 'F', 'I'].map((_sex, index) => ({
      'prep-one': { ...prepared, Outputs: { train: `s3://b/per-sex/${index}/prep-one/train/` } },
      'train-one': { Type: 'Training', TrainingJobName: `t-${index}`, ModelArtifacts: `s3://b/per-sex/${index}/train-one/model.tar.gz`, ModelArtifactsHash: `h-${index}`, FinalMetrics: {} } satisfies TrainingResult,
    }));
    const steps: Record<string, StepResult> = { prepare: prepared, 'per-sex': { Type: 'ForEach', Items: ['M', 'F', 'I'], Results: results, CachedFrom: null, ReusedFrom: null } };

    const job = await resolveJob('compare', stepOf(pipeline, 'compare', ['Processing']), run.build, valueContext(pipeline, { parameters: { Rounds: 20 }, steps }), STAGE);

    if (job.kind !== 'processing') throw new Error('not a processing job');
    expect(job.request.ProcessingInputs?.slice(1).map((input) => [input.InputName, input.S3Input?.S3Uri, input.S3Input?.LocalPath])).toEqual([
      ['models-0', 's3://b/per-sex/0/train-one/model.tar.gz', '/opt/ml/processing/input/models/0'],
      ['models-1', 's3://b/per-sex/1/train-one/model.tar.gz', '/opt/ml/processing/input/models/1'],
      ['models-2', 's3://b/per-sex/2/train-one/model.tar.gz', '/opt/ml/processing/input/models/2'],
    ]);
    // The cache key hashes each item's model by the hash its training recorded.
    expect(job.inputs.filter((input) => input.kind === 'step').map((input) => (input.kind === 'step' ? [input.name, input.hash] : []))).toEqual([
      ['models-0', 'h-0'],
      ['models-1', 'h-1'],
      ['models-2', 'h-2'],
    ]);
  });

  it('fails a three-part From when the ForEach has no results in this run', async () => {
    const pipeline = config();

    await expect(resolveJob('compare', stepOf(pipeline, 'compare', ['Processing']), run.build, valueContext(pipeline, { parameters: {}, steps: {} }), STAGE)).rejects.toThrow(
      'Steps.compare.Inputs.models.From: "per-sex/train-one/model" has no output in this run (ForEach "per-sex" has not run)',
    );
  });

  it('compiles a ForEach ending a Parallel branch, its carried-over result ending the branch at a Succeed state', () => {
    const pipeline = pipelineOf({ prepare: processing({ Outputs: ['all'] }), 'per-sex': perSex(), side: processing() });
    const { graph } = analysePipeline(pipeline);
    const compiled = compilePipeline(pipeline, graph, TEST_TARGETS);
    const parallel = Object.values(compiled.definition.States as Record<string, { Type: string; Branches?: { States: Record<string, { Type: string; Choices?: { Next: string }[] }> }[] }>).find((state) => state.Type === 'Parallel')!;
    const branch = parallel.Branches!.find((candidate) => 'per-sex' in candidate.States)!;

    expect(branch.States['per-sex ?']?.Choices?.[0]?.Next).toBe('per-sex (reused)');
    expect(branch.States['per-sex (reused)']?.Type).toBe('Succeed');
    expect(aslErrors(compiled.definition)).toEqual([]);
  });
});
