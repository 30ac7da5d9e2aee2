/**
 * The local CloudWatch Logs: its durable store, GetLogEvents/FilterLogEvents paging, and the
 * operations as the JSON protocol calls them (no server: the operations table directly).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { compileFilterPattern, filterEvents, pageEvents } from '../../../local/logs/query';
import { createLogsService, type LogsService } from '../../../local/logs/service';
import { LogResourceNotFoundError, LogStore, type StoredLogEvent } from '../../../local/logs/store';
import { serviceContext } from '../../helpers/service-context';

let root: string;
let clock: number;
const now = () => clock;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-logs-'));
  clock = 1_700_000_000_000;
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

function events(count: number, from = 1000): StoredLogEvent[] {
  return Array.from({ length: count }, (_, index) => ({ timestamp: from + index * 10, message: `line ${index}`, ingestionTime: from + index * 10 }));
}

describe('LogStore', () => {
  it('keeps groups, streams and events across a restart', () => {
    const store = new LogStore(root, now);
    store.ensureStream('/aws/sagemaker/TrainingJobs', 'job-1/algo-1-1700000000');
    store.append('/aws/sagemaker/TrainingJobs', 'job-1/algo-1-1700000000', [
      { timestamp: 1, message: 'first' },
      { timestamp: 2, message: 'second' },
    ]);

    const reopened = new LogStore(root, now);

    expect(reopened.listGroups()).toEqual([{ name: '/aws/sagemaker/TrainingJobs', creationTime: clock, storedBytes: 11 }]);
    expect(reopened.listStreams('/aws/sagemaker/TrainingJobs')).toEqual([
      { name: 'job-1/algo-1-1700000000', creationTime: clock, firstEventTimestamp: 1, lastEventTimestamp: 2, lastIngestionTime: clock, storedBytes: 11 },
    ]);
    expect(reopened.events('/aws/sagemaker/TrainingJobs', 'job-1/algo-1-1700000000').map((event) => event.message)).toEqual(['first', 'second']);
  });

  it('keeps events sorted by timestamp, equal timestamps in arrival order', () => {
    const store = new LogStore(root, now);
    store.ensureStream('g', 's');
    store.append('g', 's', [{ timestamp: 5, message: 'b' }]);
    store.append('g', 's', [{ timestamp: 1, message: 'a' }]);
    store.append('g', 's', [{ timestamp: 5, message: 'c' }]);

    expect(store.events('g', 's').map((event) => event.message)).toEqual(['a', 'b', 'c']);
  });

  it('answers creating an existing group or stream with false, and changes nothing', () => {
    const store = new LogStore(root, now);
    expect(store.createGroup('g')).toBe(true);
    expect(store.createStream('g', 's')).toBe(true);
    clock += 1000;

    expect(store.createGroup('g')).toBe(false);
    expect(store.createStream('g', 's')).toBe(false);
    expect(store.listStreams('g')[0]!.creationTime).toBe(clock - 1000);
  });

  it('refuses to append to a stream that does not exist', () => {
    const store = new LogStore(root, now);
    store.createGroup('g');

    expect(() => store.append('g', 'missing', [{ timestamp: 1, message: 'x' }])).toThrow(LogResourceNotFoundError);
    expect(() => store.append('missing', 's', [{ timestamp: 1, message: 'x' }])).toThrow(LogResourceNotFoundError);
  });
});

describe('pageEvents (GetLogEvents)', () => {
  it('returns the last events by default and the first ones with startFromHead', () => {
    const stream = events(5);

    expect(pageEvents(stream, { limit: 2 }).events.map((event) => event.message)).toEqual(['line 3', 'line 4']);
    expect(pageEvents(stream, { limit: 2, startFromHead: true }).events.map((event) => event.message)).toEqual(['line 0', 'line 1']);
  });

  it('walks forward with nextForwardToken and returns the same token at the end of the stream', () => {
    const stream = events(5);
    const first = pageEvents(stream, { limit: 2, startFromHead: true });
    const second = pageEvents(stream, { limit: 2, nextToken: first.nextForwardToken });
    const third = pageEvents(stream, { limit: 2, nextToken: second.nextForwardToken });
    const end = pageEvents(stream, { limit: 2, nextToken: third.nextForwardToken });

    expect([second, third, end].map((page) => page.events.map((event) => event.message))).toEqual([['line 2', 'line 3'], ['line 4'], []]);
    expect(end.nextForwardToken).toBe(third.nextForwardToken);
    expect(first.nextForwardToken).toMatch(/^f\/\d{56}$/);
  });

  it('sees events appended after the end through the last nextForwardToken (following a stream)', () => {
    const stream = events(2);
    const tail = pageEvents(stream, {});
    stream.push(...events(1, 5000));

    expect(pageEvents(stream, { nextToken: tail.nextForwardToken }).events.map((event) => event.timestamp)).toEqual([5000]);
  });

  it('walks backward with nextBackwardToken and returns the same token at the head', () => {
    const stream = events(5);
    const last = pageEvents(stream, { limit: 2 });
    const before = pageEvents(stream, { limit: 2, nextToken: last.nextBackwardToken });
    const head = pageEvents(stream, { limit: 2, nextToken: before.nextBackwardToken });
    const beyond = pageEvents(stream, { limit: 2, nextToken: head.nextBackwardToken });

    expect([before, head, beyond].map((page) => page.events.map((event) => event.message))).toEqual([['line 1', 'line 2'], ['line 0'], []]);
    expect(beyond.nextBackwardToken).toBe(head.nextBackwardToken);
  });

  it('keeps to startTime (inclusive) and endTime (exclusive)', () => {
    const stream = events(5);

    expect(pageEvents(stream, { startTime: 1010, endTime: 1030, startFromHead: true }).events.map((event) => event.timestamp)).toEqual([1010, 1020]);
  });

  it('rejects a token it did not issue', () => {
    expect(() => pageEvents(events(1), { nextToken: 'garbage' })).toThrow('The specified nextToken is invalid.');
  });
});

describe('filterEvents (FilterLogEvents)', () => {
  const streams = [
    { name: 'b', events: [{ timestamp: 2, message: 'epoch 1 loss 0.5', ingestionTime: 2 }] },
    {
      name: 'a',
      events: [
        { timestamp: 1, message: 'epoch 0 loss 0.9', ingestionTime: 1 },
        { timestamp: 3, message: 'done', ingestionTime: 3 },
      ],
    },
  ];

  it('interleaves the streams by timestamp', () => {
    expect(filterEvents(streams, {}).events.map((event) => `${event.logStreamName}:${event.message}`)).toEqual(['a:epoch 0 loss 0.9', 'b:epoch 1 loss 0.5', 'a:done']);
  });

  it('keeps events containing every term of the pattern, within the time range', () => {
    expect(filterEvents(streams, { filterPattern: 'loss epoch' }).events.map((event) => event.message)).toEqual(['epoch 0 loss 0.9', 'epoch 1 loss 0.5']);
    expect(filterEvents(streams, { filterPattern: 'loss', startTime: 2, endTime: 3 }).events.map((event) => event.message)).toEqual(['epoch 1 loss 0.5']);
  });

  it('pages with nextToken, which is absent on the last page', () => {
    const first = filterEvents(streams, { limit: 2 });
    const second = filterEvents(streams, { limit: 2, nextToken: first.nextToken });

    expect(first.nextToken).toBeDefined();
    expect(second.events.map((event) => event.message)).toEqual(['done']);
    expect(second.nextToken).toBeUndefined();
  });

  it('treats a quoted phrase as one term', () => {
    const matches = compileFilterPattern('"loss 0.5"');

    expect([matches('epoch 1 loss 0.5'), matches('loss 0.9 0.5')]).toEqual([true, false]);
  });
});

describe('the Logs operations', () => {
  let service: LogsService;
  beforeEach(() => {
    service = createLogsService(serviceContext(root), { now });
  });

  it('writes with PutLogEvents and reads back with GetLogEvents', async () => {
    await service.operations.CreateLogGroup!({ logGroupName: 'app' });
    await service.operations.CreateLogStream!({ logGroupName: 'app', logStreamName: 'one' });
    await service.operations.PutLogEvents!({ logGroupName: 'app', logStreamName: 'one', logEvents: [{ timestamp: 10, message: 'hello' }] });

    const output = (await service.operations.GetLogEvents!({ logGroupName: 'app', logStreamName: 'one', startFromHead: true })) as { events: unknown[] };

    expect(output.events).toEqual([{ timestamp: 10, message: 'hello', ingestionTime: clock }]);
  });

  it('answers ResourceAlreadyExistsException for an existing group and ResourceNotFoundException for a missing stream', async () => {
    await service.operations.CreateLogGroup!({ logGroupName: 'app' });

    await expect(service.operations.CreateLogGroup!({ logGroupName: 'app' })).rejects.toMatchObject({ code: 'ResourceAlreadyExistsException' });
    await expect(service.operations.GetLogEvents!({ logGroupName: 'app', logStreamName: 'none' })).rejects.toMatchObject({ code: 'ResourceNotFoundException' });
    await expect(service.operations.DescribeLogStreams!({ logGroupName: 'nope' })).rejects.toMatchObject({ code: 'ResourceNotFoundException' });
  });

  it('rejects PutLogEvents batches out of chronological order', async () => {
    service.sink.put('app', 'one', 'x');

    await expect(
      service.operations.PutLogEvents!({ logGroupName: 'app', logStreamName: 'one', logEvents: [{ timestamp: 2, message: 'b' }, { timestamp: 1, message: 'a' }] }),
    ).rejects.toMatchObject({ code: 'InvalidParameterException' });
  });

  it("describes the sink's groups and streams with ARNs, filtered by prefix and paged", async () => {
    service.sink.put('/aws/sagemaker/TrainingJobs', 'job-a/algo-1-1700000000', 'a');
    service.sink.put('/aws/sagemaker/TrainingJobs', 'job-b/algo-1-1700000000', 'b');
    service.sink.put('/aws/lambda/fn', '2023/11/14/[$LATEST]0123456789abcdef0123456789abcdef', 'c');

    const groups = (await service.operations.DescribeLogGroups!({ logGroupNamePrefix: '/aws/sagemaker' })) as { logGroups: { logGroupName: string; arn: string }[] };
    const page = (await service.operations.DescribeLogStreams!({ logGroupName: '/aws/sagemaker/TrainingJobs', limit: 1 })) as { logStreams: { logStreamName: string; arn: string }[]; nextToken?: string };
    const rest = (await service.operations.DescribeLogStreams!({ logGroupName: '/aws/sagemaker/TrainingJobs', nextToken: page.nextToken })) as { logStreams: { logStreamName: string }[]; nextToken?: string };

    expect(groups.logGroups.map((group) => [group.logGroupName, group.arn])).toEqual([
      ['/aws/sagemaker/TrainingJobs', 'arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/TrainingJobs:*'],
    ]);
    expect(page.logStreams.map((stream) => stream.arn)).toEqual(['arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/TrainingJobs:log-stream:job-a/algo-1-1700000000']);
    expect(rest.logStreams.map((stream) => stream.logStreamName)).toEqual(['job-b/algo-1-1700000000']);
    expect(rest.nextToken).toBeUndefined();
  });

  it('filters the named streams of a group by a plain term', async () => {
    service.sink.put('g', 's1', 'loss 1');
    service.sink.put('g', 's2', 'loss 2');
    service.sink.put('g', 's1', 'other');

    const output = (await service.operations.FilterLogEvents!({ logGroupIdentifier: 'arn:aws:logs:us-east-1:123456789012:log-group:g:*', logStreamNames: ['s1'], filterPattern: 'loss' })) as {
      events: { logStreamName: string; message: string }[];
      searchedLogStreams: unknown[];
    };

    expect(output.events.map((event) => [event.logStreamName, event.message])).toEqual([['s1', 'loss 1']]);
    expect(output.searchedLogStreams).toEqual([{ logStreamName: 's1', searchedCompletely: true }]);
  });
});

describe('retention', () => {
  const DAY = 24 * 60 * 60 * 1000;

  it('drops events older than the group\'s retention, from memory and from disk, and keeps the rest', () => {
    const store = new LogStore(root, now);
    store.createGroup('/aws/sagemaker/TrainingJobs', 1);
    store.createStream('/aws/sagemaker/TrainingJobs', 'job/algo-1-1');
    store.append('/aws/sagemaker/TrainingJobs', 'job/algo-1-1', [
      { timestamp: clock - 2 * DAY, message: 'old' },
      { timestamp: clock - DAY / 2, message: 'recent' },
    ]);

    expect(store.events('/aws/sagemaker/TrainingJobs', 'job/algo-1-1').map((event) => event.message)).toEqual(['recent']);
    clock += DAY;
    expect(new LogStore(root, now).events('/aws/sagemaker/TrainingJobs', 'job/algo-1-1')).toEqual([]);
  });

  it('keeps everything in a group without retention, and again after DeleteRetentionPolicy', async () => {
    const service = createLogsService(serviceContext(root), { now });
    await service.operations.CreateLogGroup!({ logGroupName: 'app' });
    await service.operations.PutRetentionPolicy!({ logGroupName: 'app', retentionInDays: 7 });
    await service.operations.DeleteRetentionPolicy!({ logGroupName: 'app' });
    await service.operations.CreateLogStream!({ logGroupName: 'app', logStreamName: 's' });
    await service.operations.PutLogEvents!({ logGroupName: 'app', logStreamName: 's', logEvents: [{ timestamp: clock - 400 * DAY, message: 'a year ago' }] });

    const output = (await service.operations.GetLogEvents!({ logGroupName: 'app', logStreamName: 's', startFromHead: true })) as { events: { message: string }[] };
    expect(output.events.map((event) => event.message)).toEqual(['a year ago']);
    const groups = (await service.operations.DescribeLogGroups!({})) as { logGroups: Record<string, unknown>[] };
    expect(groups.logGroups[0]).not.toHaveProperty('retentionInDays');
  });

  it('gives the groups its processes write the stage\'s retention, and the template\'s groups theirs', async () => {
    const service = createLogsService(serviceContext(root), { now, defaultRetentionInDays: 30, groups: [{ name: '/aws/lambda/sluice-local-onSourcePush', retentionInDays: 14 }] });
    service.sink.put('/aws/sagemaker/ProcessingJobs', 'job/algo-1-1', 'hello');

    const groups = (await service.operations.DescribeLogGroups!({})) as { logGroups: { logGroupName: string; retentionInDays?: number }[] };
    expect(groups.logGroups.map(({ logGroupName, retentionInDays }) => [logGroupName, retentionInDays])).toEqual([
      ['/aws/lambda/sluice-local-onSourcePush', 14],
      ['/aws/sagemaker/ProcessingJobs', 30],
    ]);
  });

  it('refuses a retention CloudWatch Logs does not offer, naming the field and the allowed values', async () => {
    const service = createLogsService(serviceContext(root), { now });
    await service.operations.CreateLogGroup!({ logGroupName: 'app' });

    await expect(service.operations.PutRetentionPolicy!({ logGroupName: 'app', retentionInDays: 2 })).rejects.toMatchObject({ code: 'InvalidParameterException', message: expect.stringContaining("'retentionInDays'") });
    await expect(service.operations.PutRetentionPolicy!({ logGroupName: 'missing', retentionInDays: 1 })).rejects.toMatchObject({ code: 'ResourceNotFoundException' });
  });
});
