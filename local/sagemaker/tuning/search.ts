import { HyperParameterTuningJobObjectiveType, HyperParameterTuningJobStrategyType, TrainingJobEarlyStoppingType } from '@aws-sdk/client-sagemaker';

import { validationError } from '../common';
import { expectedImprovement, fitGaussianProcess } from './gaussian-process';
import { createRandom, hashSeed, type Random } from './random';
import {
  countCombinations,
  type Dimension,
  encodePoint,
  encodeUniforms,
  type HyperParameters,
  numericUnit,
  parseSearchSpace,
  pointFromUniforms,
  pointKey,
  type SearchSpace,
} from './space';

/**
 * The hyperparameter search of a local tuning job (on AWS, SageMaker runs it): from
 * HyperParameterTuningJobConfig, `next(history)` proposes the next training job's
 * hyperparameters, as strings, given every trial launched so far and the objective values of
 * those that finished.
 *
 * Strategies, as "Understand the hyperparameter tuning strategies available in Amazon SageMaker AI"
 * (docs.aws.amazon.com/sagemaker/latest/dg/automatic-model-tuning-how-it-works.html) describes them:
 * - Grid: only categorical ranges; every combination once, so the number of training jobs is the
 *   number of distinct combinations (MaxNumberOfTrainingJobs may be omitted, and if given must equal
 *   it). Locally the order is fixed: ranges in the order given, the last one varying fastest.
 * - Random: each hyperparameter drawn uniformly on its (scaled) range, independently of results.
 * - Bayesian: treats the search as a regression problem — here a Gaussian process (Matérn 5/2)
 *   fitted to the finished trials, the next point the candidate of highest expected improvement;
 *   the first few trials are random, and trials still running count as "constant liars" (the best
 *   value so far) so parallel proposals spread out.
 * - Hyperband: refused locally (it needs per-epoch early stopping inside the training container).
 * RandomSeed: the same seed gives the same trials. `next` is a pure function of the config and the
 * history (trial i draws from a stream seeded by (seed, i)), so re-deriving a proposal after a
 * restart or a redelivered event yields the same hyperparameters.
 */

/** One trial of the tuning job as the search sees it. */
export interface TrialRecord {
  hyperParameters: HyperParameters;
  /** The final objective value; absent while the training job runs, or when it failed or had no metric. */
  objective?: number;
  /** True when the training job failed or was stopped without an objective: it is not modelled, and not waited for. */
  failed?: boolean;
}

/** The search strategies the local runtime runs. */
export type LocalStrategy = 'Bayesian' | 'Random' | 'Grid';

/** A validated search, ready to propose trials. */
export interface TuningSearch {
  strategy: LocalStrategy;
  space: SearchSpace;
  /** How many training jobs the tuning job launches in all (Grid: the grid's size). */
  maxNumberOfTrainingJobs: number;
  maxParallelTrainingJobs: number;
  objectiveType: 'Minimize' | 'Maximize';
  /** TrainingJobEarlyStoppingType (default Off); with Auto the runner applies shouldStopEarly. */
  earlyStopping: 'Off' | 'Auto';
  seed: number;
  /** The next hyperparameters, or undefined once `history` holds maxNumberOfTrainingJobs trials. Pure. */
  next(history: readonly TrialRecord[]): HyperParameters | undefined;
}

/** The local runtime's cap on a Grid search's size (SageMaker's own per-job training-job quota is an account setting). */
export const MAX_GRID_TRAINING_JOBS = 500;
/** Candidates scored by expected improvement per Bayesian proposal. */
const GLOBAL_CANDIDATES = 768;
const LOCAL_CANDIDATES = 256;

const CONFIG = 'HyperParameterTuningJobConfig';

function positiveInteger(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw validationError(`Value '${String(value)}' at '${path}' failed to satisfy constraint: Member must have value greater than or equal to 1`);
  }
  return value;
}

