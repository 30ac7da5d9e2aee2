/**
 * The local tuning job's search strategies (local/sagemaker/tuning/): SageMaker's ranges and
 * scalings, Grid/Random/Bayesian proposals, seeds, validation, and the median stopping rule.
 */
import { shouldStopEarly } from '../../../local/sagemaker/tuning/early-stopping';
import { cholesky, expectedImprovement, fitGaussianProcess } from '../../../local/sagemaker/tuning/gaussian-process';
import { bestTrial, createTuningSearch, MAX_GRID_TRAINING_JOBS, type TrialRecord, type TuningSearch } from '../../../local/sagemaker/tuning/search';
import { type NumericDimension, numericValue, parseSearchSpace } from '../../../local/sagemaker/tuning/space';

type Config = Record<string, unknown>;

function config(overrides: Config = {}, ranges: Config = { ContinuousParameterRanges: [{ Name: 'eta', MinValue: '0.1', MaxValue: '0.5' }] }): Config {
  return {
    Strategy: 'Random',
    ResourceLimits: { MaxNumberOfTrainingJobs: 10, MaxParallelTrainingJobs: 2 },
    HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:rmse' },
    ParameterRanges: ranges,
    RandomSeed: 7,
    ...overrides,
  };
}

/** Runs a search to the end, one trial at a time, scoring each with `objective`. */
function runSequentially(search: TuningSearch, objective: (p: Record<string, string>) => number): TrialRecord[] {
  const history: TrialRecord[] = [];
  for (let p = search.next(history); p !== undefined; p = search.next(history)) history.push({ hyperParameters: p, objective: objective(p) });
  return history;
}

function proposals(search: TuningSearch, count: number): Record<string, string>[] {
  const history: TrialRecord[] = [];
  for (let i = 0; i < count; i += 1) history.push({ hyperParameters: search.next(history) as Record<string, string>, objective: i });
  return history.map((t) => t.hyperParameters);
}

function numeric(ranges: Config, index = 0): NumericDimension {
  return parseSearchSpace(ranges).dimensions[index] as NumericDimension;
}

