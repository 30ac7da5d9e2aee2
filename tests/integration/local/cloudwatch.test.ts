/**
 * The local CloudWatch through the real @aws-sdk/client-cloudwatch (awsJson1_0, X-Amz-Target
 * GraniteServiceVersion20100801.<Op>) against a loopback server, routed as the runtime routes it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  type DescribeAlarmsCommandInput,
  GetMetricStatisticsCommand,
  PutMetricAlarmCommand,
  type PutMetricAlarmCommandInput,
  PutMetricDataCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';

import type { LocalEventEntry, ServiceContext } from '../../../local/context';
import { serveAwsJson } from '../../../local/http/aws-json';
import { CLOUDWATCH_CONTENT_TYPE, CLOUDWATCH_TARGET_PREFIX, type CloudWatchService, createCloudWatchService, readCloudWatchBody } from '../../../local/cloudwatch/service';
import { serviceContext } from '../../helpers/service-context';

let root: string;
let events: LocalEventEntry[];
let ctx: ServiceContext;
let services: CloudWatchService[];
let service: CloudWatchService;
let server: Server;
let client: CloudWatchClient;
let encodings: string[];

function makeService(options: Parameters<typeof createCloudWatchService>[1] = {}): CloudWatchService {
  const created = createCloudWatchService(ctx, options);
  services.push(created);
  return created;
}

async function listen(target: CloudWatchService): Promise<void> {
  server = createServer((request, response) => {
    encodings.push(String(request.headers['content-encoding'] ?? 'identity'));
    void readCloudWatchBody(request).then((body) => {
      if (!request.headers['x-amz-target']?.toString().startsWith(`${CLOUDWATCH_TARGET_PREFIX}.`)) throw new Error(`unexpected target ${String(request.headers['x-amz-target'])}`);
      return serveAwsJson(request, response, body, target.operations, { contentType: CLOUDWATCH_CONTENT_TYPE });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new CloudWatchClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'sluice-cloudwatch-'));
  events = [];
  encodings = [];
  services = [];
  ctx = serviceContext(join(root, 'data'), events);
  service = makeService();
  await listen(service);
});

afterEach(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (const created of services) await created.stop();
  rmSync(root, { recursive: true, force: true });
});

const errorsAlarm = (name: string, overrides: Partial<PutMetricAlarmCommandInput> = {}): PutMetricAlarmCommandInput => ({
  AlarmName: name,
  Namespace: 'Sluice/Test',
  MetricName: 'Errors',
  Dimensions: [{ Name: 'EndpointName', Value: 'abalone' }],
  Statistic: 'Sum',
  Period: 60,
  EvaluationPeriods: 1,
  Threshold: 1,
  ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  ...overrides,
});

/** An alarm as the operation handler takes it (the JSON the SDK would send). */
const alarmInput = (name: string, overrides: Partial<PutMetricAlarmCommandInput> = {}) => JSON.parse(JSON.stringify(errorsAlarm(name, overrides))) as Record<string, unknown>;

