/**
 * CloudWatch metric datapoints, in memory: each metric is identified by namespace, name and its
 * exact set of dimensions (as CloudWatch does: a different dimension set is a different metric).
 * Samples older than the retention window are dropped; the alarms and GetMetricStatistics read
 * per-period aggregates from here.
 */

export interface MetricDimension {
  Name: string;
  Value: string;
}

/** One metric value as the runtime's other services put it (what the SageMaker hosting emits). */
export interface LocalMetricDatum {
  Namespace: string;
  MetricName: string;
  Dimensions: MetricDimension[];
  Value: number;
  Unit?: string;
  /** Epoch milliseconds; default now. */
  Timestamp?: number;
}

/** A stored sample: a single value or a pre-aggregated StatisticSet. */
export interface Sample {
  time: number;
  unit: string;
  sum: number;
  count: number;
  min: number;
  max: number;
  /** The raw values when known (Value / Values+Counts), for percentiles. */
  values?: number[];
}

/** The statistics of one period. */
export interface Aggregate {
  start: number;
  unit: string;
  sum: number;
  count: number;
  min: number;
  max: number;
  values: number[];
}

export const STATISTICS = ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'] as const;
export type Statistic = (typeof STATISTICS)[number];

/** `p99`, `p99.9`, … — the percentile forms CloudWatch's ExtendedStatistic accepts that we compute. */
export const PERCENTILE = /^p(\d{1,2}(?:\.\d{1,2})?|100)$/;

/** The identity of a metric: namespace, name and sorted dimensions. */
export function metricKey(namespace: string, metricName: string, dimensions: readonly MetricDimension[]): string {
  const sorted = [...dimensions].map((d) => [d.Name, d.Value]).sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  return JSON.stringify([namespace, metricName, sorted]);
}

export class MetricStore {
  private readonly series = new Map<string, Sample[]>();

  constructor(
    private readonly retentionMs: number,
    private readonly now: () => number,
  ) {}

  add(key: string, sample: Sample): void {
    const samples = this.series.get(key) ?? [];
    samples.push(sample);
    this.series.set(key, samples);
  }

  /** The keys of every metric holding samples. */
  keys(): string[] {
    return [...this.series.keys()];
  }

  /** Drops samples past the retention window. */
  prune(): void {
    const oldest = this.now() - this.retentionMs;
    for (const [key, samples] of this.series) {
      const kept = samples.filter((sample) => sample.time >= oldest);
      if (kept.length === 0) this.series.delete(key);
      else if (kept.length !== samples.length) this.series.set(key, kept);
    }
  }

  /**
   * Per-period aggregates in [startMs, endMs): periods start at multiples of `periodSeconds`
   * since the epoch (as CloudWatch aligns them); periods without data are absent. With `unit`,
   * only samples with that unit count.
   */
  aggregate(key: string, startMs: number, endMs: number, periodSeconds: number, unit?: string): Map<number, Aggregate> {
    const periodMs = periodSeconds * 1000;
    const buckets = new Map<number, Aggregate>();
    for (const sample of this.series.get(key) ?? []) {
      if (sample.time < startMs || sample.time >= endMs) continue;
      if (unit !== undefined && sample.unit !== unit) continue;
      const start = Math.floor(sample.time / periodMs) * periodMs;
      const bucket = buckets.get(start);
      if (!bucket) {
        buckets.set(start, { start, unit: sample.unit, sum: sample.sum, count: sample.count, min: sample.min, max: sample.max, values: [...(sample.values ?? [])] });
        continue;
      }
      bucket.sum += sample.sum;
      bucket.count += sample.count;
      bucket.min = Math.min(bucket.min, sample.min);
      bucket.max = Math.max(bucket.max, sample.max);
      if (sample.values) bucket.values.push(...sample.values);
    }
    return buckets;
  }
}

/** The value of a statistic (`Sum`, `Average`, … or `pNN`) over one period; undefined when it cannot be computed. */
export function statisticValue(aggregate: Aggregate, statistic: string): number | undefined {
  switch (statistic) {
    case 'SampleCount':
      return aggregate.count;
    case 'Sum':
      return aggregate.sum;
    case 'Average':
      return aggregate.count === 0 ? undefined : aggregate.sum / aggregate.count;
    case 'Minimum':
      return aggregate.min;
    case 'Maximum':
      return aggregate.max;
    default: {
      const match = PERCENTILE.exec(statistic);
      if (!match || aggregate.values.length === 0) return undefined;
      const sorted = [...aggregate.values].sort((a, b) => a - b);
      const rank = Math.ceil((Number(match[1]) / 100) * sorted.length);
      return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
    }
  }
}