function parseStrategy(value: unknown): LocalStrategy {
  switch (value) {
    case HyperParameterTuningJobStrategyType.BAYESIAN:
    case HyperParameterTuningJobStrategyType.RANDOM:
    case HyperParameterTuningJobStrategyType.GRID:
      return value;
    case HyperParameterTuningJobStrategyType.HYPERBAND:
      throw validationError(`${CONFIG}.Strategy 'Hyperband' is not supported by the local runtime; use Bayesian, Random or Grid (Hyperband runs on AWS).`);
    case undefined:
    case null:
      throw validationError(`Value at '${CONFIG}.Strategy' failed to satisfy constraint: Member must not be null`);
    default:
      throw validationError(`Value '${String(value)}' at '${CONFIG}.Strategy' failed to satisfy constraint: Member must satisfy enum value set: [Bayesian, Random, Hyperband, Grid]`);
  }
}

function record(value: unknown, path: string, required: boolean): Record<string, unknown> | undefined {
  if (value === undefined || value === null) {
    if (required) throw validationError(`Value at '${path}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw validationError(`Value at '${path}' must be a structure`);
  return value as Record<string, unknown>;
}

/** The values of a discrete dimension, in order. */
function discreteValues(d: Dimension): string[] {
  if (d.kind === 'Categorical') return d.values;
  if (d.kind === 'Integer') return Array.from({ length: d.max - d.min + 1 }, (_, i) => String(d.min + i));
  return [String(d.min)];
}

/** The `index`-th combination of a discrete space (mixed radix, last dimension fastest). */
function combination(space: SearchSpace, index: number): HyperParameters {
  const point: HyperParameters = {};
  let rest = index;
  for (let i = space.dimensions.length - 1; i >= 0; i -= 1) {
    const d = space.dimensions[i] as Dimension;
    const values = discreteValues(d);
    point[d.name] = values[rest % values.length] as string;
    rest = Math.floor(rest / values.length);
  }
  return point;
}

function uniformPoint(space: SearchSpace, random: Random): HyperParameters {
  return pointFromUniforms(space, space.dimensions.map(() => random.next()));
}

/** A point not yet tried: random draws first, then (a finite space nearly exhausted) the first untried combination in order. */
function freshRandomPoint(space: SearchSpace, random: Random, tried: Set<string>, combinations: number): HyperParameters {
  for (let attempt = 0; attempt < 64; attempt += 1) {
    const point = uniformPoint(space, random);
    if (!tried.has(pointKey(space, point))) return point;
  }
  if (Number.isFinite(combinations)) {
    for (let i = 0; i < combinations; i += 1) {
      const point = combination(space, i);
      if (!tried.has(pointKey(space, point))) return point;
    }
  }
  return uniformPoint(space, random);
}

/** The unit coordinate per dimension (not one-hot) of a point, to perturb around it. */
function uniformsOf(space: SearchSpace, point: HyperParameters): number[] {
  return space.dimensions.map((d) => {
    const text = point[d.name] ?? '';
    if (d.kind === 'Categorical') return (Math.max(0, d.values.indexOf(text)) + 0.5) / d.values.length;
    return Math.min(1, Math.max(0, numericUnit(d, Number(text))));
  });
}

function clampUnit(u: number): number {
  return Math.min(1 - 1e-9, Math.max(0, u));
}

function bayesianPoint(search: TuningSearch, history: readonly TrialRecord[], random: Random, tried: Set<string>, combinations: number): HyperParameters {
  const { space } = search;
  const sign = search.objectiveType === HyperParameterTuningJobObjectiveType.MAXIMIZE ? -1 : 1;
  const done = history.filter((t) => typeof t.objective === 'number' && Number.isFinite(t.objective));
  const initial = Math.max(3, Math.min(10, space.dimensions.length + 1));
  if (done.length < initial) return freshRandomPoint(space, random, tried, combinations);

  const xs = done.map((t) => encodePoint(space, t.hyperParameters));
  const ys = done.map((t) => sign * (t.objective as number));
  const best = Math.min(...ys);
  const bestTrial = done[ys.indexOf(best)] as TrialRecord;
  // Constant liar: a running trial is assumed to score the best value so far, which flattens
  // expected improvement around it so parallel proposals do not pile onto one spot.
  for (const pending of history) {
    if (pending.objective === undefined && !pending.failed) {
      xs.push(encodePoint(space, pending.hyperParameters));
      ys.push(best);
    }
  }
  const process = fitGaussianProcess(xs, ys);
  const spread = Math.max(...ys) - best;
  const xi = 0.01 * (spread > 0 ? spread : 1);

  const centre = uniformsOf(space, bestTrial.hyperParameters);
  // Candidates stay unit coordinates until one is chosen: formatting every one as strings would
  // dominate the cost. Only a finite space can repeat a combination, so only there is each checked.
  const finite = Number.isFinite(combinations);
  const candidates: number[][] = [];
  for (let i = 0; i < GLOBAL_CANDIDATES; i += 1) candidates.push(space.dimensions.map(() => random.next()));
  for (let i = 0; i < LOCAL_CANDIDATES; i += 1) {
    const width = i % 2 === 0 ? 0.1 : 0.02;
    candidates.push(space.dimensions.map((d, j) => {
      if (d.kind === 'Categorical') return random.next() < 0.2 ? random.next() : (centre[j] as number);
      return clampUnit((centre[j] as number) + width * random.normal());
    }));
  }
  let chosen: HyperParameters | undefined;
  let chosenScore = -Infinity;
  for (const uniforms of candidates) {
    if (finite && tried.has(pointKey(space, pointFromUniforms(space, uniforms)))) continue;
    const score = expectedImprovement(process.predict(encodeUniforms(space, uniforms)), best, xi);
    if (score > chosenScore) {
      const point = pointFromUniforms(space, uniforms);
      if (finite || !tried.has(pointKey(space, point))) {
        chosen = point;
        chosenScore = score;
      }
    }
  }
  return chosen ?? freshRandomPoint(space, random, tried, combinations);
}

/** Options the caller supplies besides the API's config. */
export interface TuningSearchOptions {
  /**
   * ParameterRanges when the job gives them per training job definition
   * (HyperParameterTrainingJobDefinition.HyperParameterRanges); default: the config's ParameterRanges.
   */
  parameterRanges?: unknown;
  /** The seed when the config has no RandomSeed (e.g. the tuning job's name), so a job is reproducible either way. */
  defaultSeed?: string | number;
}

/**
 * Validates a HyperParameterTuningJobConfig (Strategy, ResourceLimits, HyperParameterTuningJobObjective,
 * ParameterRanges, RandomSeed) and returns its search. Throws ValidationException naming the field:
 * Hyperband or an unknown strategy, Grid with non-categorical ranges or a MaxNumberOfTrainingJobs
 * other than the grid size, a grid over MAX_GRID_TRAINING_JOBS, a Random/Bayesian search without
 * MaxNumberOfTrainingJobs or with fewer combinations than it, Bayesian without an objective Type,
 * and every range error of parseSearchSpace. Pure.
 */
export function createTuningSearch(config: unknown, options: TuningSearchOptions = {}): TuningSearch {
  const input = record(config, CONFIG, true) as Record<string, unknown>;
  const strategy = parseStrategy(input.Strategy);
  const limits = record(input.ResourceLimits, `${CONFIG}.ResourceLimits`, true) as Record<string, unknown>;
  const maxParallelTrainingJobs = positiveInteger(limits.MaxParallelTrainingJobs, `${CONFIG}.ResourceLimits.MaxParallelTrainingJobs`);
  const objective = record(input.HyperParameterTuningJobObjective, `${CONFIG}.HyperParameterTuningJobObjective`, false);
  const type = objective?.Type;
  if (type !== undefined && type !== HyperParameterTuningJobObjectiveType.MINIMIZE && type !== HyperParameterTuningJobObjectiveType.MAXIMIZE) {
    throw validationError(`Value '${String(type)}' at '${CONFIG}.HyperParameterTuningJobObjective.Type' failed to satisfy constraint: Member must satisfy enum value set: [Maximize, Minimize]`);
  }
  if (type === undefined && strategy === HyperParameterTuningJobStrategyType.BAYESIAN) {
    throw validationError(`Value at '${CONFIG}.HyperParameterTuningJobObjective.Type' failed to satisfy constraint: Member must not be null (the Bayesian strategy needs to know whether to Minimize or Maximize)`);
  }
  const objectiveType = type ?? HyperParameterTuningJobObjectiveType.MINIMIZE;
  const earlyStopping = input.TrainingJobEarlyStoppingType ?? TrainingJobEarlyStoppingType.OFF;
  if (earlyStopping !== TrainingJobEarlyStoppingType.OFF && earlyStopping !== TrainingJobEarlyStoppingType.AUTO) {
    throw validationError(`Value '${String(earlyStopping)}' at '${CONFIG}.TrainingJobEarlyStoppingType' failed to satisfy constraint: Member must satisfy enum value set: [Off, Auto]`);
  }
  const seedValue = input.RandomSeed;
  if (seedValue !== undefined && seedValue !== null && (typeof seedValue !== 'number' || !Number.isInteger(seedValue))) {
    throw validationError(`Value '${String(seedValue)}' at '${CONFIG}.RandomSeed' must be an integer`);
  }
  const seed = hashSeed('RandomSeed', typeof seedValue === 'number' ? seedValue : `default:${String(options.defaultSeed ?? 0)}`);
  const space = parseSearchSpace(options.parameterRanges ?? input.ParameterRanges);
  const combinations = countCombinations(space);
  const requested = limits.MaxNumberOfTrainingJobs;

  let maxNumberOfTrainingJobs: number;
  if (strategy === HyperParameterTuningJobStrategyType.GRID) {
    const numeric = space.dimensions.find((d) => d.kind !== 'Categorical');
    if (numeric) throw validationError(`The Grid strategy supports only categorical hyperparameters; '${numeric.name}' is an ${numeric.kind}ParameterRange (${CONFIG}.ParameterRanges). Use CategoricalParameterRanges or another Strategy.`);
    if (combinations > MAX_GRID_TRAINING_JOBS) throw validationError(`The Grid strategy would launch ${combinations} training jobs (every combination of ${CONFIG}.ParameterRanges); the local runtime allows at most ${MAX_GRID_TRAINING_JOBS}.`);
    if (requested !== undefined && requested !== null && requested !== combinations) {
      throw validationError(`For the Grid strategy, ${CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs must equal the number of distinct categorical combinations (${combinations}), or be omitted; it is ${String(requested)}.`);
    }
    maxNumberOfTrainingJobs = combinations;
  } else {
    if (requested === undefined || requested === null) throw validationError(`Value at '${CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs' failed to satisfy constraint: Member must not be null (required for the ${strategy} strategy)`);
    maxNumberOfTrainingJobs = positiveInteger(requested, `${CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs`);
    if (combinations < maxNumberOfTrainingJobs) {
      // SageMaker's own wording for this case.
      throw validationError(`You don't have enough combinations of hyperparameter ranges. The total number of hyperparameter combinations for the provided ranges [${combinations.toFixed(1)}] must be equal or greater than the value of MaxNumberOfJobs, [${maxNumberOfTrainingJobs}]. Provide additional ranges.`);
    }
  }

  const search: TuningSearch = {
    strategy,
    space,
    maxNumberOfTrainingJobs,
    maxParallelTrainingJobs,
    objectiveType,
    earlyStopping,
    seed,
    next: (history) => {
      const index = history.length;
      if (index >= maxNumberOfTrainingJobs) return undefined;
      if (strategy === HyperParameterTuningJobStrategyType.GRID) return combination(space, index);
      const random = createRandom(hashSeed(seed, 'trial', index));
      const tried = new Set(history.map((t) => pointKey(space, t.hyperParameters)));
      if (strategy === HyperParameterTuningJobStrategyType.RANDOM) return freshRandomPoint(space, random, tried, combinations);
      return bayesianPoint(search, history, random, tried, combinations);
    },
  };
  return search;
}

/** The finished trial with the best objective (ties: the earliest), or undefined if none finished. */
export function bestTrial<T extends TrialRecord>(history: readonly T[], objectiveType: 'Minimize' | 'Maximize'): T | undefined {
  let best: T | undefined;
  for (const trial of history) {
    if (typeof trial.objective !== 'number' || !Number.isFinite(trial.objective)) continue;
    if (!best || (objectiveType === HyperParameterTuningJobObjectiveType.MAXIMIZE ? trial.objective > (best.objective as number) : trial.objective < (best.objective as number))) best = trial;
  }
  return best;
}