describe('alarms', () => {
  it('stores an alarm and describes it with AWS defaults (INSUFFICIENT_DATA, TreatMissingData missing, its ARN)', async () => {
    await client.send(new PutMetricAlarmCommand(errorsAlarm('errors', { AlarmDescription: 'too many errors' })));

    const { MetricAlarms } = await client.send(new DescribeAlarmsCommand({ AlarmNames: ['errors'] }));

    expect(MetricAlarms).toHaveLength(1);
    expect(MetricAlarms![0]).toMatchObject({
      AlarmName: 'errors',
      AlarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors',
      AlarmDescription: 'too many errors',
      StateValue: 'INSUFFICIENT_DATA',
      TreatMissingData: 'missing',
      ActionsEnabled: true,
      Dimensions: [{ Name: 'EndpointName', Value: 'abalone' }],
      Threshold: 1,
    });
    expect(MetricAlarms![0]!.StateUpdatedTimestamp).toBeInstanceOf(Date);
  });

  it('goes to ALARM when PutMetricData breaches the threshold, and publishes CloudWatch Alarm State Change', async () => {
    await client.send(new PutMetricAlarmCommand(errorsAlarm('breached')));

    await client.send(new PutMetricDataCommand({ Namespace: 'Sluice/Test', MetricData: [{ MetricName: 'Errors', Dimensions: [{ Name: 'EndpointName', Value: 'abalone' }], Value: 3, Unit: 'Count' }] }));

    const { MetricAlarms } = await client.send(new DescribeAlarmsCommand({ AlarmNames: ['breached'] }));
    expect(MetricAlarms![0]).toMatchObject({ StateValue: 'ALARM', StateReason: expect.stringMatching(/^Threshold Crossed: 1 out of the last 1 datapoints \[3\.0 \(.+\)\] was greater than or equal to the threshold \(1\.0\)/) });
    expect(JSON.parse(MetricAlarms![0]!.StateReasonData!)).toMatchObject({ version: '1.0', statistic: 'Sum', period: 60, recentDatapoints: [3], threshold: 1 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      Source: 'aws.cloudwatch',
      DetailType: 'CloudWatch Alarm State Change',
      Resources: ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:breached'],
      Detail: {
        alarmName: 'breached',
        state: { value: 'ALARM', reason: expect.stringContaining('Threshold Crossed'), timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/) },
        previousState: { value: 'INSUFFICIENT_DATA', reason: 'Unchecked: Initial alarm creation' },
        configuration: { metrics: [{ id: expect.any(String), metricStat: { metric: { namespace: 'Sluice/Test', name: 'Errors', dimensions: { EndpointName: 'abalone' } }, period: 60, stat: 'Sum' }, returnData: true }] },
      },
    });
  });

  it('only counts datapoints of the exact dimension set (another dimension set is another metric)', async () => {
    await client.send(new PutMetricAlarmCommand(errorsAlarm('exact')));

    await client.send(
      new PutMetricDataCommand({
        Namespace: 'Sluice/Test',
        MetricData: [{ MetricName: 'Errors', Dimensions: [{ Name: 'EndpointName', Value: 'abalone' }, { Name: 'VariantName', Value: 'AllTraffic' }], Value: 5 }],
      }),
    );

    expect(service.alarmState('exact')).toBe('INSUFFICIENT_DATA');
  });

  it('treats missing data as notBreaching: OK with no datapoints at all', async () => {
    await client.send(new PutMetricAlarmCommand(errorsAlarm('quiet', { TreatMissingData: 'notBreaching' })));

    const { MetricAlarms } = await client.send(new DescribeAlarmsCommand({ AlarmNames: ['quiet'] }));

    expect(MetricAlarms![0]).toMatchObject({ StateValue: 'OK', StateReason: expect.stringContaining('treated as [NonBreaching]') });
    expect(events.map((e) => [(e.Detail.previousState as { value: string }).value, (e.Detail.state as { value: string }).value])).toEqual([['INSUFFICIENT_DATA', 'OK']]);
  });

  it('treats missing data as breaching when told to', async () => {
    await client.send(new PutMetricAlarmCommand(errorsAlarm('silent-is-bad', { TreatMissingData: 'breaching' })));

    expect(service.alarmState('silent-is-bad')).toBe('ALARM');
  });

  it('filters DescribeAlarms by AlarmNames, AlarmNamePrefix and StateValue, and pages with MaxRecords/NextToken', async () => {
    await client.send(new PutMetricAlarmCommand(errorsAlarm('deploy-a-errors', { TreatMissingData: 'notBreaching' })));
    await client.send(new PutMetricAlarmCommand(errorsAlarm('deploy-a-latency', { TreatMissingData: 'breaching' })));
    await client.send(new PutMetricAlarmCommand(errorsAlarm('other')));

    const names = async (input: DescribeAlarmsCommandInput) => ((await client.send(new DescribeAlarmsCommand(input))).MetricAlarms ?? []).map((a) => a.AlarmName);
    const first = await client.send(new DescribeAlarmsCommand({ MaxRecords: 2 }));
    const second = await client.send(new DescribeAlarmsCommand({ MaxRecords: 2, NextToken: first.NextToken }));

    expect(await names({ AlarmNames: ['other', 'missing'] })).toEqual(['other']);
    expect(await names({ AlarmNamePrefix: 'deploy-a-' })).toEqual(['deploy-a-errors', 'deploy-a-latency']);
    expect(await names({ StateValue: 'ALARM' })).toEqual(['deploy-a-latency']);
    expect(await names({ StateValue: 'OK' })).toEqual(['deploy-a-errors']);
    expect(await names({ AlarmNamePrefix: 'deploy-a-', StateValue: 'INSUFFICIENT_DATA' })).toEqual([]);
    expect(await names({ AlarmTypes: ['CompositeAlarm'] })).toEqual([]);
    expect(first.MetricAlarms!.map((a) => a.AlarmName)).toEqual(['deploy-a-errors', 'deploy-a-latency']);
    expect(second.MetricAlarms!.map((a) => a.AlarmName)).toEqual(['other']);
    expect(second.NextToken).toBeUndefined();
    await expect(client.send(new DescribeAlarmsCommand({ AlarmNames: ['x'], AlarmNamePrefix: 'x' }))).rejects.toMatchObject({ name: 'InvalidParameterCombinationException' });
  });

  it('validates PutMetricAlarm with CloudWatch\'s exception names', async () => {
    await expect(client.send(new PutMetricAlarmCommand(errorsAlarm('no-stat', { Statistic: undefined })))).rejects.toMatchObject({ name: 'InvalidParameterCombinationException' });
    await expect(client.send(new PutMetricAlarmCommand(errorsAlarm('both-stats', { ExtendedStatistic: 'p99' })))).rejects.toMatchObject({ name: 'InvalidParameterCombinationException' });
    await expect(client.send(new PutMetricAlarmCommand(errorsAlarm('bad-period', { Period: 45 })))).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    await expect(client.send(new PutMetricAlarmCommand(errorsAlarm('bad-dtoa', { EvaluationPeriods: 2, DatapointsToAlarm: 3 })))).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    await expect(client.send(new PutMetricAlarmCommand(errorsAlarm('bad-treat', { TreatMissingData: 'sometimes' })))).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    await expect(client.send(new PutMetricAlarmCommand(errorsAlarm('no-threshold', { Threshold: undefined })))).rejects.toMatchObject({ name: 'MissingRequiredParameterException' });
    await expect(client.send(new PutMetricAlarmCommand(errorsAlarm('no-namespace', { Namespace: undefined })))).rejects.toMatchObject({ name: 'MissingRequiredParameterException' });
    expect((await client.send(new DescribeAlarmsCommand({}))).MetricAlarms).toEqual([]);
  });

  it('updates an existing alarm in place, keeping its state', async () => {
    await client.send(new PutMetricAlarmCommand(errorsAlarm('updated', { TreatMissingData: 'breaching' })));

    await client.send(new PutMetricAlarmCommand(errorsAlarm('updated', { TreatMissingData: 'breaching', Threshold: 10, AlarmDescription: 'v2' })));

    expect((await client.send(new DescribeAlarmsCommand({ AlarmNames: ['updated'] }))).MetricAlarms![0]).toMatchObject({ StateValue: 'ALARM', Threshold: 10, AlarmDescription: 'v2' });
    expect(events).toHaveLength(1);
  });

  it('deletes alarms; an unknown name is ResourceNotFound and deletes nothing', async () => {
    await client.send(new PutMetricAlarmCommand(errorsAlarm('keep')));
    await client.send(new PutMetricAlarmCommand(errorsAlarm('drop')));

    await expect(client.send(new DeleteAlarmsCommand({ AlarmNames: ['drop', 'nope'] }))).rejects.toMatchObject({ name: 'ResourceNotFound' });
    await client.send(new DeleteAlarmsCommand({ AlarmNames: ['drop'] }));

    expect(((await client.send(new DescribeAlarmsCommand({}))).MetricAlarms ?? []).map((a) => a.AlarmName)).toEqual(['keep']);
  });

  it('SetAlarmState moves the alarm and publishes the change; unknown alarms are ResourceNotFound', async () => {
    await client.send(new PutMetricAlarmCommand(errorsAlarm('forced', { TreatMissingData: 'notBreaching' })));

    await client.send(new SetAlarmStateCommand({ AlarmName: 'forced', StateValue: 'ALARM', StateReason: 'testing the rollback' }));

    expect(service.alarmState('forced')).toBe('ALARM');
    expect(events.at(-1)!.Detail).toMatchObject({ state: { value: 'ALARM', reason: 'testing the rollback' }, previousState: { value: 'OK' } });
    await expect(client.send(new SetAlarmStateCommand({ AlarmName: 'ghost', StateValue: 'OK', StateReason: 'x' }))).rejects.toMatchObject({ name: 'ResourceNotFound' });
    await expect(client.send(new SetAlarmStateCommand({ AlarmName: 'forced', StateValue: 'OK', StateReason: 'x', StateReasonData: '{not json' }))).rejects.toMatchObject({ name: 'InvalidFormatFault' });
  });

  it('keeps alarms across a restart over the same data directory', async () => {
    await client.send(new PutMetricAlarmCommand(errorsAlarm('durable', { TreatMissingData: 'notBreaching' })));

    const restarted = makeService();

    expect(restarted.alarmState('durable')).toBe('OK');
  });
});

