import { InvalidConfigError, MetricNotFoundError } from '../errors';
import type { ParameterValue, PipelineConfig } from '../schemas/mlops-v2';
import { isGet, isJoin, isJsonGet } from '../schemas/patterns';
import type { ComparisonOperator, Condition, JsonGetExpression, Value } from '../schemas/pipeline-values';
import type { StepResult } from '../schemas/task-inputs';
import { findStep, type ItemContext, itemReference } from './for-each';

/**
 * Resolving mlops.yaml values at run time: parameters from the run's values, step properties from
 * the results already in `$.steps`, report values (Std:JsonGet) from the JSON files steps wrote.
 * Conditions are evaluated here too. The file was checked at push (shared/pipeline/graph.ts); what
 * only the run can tell — a report without the value, a value of the wrong type — fails the step
 * with an error naming the field.
 */

export interface ValueContext {
  config: PipelineConfig;
  parameters: Record<string, ParameterValue>;
  steps: Record<string, StepResult>;
  /** The item of the ForEach around the step, if any (`ForEach.Item`, `ForEach.Index`). */
  item?: ItemContext;
  /** Reads and parses a JSON report; undefined when there is no such object. */
  readJson(uri: string): Promise<unknown>;
}

type Scalar = string | number | boolean;

/** The s3:// URI of a property file: its output's prefix and its path inside it. Throws InvalidConfigError. */
export function propertyFileUri(ctx: Pick<ValueContext, 'config' | 'steps'>, step: string, file: string, field: string): string {
  const spec = findStep(ctx.config, step)?.spec;
  const propertyFile = spec?.Type === 'Processing' ? spec.PropertyFiles.find((candidate) => candidate.PropertyFileName === file) : undefined;
  const result = Object.hasOwn(ctx.steps, step) ? ctx.steps[step] : undefined;
  if (!propertyFile || result?.Type !== 'Processing') throw new InvalidConfigError(`${field}: step "${step}" has no result with property file "${file}" in this run`);
  const prefix = result.Outputs[propertyFile.OutputName];
  if (!prefix) throw new InvalidConfigError(`${field}: step "${step}" has no output "${propertyFile.OutputName}" in this run`);
  return `${prefix.endsWith('/') ? prefix : `${prefix}/`}${propertyFile.FilePath}`;
}

/** Splits `a.b[0]['c d'].e` into keys and indexes. */
function pathParts(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  for (const match of path.matchAll(/([A-Za-z0-9_-]+)|\[(\d+)\]|\['([^']+)'\]/g)) {
    if (match[1] !== undefined) parts.push(match[1]);
    else if (match[2] !== undefined) parts.push(Number(match[2]));
    else parts.push(match[3]!);
  }
  return parts;
}

/** The value at `path` in a parsed JSON document, or undefined. Pure. */
export function jsonAt(document: unknown, path: string): unknown {
  let current: unknown = document;
  for (const part of pathParts(path)) {
    if (typeof part === 'number') current = Array.isArray(current) ? current[part] : undefined;
    else current = current !== null && typeof current === 'object' && !Array.isArray(current) && Object.hasOwn(current, part) ? (current as Record<string, unknown>)[part] : undefined;
    if (current === undefined) return undefined;
  }
  return current;
}

/**
 * The value at a Std:JsonGet's path in its report, whatever it is (a list for a ForEach's Items),
 * and the report's URI. Throws InvalidConfigError when the step has no such report in this run,
 * MetricNotFoundError when the report or the path is missing.
 */
export async function jsonGetValue(expression: JsonGetExpression, ctx: ValueContext, field: string): Promise<{ value: unknown; uri: string }> {
  const { PropertyFile, Path } = expression['Std:JsonGet'];
  const [, step = '', file = ''] = /^Steps\.([^.]+)\.PropertyFiles\.(.+)$/.exec(PropertyFile.Get) ?? [];
  const uri = propertyFileUri(ctx, step, file, field);
  const document = await ctx.readJson(uri);
  if (document === undefined) throw new MetricNotFoundError(`${field}: the report ${uri} does not exist`);
  const value = jsonAt(document, Path);
  if (value === undefined) throw new MetricNotFoundError(`${field}: ${Path} is not in ${uri}`);
  return { value, uri };
}

