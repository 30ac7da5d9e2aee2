import { join } from 'node:path';

import { z } from '../../shared/schemas/zod';

import type { LogSink, ServiceContext } from '../context';
import { AwsServiceError, type JsonOperations } from '../http/aws-json';
import { filterEvents, InvalidTokenError, MAX_EVENTS, pageEvents } from './query';
import { LogResourceNotFoundError, LogStore } from './store';

/**
 * CloudWatch Logs, locally: the log groups and streams the runtime's own processes write (SageMaker
 * jobs and endpoint variants, Lambda functions) plus whatever clients create, over the JSON 1.1
 * protocol the SDK and the AWS CLI speak (X-Amz-Target `Logs_20140328.<Operation>`). Durable under
 * `ctx.dataDir`. Retention as PutRetentionPolicy sets it (events older than it, by timestamp, are
 * dropped); groups the runtime creates get the stage's (`defaultRetentionInDays`). Not emulated: subscription and metric filters, Insights queries, KMS, tags.
 */

/** X-Amz-Target prefix of the CloudWatch Logs JSON protocol. */
export const LOGS_TARGET_PREFIX = 'Logs_20140328';
/** Content type of the CloudWatch Logs JSON protocol (awsJson1_1). */
export const LOGS_CONTENT_TYPE = 'application/x-amz-json-1.1';

const DESCRIBE_LIMIT = 50;

export interface LogsService {
  operations: JsonOperations;
  /** Where the runtime's processes write their output (group and stream created on first use; blank lines dropped). */
  sink: LogSink;
}

export interface LogsServiceOptions {
  /** Clock (epoch ms); tests pass a fake one. */
  now?: () => number;
  /** Retention of the groups the runtime's own processes create (the stage's logRetentionDays); absent: kept forever. */
  defaultRetentionInDays?: number;
  /** Groups the template declares, created at boot with their retention (an existing group gets the template's retention). */
  groups?: readonly { name: string; retentionInDays?: number }[];
}

/** The values PutRetentionPolicy accepts (CloudWatch Logs API reference). */
export const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

const name = z.string().check(z.minLength(1), z.maxLength(512));
const optionalName = z.optional(name);
const token = z.optional(z.string());
const limit = (max: number) => z.optional(z.int().check(z.gte(1), z.lte(max)));
const time = z.optional(z.int().check(z.gte(0)));
const schemas = {
  CreateLogGroup: z.object({ logGroupName: name }),
  CreateLogStream: z.object({ logGroupName: name, logStreamName: name }),
  PutLogEvents: z.object({
    logGroupName: name,
    logStreamName: name,
    logEvents: z.array(z.object({ timestamp: z.int().check(z.gte(0)), message: z.string().check(z.minLength(1)) })).check(z.minLength(1), z.maxLength(10_000)),
    sequenceToken: token,
  }),
  PutRetentionPolicy: z.object({ logGroupName: name, retentionInDays: z.int() }),
  DeleteRetentionPolicy: z.object({ logGroupName: name }),
  DescribeLogGroups: z.object({ logGroupNamePrefix: optionalName, limit: limit(DESCRIBE_LIMIT), nextToken: token }),
  DescribeLogStreams: z.object({
    logGroupName: optionalName,
    logGroupIdentifier: optionalName,
    logStreamNamePrefix: optionalName,
    orderBy: z.optional(z.enum(['LogStreamName', 'LastEventTime'])),
    descending: z.optional(z.boolean()),
    limit: limit(DESCRIBE_LIMIT),
    nextToken: token,
  }),
  GetLogEvents: z.object({
    logGroupName: optionalName,
    logGroupIdentifier: optionalName,
    logStreamName: name,
    startTime: time,
    endTime: time,
    limit: limit(MAX_EVENTS),
    startFromHead: z.optional(z.boolean()),
    nextToken: token,
  }),
  FilterLogEvents: z.object({
    logGroupName: optionalName,
    logGroupIdentifier: optionalName,
    logStreamNames: z.optional(z.array(name).check(z.minLength(1), z.maxLength(100))),
    logStreamNamePrefix: optionalName,
    startTime: time,
    endTime: time,
    filterPattern: z.optional(z.string().check(z.maxLength(1024))),
    limit: limit(MAX_EVENTS),
    nextToken: token,
    interleaved: z.optional(z.boolean()),
  }),
};

