import { datasetOfKey, datasetsRead, effectiveSchedule, scheduleRuleName, scheduleTarget } from '../../../shared/pipeline/triggers';
import { parseMlopsConfig } from '../../../shared/schemas/parse-mlops-config';
import { EXAMPLE_CONFIG_TEXT } from '../../helpers/fixtures';
import { pipelineOf, processing, testPolicy, training } from '../../helpers/pipelines';

describe('schedule rules', () => {
  it('names a branch\'s rule within EventBridge\'s 64 characters, apart from the same repository\'s other branches', () => {
    const long = 'a-repository-name-that-goes-on-and-on-and-on-for-a-very-long-while';
    const main = scheduleRuleName('sluice-production--schedule-', long, 'main');

    expect(main).toHaveLength(64);
    expect(main).toMatch(/^sluice-production--schedule-a-repository-name-that-goes-[0-9a-f]{8}$/);
    expect(scheduleRuleName('sluice-production--schedule-', long, 'develop')).not.toBe(main);
  });

  it('takes the stage setting for the repository first (its exact name, then a pattern), else the file\'s', () => {
    const pipeline = { ...pipelineOf({ only: processing() }), Triggers: { Schedule: 'rate(1 day)', DataArrival: true } };

    expect(effectiveSchedule('abalone', pipeline, {})).toBe('rate(1 day)');
    expect(effectiveSchedule('abalone', pipeline, { 'aba*': 'rate(2 days)', abalone: 'rate(3 days)' })).toBe('rate(3 days)');
    expect(effectiveSchedule('abalone', pipeline, { 'aba*': 'rate(2 days)' })).toBe('rate(2 days)');
    expect(effectiveSchedule('abalone', pipelineOf({ only: processing() }), { other: 'rate(2 days)' })).toBeUndefined();
  });

  it('gives the target an input in which the repository\'s and branch\'s names can never read as placeholders', () => {
    const target = scheduleTarget('arn:aws:lambda:us-east-1:123456789012:function:f', 'repo', 'feature/<id>"x');
    const template = target.InputTransformer!.InputTemplate!;

    expect(template).not.toContain('feature/<id>');
    const rendered = JSON.parse(template.replace(/<id>/g, 'e-1').replace(/<[a-z.-]+>/g, 'v')) as { detail: Record<string, string> };
    expect(rendered.detail).toEqual({ repository: 'repo', branch: 'feature/<id>"x', requestId: 'schedule-e-1' });
  });
});

describe('datasets a pipeline reads', () => {
  it('lists each dataset (first path segment) with the keys its steps read, from inputs and channels', () => {
    const pipeline = pipelineOf({
      prepare: processing({ Inputs: { raw: { Dataset: 'sales/2026/' }, extra: { Dataset: 'sales/lookup.csv' }, codes: { Dataset: 'codes.csv' } }, Outputs: ['out'] }),
      fit: training({ train: { From: 'prepare/out' }, holdout: { Dataset: 'holdout/' } }),
    });

    expect([...datasetsRead(pipeline)]).toEqual([
      ['sales', ['sales/2026/', 'sales/lookup.csv']],
      ['codes.csv', ['codes.csv']],
      ['holdout', ['holdout/']],
    ]);
  });

  it('finds the abalone example reading datasets/abalone/', () => {
    expect([...datasetsRead(parseMlopsConfig(EXAMPLE_CONFIG_TEXT, testPolicy(), 'abalone'))]).toEqual([['abalone', ['abalone/']]]);
  });

  it('places an object key in its dataset, and nothing outside datasets/', () => {
    expect(datasetOfKey('datasets/sales/2026/part-1.csv')).toEqual({ name: 'sales', relative: 'sales/2026/part-1.csv' });
    expect(datasetOfKey('datasets/codes.csv')).toEqual({ name: 'codes.csv', relative: 'codes.csv' });
    expect(datasetOfKey('builds/sales/x')).toBeUndefined();
    expect(datasetOfKey('datasets/')).toBeUndefined();
  });
});

describe('Triggers in mlops.yaml', () => {
  it('reads a Version 1 file\'s Triggers into the pipeline', () => {
    const pipeline = parseMlopsConfig(`${EXAMPLE_CONFIG_TEXT}\nTriggers:\n  Schedule: cron(0 6 ? * MON-FRI *)\n  DataArrival: false\n`, testPolicy(), 'abalone');

    expect(pipeline.Triggers).toEqual({ Schedule: 'cron(0 6 ? * MON-FRI *)', DataArrival: false });
  });

  it('refuses an unknown field of Triggers, naming it', () => {
    expect(() => parseMlopsConfig(`${EXAMPLE_CONFIG_TEXT}\nTriggers:\n  Cron: rate(1 day)\n`, testPolicy(), 'abalone')).toThrow('Triggers');
  });
});
