import { getObjectText, parseS3Uri } from '../aws/s3';
import { MetricNotFoundError } from '../errors';
import type { ReadMetricInput } from '../schemas/task-inputs';

/** What the Choice state of the quality gate compares. */
export interface GateReading {
  metric: string;
  value: number;
  operator: string;
  threshold: number;
  reportUri: string;
  /** Human-readable verdict input, e.g. `regression_metrics.mse.value = 4.2 (gate: <= 6)`. */
  description: string;
}

/** Reads a dotted path (`a.b.c`) from parsed JSON; undefined when any segment is missing. Pure. */
export function readPath(document: unknown, path: string): unknown {
  let current: unknown = document;
  for (const segment of path.split('.')) {
    // Own keys only: `in` would also find Object.prototype members such as `constructor`.
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** The s3:// URI of the evaluation report: the Report file inside the evaluate step's output. */
export function reportUri(input: ReadMetricInput): string {
  const [output, ...rest] = input.config.Evaluate.Report.split('/');
  const outputs = input.jobs.evaluate.outputs;
  const base = output !== undefined && Object.hasOwn(outputs, output) ? outputs[output] : undefined;
  if (!base) throw new MetricNotFoundError(`Evaluate.Report: the evaluate job has no output "${output}"`);
  return `${base.endsWith('/') ? base : `${base}/`}${rest.join('/')}`;
}

/**
 * Reads the quality gate's metric from evaluation.json. The comparison itself happens in the
 * state machine's Choice state, where a reader of the workflow can see it.
 * Throws MetricNotFoundError (terminal) when the report or the metric is missing or not a number;
 * RetryableError on throttling. Read-only, so idempotent.
 */
export async function readGateMetric(input: ReadMetricInput): Promise<GateReading> {
  const { Metric: metric, Operator: operator, Threshold: threshold } = input.config.QualityGate;
  const uri = reportUri(input);
  const { bucket, key } = parseS3Uri(uri);
  const text = await getObjectText(bucket, key);
  if (text === undefined) throw new MetricNotFoundError(`evaluation report ${uri} does not exist`);
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch (error) {
    throw new MetricNotFoundError(`evaluation report ${uri} is not valid JSON`, { cause: error });
  }
  const value = readPath(report, metric);
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new MetricNotFoundError(`${metric} in ${uri} is ${value === undefined ? 'missing' : `not a number (${JSON.stringify(value)})`}`);
  }
  return { metric, value, operator, threshold, reportUri: uri, description: `${metric} = ${value} (gate: ${operator} ${threshold})` };
}