export function createLogsService(ctx: ServiceContext, options: LogsServiceOptions = {}): LogsService {
  const now = options.now ?? Date.now;
  const store = new LogStore(join(ctx.dataDir, 'store'), now);
  const groupArn = (group: string) => `arn:aws:logs:${ctx.region}:${ctx.accountId}:log-group:${group}`;
  for (const group of options.groups ?? []) {
    if (!store.createGroup(group.name, group.retentionInDays)) store.setRetention(group.name, group.retentionInDays);
  }

  const operations: JsonOperations = {
    CreateLogGroup: async (input) => {
      const { logGroupName } = parse('CreateLogGroup', input);
      if (!store.createGroup(logGroupName)) throw new AwsServiceError('ResourceAlreadyExistsException', 'The specified log group already exists');
      return {};
    },
    CreateLogStream: async (input) => {
      const { logGroupName, logStreamName } = parse('CreateLogStream', input);
      if (!translate(() => store.createStream(logGroupName, logStreamName))) throw new AwsServiceError('ResourceAlreadyExistsException', 'The specified log stream already exists');
      return {};
    },
    PutLogEvents: async (input) => {
      const { logGroupName, logStreamName, logEvents } = parse('PutLogEvents', input);
      for (let index = 1; index < logEvents.length; index += 1) {
        if (logEvents[index]!.timestamp < logEvents[index - 1]!.timestamp) throw invalid('Log events in a single PutLogEvents request must be in chronological order.');
      }
      translate(() => store.append(logGroupName, logStreamName, logEvents));
      // Sequence tokens are ignored, as they are on AWS since 2023; one is still returned.
      return { nextSequenceToken: String(now()).padStart(56, '0') };
    },
    PutRetentionPolicy: async (input) => {
      const { logGroupName, retentionInDays } = parse('PutRetentionPolicy', input);
      if (!(RETENTION_DAYS as readonly number[]).includes(retentionInDays)) {
        throw invalid(`1 validation error detected: Value '${retentionInDays}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(', ')}]`);
      }
      translate(() => store.setRetention(logGroupName, retentionInDays));
      return {};
    },
    DeleteRetentionPolicy: async (input) => {
      const { logGroupName } = parse('DeleteRetentionPolicy', input);
      translate(() => store.setRetention(logGroupName, undefined));
      return {};
    },
    DescribeLogGroups: async (input) => {
      const query = parse('DescribeLogGroups', input);
      const groups = store.listGroups().filter((group) => group.name.startsWith(query.logGroupNamePrefix ?? ''));
      const { page, nextToken } = pageList(groups, query.nextToken, query.limit ?? DESCRIBE_LIMIT);
      return {
        logGroups: page.map((group) => ({
          logGroupName: group.name,
          creationTime: group.creationTime,
          metricFilterCount: 0,
          arn: `${groupArn(group.name)}:*`,
          logGroupArn: groupArn(group.name),
          storedBytes: group.storedBytes,
          ...(group.retentionInDays === undefined ? {} : { retentionInDays: group.retentionInDays }),
          logGroupClass: 'STANDARD',
        })),
        nextToken,
      };
    },
    DescribeLogStreams: async (input) => {
      const query = parse('DescribeLogStreams', input);
      const group = groupName(query);
      if (query.orderBy === 'LastEventTime' && query.logStreamNamePrefix) throw invalid('Cannot order by LastEventTime with a logStreamNamePrefix.');
      let streams = translate(() => store.listStreams(group)).filter((stream) => stream.name.startsWith(query.logStreamNamePrefix ?? ''));
      if (query.orderBy === 'LastEventTime') streams = streams.sort((a, b) => (a.lastEventTimestamp ?? 0) - (b.lastEventTimestamp ?? 0));
      if (query.descending) streams = streams.reverse();
      const { page, nextToken } = pageList(streams, query.nextToken, query.limit ?? DESCRIBE_LIMIT);
      return {
        logStreams: page.map((stream) => ({
          logStreamName: stream.name,
          creationTime: stream.creationTime,
          firstEventTimestamp: stream.firstEventTimestamp,
          lastEventTimestamp: stream.lastEventTimestamp,
          lastIngestionTime: stream.lastIngestionTime,
          arn: `${groupArn(group)}:log-stream:${stream.name}`,
          storedBytes: stream.storedBytes,
        })),
        nextToken,
      };
    },
    GetLogEvents: async (input) => {
      const query = parse('GetLogEvents', input);
      const events = translate(() => store.events(groupName(query), query.logStreamName));
      const page = translate(() => pageEvents(events, query));
      return { ...page, events: page.events.map(({ timestamp, message, ingestionTime }) => ({ timestamp, message, ingestionTime })) };
    },
    FilterLogEvents: async (input) => {
      const query = parse('FilterLogEvents', input);
      const group = groupName(query);
      if (query.logStreamNames && query.logStreamNamePrefix) throw invalid('logStreamNames and logStreamNamePrefix are mutually exclusive.');
      const names = query.logStreamNames ?? translate(() => store.listStreams(group)).map((stream) => stream.name).filter((stream) => stream.startsWith(query.logStreamNamePrefix ?? ''));
      const streams = names.map((stream) => ({ name: stream, events: translate(() => store.events(group, stream)) }));
      const { events, nextToken } = translate(() => filterEvents(streams, query));
      return {
        events: events.map(({ logStreamName, timestamp, message, ingestionTime, eventId }) => ({ logStreamName, timestamp, message, ingestionTime, eventId })),
        searchedLogStreams: names.map((logStreamName) => ({ logStreamName, searchedCompletely: true })),
        nextToken,
      };
    },
  };

  return {
    operations,
    sink: {
      put: (group, stream, message, timestamp = now()) => {
        // CloudWatch Logs has no empty events (PutLogEvents refuses them): blank lines are dropped.
        if (message === '') return;
        store.ensureStream(group, stream, options.defaultRetentionInDays);
        store.append(group, stream, [{ timestamp, message }]);
      },
    },
  };
}