describe('ranges and scaling', () => {
  it('maps a Linear continuous range end to end', () => {
    const d = numeric({ ContinuousParameterRanges: [{ Name: 'x', MinValue: '-2', MaxValue: '6', ScalingType: 'Linear' }] });
    expect([numericValue(d, 0), numericValue(d, 0.5), numericValue(d, 1)]).toEqual([-2, 2, 6]);
  });

  it('maps a Logarithmic range geometrically (the midpoint of 1e-4..1 is 1e-2)', () => {
    const d = numeric({ ContinuousParameterRanges: [{ Name: 'lr', MinValue: '0.0001', MaxValue: '1', ScalingType: 'Logarithmic' }] });
    expect(numericValue(d, 0)).toBeCloseTo(1e-4, 12);
    expect(numericValue(d, 0.5)).toBeCloseTo(1e-2, 12);
    expect(numericValue(d, 0.75)).toBeCloseTo(1e-1, 12);
    expect(numericValue(d, 1)).toBeCloseTo(1, 12);
  });

  it('maps a ReverseLogarithmic range densely near 1', () => {
    const d = numeric({ ContinuousParameterRanges: [{ Name: 'momentum', MinValue: '0', MaxValue: '0.999', ScalingType: 'ReverseLogarithmic' }] });
    expect(numericValue(d, 0)).toBeCloseTo(0, 12);
    expect(numericValue(d, 0.5)).toBeCloseTo(1 - Math.sqrt(0.001), 12);
    expect(numericValue(d, 1)).toBeCloseTo(0.999, 12);
  });

  it('resolves Auto to Logarithmic only for a positive range spanning orders of magnitude', () => {
    const space = parseSearchSpace({
      ContinuousParameterRanges: [
        { Name: 'wide', MinValue: '0.0001', MaxValue: '1', ScalingType: 'Auto' },
        { Name: 'narrow', MinValue: '1', MaxValue: '10' },
        { Name: 'signed', MinValue: '-1', MaxValue: '10000', ScalingType: 'Auto' },
      ],
    });
    expect(space.dimensions.map((d) => (d as NumericDimension).scale)).toEqual(['Logarithmic', 'Linear', 'Linear']);
  });

  it('samples a Random Logarithmic range uniformly in log space', () => {
    const search = createTuningSearch(config({ ResourceLimits: { MaxNumberOfTrainingJobs: 400, MaxParallelTrainingJobs: 1 } }, { ContinuousParameterRanges: [{ Name: 'lr', MinValue: '0.0001', MaxValue: '1', ScalingType: 'Logarithmic' }] }));
    const values = proposals(search, 400).map((p) => Number(p.lr));
    const belowCentre = values.filter((v) => v < 0.01).length / values.length;
    expect(belowCentre).toBeGreaterThan(0.42);
    expect(belowCentre).toBeLessThan(0.58);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0.0001);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
  });

  it('refuses Logarithmic scaling over a range that is not all greater than 0, with SageMaker\'s reason', () => {
    expect(() => parseSearchSpace({ ContinuousParameterRanges: [{ Name: 'alpha', MinValue: '0', MaxValue: '10', ScalingType: 'Logarithmic' }] }))
      .toThrow(/Logarithmic scaling works only for ranges that have only values greater than 0: hyperparameter 'alpha'/);
    expect(() => parseSearchSpace({ IntegerParameterRanges: [{ Name: 'depth', MinValue: '-1', MaxValue: '10', ScalingType: 'Logarithmic' }] }))
      .toThrow(expect.objectContaining({ name: 'ValidationException', message: expect.stringContaining('IntegerParameterRanges[0]') }));
  });

  it('refuses ReverseLogarithmic outside 0<=x<1.0 and on integer ranges', () => {
    expect(() => parseSearchSpace({ ContinuousParameterRanges: [{ Name: 'beta', MinValue: '0.5', MaxValue: '1', ScalingType: 'ReverseLogarithmic' }] }))
      .toThrow(/entirely within the range 0<=x<1.0: hyperparameter 'beta'/);
    expect(() => parseSearchSpace({ IntegerParameterRanges: [{ Name: 'k', MinValue: '0', MaxValue: '0', ScalingType: 'ReverseLogarithmic' }] }))
      .toThrow(/not supported for integer hyperparameter ranges: hyperparameter 'k'/);
  });

  it('rounds integer ranges within bounds and gives every integer an equal share', () => {
    const d = numeric({ IntegerParameterRanges: [{ Name: 'depth', MinValue: '2', MaxValue: '5', ScalingType: 'Linear' }] });
    const counts = new Map<number, number>();
    for (let i = 0; i < 4000; i += 1) {
      const v = numericValue(d, (i + 0.5) / 4000);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([2, 3, 4, 5]);
    for (const count of counts.values()) expect(count).toBe(1000);
    expect([numericValue(d, 0), numericValue(d, 1)]).toEqual([2, 5]);
  });

  it('passes integer hyperparameters as integer strings, also on a log scale', () => {
    const search = createTuningSearch(config({ ResourceLimits: { MaxNumberOfTrainingJobs: 50, MaxParallelTrainingJobs: 1 } }, { IntegerParameterRanges: [{ Name: 'trees', MinValue: '1', MaxValue: '1000', ScalingType: 'Logarithmic' }] }));
    for (const p of proposals(search, 50)) {
      expect(p.trees).toMatch(/^\d+$/);
      expect(Number(p.trees)).toBeGreaterThanOrEqual(1);
      expect(Number(p.trees)).toBeLessThanOrEqual(1000);
    }
  });

  it('chooses categorical values only from the list, each of them over enough trials', () => {
    const search = createTuningSearch(config({ ResourceLimits: { MaxNumberOfTrainingJobs: 40, MaxParallelTrainingJobs: 1 } }, {
      CategoricalParameterRanges: [{ Name: 'booster', Values: ['gbtree', 'dart', 'gblinear'] }],
      ContinuousParameterRanges: [{ Name: 'eta', MinValue: '0.1', MaxValue: '0.5' }],
    }));
    const chosen = new Set(proposals(search, 40).map((p) => p.booster));
    expect([...chosen].sort()).toEqual(['dart', 'gblinear', 'gbtree']);
  });
});