async function jsonGet(expression: JsonGetExpression, ctx: ValueContext, field: string): Promise<Scalar> {
  const { value, uri } = await jsonGetValue(expression, ctx, field);
  if (typeof value !== 'number' && typeof value !== 'string' && typeof value !== 'boolean') {
    throw new MetricNotFoundError(`${field}: ${expression['Std:JsonGet'].Path} is not a number, string or boolean in ${uri}`);
  }
  return value;
}

function stepProperty(result: StepResult, path: string): Scalar | undefined {
  switch (result.Type) {
    case 'Processing': {
      if (path === 'ProcessingJobName') return result.ProcessingJobName;
      if (path === 'ProcessingJobArn') return result.ProcessingJobArn;
      const output = /^ProcessingOutputConfig\.Outputs\['([^']+)'\]\.S3Output\.S3Uri$/.exec(path)?.[1];
      return output === undefined || !Object.hasOwn(result.Outputs, output) ? undefined : result.Outputs[output];
    }
    case 'Training': {
      if (path === 'TrainingJobName') return result.TrainingJobName;
      if (path === 'TrainingJobArn') return result.TrainingJobArn;
      if (path === 'ModelArtifacts.S3ModelArtifacts') return result.ModelArtifacts;
      const metric = /^FinalMetricDataList\['([^']+)'\]\.Value$/.exec(path)?.[1];
      return metric === undefined || !Object.hasOwn(result.FinalMetrics, metric) ? undefined : result.FinalMetrics[metric];
    }
    case 'Tuning': {
      const best = result.BestTrainingJob;
      if (path === 'HyperParameterTuningJobName') return result.HyperParameterTuningJobName;
      if (path === 'HyperParameterTuningJobArn') return result.HyperParameterTuningJobArn;
      if (path === 'BestTrainingJob.TrainingJobName') return best.TrainingJobName;
      if (path === 'BestTrainingJob.ModelArtifacts.S3ModelArtifacts') return best.ModelArtifacts;
      if (path === 'BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value') return best.FinalObjectiveValue;
      const tuned = /^BestTrainingJob\.TunedHyperParameters\['([^']+)'\]$/.exec(path)?.[1];
      return tuned === undefined || !Object.hasOwn(best.TunedHyperParameters, tuned) ? undefined : best.TunedHyperParameters[tuned];
    }
    case 'Transform':
      if (path === 'TransformJobName') return result.TransformJobName;
      if (path === 'TransformJobArn') return result.TransformJobArn;
      return path === 'TransformOutput.S3OutputPath' ? result.Output : undefined;
    case 'RegisterModel':
      return path === 'ModelPackageArn' ? result.ModelPackageArn : undefined;
    case 'Condition':
      return path === 'Outcome' ? result.Outcome : undefined;
    case 'Fail':
    case 'ForEach':
      return undefined;
  }
}

/** Resolves any value to a scalar. Throws InvalidConfigError or MetricNotFoundError naming `field`. */
export async function resolveValue(value: Value, ctx: ValueContext, field: string): Promise<Scalar> {
  if (typeof value !== 'object') return value;
  if (isJoin(value)) {
    const parts = await Promise.all(value['Std:Join'].Values.map((inner, index) => resolveValue(inner, ctx, `${field}.Std:Join.Values[${index}]`)));
    return parts.map(String).join(value['Std:Join'].On);
  }
  if (isJsonGet(value)) return jsonGet(value, ctx, field);
  if (isGet(value)) {
    const fromItem = itemReference(value.Get, ctx.item, field);
    if (fromItem !== undefined) return fromItem;
    if (value.Get.startsWith('Parameters.')) {
      const name = value.Get.slice('Parameters.'.length);
      if (!Object.hasOwn(ctx.parameters, name)) throw new InvalidConfigError(`${field}: no value for parameter "${name}" in this run`);
      return ctx.parameters[name]!;
    }
    const [, step = '', path = ''] = /^Steps\.([^.]+)\.(.+)$/.exec(value.Get) ?? [];
    const result = Object.hasOwn(ctx.steps, step) ? ctx.steps[step] : undefined;
    const resolved = result && stepProperty(result, path);
    if (resolved === undefined) throw new InvalidConfigError(`${field}: ${value.Get} has no value in this run (step "${step}" ${result ? 'has no such property' : 'has not run'})`);
    return resolved;
  }
  throw new InvalidConfigError(`${field}: not a value`);
}

