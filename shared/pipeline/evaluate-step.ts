import { InvalidConfigError } from '../errors';
import type { ForEachStep } from '../schemas/mlops-v2';
import { isGet } from '../schemas/patterns';
import type { ConditionResult, FailResult, ForEachItemValue, ForEachResult, StepTaskInput } from '../schemas/task-inputs';
import { checkItems, historyIssue } from './for-each';
import { loadPipeline, stepOf, valueContext } from './stored-pipeline';
import { evaluateCondition, jsonGetValue, resolveText, type ValueContext } from './values';

/**
 * The steps that run no job: a Condition is evaluated (its outcome chooses the branch in the
 * state machine's Choice), a Fail step's message is built (its Fail state ends the run with it),
 * a ForEach's items are resolved (its Map state runs over them). They read parameters, report
 * values and step properties of the run.
 */

/**
 * The items a ForEach runs over in this run: its literal list, the JSON list a String parameter
 * holds, or the JSON list a step's report holds (Std:JsonGet). Throws InvalidConfigError naming
 * `Steps.<forEach>.Items` when the value is not a list of 1..200 items, MetricNotFoundError when
 * the report or the path is missing, RetryableError on throttling. Read-only.
 */
export async function resolveForEachItems(name: string, spec: ForEachStep, ctx: ValueContext): Promise<ForEachItemValue[]> {
  const field = `Steps.${name}.Items`;
  const items = spec.Items;
  if (Array.isArray(items)) return checkItems(items, field, 'the list');
  if (isGet(items)) {
    const parameter = items.Get.startsWith('Parameters.') ? items.Get.slice('Parameters.'.length) : undefined;
    if (parameter === undefined || !Object.hasOwn(ctx.parameters, parameter)) throw new InvalidConfigError(`${field}: ${items.Get} has no value in this run`);
    const text = ctx.parameters[parameter]!;
    let parsed: unknown;
    try {
      parsed = typeof text === 'string' ? JSON.parse(text) : text;
    } catch {
      throw new InvalidConfigError(`${field}: parameter ${parameter} is ${JSON.stringify(text).slice(0, 200)}, not a JSON list such as ["M","F"]`);
    }
    return checkItems(parsed, field, `parameter ${parameter}`);
  }
  const { value, uri } = await jsonGetValue(items, ctx, field);
  return checkItems(value, field, `${items['Std:JsonGet'].Path} in ${uri}`);
}

/**
 * Evaluates a Condition step, builds a Fail step's error and message, or resolves a ForEach's
 * items (a ForEach carried over from an earlier run returns that run's whole result, so the Map
 * is skipped). Throws InvalidConfigError or MetricNotFoundError naming the field when a value
 * cannot be resolved, RetryableError on throttling. Read-only, so idempotent.
 */
export async function evaluateStep(input: StepTaskInput): Promise<ConditionResult | FailResult | ForEachResult> {
  const carried = Object.hasOwn(input.reuse, input.step) ? input.reuse[input.step] : undefined;
  if (carried?.Type === 'ForEach') return carried;
  const pipeline = await loadPipeline(input.build.pipelineUri);
  const spec = stepOf(pipeline, input.step, ['Condition', 'Fail', 'ForEach'] as const);
  const ctx = valueContext(pipeline, input);
  if (spec.Type === 'ForEach') {
    const items = await resolveForEachItems(input.step, spec, ctx);
    const tooMany = historyIssue(`Steps.${input.step}.Items`, items.length, Object.keys(spec.Steps).length);
    if (tooMany) throw new InvalidConfigError(tooMany);
    return { Type: 'ForEach', Items: items, CachedFrom: null, ReusedFrom: null };
  }
  if (spec.Type === 'Fail') {
    return { Type: 'Fail', Error: spec.Error, Cause: await resolveText(spec.ErrorMessage, ctx, `Steps.${input.step}.ErrorMessage`) };
  }
  const { outcome, values } = await evaluateCondition(spec.Condition, ctx, `Steps.${input.step}.Condition`);
  return { Type: 'Condition', Outcome: outcome, Values: values };
}
