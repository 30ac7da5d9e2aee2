import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import type { MetricAlarm } from '@aws-sdk/client-cloudwatch';

import type { ServiceContext } from '../context';
import { AwsServiceError, epochSeconds, type JsonOperations, readBody } from '../http/aws-json';
import { JsonStore } from '../store/json-store';
import { type AlarmStateValue, cloudWatchTimestamp, COMPARISON_OPERATORS, evaluateAlarm, type EvaluatedAlarm } from './evaluate';
import { type LocalMetricDatum, type MetricDimension, MetricStore, metricKey, PERCENTILE, type Sample, STATISTICS, statisticValue } from './metrics';

export type { AlarmStateValue } from './evaluate';
export type { LocalMetricDatum, MetricDimension } from './metrics';

/**
 * CloudWatch, locally: metric alarms (durable) evaluated over metric datapoints (in memory, the
 * last hour), PutMetricData / GetMetricStatistics, and the `CloudWatch Alarm State Change` events
 * AWS sends to EventBridge. The SDK v3 client speaks awsJson1_0 with X-Amz-Target
 * `GraniteServiceVersion20100801.<Operation>` (query-compatible errors: the `__type` is the
 * modelled exception name). Alarm actions (SNS, Auto Scaling) are recorded, never executed.
 */

/** X-Amz-Target prefix of the CloudWatch JSON protocol. */
export const CLOUDWATCH_TARGET_PREFIX = 'GraniteServiceVersion20100801';
/** Content type of the CloudWatch JSON protocol (awsJson1_0). */
export const CLOUDWATCH_CONTENT_TYPE = 'application/x-amz-json-1.0';
/** EventBridge detail-type of alarm state changes (source aws.cloudwatch). */
export const DETAIL_TYPE_ALARM_STATE_CHANGE = 'CloudWatch Alarm State Change';

const RETENTION_MS = 60 * 60 * 1000;
const STATES: readonly AlarmStateValue[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];
const TREAT_MISSING = ['missing', 'notBreaching', 'breaching', 'ignore'];
const UNITS = [
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits',
  'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second', 'Kilobits/Second',
  'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None',
];

type Wire<T> = T extends Date ? number : T extends (infer U)[] ? Wire<U>[] : T extends object ? { [K in keyof T]: Wire<T[K]> } : T;
type AlarmDescribe = Wire<MetricAlarm> & EvaluatedAlarm;

interface AlarmRecord {
  alarm: AlarmDescribe;
  tags: { Key: string; Value: string }[];
  /** The id the alarm's metric carries in its events' configuration.metrics. */
  metricId: string;
  /** Epoch ms until which SetAlarmState's state holds (the next period boundary, as on AWS). */
  heldUntil?: number;
}

export interface CloudWatchServiceOptions {
  /** Clock (epoch ms); tests pass a fake one. */
  now?: () => number;
  /** How often every alarm is re-evaluated (default 1000 ms); PutMetricData also evaluates. */
  evaluateEveryMs?: number;
}

/** The local CloudWatch as the runtime mounts it. */
export interface CloudWatchService {
  /** awsJson1_0 operations, X-Amz-Target `GraniteServiceVersion20100801.<Op>`. */
  operations: JsonOperations;
  /** Records one datapoint from another local service (e.g. AWS/SageMaker invocation metrics; no AWS/ namespace check). */
  putMetric(datum: LocalMetricDatum): void;
  /** An alarm's current state, or undefined when there is no such alarm. */
  alarmState(name: string): AlarmStateValue | undefined;
  /** Starts the evaluation timer (evaluates once right away). */
  start(): Promise<void>;
  /** Stops the timer and waits for the events in flight. */
  stop(): Promise<void>;
}

/**
 * Reads a CloudWatch request body, gunzipping it when the SDK compressed it (PutMetricData bodies
 * over 10 KiB are sent with `Content-Encoding: gzip`).
 */
export async function readCloudWatchBody(request: IncomingMessage): Promise<Buffer> {
  const body = await readBody(request);
  const encoding = request.headers['content-encoding'];
  if (typeof encoding === 'string' && encoding.split(',').some((part) => part.trim().toLowerCase() === 'gzip')) return gunzipSync(body);
  return body;
}

function invalidValue(message: string): AwsServiceError {
  return new AwsServiceError('InvalidParameterValueException', message);
}