function parse<K extends keyof typeof schemas>(operation: K, input: Record<string, unknown>): z.infer<(typeof schemas)[K]> {
  const parsed = schemas[operation].safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `Value at '${issue.path.join('.')}' failed to satisfy constraint: ${issue.message}`);
    throw new AwsServiceError('InvalidParameterException', `${issues.length} validation error(s) detected: ${issues.join('; ')}`);
  }
  return parsed.data as z.infer<(typeof schemas)[K]>;
}

/** logGroupName or logGroupIdentifier (a name or an ARN), exactly one. */
function groupName(query: { logGroupName?: string; logGroupIdentifier?: string }): string {
  if (query.logGroupName && query.logGroupIdentifier) throw invalid('LogGroup name and LogGroup ARN are mutually exclusive parameters.');
  const identifier = query.logGroupName ?? query.logGroupIdentifier;
  if (!identifier) throw invalid('Either logGroupName or logGroupIdentifier must be given.');
  const arn = /^arn:[^:]+:logs:[^:]*:\d*:log-group:(.+?)(?::\*)?$/.exec(identifier);
  return arn ? arn[1]! : identifier;
}

/** Runs a store or query call, turning its errors into the API's. */
function translate<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof LogResourceNotFoundError) throw new AwsServiceError('ResourceNotFoundException', error.message);
    if (error instanceof InvalidTokenError) throw invalid(error.message);
    throw error;
  }
}

function invalid(message: string): AwsServiceError {
  return new AwsServiceError('InvalidParameterException', message);
}

/** Describe* paging: nextToken is the offset of the next item, set only when more remain. */
function pageList<T>(items: T[], token: string | undefined, limit: number): { page: T[]; nextToken?: string } {
  const offset = token === undefined ? 0 : Number(token);
  if (!Number.isInteger(offset) || offset < 0) throw invalid('The specified nextToken is invalid.');
  const page = items.slice(offset, offset + limit);
  return { page, nextToken: offset + limit < items.length ? String(offset + limit) : undefined };
}
