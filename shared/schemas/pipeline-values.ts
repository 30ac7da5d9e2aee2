import { FOR_EACH_REF } from './patterns';
import * as z from './zod';

/**
 * Values and conditions of mlops.yaml Version 2, in the vocabulary of SageMaker Pipelines'
 * definition JSON: `{Get: Parameters.<name>}`, `{Get: Steps.<step>.<property>}`,
 * `{Std:JsonGet: {PropertyFile: {Get: Steps.<step>.PropertyFiles.<name>}, Path: <path>}}` and
 * `{Std:Join: {On: <separator>, Values: [...]}}`. What a reference may name (which parameter, which
 * step property) is checked against the pipeline by shared/pipeline/graph.ts; how a value is
 * resolved at run time is shared/pipeline/values.ts.
 */

export const PARAMETER_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/** Step names: letters, digits, `_` and `-`; they name states, jobs and S3 prefixes. */
export const STEP_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,47}$/;

const PARAMETER_REF = /^Parameters\.[A-Za-z][A-Za-z0-9_]{0,63}$/;

const STEP_REF = /^Steps\.[A-Za-z][A-Za-z0-9_-]{0,47}\.[A-Za-z].*$/;
const PROPERTY_FILE_REF = /^Steps\.[A-Za-z][A-Za-z0-9_-]{0,47}\.PropertyFiles\.[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** A path into a JSON report: dotted names and [index] / ['key'] selectors, e.g. regression_metrics.mse.value. */
const JSON_PATH = /^[A-Za-z0-9_-]+(\[\d+\]|\['[^']+'\])*(\.[A-Za-z0-9_-]+(\[\d+\]|\['[^']+'\])*)*$/;

/** `{Get: Parameters.<name>}`, `{Get: Steps.<step>.<property>}`, or (inside a ForEach) `{Get: ForEach.Item}` / `ForEach.Item.<key>` / `ForEach.Index`. */
export const getSchema = z.lazy(() =>
  z.strictObject({
    Get: z.string().check(
      z.refine(
        (text) => PARAMETER_REF.test(text) || STEP_REF.test(text) || (FOR_EACH_REF.test(text) && !text.startsWith('ForEach.Index.')),
        'must be "Parameters.<name>", "Steps.<step>.<property>", or inside a ForEach "ForEach.Item", "ForEach.Item.<key>" or "ForEach.Index"',
      ),
    ),
  }),
);

/** `{Get: Steps.<step>.PropertyFiles.<name>}`: a JSON report a processing step writes. */
export const propertyFileRefSchema = z.lazy(() =>
  z.strictObject({
    Get: z.string().check(z.regex(PROPERTY_FILE_REF, 'must be "Steps.<step>.PropertyFiles.<name>"')),
  }),
);

/** `{Std:JsonGet: {PropertyFile, Path}}`: a value read from a step's JSON report (SageMaker's JsonGet). */
export const jsonGetSchema = z.lazy(() =>
  z.strictObject({
    'Std:JsonGet': z.strictObject({
      PropertyFile: propertyFileRefSchema,
      Path: z.string().check(z.regex(JSON_PATH, 'must be a path such as regression_metrics.mse.value')),
    }),
  }),
);

export type GetExpression = z.infer<typeof getSchema>;
export type JsonGetExpression = z.infer<typeof jsonGetSchema>;
export interface JoinExpression {
  'Std:Join': { On: string; Values: Value[] };
}
/** A literal or an expression resolved at run time. */
export type Value = string | number | boolean | GetExpression | JsonGetExpression | JoinExpression;

/** `{Std:Join: {On, Values}}`: the values as text, separated by `On`. */
export const joinSchema: z.ZodMiniType<JoinExpression> = z.lazy(
  () =>
    z.strictObject({
      'Std:Join': z.strictObject({
        On: z._default(z.string().check(z.maxLength(64)), ''),
        get Values(): z.ZodMiniArray<z.ZodMiniType<Value>> {
          return z.array(valueSchema).check(z.minLength(1), z.maxLength(64));
        },
      }),
    }) as z.ZodMiniType<JoinExpression>,
);

const expressions = [getSchema, jsonGetSchema, joinSchema] as const;

/** Any value: a literal string, number or boolean, or an expression. */
export const valueSchema: z.ZodMiniType<Value> = z.lazy(() => z.union([z.string().check(z.maxLength(4096)), z.number(), z.boolean(), ...expressions]));

/** A text field: a literal (with the field's own checks) or an expression. */
export function textField(literal: z.ZodMiniType<string> = z.string()): z.ZodMiniType<string | GetExpression | JsonGetExpression | JoinExpression> {
  return z.union([literal, ...expressions]);
}

/** An integer field: a literal within bounds, or a reference whose value must be an integer at run time. */
export function integerField(min: number, max: number): z.ZodMiniType<number | GetExpression | JsonGetExpression> {
  return z.union([z.int().check(z.gte(min), z.lte(max)), getSchema, jsonGetSchema]);
}

export const COMPARISON_OPERATORS = ['==', '!=', '<', '<=', '>', '>='] as const;
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];

export type Condition =
  | { Left: Value; Operator: ComparisonOperator; Right: Value }
  | { In: { Value: Value; Values: Value[] } }
  | { Not: Condition }
  | { And: Condition[] }
  | { Or: Condition[] };

/** A Condition step's test: comparisons, In, Not, And, Or over parameters, report values and step properties. */
export const conditionSchema: z.ZodMiniType<Condition> = z.lazy(() => z.union([
  z.strictObject({ Left: valueSchema, Operator: z.enum(COMPARISON_OPERATORS), Right: valueSchema }),
  z.strictObject({ In: z.strictObject({ Value: valueSchema, Values: z.array(valueSchema).check(z.minLength(1), z.maxLength(100)) }) }),
  z.strictObject({
    get Not(): z.ZodMiniType<Condition> {
      return conditionSchema;
    },
  }),
  z.strictObject({
    get And(): z.ZodMiniArray<z.ZodMiniType<Condition>> {
      return z.array(conditionSchema).check(z.minLength(1), z.maxLength(20));
    },
  }),
  z.strictObject({
    get Or(): z.ZodMiniArray<z.ZodMiniType<Condition>> {
      return z.array(conditionSchema).check(z.minLength(1), z.maxLength(20));
    },
  }),
]) as z.ZodMiniType<Condition>);