function missingParameter(field: string): AwsServiceError {
  return new AwsServiceError('MissingRequiredParameterException', `The parameter ${field} is required.`);
}

function requireField<T>(input: Record<string, unknown>, field: string, type: 'string' | 'number'): T {
  const value = input[field];
  if (value === undefined || value === null || value === '') throw missingParameter(field);
  if (typeof value !== type || (type === 'number' && !Number.isFinite(value))) throw invalidValue(`The value ${JSON.stringify(value)} for parameter ${field} is invalid.`);
  return value as T;
}

function optionalField<T>(input: Record<string, unknown>, field: string, type: 'string' | 'number' | 'boolean'): T | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type || (type === 'number' && !Number.isFinite(value))) throw invalidValue(`The value ${JSON.stringify(value)} for parameter ${field} is invalid.`);
  return value as T;
}

function optionalList<T>(input: Record<string, unknown>, field: string, max: number): T[] | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalidValue(`The parameter ${field} must be a list.`);
  if (value.length > max) throw invalidValue(`The collection ${field} must not have a size greater than ${max}.`);
  return value as T[];
}

function readDimensions(input: Record<string, unknown>, label = 'Dimensions'): MetricDimension[] {
  const dimensions = optionalList<Partial<MetricDimension> | null>(input, 'Dimensions', 30) ?? [];
  const seen = new Set<string>();
  return dimensions.map((dimension, index) => {
    if (!dimension || typeof dimension.Name !== 'string' || dimension.Name === '' || typeof dimension.Value !== 'string' || dimension.Value === '') {
      throw invalidValue(`The value for parameter ${label}.member.${index + 1} must have a non-empty Name and Value.`);
    }
    if (seen.has(dimension.Name)) throw new AwsServiceError('InvalidParameterCombinationException', `No two dimensions may have the same name (${dimension.Name}).`);
    seen.add(dimension.Name);
    return { Name: dimension.Name, Value: dimension.Value };
  });
}

function readUnit(input: Record<string, unknown>, label = 'Unit'): string | undefined {
  const unit = optionalField<string>(input, 'Unit', 'string');
  if (unit !== undefined && !UNITS.includes(unit)) throw invalidValue(`The value ${unit} for parameter ${label} is not a valid unit.`);
  return unit;
}

/** Epoch ms from a JSON-protocol timestamp (epoch seconds; ISO strings tolerated). */
function readTimestamp(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value * 1000;
  if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return Date.parse(value);
  throw invalidValue(`The value ${JSON.stringify(value)} for parameter ${field} is not a valid timestamp.`);
}

function validPeriod(period: number): boolean {
  return Number.isInteger(period) && (period === 1 || period === 5 || period === 10 || period === 20 || period === 30 || (period >= 60 && period % 60 === 0));
}