/** Resolves a text field: scalars are written as text. */
export async function resolveText(value: Value, ctx: ValueContext, field: string): Promise<string> {
  return String(await resolveValue(value, ctx, field));
}

/** Resolves an integer field. Throws InvalidConfigError when the value is not an integer. */
export async function resolveInteger(value: Value, ctx: ValueContext, field: string): Promise<number> {
  const resolved = await resolveValue(value, ctx, field);
  if (typeof resolved !== 'number' || !Number.isInteger(resolved)) throw new InvalidConfigError(`${field}: needs an integer, got ${JSON.stringify(resolved)}`);
  return resolved;
}

/** How a value reads in a run's history: the reference, or the literal. */
export function describeValue(value: Value): string {
  if (typeof value !== 'object') return JSON.stringify(value);
  if (isGet(value)) return value.Get;
  if (isJsonGet(value)) return `${value['Std:JsonGet'].PropertyFile.Get.replace(/^Steps\.([^.]+)\.PropertyFiles\./, '$1/')}:${value['Std:JsonGet'].Path}`;
  return `join(${value['Std:Join'].Values.map(describeValue).join(', ')})`;
}

const ORDERED: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

function compare(operator: ComparisonOperator, left: Scalar, right: Scalar, field: string): boolean {
  if (operator === '==' || operator === '!=') {
    if (typeof left !== typeof right) throw new InvalidConfigError(`${field}: "${operator}" compares ${JSON.stringify(left)} (${typeof left}) with ${JSON.stringify(right)} (${typeof right})`);
    return operator === '==' ? left === right : left !== right;
  }
  if (typeof left !== 'number' || typeof right !== 'number') throw new InvalidConfigError(`${field}: "${operator}" compares numbers, got ${JSON.stringify(left)} and ${JSON.stringify(right)}`);
  return ORDERED[operator]!(left, right);
}

/**
 * Evaluates a condition. Returns the outcome and every operand it resolved (in order), for the
 * run's history. Throws InvalidConfigError / MetricNotFoundError naming the field.
 */
export async function evaluateCondition(condition: Condition, ctx: ValueContext, field: string): Promise<{ outcome: boolean; values: { expression: string; value: Scalar }[] }> {
  const values: { expression: string; value: Scalar }[] = [];
  const read = async (value: Value, at: string) => {
    const resolved = await resolveValue(value, ctx, at);
    if (typeof value === 'object') values.push({ expression: describeValue(value), value: resolved });
    return resolved;
  };
  const evaluate = async (node: Condition, at: string): Promise<boolean> => {
    if ('Left' in node) return compare(node.Operator, await read(node.Left, `${at}.Left`), await read(node.Right, `${at}.Right`), at);
    if ('In' in node) {
      const value = await read(node.In.Value, `${at}.In.Value`);
      // One after the other, so that `values` lists the operands in the condition's order.
      const candidates: Scalar[] = [];
      for (const [index, candidate] of node.In.Values.entries()) candidates.push(await read(candidate, `${at}.In.Values[${index}]`));
      return candidates.some((candidate) => candidate === value);
    }
    if ('Not' in node) return !(await evaluate(node.Not, `${at}.Not`));
    if ('And' in node) {
      for (const [index, inner] of node.And.entries()) if (!(await evaluate(inner, `${at}.And[${index}]`))) return false;
      return true;
    }
    for (const [index, inner] of node.Or.entries()) if (await evaluate(inner, `${at}.Or[${index}]`)) return true;
    return false;
  };
  const outcome = await evaluate(condition, field);
  return { outcome, values };
}