describe('metrics', () => {
  it('answers GetMetricStatistics per period for the exact dimensions', async () => {
    const dimensions = [{ Name: 'EndpointName', Value: 'abalone' }];
    await client.send(new PutMetricDataCommand({ Namespace: 'Sluice/Test', MetricData: [{ MetricName: 'Latency', Dimensions: dimensions, Values: [10, 20, 30], Counts: [1, 1, 2], Unit: 'Milliseconds' }, { MetricName: 'Latency', Dimensions: dimensions, Value: 40, Unit: 'Milliseconds' }] }));

    const now = Date.now();
    const output = await client.send(
      new GetMetricStatisticsCommand({ Namespace: 'Sluice/Test', MetricName: 'Latency', Dimensions: dimensions, StartTime: new Date(now - 3_600_000), EndTime: new Date(now + 60_000), Period: 3600, Statistics: ['Sum', 'SampleCount', 'Average', 'Minimum', 'Maximum'], ExtendedStatistics: ['p50'] }),
    );

    expect(output.Datapoints).toHaveLength(1);
    expect(output.Datapoints![0]).toMatchObject({ Sum: 130, SampleCount: 5, Average: 26, Minimum: 10, Maximum: 40, Unit: 'Milliseconds', ExtendedStatistics: { p50: 30 } });
  });

  it('rejects the reserved AWS/ namespaces and malformed data', async () => {
    await expect(client.send(new PutMetricDataCommand({ Namespace: 'AWS/SageMaker', MetricData: [{ MetricName: 'Invocations', Value: 1 }] }))).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    await expect(client.send(new PutMetricDataCommand({ Namespace: 'Sluice/Test', MetricData: [{ MetricName: 'X', Value: 1, Values: [1] }] }))).rejects.toMatchObject({ name: 'InvalidParameterCombinationException' });
    await expect(client.send(new PutMetricDataCommand({ Namespace: 'Sluice/Test', MetricData: [{ MetricName: 'X', Value: 1, Unit: 'Parsecs' as never }] }))).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
  });

  it('accepts a gzip-compressed PutMetricData (the SDK compresses bodies over 10 KiB)', async () => {
    const data = Array.from({ length: 400 }, (_, i) => ({ MetricName: 'Bulk', Dimensions: [{ Name: 'Shard', Value: `shard-${i % 4}` }], Value: i }));

    await client.send(new PutMetricDataCommand({ Namespace: 'Sluice/Test', MetricData: data }));

    const now = Date.now();
    const output = await client.send(new GetMetricStatisticsCommand({ Namespace: 'Sluice/Test', MetricName: 'Bulk', Dimensions: [{ Name: 'Shard', Value: 'shard-0' }], StartTime: new Date(now - 600_000), EndTime: new Date(now + 60_000), Period: 3600, Statistics: ['SampleCount'] }));
    expect(encodings).toContain('gzip');
    expect(output.Datapoints![0]!.SampleCount).toBe(100);
  });
});

