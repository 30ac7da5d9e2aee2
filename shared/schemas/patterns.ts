import type { GetExpression, JoinExpression, JsonGetExpression } from './pipeline-values';

/**
 * The text patterns mlops.yaml's schemas check, as plain regular expressions: the functions that
 * only read an already validated pipeline (start-job, register-model, …) use these without
 * building the schemas. Pure.
 */

/** The file a model repository holds at its root. */
export const CONFIG_FILE = 'mlops.yaml';

/** `<step>/<output>` (a processing output) or `<training step>/model` (its model artifacts). */
export const FROM_REF = /^([A-Za-z][A-Za-z0-9_-]{0,47})\/([a-zA-Z0-9_-]{1,64})$/;

/** `<ForEach step>/<inner step>/<output>`: that output of every item of the ForEach (a Processing step's Inputs only). */
export const FOR_EACH_FROM_REF = /^([A-Za-z][A-Za-z0-9_-]{0,47})\/([A-Za-z][A-Za-z0-9_-]{0,47})\/([a-zA-Z0-9_-]{1,64})$/;

/** A key of an object item of a ForEach list. */
export const FOR_EACH_ITEM_KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** `ForEach.Item`, `ForEach.Item.<key>` or `ForEach.Index`: the current item of the ForEach around a step. */
export const FOR_EACH_REF = /^ForEach\.(Index|Item)(?:\.([A-Za-z][A-Za-z0-9_]{0,63}))?$/;

/** The most items one ForEach runs (its Map state's iterations). */
export const MAX_FOR_EACH_ITEMS = 200;

/** ISO-8601 duration (weeks, days, hours, minutes, seconds), e.g. P30D, PT12H, P1DT6H. */
export const ISO_DURATION = /^P(?!$)(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/i;

/** A dataset key under the stage bucket's `datasets/` prefix. */
export const DATASET_KEY = /^[a-zA-Z0-9][a-zA-Z0-9._/-]{0,255}$/;

/** Why `key` is not a dataset key that stays under `datasets/`, or undefined. */
export function datasetKeyProblem(key: string): string | undefined {
  if (!DATASET_KEY.test(key)) return "must be a relative key under the stage bucket's datasets/ prefix";
  if (key.split('/').includes('..')) return 'must not contain ".."';
  return undefined;
}

/** True for `{Get: …}`. */
export function isGet(value: unknown): value is GetExpression {
  return typeof value === 'object' && value !== null && 'Get' in value;
}

/** True for `{Std:JsonGet: …}`. */
export function isJsonGet(value: unknown): value is JsonGetExpression {
  return typeof value === 'object' && value !== null && 'Std:JsonGet' in value;
}

/** True for `{Std:Join: …}`. */
export function isJoin(value: unknown): value is JoinExpression {
  return typeof value === 'object' && value !== null && 'Std:Join' in value;
}