describe('Grid', () => {
  const ranges = { CategoricalParameterRanges: [{ Name: 'booster', Values: ['gbtree', 'dart'] }, { Name: 'objective', Values: ['reg:squarederror', 'reg:absoluteerror', 'reg:pseudohubererror'] }] };

  it('enumerates every combination once, in a fixed order, and sizes the job to the grid', () => {
    const search = createTuningSearch(config({ Strategy: 'Grid', ResourceLimits: { MaxParallelTrainingJobs: 2 } }, ranges));
    expect(search.maxNumberOfTrainingJobs).toBe(6);
    const all = runSequentially(search, () => 0).map((t) => `${t.hyperParameters.booster}/${t.hyperParameters.objective}`);
    expect(all).toEqual([
      'gbtree/reg:squarederror', 'gbtree/reg:absoluteerror', 'gbtree/reg:pseudohubererror',
      'dart/reg:squarederror', 'dart/reg:absoluteerror', 'dart/reg:pseudohubererror',
    ]);
  });

  it('accepts MaxNumberOfTrainingJobs equal to the grid size and refuses any other', () => {
    expect(createTuningSearch(config({ Strategy: 'Grid', ResourceLimits: { MaxNumberOfTrainingJobs: 6, MaxParallelTrainingJobs: 2 } }, ranges)).maxNumberOfTrainingJobs).toBe(6);
    expect(() => createTuningSearch(config({ Strategy: 'Grid', ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2 } }, ranges)))
      .toThrow(/ResourceLimits.MaxNumberOfTrainingJobs must equal the number of distinct categorical combinations \(6\)/);
  });

  it('refuses numeric ranges, naming the hyperparameter', () => {
    expect(() => createTuningSearch(config({ Strategy: 'Grid' }, { ...ranges, IntegerParameterRanges: [{ Name: 'max_depth', MinValue: '1', MaxValue: '3' }] })))
      .toThrow(/Grid strategy supports only categorical hyperparameters; 'max_depth' is an IntegerParameterRange/);
  });

  it(`refuses a grid of more than ${MAX_GRID_TRAINING_JOBS} combinations`, () => {
    const eight = ['1', '2', '3', '4', '5', '6', '7', '8'];
    const big = { CategoricalParameterRanges: ['a', 'b', 'c'].map((Name) => ({ Name, Values: eight })) };
    expect(() => createTuningSearch(config({ Strategy: 'Grid', ResourceLimits: { MaxParallelTrainingJobs: 1 } }, big))).toThrow(/would launch 512 training jobs/);
  });
});

describe('seeds and purity', () => {
  const space = { ContinuousParameterRanges: [{ Name: 'x', MinValue: '-5', MaxValue: '5' }], IntegerParameterRanges: [{ Name: 'n', MinValue: '1', MaxValue: '100' }], CategoricalParameterRanges: [{ Name: 'c', Values: ['a', 'b'] }] };
  const score = (p: Record<string, string>): number => Number(p.x) ** 2 + Number(p.n) / 100 + (p.c === 'a' ? 0 : 1);

  it.each(['Random', 'Bayesian'])('gives the same trials for the same RandomSeed and others for another (%s)', (strategy) => {
    const make = (seed: number): TuningSearch => createTuningSearch(config({ Strategy: strategy, RandomSeed: seed, ResourceLimits: { MaxNumberOfTrainingJobs: 12, MaxParallelTrainingJobs: 1 } }, space));
    const first = runSequentially(make(42), score);
    expect(runSequentially(make(42), score)).toEqual(first);
    expect(runSequentially(make(43), score)).not.toEqual(first);
  });

  it('without RandomSeed, is reproducible from the default seed the caller gives (e.g. the job name)', () => {
    const make = (name: string): TuningSearch => createTuningSearch(config({ RandomSeed: undefined }, space), { defaultSeed: name });
    expect(proposals(make('tune-a'), 5)).toEqual(proposals(make('tune-a'), 5));
    expect(proposals(make('tune-a'), 5)).not.toEqual(proposals(make('tune-b'), 5));
  });

  it('proposes the same next trial when asked twice with the same history (a redelivered event changes nothing)', () => {
    const search = createTuningSearch(config({ Strategy: 'Bayesian', ResourceLimits: { MaxNumberOfTrainingJobs: 12, MaxParallelTrainingJobs: 1 } }, space));
    const history = runSequentially(search, score).slice(0, 8);
    expect(search.next(history)).toEqual(search.next(history));
  });

  it('stops proposing after MaxNumberOfTrainingJobs trials', () => {
    const search = createTuningSearch(config());
    const history = runSequentially(search, () => 1);
    expect(history).toHaveLength(10);
    expect(search.next(history)).toBeUndefined();
  });

  it('never repeats a combination of a finite space', () => {
    const search = createTuningSearch(config({ ResourceLimits: { MaxNumberOfTrainingJobs: 12, MaxParallelTrainingJobs: 1 } }, { IntegerParameterRanges: [{ Name: 'n', MinValue: '1', MaxValue: '4' }], CategoricalParameterRanges: [{ Name: 'c', Values: ['a', 'b', 'c'] }] }));
    const keys = proposals(search, 12).map((p) => `${p.n}/${p.c}`);
    expect(new Set(keys).size).toBe(12);
  });
});

