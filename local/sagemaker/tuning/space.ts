import { HyperParameterScalingType } from '@aws-sdk/client-sagemaker';

import { validationError } from '../common';

/**
 * The search space of a tuning job: SageMaker's ParameterRanges validated and mapped onto the unit
 * cube, so every strategy samples (and the Gaussian process models) one coordinate in [0, 1] per
 * numeric range and one per categorical value (one-hot).
 *
 * Semantics from "Define hyperparameter ranges" (docs.aws.amazon.com/sagemaker/latest/dg/
 * automatic-model-tuning-define-ranges.html) and the ContinuousParameterRange /
 * IntegerParameterRange / ParameterRanges API pages:
 * - Logarithmic scaling works only for ranges whose values are all greater than 0.
 * - Reverse logarithmic scaling works only for ranges entirely within 0 <= x < 1.0, and only for
 *   continuous ranges (the guide says it is not supported for integer ranges).
 * - Auto: "SageMaker hyperparameter tuning chooses the best scale". AWS does not publish the
 *   rule; locally Auto means Logarithmic when the range is positive and spans at least two orders
 *   of magnitude (max/min >= 100, the guide's example being 0.0001–1.0), else Linear.
 * - The ranges of all three kinds together hold at most 30 hyperparameters; a categorical range
 *   holds 1–30 values.
 */

/** `HyperParameterTuningJobConfig.ParameterRanges`. */
export interface ParameterRangesInput {
  IntegerParameterRanges?: unknown;
  ContinuousParameterRanges?: unknown;
  CategoricalParameterRanges?: unknown;
}

/** The scale actually searched (Auto resolved). */
export type ResolvedScale = 'Linear' | 'Logarithmic' | 'ReverseLogarithmic';

/** A validated numeric range. */
export interface NumericDimension {
  kind: 'Integer' | 'Continuous';
  name: string;
  min: number;
  max: number;
  scale: ResolvedScale;
}

/** A validated categorical range. */
export interface CategoricalDimension {
  kind: 'Categorical';
  name: string;
  values: string[];
}

export type Dimension = NumericDimension | CategoricalDimension;

/** A hyperparameter set as SageMaker passes it to a training job: every value a string. */
export type HyperParameters = Record<string, string>;

/** The validated space; `width` is the number of unit coordinates a point has. */
export interface SearchSpace {
  dimensions: Dimension[];
  width: number;
}

/** At most this many hyperparameters across all ranges (ParameterRanges' array limits). */
export const MAX_HYPERPARAMETERS = 30;
/** At most this many values in one CategoricalParameterRange (CategoricalParameterRange.Values). */
export const MAX_CATEGORICAL_VALUES = 30;
/** Auto picks Logarithmic for a positive range whose max/min is at least this (two orders of magnitude). */
export const AUTO_LOG_RATIO = 100;

const FIELD = 'HyperParameterTuningJobConfig.ParameterRanges';

function rangeList(ranges: ParameterRangesInput, key: keyof ParameterRangesInput): Record<string, unknown>[] {
  const value = ranges[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw validationError(`Value at '${FIELD}.${key}' must be a list`);
  return value.map((entry, index) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw validationError(`Value at '${FIELD}.${key}[${index}]' must be a structure`);
    return entry as Record<string, unknown>;
  });
}

function requiredString(entry: Record<string, unknown>, field: string, path: string): string {
  const value = entry[field];
  if (typeof value !== 'string' || value.trim() === '') throw validationError(`Value at '${path}.${field}' failed to satisfy constraint: Member must not be null`);
  if (value.length > 256) throw validationError(`Value at '${path}.${field}' failed to satisfy constraint: Member must have length less than or equal to 256`);
  return value;
}

function parseNumber(text: string, kind: 'Integer' | 'Continuous', path: string): number {
  const value = Number(text);
  if (!Number.isFinite(value)) throw validationError(`The value '${text}' at '${path}' is not a valid ${kind === 'Integer' ? 'integer' : 'number'}.`);
  if (kind === 'Integer' && !Number.isInteger(value)) throw validationError(`The value '${text}' at '${path}' is not a valid integer.`);
  return value;
}