describe('evaluation over time (fake clock)', () => {
  it('needs DatapointsToAlarm breaching periods of EvaluationPeriods, and returns to OK on the timer once they age out', async () => {
    let clock = Date.UTC(2026, 10, 23, 12, 0, 0);
    const timed = makeService({ now: () => clock, evaluateEveryMs: 10 });
    await timed.operations.PutMetricAlarm!(alarmInput('two-of-three', { Period: 60, EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: 'notBreaching' }));
    await timed.start();
    const put = (value: number) => timed.putMetric({ Namespace: 'Sluice/Test', MetricName: 'Errors', Dimensions: [{ Name: 'EndpointName', Value: 'abalone' }], Value: value, Timestamp: clock });
    const settle = () => new Promise((resolve) => setTimeout(resolve, 40));

    put(5);
    await settle();
    const afterOne = timed.alarmState('two-of-three');
    clock += 60_000;
    put(0);
    await settle();
    const afterQuietPeriod = timed.alarmState('two-of-three');
    clock += 60_000;
    put(2);
    await settle();
    const afterSecondBreach = timed.alarmState('two-of-three');
    clock += 120_000;
    await settle();
    const afterAgeOut = timed.alarmState('two-of-three');

    expect([afterOne, afterQuietPeriod, afterSecondBreach, afterAgeOut]).toEqual(['OK', 'OK', 'ALARM', 'OK']);
    expect(events.filter((e) => e.Detail.alarmName === 'two-of-three').map((e) => (e.Detail.state as { value: string }).value)).toEqual(['OK', 'ALARM', 'OK']);
  });

  it('goes to INSUFFICIENT_DATA when every period is missing and TreatMissingData is missing; keeps its state with ignore', async () => {
    let clock = Date.UTC(2026, 10, 23, 12, 0, 0);
    const timed = makeService({ now: () => clock, evaluateEveryMs: 10 });
    await timed.operations.PutMetricAlarm!(alarmInput('gaps', { Statistic: 'Maximum' }));
    await timed.operations.PutMetricAlarm!(alarmInput('ignored', { Statistic: 'Maximum', TreatMissingData: 'ignore' }));
    await timed.start();
    timed.putMetric({ Namespace: 'Sluice/Test', MetricName: 'Errors', Dimensions: [{ Name: 'EndpointName', Value: 'abalone' }], Value: 9, Timestamp: clock });
    await new Promise((resolve) => setTimeout(resolve, 40));
    const before = [timed.alarmState('gaps'), timed.alarmState('ignored')];

    clock += 61_000;
    await new Promise((resolve) => setTimeout(resolve, 40));

    expect(before).toEqual(['ALARM', 'ALARM']);
    expect([timed.alarmState('gaps'), timed.alarmState('ignored')]).toEqual(['INSUFFICIENT_DATA', 'ALARM']);
  });
});