describe('invalid configs', () => {
  it('refuses Hyperband, naming what the local runtime supports', () => {
    expect(() => createTuningSearch(config({ Strategy: 'Hyperband' }))).toThrow("HyperParameterTuningJobConfig.Strategy 'Hyperband' is not supported by the local runtime; use Bayesian, Random or Grid");
  });

  it.each([
    ['a missing Strategy', config({ Strategy: undefined }), "'HyperParameterTuningJobConfig.Strategy' failed to satisfy constraint: Member must not be null"],
    ['an unknown Strategy', config({ Strategy: 'Genetic' }), "Value 'Genetic' at 'HyperParameterTuningJobConfig.Strategy'"],
    ['missing ResourceLimits', config({ ResourceLimits: undefined }), "'HyperParameterTuningJobConfig.ResourceLimits' failed to satisfy constraint"],
    ['MaxParallelTrainingJobs 0', config({ ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 0 } }), "at 'HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs'"],
    ['Random without MaxNumberOfTrainingJobs', config({ ResourceLimits: { MaxParallelTrainingJobs: 1 } }), "'HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs' failed to satisfy constraint: Member must not be null"],
    ['Bayesian without an objective Type', config({ Strategy: 'Bayesian', HyperParameterTuningJobObjective: { MetricName: 'loss' } }), "'HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.Type'"],
    ['an unknown objective Type', config({ HyperParameterTuningJobObjective: { Type: 'Optimize', MetricName: 'loss' } }), "Value 'Optimize' at 'HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.Type'"],
    ['an unknown TrainingJobEarlyStoppingType', config({ TrainingJobEarlyStoppingType: 'Sometimes' }), "at 'HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType'"],
    ['a fractional RandomSeed', config({ RandomSeed: 1.5 }), "at 'HyperParameterTuningJobConfig.RandomSeed' must be an integer"],
    ['no ranges', config({}, {}), 'HyperParameterTuningJobConfig.ParameterRanges must contain at least one'],
    ['MinValue above MaxValue', config({}, { ContinuousParameterRanges: [{ Name: 'eta', MinValue: '0.9', MaxValue: '0.1' }] }), "hyperparameter 'eta' (HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges[0]) must be less than or equal to its MaxValue"],
    ['a non-numeric bound', config({}, { ContinuousParameterRanges: [{ Name: 'eta', MinValue: 'low', MaxValue: '0.1' }] }), "'low' at 'HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges[0].MinValue' is not a valid number"],
    ['a fractional integer bound', config({}, { IntegerParameterRanges: [{ Name: 'depth', MinValue: '1', MaxValue: '2.5' }] }), "'2.5' at 'HyperParameterTuningJobConfig.ParameterRanges.IntegerParameterRanges[0].MaxValue' is not a valid integer"],
    ['a range without Name', config({}, { IntegerParameterRanges: [{ MinValue: '1', MaxValue: '2' }] }), "'HyperParameterTuningJobConfig.ParameterRanges.IntegerParameterRanges[0].Name' failed to satisfy constraint"],
    ['an unknown ScalingType', config({}, { IntegerParameterRanges: [{ Name: 'd', MinValue: '1', MaxValue: '20', ScalingType: 'Cubic' }] }), "Value 'Cubic' at 'HyperParameterTuningJobConfig.ParameterRanges.IntegerParameterRanges[0].ScalingType'"],
    ['an empty categorical range', config({}, { CategoricalParameterRanges: [{ Name: 'c', Values: [] }] }), "'HyperParameterTuningJobConfig.ParameterRanges.CategoricalParameterRanges[0].Values' failed to satisfy constraint: Member must have length greater than or equal to 1"],
    ['31 categorical values', config({}, { CategoricalParameterRanges: [{ Name: 'c', Values: Array.from({ length: 31 }, (_, i) => `v${i}`) }] }), 'Member must have length less than or equal to 30'],
    ['a name tuned twice', config({}, { IntegerParameterRanges: [{ Name: 'd', MinValue: '1', MaxValue: '20' }], CategoricalParameterRanges: [{ Name: 'd', Values: ['1'] }] }), "Hyperparameter 'd' appears in more than one range"],
    ['31 hyperparameters', config({}, { CategoricalParameterRanges: Array.from({ length: 31 }, (_, i) => ({ Name: `h${i}`, Values: ['a', 'b'] })) }), "holds 31 hyperparameters; the sum of all ranges can't exceed 30"],
  ])('refuses %s, naming the field', (_, bad, message) => {
    expect(() => createTuningSearch(bad)).toThrow(expect.objectContaining({ name: 'ValidationException', message: expect.stringContaining(message) }));
  });

  it('refuses more training jobs than a finite space has combinations, in SageMaker\'s words', () => {
    expect(() => createTuningSearch(config({ ResourceLimits: { MaxNumberOfTrainingJobs: 10, MaxParallelTrainingJobs: 1 } }, { CategoricalParameterRanges: [{ Name: 'c', Values: ['a', 'b', 'c'] }] })))
      .toThrow("You don't have enough combinations of hyperparameter ranges. The total number of hyperparameter combinations for the provided ranges [3.0] must be equal or greater than the value of MaxNumberOfJobs, [10]. Provide additional ranges.");
  });
});