function resolveScale(kind: 'Integer' | 'Continuous', name: string, min: number, max: number, scaling: unknown, path: string): ResolvedScale {
  const requested = scaling ?? HyperParameterScalingType.AUTO;
  switch (requested) {
    case HyperParameterScalingType.AUTO:
      return min > 0 && max / min >= AUTO_LOG_RATIO ? HyperParameterScalingType.LOGARITHMIC : HyperParameterScalingType.LINEAR;
    case HyperParameterScalingType.LINEAR:
      return HyperParameterScalingType.LINEAR;
    case HyperParameterScalingType.LOGARITHMIC:
      if (min <= 0) throw validationError(`Logarithmic scaling works only for ranges that have only values greater than 0: hyperparameter '${name}' (${path}) has MinValue ${min}.`);
      return HyperParameterScalingType.LOGARITHMIC;
    case HyperParameterScalingType.REVERSE_LOGARITHMIC:
      if (kind === 'Integer') throw validationError(`Reverse logarithmic scaling is not supported for integer hyperparameter ranges: hyperparameter '${name}' (${path}.ScalingType).`);
      if (min < 0 || max >= 1) throw validationError(`Reverse logarithmic scaling works only for ranges that are entirely within the range 0<=x<1.0: hyperparameter '${name}' (${path}) has [${min}, ${max}].`);
      return HyperParameterScalingType.REVERSE_LOGARITHMIC;
    default:
      throw validationError(`Value '${String(requested)}' at '${path}.ScalingType' failed to satisfy constraint: Member must satisfy enum value set: [Auto, Linear, Logarithmic, ReverseLogarithmic]`);
  }
}

/**
 * Validates ParameterRanges and builds the space. Throws ValidationException naming the field
 * (bad bounds, MinValue > MaxValue, a log scale over non-positive values, duplicate names, too
 * many hyperparameters or categorical values). Pure.
 */
export function parseSearchSpace(ranges: unknown): SearchSpace {
  if (typeof ranges !== 'object' || ranges === null || Array.isArray(ranges)) throw validationError(`Value at '${FIELD}' failed to satisfy constraint: Member must not be null`);
  const input = ranges as ParameterRangesInput;
  const dimensions: Dimension[] = [];
  for (const [key, kind] of [['IntegerParameterRanges', 'Integer'], ['ContinuousParameterRanges', 'Continuous']] as const) {
    rangeList(input, key).forEach((entry, index) => {
      const path = `${FIELD}.${key}[${index}]`;
      const name = requiredString(entry, 'Name', path);
      const min = parseNumber(requiredString(entry, 'MinValue', path), kind, `${path}.MinValue`);
      const max = parseNumber(requiredString(entry, 'MaxValue', path), kind, `${path}.MaxValue`);
      if (min > max) throw validationError(`The MinValue ${min} of hyperparameter '${name}' (${path}) must be less than or equal to its MaxValue ${max}.`);
      dimensions.push({ kind, name, min, max, scale: resolveScale(kind, name, min, max, entry.ScalingType, path) });
    });
  }
  rangeList(input, 'CategoricalParameterRanges').forEach((entry, index) => {
    const path = `${FIELD}.CategoricalParameterRanges[${index}]`;
    const name = requiredString(entry, 'Name', path);
    const values = entry.Values;
    if (!Array.isArray(values) || values.length === 0) throw validationError(`Value at '${path}.Values' failed to satisfy constraint: Member must have length greater than or equal to 1`);
    if (values.length > MAX_CATEGORICAL_VALUES) throw validationError(`Value at '${path}.Values' failed to satisfy constraint: Member must have length less than or equal to ${MAX_CATEGORICAL_VALUES}`);
    values.forEach((value, valueIndex) => {
      if (typeof value !== 'string') throw validationError(`Value at '${path}.Values[${valueIndex}]' must be a string`);
    });
    if (new Set(values).size !== values.length) throw validationError(`The values of categorical hyperparameter '${name}' (${path}.Values) must be unique.`);
    dimensions.push({ kind: 'Categorical', name, values: values as string[] });
  });
  if (dimensions.length === 0) throw validationError(`${FIELD} must contain at least one IntegerParameterRanges, ContinuousParameterRanges or CategoricalParameterRanges entry.`);
  if (dimensions.length > MAX_HYPERPARAMETERS) throw validationError(`${FIELD} holds ${dimensions.length} hyperparameters; the sum of all ranges can't exceed ${MAX_HYPERPARAMETERS}.`);
  const seen = new Set<string>();
  for (const dimension of dimensions) {
    if (seen.has(dimension.name)) throw validationError(`Hyperparameter '${dimension.name}' appears in more than one range of ${FIELD}; each name may be tuned once.`);
    seen.add(dimension.name);
  }
  const width = dimensions.reduce((sum, d) => sum + (d.kind === 'Categorical' ? d.values.length : 1), 0);
  return { dimensions, width };
}

/** The number of distinct points, or Infinity when a continuous range makes it unbounded. */
export function countCombinations(space: SearchSpace): number {
  return space.dimensions.reduce((product, d) => {
    if (d.kind === 'Categorical') return product * d.values.length;
    if (d.kind === 'Integer') return product * (d.max - d.min + 1);
    return d.min === d.max ? product : Infinity;
  }, 1);
}

