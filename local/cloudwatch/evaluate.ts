import { type MetricStore, metricKey, statisticValue } from './metrics';

/**
 * Metric alarm evaluation, as CloudWatch documents it: the evaluation range is the last
 * EvaluationPeriods periods (aligned to the epoch); a period breaches when its statistic compares
 * to the Threshold per ComparisonOperator; the alarm is ALARM when at least DatapointsToAlarm of
 * them breach. Periods without data follow TreatMissingData: `missing` (ignored; all missing →
 * INSUFFICIENT_DATA), `notBreaching`, `breaching`, `ignore` (all missing → keep the current state).
 *
 * Locally the range ends with the period in progress, so an alarm reacts as soon as a breaching
 * datapoint arrives instead of after the period closes (AWS also waits for late data; we do not).
 */

export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** The alarm fields evaluation reads (a MetricAlarm on the wire). */
export interface EvaluatedAlarm {
  AlarmName: string;
  Namespace?: string;
  MetricName?: string;
  Dimensions?: { Name: string; Value: string }[];
  Statistic?: string;
  ExtendedStatistic?: string;
  Period?: number;
  Unit?: string;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  Threshold?: number;
  ComparisonOperator: string;
  TreatMissingData?: string;
  StateValue?: string;
  Metrics?: unknown[];
}

export interface Evaluation {
  state: AlarmStateValue;
  reason: string;
  reasonData: string;
}

const PHRASE: Record<string, string> = {
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  GreaterThanThreshold: 'greater than',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

/** The comparison operators evaluated locally (the anomaly-detection ones need metric math). */
export const COMPARISON_OPERATORS = Object.keys(PHRASE);

function breaches(value: number, operator: string, threshold: number): boolean {
  switch (operator) {
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
    default:
      return false;
  }
}

/** `23/11/26 11:30:00`, as CloudWatch's state reasons print datapoint times (UTC). */
function reasonTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/** CloudWatch prints thresholds and values with at least one decimal (50.0). */
function number(value: number): string {
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

/** `2019-10-02T17:04:40.989+0000`, the timestamp form of state reason data and alarm events. */
export function cloudWatchTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/**
 * Evaluates a single-metric alarm at `now`; undefined means "keep the current state"
 * (TreatMissingData ignore with no data, or a metric-math alarm, which is not evaluated locally).
 */
export function evaluateAlarm(alarm: EvaluatedAlarm, metrics: MetricStore, now: number): Evaluation | undefined {
  if (!alarm.MetricName || !alarm.Namespace || !alarm.Period || alarm.Threshold === undefined) return undefined;
  const periodMs = alarm.Period * 1000;
  const periods = alarm.EvaluationPeriods;
  const needed = alarm.DatapointsToAlarm ?? periods;
  const statistic = alarm.Statistic ?? alarm.ExtendedStatistic ?? 'Average';
  const end = (Math.floor(now / periodMs) + 1) * periodMs;
  const start = end - periods * periodMs;
  const buckets = metrics.aggregate(metricKey(alarm.Namespace, alarm.MetricName, alarm.Dimensions ?? []), start, end, alarm.Period, alarm.Unit);
  const treat = alarm.TreatMissingData ?? 'missing';
  const phrase = PHRASE[alarm.ComparisonOperator] ?? alarm.ComparisonOperator;

  // Newest first, as CloudWatch lists recentDatapoints in its reasons.
  const present: { start: number; value: number; breaching: boolean }[] = [];
  let missing = 0;
  for (let bucketStart = end - periodMs; bucketStart >= start; bucketStart -= periodMs) {
    const bucket = buckets.get(bucketStart);
    const value = bucket ? statisticValue(bucket, statistic) : undefined;
    if (value === undefined) missing += 1;
    else present.push({ start: bucketStart, value, breaching: breaches(value, alarm.ComparisonOperator, alarm.Threshold) });
  }
  const missingBreach = treat === 'breaching';
  const counted = treat === 'breaching' || treat === 'notBreaching' ? periods : present.length;
  const breachingCount = present.filter((p) => p.breaching).length + (missingBreach ? missing : 0);
  const reasonData = JSON.stringify({
    version: '1.0',
    queryDate: cloudWatchTimestamp(now),
    startDate: cloudWatchTimestamp(start),
    statistic,
    period: alarm.Period,
    recentDatapoints: present.map((p) => p.value),
    threshold: alarm.Threshold,
    evaluatedDatapoints: present.map((p) => ({ timestamp: cloudWatchTimestamp(p.start), sampleCount: buckets.get(p.start)?.count, value: p.value })),
  });

  if (present.length === 0 && (treat === 'missing' || treat === 'ignore')) {
    if (treat === 'ignore') return undefined;
    return { state: 'INSUFFICIENT_DATA', reason: `Insufficient Data: ${periods} datapoint${periods === 1 ? ' was' : 's were'} unknown.`, reasonData };
  }
  const state: AlarmStateValue = breachingCount >= needed ? 'ALARM' : 'OK';
  const points = present.map((p) => `${number(p.value)} (${reasonTime(p.start)})`).join(', ');
  const transition = state === 'ALARM' ? 'OK -> ALARM' : 'ALARM -> OK';
  const minimum = `(minimum ${needed} datapoint${needed === 1 ? '' : 's'} for ${transition} transition)`;
  const missingNote = missing > 0 && (treat === 'breaching' || treat === 'notBreaching') ? ` and ${missing} missing datapoint${missing === 1 ? ' was' : 's were'} treated as [${treat === 'breaching' ? 'Breaching' : 'NonBreaching'}]` : '';
  const shown = state === 'ALARM' ? breachingCount : counted - breachingCount;
  const reason =
    present.length === 0
      ? `Threshold Crossed: no datapoints were received for ${periods} period${periods === 1 ? '' : 's'}${missingNote} ${minimum}.`
      : `Threshold Crossed: ${shown} out of the last ${counted} datapoints [${points}]${missingNote} ${state === 'ALARM' ? 'was' : 'was not'} ${phrase} the threshold (${number(alarm.Threshold)}) ${minimum}.`;
  return { state, reason, reasonData };
}