describe('Bayesian', () => {
  // A smooth 2-D bowl with its minimum (0) at (1.5, -2) inside [-5, 5]².
  const OPTIMUM = { x: 1.5, y: -2 };
  const bowl = (p: Record<string, string>): number => (Number(p.x) - OPTIMUM.x) ** 2 + (Number(p.y) - OPTIMUM.y) ** 2;
  const square = { ContinuousParameterRanges: [{ Name: 'x', MinValue: '-5', MaxValue: '5' }, { Name: 'y', MinValue: '-5', MaxValue: '5' }] };
  const search = (strategy: string, seed: number, type = 'Minimize'): TuningSearch =>
    createTuningSearch(config({ Strategy: strategy, RandomSeed: seed, ResourceLimits: { MaxNumberOfTrainingJobs: 20, MaxParallelTrainingJobs: 1 }, HyperParameterTuningJobObjective: { Type: type, MetricName: 'loss' } }, square));
  const seeds = Array.from({ length: 20 }, (_, i) => i);
  // The 20 seeds' runs of each strategy, computed once and shared by the two comparisons.
  const runs = new Map<string, TrialRecord[][]>();
  const runsOf = (strategy: string): TrialRecord[][] => {
    if (!runs.has(strategy)) runs.set(strategy, seeds.map((seed) => runSequentially(search(strategy, seed), bowl)));
    return runs.get(strategy) as TrialRecord[][];
  };
  const meanBest = (strategy: string): number => runsOf(strategy).reduce((sum, history) => sum + (bestTrial(history, 'Minimize')?.objective as number), 0) / seeds.length;

  it('beats Random on average over 20 seeds on a smooth 2-D function with 20 trials', () => {
    const bayesian = meanBest('Bayesian');
    const random = meanBest('Random');
    expect(bayesian).toBeLessThan(random / 5);
    expect(bayesian).toBeLessThan(0.1);
  });

  it('concentrates its later proposals near the optimum', () => {
    const distance = (p: Record<string, string>): number => Math.sqrt(bowl(p));
    const late = runsOf('Bayesian').flatMap((history) => history.slice(10).map((t) => distance(t.hyperParameters)));
    const lateRandom = runsOf('Random').flatMap((history) => history.slice(10).map((t) => distance(t.hyperParameters)));
    const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    expect(median(late)).toBeLessThan(1);
    expect(median(late)).toBeLessThan(median(lateRandom) / 3);
  });

  it('maximises when the objective Type is Maximize', () => {
    const history = runSequentially(search('Bayesian', 3, 'Maximize'), (p) => 10 - bowl(p));
    expect(bestTrial(history, 'Maximize')?.objective).toBeGreaterThan(9.8);
  });

  it('spreads parallel proposals: a running trial is not proposed again', () => {
    const s = search('Bayesian', 5);
    const history = runSequentially(s, bowl).slice(0, 8);
    const first = s.next(history) as Record<string, string>;
    const second = s.next([...history, { hyperParameters: first }]) as Record<string, string>;
    expect(second).not.toEqual(first);
    expect(Math.hypot(Number(second.x) - Number(first.x), Number(second.y) - Number(first.y))).toBeGreaterThan(1e-3);
  });

  it('goes on past failed trials, modelling only those with an objective', () => {
    const s = search('Bayesian', 9);
    const history: TrialRecord[] = [];
    for (let p = s.next(history), i = 0; p !== undefined; p = s.next(history), i += 1) history.push(i % 3 === 1 ? { hyperParameters: p, failed: true } : { hyperParameters: p, objective: bowl(p) });
    expect(history).toHaveLength(20);
    expect(bestTrial(history, 'Minimize')?.objective).toBeLessThan(0.5);
  });

  it('handles categorical and integer ranges together', () => {
    const s = createTuningSearch(config({ Strategy: 'Bayesian', ResourceLimits: { MaxNumberOfTrainingJobs: 15, MaxParallelTrainingJobs: 1 } }, {
      CategoricalParameterRanges: [{ Name: 'kind', Values: ['bad', 'good', 'worse'] }],
      IntegerParameterRanges: [{ Name: 'depth', MinValue: '1', MaxValue: '30' }],
    }));
    const score = (p: Record<string, string>): number => (p.kind === 'good' ? 0 : 5) + Math.abs(Number(p.depth) - 12);
    expect(bestTrial(runSequentially(s, score), 'Minimize')?.objective).toBeLessThanOrEqual(1);
  });
});

