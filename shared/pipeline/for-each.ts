import { InvalidConfigError } from '../errors';
import type { InnerStepSpec, PipelineConfig, StepSpec } from '../schemas/mlops-v2';
import { FOR_EACH_REF, MAX_FOR_EACH_ITEMS } from '../schemas/patterns';
import type { ForEachItemValue } from '../schemas/task-inputs';

/**
 * The ForEach step: a sub-graph of steps run once per item of a list (a Step Functions inline Map).
 * Its inner steps live in the ForEach's own `Steps`, with names unique across the pipeline; each
 * item runs them as job steps of their own (`<ForEach>-<index>-<inner step>`), writing under
 * `<ForEach>/<index>/<inner step>/` of the build's prefix. Pure helpers; the items are resolved by
 * shared/pipeline/evaluate-step.ts.
 */

/** Where a step sits: at the top level, or inside a ForEach. */
export interface PlacedStep {
  name: string;
  spec: StepSpec | InnerStepSpec;
  /** The ForEach whose Steps hold it; undefined at the top level. */
  forEach?: string;
}

/** Every step of the pipeline, top level first (in file order), then each ForEach's inner steps. Pure. */
export function everyStep(config: PipelineConfig): PlacedStep[] {
  const top = Object.entries(config.Steps).map(([name, spec]): PlacedStep => ({ name, spec }));
  const inner = Object.entries(config.Steps).flatMap(([forEach, spec]) =>
    spec.Type === 'ForEach' ? Object.entries(spec.Steps).map(([name, innerSpec]): PlacedStep => ({ name, spec: innerSpec, forEach })) : [],
  );
  return [...top, ...inner];
}

/**
 * Every step as `[field, spec]`, where `Steps.<field>` is its settings' path: `<name>` at the top
 * level, `<ForEach>.Steps.<name>` inside a ForEach. For checks that walk every step's fields. Pure.
 */
export function stepFields(config: PipelineConfig): [string, StepSpec | InnerStepSpec][] {
  return everyStep(config).map(({ name, spec, forEach }) => [forEach === undefined ? name : `${forEach}.Steps.${name}`, spec]);
}

/** The step named `name` (top level, or inside a ForEach), or undefined. Pure. */
export function findStep(config: PipelineConfig, name: string): PlacedStep | undefined {
  if (Object.hasOwn(config.Steps, name)) return { name, spec: config.Steps[name]! };
  for (const [forEach, spec] of Object.entries(config.Steps)) {
    if (spec.Type === 'ForEach' && Object.hasOwn(spec.Steps, name)) return { name, spec: spec.Steps[name]!, forEach };
  }
  return undefined;
}

/**
 * The step name a job of an inner step runs under for one item: `<ForEach>-<index>-<inner step>`
 * (its job name, tags and cache record); the step itself at the top level. Pure.
 */
export function itemStepName(step: string, item: Pick<ItemContext, 'forEach' | 'index'> | undefined): string {
  return item === undefined ? step : `${item.forEach}-${item.index}-${step}`;
}

/** The part of the build's prefix a step writes under: `<step>` or `<ForEach>/<index>/<inner step>`. Pure. */
export function itemStepPath(step: string, item: Pick<ItemContext, 'forEach' | 'index'> | undefined): string {
  return item === undefined ? step : `${item.forEach}/${item.index}/${step}`;
}

/** The item a task of an inner step runs (`StepTaskInput.item`). */
export interface ItemContext {
  forEach: string;
  index: number;
  value: ForEachItemValue;
}

/**
 * The value of `{Get: ForEach.Item}`, `ForEach.Item.<key>` or `ForEach.Index` for `item`, or
 * undefined when `ref` is none of those. Throws InvalidConfigError naming `field` when the step
 * runs outside a ForEach, or the item has no such key (or is not an object).
 */
export function itemReference(ref: string, item: ItemContext | undefined, field: string): string | number | boolean | undefined {
  const match = FOR_EACH_REF.exec(ref);
  if (!match) return undefined;
  if (!item) throw new InvalidConfigError(`${field}: ${ref} has a value only inside a ForEach's Steps`);
  const [, what, key] = match;
  if (what === 'Index') return item.index;
  if (key === undefined) {
    if (typeof item.value === 'object') throw new InvalidConfigError(`${field}: item ${item.index} of ForEach "${item.forEach}" is an object; read one of its fields with ForEach.Item.<key> (keys: ${Object.keys(item.value).join(', ')})`);
    return item.value;
  }
  if (typeof item.value !== 'object' || !Object.hasOwn(item.value, key)) {
    throw new InvalidConfigError(`${field}: item ${item.index} of ForEach "${item.forEach}" has no key "${key}" (item: ${JSON.stringify(item.value)})`);
  }
  return item.value[key]!;
}

const isScalar = (value: unknown): value is string | number | boolean => typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean';

/** Why `text` (a String parameter's value) is not a JSON list of items, or undefined. Pure. */
export function itemsProblem(text: string): string | undefined {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    return 'not a JSON list such as ["M","F"]';
  }
  try {
    checkItems(list, '', '');
    return undefined;
  } catch {
    return `which is not a list of 1 to ${MAX_FOR_EACH_ITEMS} items (strings, numbers, booleans or flat objects of those)`;
  }
}

/**
 * Checks a list resolved at run time as a ForEach's items: 1..200 items, each a scalar or a flat
 * object of scalars. Returns the items; throws InvalidConfigError naming `field`. Pure.
 */
export function checkItems(list: unknown, field: string, source: string): ForEachItemValue[] {
  if (!Array.isArray(list)) throw new InvalidConfigError(`${field}: ${source} is ${JSON.stringify(list)?.slice(0, 200)}, not a JSON list`);
  if (list.length < 1 || list.length > MAX_FOR_EACH_ITEMS) throw new InvalidConfigError(`${field}: ${source} holds ${list.length} items; a ForEach runs 1 to ${MAX_FOR_EACH_ITEMS}`);
  list.forEach((item: unknown, index) => {
    const flat = typeof item === 'object' && item !== null && !Array.isArray(item) && Object.values(item).every(isScalar);
    if (!isScalar(item) && !flat) throw new InvalidConfigError(`${field}: item ${index} of ${source} is ${JSON.stringify(item).slice(0, 200)}; an item is a string, number, boolean or a flat object of those`);
  });
  return list as ForEachItemValue[];
}

/**
 * History events one item costs, at most: the iteration's own (started, succeeded, its closing
 * Pass), and per inner step a task's entered, scheduled, started, submitted, succeeded and exited
 * events, doubled for retries and a RegisterModel's event state.
 */
const EVENTS_PER_ITEM = 4;
const EVENTS_PER_INNER_STEP = 12;
/** Step Functions keeps 25,000 events per execution; the rest of the run keeps this margin. */
export const FOR_EACH_HISTORY_BUDGET = 20_000;

/**
 * Why `items` items of a ForEach with `innerSteps` steps would not fit in one execution's history
 * (Step Functions' 25,000 events), or undefined when they fit. Pure.
 */
export function historyIssue(field: string, items: number, innerSteps: number): string | undefined {
  const events = items * (EVENTS_PER_ITEM + EVENTS_PER_INNER_STEP * innerSteps);
  if (events <= FOR_EACH_HISTORY_BUDGET) return undefined;
  return `${field}: ${items} items × ${innerSteps} steps would write up to ${events} history events; one run holds 25,000 (Step Functions), so a ForEach keeps to ${FOR_EACH_HISTORY_BUDGET}: fewer items or fewer steps per item`;
}

