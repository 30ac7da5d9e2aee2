import { getObjectText, parseS3Uri, putObject } from '../aws/s3';
import { InvalidInputError, MetricNotFoundError } from '../errors';
import type { PipelineConfig, StepSpec } from '../schemas/mlops-v2';
import type { StepTaskInput } from '../schemas/task-inputs';
import { findStep } from './for-each';
import type { ValueContext } from './values';

/**
 * A run's pipeline lives in S3 under the run's own prefix (`builds/<repository key>/<execution>/pipeline.json`),
 * not in the execution's state: the state carries only its URI, so a big pipeline never comes near
 * Step Functions' 256 KiB limit. The file is written once, before the run starts, and never changes,
 * so a warm function keeps what it read.
 */

const loaded = new Map<string, PipelineConfig>();

/** Writes the run's pipeline; returns its s3:// URI. Idempotent. Throws RetryableError on throttling. */
export async function storePipeline(bucket: string, prefix: string, pipeline: PipelineConfig): Promise<string> {
  const key = `${prefix}pipeline.json`;
  await putObject(bucket, key, JSON.stringify(pipeline), 'application/json');
  return `s3://${bucket}/${key}`;
}

/** Reads a run's pipeline (cached per URI). Throws InvalidInputError when it is missing, RetryableError on throttling. */
export async function loadPipeline(uri: string): Promise<PipelineConfig> {
  const known = loaded.get(uri);
  if (known) return known;
  const { bucket, key } = parseS3Uri(uri);
  const text = await getObjectText(bucket, key);
  if (text === undefined) throw new InvalidInputError(`the run's pipeline ${uri} does not exist`);
  const pipeline = JSON.parse(text) as PipelineConfig;
  loaded.set(uri, pipeline);
  return pipeline;
}

/** The step a task runs (top level, or inside a ForEach), of the expected types. Throws InvalidInputError when the pipeline has no such step. */
export function stepOf<T extends StepSpec['Type']>(pipeline: PipelineConfig, step: string, types: readonly T[]): Extract<StepSpec, { Type: T }> {
  const spec = findStep(pipeline, step)?.spec;
  const listed = types.length > 1 ? `${types.slice(0, -1).join(', ')} or ${types.at(-1)}` : types.join('');
  if (!spec || !(types as readonly string[]).includes(spec.Type)) throw new InvalidInputError(`the pipeline has no ${listed} step "${step}"`);
  return spec as Extract<StepSpec, { Type: T }>;
}

/** Reads a JSON report from S3; undefined when there is none. Throws MetricNotFoundError when it is not JSON, RetryableError on throttling. */
async function readJson(uri: string): Promise<unknown> {
  const { bucket, key } = parseS3Uri(uri);
  const text = await getObjectText(bucket, key);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new MetricNotFoundError(`the report ${uri} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** What values of a step task resolve against: the run's parameters and results, reports read from S3, and the ForEach item (if any). */
export function valueContext(pipeline: PipelineConfig, input: Pick<StepTaskInput, 'parameters' | 'steps'> & Partial<Pick<StepTaskInput, 'item'>>): ValueContext {
  return { config: pipeline, parameters: input.parameters, steps: input.steps, readJson, ...(input.item ? { item: input.item } : {}) };
}