function storeKey(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

/** CloudWatch, locally (see the module comment). */
export function createCloudWatchService(ctx: ServiceContext, options: CloudWatchServiceOptions = {}): CloudWatchService {
  const now = options.now ?? Date.now;
  const store = new JsonStore<AlarmRecord>(join(ctx.dataDir, 'alarms'));
  const alarms = new Map<string, AlarmRecord>(store.list().map(({ value }) => [value.alarm.AlarmName, value]));
  const metrics = new MetricStore(RETENTION_MS, now);
  let timer: NodeJS.Timeout | undefined;
  let deliveries: Promise<void> = Promise.resolve();

  const alarmArn = (name: string) => `arn:aws:cloudwatch:${ctx.region}:${ctx.accountId}:alarm:${name}`;

  const save = (record: AlarmRecord) => {
    alarms.set(record.alarm.AlarmName, record);
    store.put(storeKey(record.alarm.AlarmName), record);
  };

  const publishChange = (record: AlarmRecord, previous: { value: string; reason: string; reasonData?: string; timestamp: string }) => {
    const { alarm } = record;
    const detail: Record<string, unknown> = {
      alarmName: alarm.AlarmName,
      state: { value: alarm.StateValue, reason: alarm.StateReason, reasonData: alarm.StateReasonData, timestamp: cloudWatchTimestamp((alarm.StateUpdatedTimestamp ?? 0) * 1000) },
      previousState: previous,
      configuration: {
        description: alarm.AlarmDescription,
        metrics: alarm.Metrics ?? [
          {
            id: record.metricId,
            metricStat: {
              metric: { namespace: alarm.Namespace, name: alarm.MetricName, dimensions: Object.fromEntries((alarm.Dimensions ?? []).map((d) => [d.Name, d.Value])) },
              period: alarm.Period,
              stat: alarm.Statistic ?? alarm.ExtendedStatistic,
              ...(alarm.Unit ? { unit: alarm.Unit } : {}),
            },
            returnData: true,
          },
        ],
      },
    };
    const entry = { Source: 'aws.cloudwatch', DetailType: DETAIL_TYPE_ALARM_STATE_CHANGE, Detail: JSON.parse(JSON.stringify(detail)) as Record<string, unknown>, Resources: [alarmArn(alarm.AlarmName)] };
    deliveries = deliveries.then(async () => {
      try {
        await ctx.publishEvent(entry);
      } catch (error) {
        ctx.log('cloudwatch: event delivery failed', { alarm: alarm.AlarmName, error: (error as Error).message });
      }
    });
  };

  /** Moves an alarm to `state` (no-op when already there); publishes the change. */
  const transition = (record: AlarmRecord, state: AlarmStateValue, reason: string, reasonData: string | undefined) => {
    const { alarm } = record;
    if (alarm.StateValue === state) return;
    const previous = { value: alarm.StateValue ?? 'INSUFFICIENT_DATA', reason: alarm.StateReason ?? '', ...(alarm.StateReasonData ? { reasonData: alarm.StateReasonData } : {}), timestamp: cloudWatchTimestamp((alarm.StateUpdatedTimestamp ?? 0) * 1000) };
    const at = epochSeconds(new Date(now()));
    const next: AlarmDescribe = { ...alarm, StateValue: state, StateReason: reason, StateReasonData: reasonData, StateUpdatedTimestamp: at, StateTransitionedTimestamp: at };
    if (reasonData === undefined) delete next.StateReasonData;
    const updated = { ...record, alarm: next };
    save(updated);
    ctx.log('cloudwatch: alarm state change', { alarm: alarm.AlarmName, from: previous.value, to: state });
    publishChange(updated, previous);
  };

  const evaluate = (record: AlarmRecord) => {
    const at = now();
    if (record.heldUntil !== undefined && at < record.heldUntil) return;
    const result = evaluateAlarm(record.alarm, metrics, at);
    if (result) transition(record, result.state, result.reason, result.reasonData);
  };

  const evaluateAll = () => {
    metrics.prune();
    for (const record of [...alarms.values()]) evaluate(record);
  };

  const putMetric = (datum: LocalMetricDatum) => {
    const sample: Sample = { time: datum.Timestamp ?? now(), unit: datum.Unit ?? 'None', sum: datum.Value, count: 1, min: datum.Value, max: datum.Value, values: [datum.Value] };
    metrics.add(metricKey(datum.Namespace, datum.MetricName, datum.Dimensions), sample);
  };

  const putMetricAlarm = (input: Record<string, unknown>) => {
    const name = requireField<string>(input, 'AlarmName', 'string');
    if (name.length > 255) throw invalidValue('The value for parameter AlarmName must have length less than or equal to 255.');
    const evaluationPeriods = requireField<number>(input, 'EvaluationPeriods', 'number');
    const operator = requireField<string>(input, 'ComparisonOperator', 'string');
    const metricsQuery = optionalList<unknown>(input, 'Metrics', 10);
    const metricName = optionalField<string>(input, 'MetricName', 'string');
    const namespace = optionalField<string>(input, 'Namespace', 'string');
    const statistic = optionalField<string>(input, 'Statistic', 'string');
    const extended = optionalField<string>(input, 'ExtendedStatistic', 'string');
    const period = optionalField<number>(input, 'Period', 'number');
    const threshold = optionalField<number>(input, 'Threshold', 'number');
    const thresholdMetricId = optionalField<string>(input, 'ThresholdMetricId', 'string');
    const datapointsToAlarm = optionalField<number>(input, 'DatapointsToAlarm', 'number');
    const treat = optionalField<string>(input, 'TreatMissingData', 'string');
    const dimensions = readDimensions(input);
    const unit = readUnit(input);

    if (!Number.isInteger(evaluationPeriods) || evaluationPeriods < 1) throw invalidValue('The value for parameter EvaluationPeriods must be greater than or equal to 1.');
    if (datapointsToAlarm !== undefined && (!Number.isInteger(datapointsToAlarm) || datapointsToAlarm < 1 || datapointsToAlarm > evaluationPeriods)) {
      throw invalidValue('DatapointsToAlarm must be between 1 and EvaluationPeriods.');
    }
    if (treat !== undefined && !TREAT_MISSING.includes(treat)) throw invalidValue(`The value ${treat} for parameter TreatMissingData is invalid; use one of ${TREAT_MISSING.join(', ')}.`);
    if (metricsQuery) {
      if (metricName !== undefined || namespace !== undefined || statistic !== undefined || extended !== undefined || period !== undefined || dimensions.length > 0) {
        throw new AwsServiceError('InvalidParameterCombinationException', 'Metrics cannot be combined with MetricName, Namespace, Statistic, ExtendedStatistic, Dimensions or Period.');
      }
    } else {
      if (metricName === undefined) throw missingParameter('MetricName');
      if (namespace === undefined) throw missingParameter('Namespace');
      if (period === undefined) throw missingParameter('Period');
      if (!validPeriod(period)) throw invalidValue('The parameter Period must be 10, 20, 30 or a multiple of 60.');
      if (period * evaluationPeriods > 7 * 24 * 3600) throw invalidValue('The evaluation period times the number of periods must not exceed 7 days.');
      if ((statistic === undefined) === (extended === undefined)) throw new AwsServiceError('InvalidParameterCombinationException', 'Exactly one of Statistic or ExtendedStatistic must be specified.');
      if (statistic !== undefined && !(STATISTICS as readonly string[]).includes(statistic)) throw invalidValue(`The value ${statistic} for parameter Statistic is invalid; use one of ${STATISTICS.join(', ')}.`);
      if (extended !== undefined && !PERCENTILE.test(extended)) throw invalidValue(`The value ${extended} for parameter ExtendedStatistic is not supported locally (use pNN or pNN.NN).`);
    }
    if (thresholdMetricId === undefined) {
      if (!COMPARISON_OPERATORS.includes(operator)) throw invalidValue(`The value ${operator} for parameter ComparisonOperator is invalid; use one of ${COMPARISON_OPERATORS.join(', ')}.`);
      if (threshold === undefined) throw missingParameter('Threshold');
    }

    const existing = alarms.get(name);
    const at = epochSeconds(new Date(now()));
    const alarm: AlarmDescribe = {
      AlarmName: name,
      AlarmArn: alarmArn(name),
      AlarmDescription: optionalField<string>(input, 'AlarmDescription', 'string'),
      AlarmConfigurationUpdatedTimestamp: at,
      ActionsEnabled: optionalField<boolean>(input, 'ActionsEnabled', 'boolean') ?? true,
      OKActions: optionalList<string>(input, 'OKActions', 5) ?? [],
      AlarmActions: optionalList<string>(input, 'AlarmActions', 5) ?? [],
      InsufficientDataActions: optionalList<string>(input, 'InsufficientDataActions', 5) ?? [],
      // An update leaves the state alone (AWS: "its state is left unchanged").
      StateValue: existing?.alarm.StateValue ?? 'INSUFFICIENT_DATA',
      StateReason: existing?.alarm.StateReason ?? 'Unchecked: Initial alarm creation',
      StateReasonData: existing?.alarm.StateReasonData,
      StateUpdatedTimestamp: existing?.alarm.StateUpdatedTimestamp ?? at,
      StateTransitionedTimestamp: existing?.alarm.StateTransitionedTimestamp ?? at,
      MetricName: metricName,
      Namespace: namespace,
      Statistic: statistic as AlarmDescribe['Statistic'],
      ExtendedStatistic: extended,
      Dimensions: metricsQuery ? undefined : dimensions,
      Period: period,
      Unit: unit as AlarmDescribe['Unit'],
      EvaluationPeriods: evaluationPeriods,
      DatapointsToAlarm: datapointsToAlarm,
      Threshold: threshold,
      ComparisonOperator: operator as AlarmDescribe['ComparisonOperator'],
      TreatMissingData: treat ?? 'missing',
      EvaluateLowSampleCountPercentile: optionalField<string>(input, 'EvaluateLowSampleCountPercentile', 'string'),
      Metrics: metricsQuery as AlarmDescribe['Metrics'],
      ThresholdMetricId: thresholdMetricId,
    };
    const record: AlarmRecord = { alarm: JSON.parse(JSON.stringify(alarm)) as AlarmDescribe, tags: optionalList<{ Key: string; Value: string }>(input, 'Tags', 50) ?? existing?.tags ?? [], metricId: existing?.metricId ?? randomUUID() };
    save(record);
    evaluate(record);
    return {};
  };

  const describeAlarms = (input: Record<string, unknown>) => {
    const names = optionalList<string>(input, 'AlarmNames', 100);
    const prefix = optionalField<string>(input, 'AlarmNamePrefix', 'string');
    const state = optionalField<string>(input, 'StateValue', 'string');
    const actionPrefix = optionalField<string>(input, 'ActionPrefix', 'string');
    const types = optionalList<string>(input, 'AlarmTypes', 2);
    const maxRecords = optionalField<number>(input, 'MaxRecords', 'number') ?? 50;
    const token = optionalField<string>(input, 'NextToken', 'string');
    if (names && prefix !== undefined) throw new AwsServiceError('InvalidParameterCombinationException', 'AlarmNames and AlarmNamePrefix cannot be combined.');
    if (state !== undefined && !STATES.includes(state as AlarmStateValue)) throw invalidValue(`The value ${state} for parameter StateValue is invalid.`);
    if (!Number.isInteger(maxRecords) || maxRecords < 1 || maxRecords > 100) throw invalidValue('The value for parameter MaxRecords must be between 1 and 100.');
    const start = token === undefined ? 0 : Number.parseInt(token, 10);
    if (!Number.isInteger(start) || start < 0 || (token !== undefined && String(start) !== token)) throw new AwsServiceError('InvalidNextToken', 'The service couldn\'t process the request because the NextToken is invalid.');
    if (types && !types.includes('MetricAlarm')) return { MetricAlarms: [], CompositeAlarms: [] };
    const matching = [...alarms.values()]
      .map((record) => record.alarm)
      .filter((alarm) => (names ? names.includes(alarm.AlarmName) : true))
      .filter((alarm) => (prefix !== undefined ? alarm.AlarmName.startsWith(prefix) : true))
      .filter((alarm) => (state !== undefined ? alarm.StateValue === state : true))
      .filter((alarm) => (actionPrefix !== undefined ? [...(alarm.AlarmActions ?? []), ...(alarm.OKActions ?? []), ...(alarm.InsufficientDataActions ?? [])].some((a) => a.startsWith(actionPrefix)) : true))
      .sort((a, b) => (a.AlarmName < b.AlarmName ? -1 : a.AlarmName > b.AlarmName ? 1 : 0));
    const page = matching.slice(start, start + maxRecords);
    return { MetricAlarms: page, CompositeAlarms: [], ...(start + maxRecords < matching.length ? { NextToken: String(start + maxRecords) } : {}) };
  };

  const describeAlarmsForMetric = (input: Record<string, unknown>) => {
    const metricName = requireField<string>(input, 'MetricName', 'string');
    const namespace = requireField<string>(input, 'Namespace', 'string');
    const statistic = optionalField<string>(input, 'Statistic', 'string');
    const period = optionalField<number>(input, 'Period', 'number');
    const key = metricKey(namespace, metricName, readDimensions(input));
    return {
      MetricAlarms: [...alarms.values()]
        .map((record) => record.alarm)
        .filter((alarm) => alarm.MetricName !== undefined && metricKey(alarm.Namespace ?? '', alarm.MetricName, alarm.Dimensions ?? []) === key)
        .filter((alarm) => (statistic === undefined || alarm.Statistic === statistic) && (period === undefined || alarm.Period === period)),
    };
  };

  const deleteAlarms = (input: Record<string, unknown>) => {
    const names = optionalList<string>(input, 'AlarmNames', 100);
    if (!names || names.length === 0) throw missingParameter('AlarmNames');
    const unknown = names.filter((name) => !alarms.has(name));
    if (unknown.length > 0) throw new AwsServiceError('ResourceNotFound', `${unknown.join(', ')} not found.`);
    for (const name of names) {
      alarms.delete(name);
      store.delete(storeKey(name));
    }
    return {};
  };

  const putMetricData = (input: Record<string, unknown>) => {
    const namespace = requireField<string>(input, 'Namespace', 'string');
    if (namespace.startsWith('AWS/')) throw invalidValue(`The value ${namespace} for parameter Namespace is invalid: the AWS/ namespaces are reserved for AWS services.`);
    const data = optionalList<Record<string, unknown> | null>(input, 'MetricData', 1000);
    if (!data || data.length === 0) throw missingParameter('MetricData');
    const at = now();
    const samples = data.map((datum, index): { key: string; sample: Sample } => {
      const field = `MetricData.member.${index + 1}`;
      if (!datum || typeof datum !== 'object') throw invalidValue(`The value for parameter ${field} must be a structure.`);
      const metricName = requireField<string>(datum, 'MetricName', 'string');
      const dimensions = readDimensions(datum, `${field}.Dimensions`);
      const unit = readUnit(datum, `${field}.Unit`) ?? 'None';
      const time = datum.Timestamp === undefined || datum.Timestamp === null ? at : readTimestamp(datum.Timestamp, `${field}.Timestamp`);
      if (time < at - 14 * 24 * 3600 * 1000 || time > at + 2 * 3600 * 1000) throw invalidValue(`The parameter ${field}.Timestamp must be within the last two weeks and at most two hours in the future.`);
      const value = optionalField<number>(datum, 'Value', 'number');
      const set = datum.StatisticValues as Record<string, unknown> | undefined;
      const values = optionalList<number>(datum, 'Values', 150);
      const counts = optionalList<number>(datum, 'Counts', 150);
      if ([value !== undefined, set !== undefined && set !== null, values !== undefined].filter(Boolean).length !== 1) {
        throw new AwsServiceError('InvalidParameterCombinationException', `The parameters ${field}.Value, ${field}.StatisticValues and ${field}.Values are mutually exclusive and one is required.`);
      }
      const key = metricKey(namespace, metricName, dimensions);
      if (value !== undefined) return { key, sample: { time, unit, sum: value, count: 1, min: value, max: value, values: [value] } };
      if (set) {
        const n = (name: string) => requireField<number>(set, name, 'number');
        return { key, sample: { time, unit, sum: n('Sum'), count: n('SampleCount'), min: n('Minimum'), max: n('Maximum') } };
      }
      if (!values!.every((v) => typeof v === 'number' && Number.isFinite(v))) throw invalidValue(`The parameter ${field}.Values must hold numbers.`);
      if (counts && counts.length !== values!.length) throw invalidValue(`The parameters ${field}.Values and ${field}.Counts must be of the same size.`);
      const expanded = values!.flatMap((v, i) => Array.from({ length: Math.min(Math.max(Math.round(counts?.[i] ?? 1), 0), 10_000) }, () => v));
      if (expanded.length === 0) throw invalidValue(`The parameter ${field}.Values must not be empty.`);
      return { key, sample: { time, unit, sum: expanded.reduce((a, b) => a + b, 0), count: expanded.length, min: Math.min(...expanded), max: Math.max(...expanded), values: expanded } };
    });
    for (const { key, sample } of samples) metrics.add(key, sample);
    evaluateAll();
    return {};
  };

  const getMetricStatistics = (input: Record<string, unknown>) => {
    const namespace = requireField<string>(input, 'Namespace', 'string');
    const metricName = requireField<string>(input, 'MetricName', 'string');
    if (input.StartTime === undefined || input.StartTime === null) throw missingParameter('StartTime');
    if (input.EndTime === undefined || input.EndTime === null) throw missingParameter('EndTime');
    const start = readTimestamp(input.StartTime, 'StartTime');
    const end = readTimestamp(input.EndTime, 'EndTime');
    const period = requireField<number>(input, 'Period', 'number');
    if (!validPeriod(period)) throw invalidValue('The parameter Period must be 1, 5, 10, 30 or a multiple of 60.');
    if (end <= start) throw invalidValue('The parameter StartTime must be less than the parameter EndTime.');
    const statistics = optionalList<string>(input, 'Statistics', 5) ?? [];
    const extended = optionalList<string>(input, 'ExtendedStatistics', 10) ?? [];
    if (statistics.length === 0 && extended.length === 0) throw new AwsServiceError('InvalidParameterCombinationException', 'At least one of the parameters Statistics and ExtendedStatistics must be specified.');
    for (const statistic of statistics) if (!(STATISTICS as readonly string[]).includes(statistic)) throw invalidValue(`The value ${statistic} for parameter Statistics is invalid.`);
    for (const statistic of extended) if (!PERCENTILE.test(statistic)) throw invalidValue(`The value ${statistic} for parameter ExtendedStatistics is not supported locally.`);
    metrics.prune();
    const buckets = metrics.aggregate(metricKey(namespace, metricName, readDimensions(input)), start, end, period, readUnit(input));
    const datapoints = [...buckets.values()]
      .sort((a, b) => a.start - b.start)
      .map((bucket) => ({
        Timestamp: bucket.start / 1000,
        Unit: bucket.unit,
        ...Object.fromEntries(statistics.map((statistic) => [statistic, statisticValue(bucket, statistic)])),
        ...(extended.length > 0 ? { ExtendedStatistics: Object.fromEntries(extended.flatMap((statistic) => { const v = statisticValue(bucket, statistic); return v === undefined ? [] : [[statistic, v]]; })) } : {}),
      }));
    return { Label: metricName, Datapoints: datapoints };
  };

  const setAlarmState = (input: Record<string, unknown>) => {
    const name = requireField<string>(input, 'AlarmName', 'string');
    const state = requireField<string>(input, 'StateValue', 'string');
    const reason = requireField<string>(input, 'StateReason', 'string');
    const reasonData = optionalField<string>(input, 'StateReasonData', 'string');
    if (!STATES.includes(state as AlarmStateValue)) throw invalidValue(`The value ${state} for parameter StateValue is invalid.`);
    if (reasonData !== undefined) {
      try {
        JSON.parse(reasonData);
      } catch {
        throw new AwsServiceError('InvalidFormatFault', 'StateReasonData is not valid JSON.');
      }
    }
    const record = alarms.get(name);
    if (!record) throw new AwsServiceError('ResourceNotFound', `Alarm ${name} not found.`);
    const periodMs = (record.alarm.Period ?? 60) * 1000;
    const held = { ...record, heldUntil: (Math.floor(now() / periodMs) + 1) * periodMs };
    save(held);
    transition(held, state as AlarmStateValue, reason, reasonData);
    return {};
  };

  const setActions = (enabled: boolean) => (input: Record<string, unknown>) => {
    const names = optionalList<string>(input, 'AlarmNames', 100);
    if (!names) throw missingParameter('AlarmNames');
    for (const name of names) {
      const record = alarms.get(name);
      if (record) save({ ...record, alarm: { ...record.alarm, ActionsEnabled: enabled } });
    }
    return {};
  };

  const listMetrics = (input: Record<string, unknown>) => {
    const namespace = optionalField<string>(input, 'Namespace', 'string');
    const metricName = optionalField<string>(input, 'MetricName', 'string');
    metrics.prune();
    const all = metrics.keys().map((key) => {
      const [ns, name, dims] = JSON.parse(key) as [string, string, [string, string][]];
      return { Namespace: ns, MetricName: name, Dimensions: dims.map(([Name, Value]) => ({ Name, Value })) };
    });
    return { Metrics: all.filter((m) => (namespace === undefined || m.Namespace === namespace) && (metricName === undefined || m.MetricName === metricName)) };
  };

  /** A write answers once the alarm state changes it caused are delivered, so callers see their events in order. */
  const thenDelivered =
    <T>(write: (input: Record<string, unknown>) => T) =>
    async (input: Record<string, unknown>): Promise<T> => {
      const output = write(input);
      await deliveries;
      return output;
    };

  const operations: JsonOperations = {
    PutMetricAlarm: thenDelivered(putMetricAlarm),
    DescribeAlarms: async (input) => describeAlarms(input),
    DescribeAlarmsForMetric: async (input) => describeAlarmsForMetric(input),
    DeleteAlarms: async (input) => deleteAlarms(input),
    PutMetricData: thenDelivered(putMetricData),
    GetMetricStatistics: async (input) => getMetricStatistics(input),
    ListMetrics: async (input) => listMetrics(input),
    SetAlarmState: thenDelivered(setAlarmState),
    EnableAlarmActions: async (input) => setActions(true)(input),
    DisableAlarmActions: async (input) => setActions(false)(input),
  };

  return {
    operations,
    putMetric,
    alarmState: (name) => alarms.get(name)?.alarm.StateValue as AlarmStateValue | undefined,
    start: async () => {
      if (timer) return;
      evaluateAll();
      timer = setInterval(() => evaluateAll(), options.evaluateEveryMs ?? 1000);
      timer.unref();
    },
    stop: async () => {
      if (timer) clearInterval(timer);
      timer = undefined;
      await deliveries;
    },
  };
}