describe('Gaussian process', () => {
  it('factorises a symmetric positive-definite matrix', () => {
    const l = cholesky([[4, 2], [2, 3]]);
    expect(l[0]?.[0]).toBeCloseTo(2, 12);
    expect(l[1]?.[0]).toBeCloseTo(1, 12);
    expect(l[1]?.[1]).toBeCloseTo(Math.sqrt(2), 12);
    expect(() => cholesky([[1, 2], [2, 1]])).toThrow('not positive definite');
  });

  it('interpolates its observations and is uncertain far from them', () => {
    const xs = [[0.1], [0.4], [0.9]];
    const ys = [3, -1, 2];
    const process = fitGaussianProcess(xs, ys);
    xs.forEach((x, i) => expect(process.predict(x).mean).toBeCloseTo(ys[i] as number, 1));
    expect(process.predict([0.4]).sd).toBeLessThan(process.predict([0.65]).sd);
  });

  it('scores expected improvement higher for a lower mean or a wider spread', () => {
    expect(expectedImprovement({ mean: 0, sd: 1 }, 0)).toBeCloseTo(1 / Math.sqrt(2 * Math.PI), 6);
    expect(expectedImprovement({ mean: -1, sd: 1 }, 0)).toBeGreaterThan(expectedImprovement({ mean: 1, sd: 1 }, 0));
    expect(expectedImprovement({ mean: 1, sd: 2 }, 0)).toBeGreaterThan(expectedImprovement({ mean: 1, sd: 0.5 }, 0));
  });
});

describe('early stopping (median rule)', () => {
  const previous = [[1.0, 0.8, 0.6], [1.2, 1.0, 0.9], [0.9, 0.7, 0.5]];

  it('stops a minimising job worse than the median running average of earlier jobs at the same epoch', () => {
    // Running averages at epoch 2: 0.9, 1.1, 0.8 → median 0.9.
    expect(shouldStopEarly({ objectiveType: 'Minimize', current: [1.0, 0.95], previous })).toBe(true);
    expect(shouldStopEarly({ objectiveType: 'Minimize', current: [1.0, 0.85], previous })).toBe(false);
  });

  it('stops a maximising job lower than the median', () => {
    expect(shouldStopEarly({ objectiveType: 'Maximize', current: [0.5], previous: [[0.6], [0.7], [0.9]] })).toBe(true);
    expect(shouldStopEarly({ objectiveType: 'Maximize', current: [0.8], previous: [[0.6], [0.7], [0.9]] })).toBe(false);
  });

  it('does not stop before any earlier job reached the epoch', () => {
    expect(shouldStopEarly({ objectiveType: 'Minimize', current: [9, 9, 9, 9], previous })).toBe(false);
    expect(shouldStopEarly({ objectiveType: 'Minimize', current: [], previous })).toBe(false);
  });
});