/** Maps u in [0, 1] to a value of [lo, hi] on the given scale (u = 0 → lo, u = 1 → hi). */
function fromUnit(u: number, lo: number, hi: number, scale: ResolvedScale): number {
  if (scale === 'Logarithmic') return Math.exp(Math.log(lo) + u * (Math.log(hi) - Math.log(lo)));
  // Reverse log: log-uniform in the distance to 1, dense near 1 where the guide says it matters.
  if (scale === 'ReverseLogarithmic') return 1 - Math.exp(Math.log(1 - lo) + u * (Math.log(1 - hi) - Math.log(1 - lo)));
  return lo + u * (hi - lo);
}

/** The inverse of fromUnit. */
function toUnit(value: number, lo: number, hi: number, scale: ResolvedScale): number {
  if (hi === lo) return 0.5;
  if (scale === 'Logarithmic') return (Math.log(value) - Math.log(lo)) / (Math.log(hi) - Math.log(lo));
  if (scale === 'ReverseLogarithmic') return (Math.log(1 - value) - Math.log(1 - lo)) / (Math.log(1 - hi) - Math.log(1 - lo));
  return (value - lo) / (hi - lo);
}

// Integers are searched on [min - 0.5, max + 0.5] then rounded, so every integer of the range gets
// an equal share of the (scaled) interval; on a log scale min >= 1, so min - 0.5 stays positive.
function integerBounds(d: NumericDimension): [number, number] {
  return [d.min - 0.5, d.max + 0.5];
}

/** The value a numeric dimension takes at unit coordinate u (integers rounded and kept within bounds). */
export function numericValue(d: NumericDimension, u: number): number {
  const clamped = Math.min(1, Math.max(0, u));
  if (d.kind === 'Continuous') return Math.min(d.max, Math.max(d.min, fromUnit(clamped, d.min, d.max, d.scale)));
  const [lo, hi] = integerBounds(d);
  return Math.min(d.max, Math.max(d.min, Math.round(fromUnit(clamped, lo, hi, d.scale))));
}

/** The unit coordinate of a numeric value (the centre of its share for an integer). */
export function numericUnit(d: NumericDimension, value: number): number {
  if (d.kind === 'Continuous') return toUnit(value, d.min, d.max, d.scale);
  const [lo, hi] = integerBounds(d);
  return toUnit(value, lo, hi, d.scale);
}

/** Formats a value as SageMaker passes hyperparameters: a string. */
function formatValue(d: Dimension, value: number | string): string {
  return typeof value === 'string' ? value : d.kind === 'Integer' ? String(Math.round(value)) : String(value);
}

/** A point of the space from one uniform draw per dimension: u[i] in [0, 1) for dimension i. */
export function pointFromUniforms(space: SearchSpace, uniforms: number[]): HyperParameters {
  const point: HyperParameters = {};
  space.dimensions.forEach((d, i) => {
    const u = uniforms[i] ?? 0;
    point[d.name] = d.kind === 'Categorical' ? d.values[Math.min(d.values.length - 1, Math.floor(u * d.values.length))] ?? d.values[0] ?? '' : formatValue(d, numericValue(d, u));
  });
  return point;
}

/** The unit-cube coordinates of pointFromUniforms(space, uniforms) without formatting it (integers snapped, categoricals one-hot). */
export function encodeUniforms(space: SearchSpace, uniforms: number[]): number[] {
  const coordinates: number[] = [];
  space.dimensions.forEach((d, i) => {
    const u = Math.min(1, Math.max(0, uniforms[i] ?? 0));
    if (d.kind === 'Categorical') {
      const index = Math.min(d.values.length - 1, Math.floor(u * d.values.length));
      d.values.forEach((_, j) => coordinates.push(j === index ? 1 : 0));
    } else {
      coordinates.push(d.kind === 'Integer' ? Math.min(1, Math.max(0, numericUnit(d, numericValue(d, u)))) : u);
    }
  });
  return coordinates;
}

/** The point's coordinates in the unit cube (`space.width` of them; categoricals one-hot). Throws if a value is missing or outside its range. */
export function encodePoint(space: SearchSpace, point: HyperParameters): number[] {
  const coordinates: number[] = [];
  for (const d of space.dimensions) {
    const text = point[d.name];
    if (text === undefined) throw new Error(`hyperparameter '${d.name}' is missing from the trial`);
    if (d.kind === 'Categorical') {
      const index = d.values.indexOf(text);
      if (index < 0) throw new Error(`hyperparameter '${d.name}' has '${text}', not one of its values`);
      d.values.forEach((_, i) => coordinates.push(i === index ? 1 : 0));
    } else {
      coordinates.push(Math.min(1, Math.max(0, numericUnit(d, Number(text)))));
    }
  }
  return coordinates;
}

/** A canonical key of a point, to recognise a combination already tried. */
export function pointKey(space: SearchSpace, point: HyperParameters): string {
  return JSON.stringify(space.dimensions.map((d) => point[d.name] ?? null));
}
