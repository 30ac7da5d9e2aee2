import type { StoredLogEvent } from './store';

/**
 * Reading events back the way CloudWatch Logs pages them: GetLogEvents over one stream with
 * forward/backward tokens, and FilterLogEvents across streams with a plain-terms filter pattern.
 * Pure functions over the stored (timestamp-sorted) events.
 */

/** Default and ceiling of `limit` for both operations. */
export const MAX_EVENTS = 10_000;

/** The nextToken given is not one this runtime issued (the API answers InvalidParameterException). */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
  constructor() {
    super('The specified nextToken is invalid.');
  }
}

export interface GetEventsQuery {
  startTime?: number;
  /** Exclusive, as on AWS. */
  endTime?: number;
  limit?: number;
  startFromHead?: boolean;
  nextToken?: string;
}

export interface EventPage {
  events: StoredLogEvent[];
  nextForwardToken: string;
  nextBackwardToken: string;
}

/**
 * One GetLogEvents page. Tokens are positions in the stream: `f/<n>` reads forward from event n,
 * `b/<n>` reads the events before n. Without a token the page is the first events when
 * startFromHead, else the last ones (AWS's default). At either end the token passed comes back, so
 * a follower polling nextForwardToken sees new events as they arrive.
 */
export function pageEvents(events: readonly StoredLogEvent[], query: GetEventsQuery): EventPage {
  const limit = Math.min(query.limit ?? MAX_EVENTS, MAX_EVENTS);
  const low = query.startTime === undefined ? 0 : firstIndexAtOrAfter(events, query.startTime);
  const high = query.endTime === undefined ? events.length : Math.max(low, firstIndexAtOrAfter(events, query.endTime));
  let start: number;
  let end: number;
  const token = query.nextToken === undefined ? undefined : parseStreamToken(query.nextToken);
  if (token?.direction === 'f' || (!token && query.startFromHead)) {
    start = clamp(token?.position ?? low, low, high);
    end = Math.min(start + limit, high);
  } else {
    end = clamp(token?.position ?? high, low, high);
    start = Math.max(end - limit, low);
  }
  return { events: events.slice(start, end), nextForwardToken: streamToken('f', end), nextBackwardToken: streamToken('b', start) };
}

export interface FilterQuery {
  startTime?: number;
  endTime?: number;
  filterPattern?: string;
  limit?: number;
  nextToken?: string;
}

export interface FilteredEvent extends StoredLogEvent {
  logStreamName: string;
  eventId: string;
}

/**
 * One FilterLogEvents page over `streams` (name → events): the matching events of all of them in
 * timestamp order (ties: stream name, then position). nextToken is set only when more remain.
 */
export function filterEvents(streams: readonly { name: string; events: readonly StoredLogEvent[] }[], query: FilterQuery): { events: FilteredEvent[]; nextToken?: string } {
  const limit = Math.min(query.limit ?? MAX_EVENTS, MAX_EVENTS);
  const matches = compileFilterPattern(query.filterPattern ?? '');
  const found: FilteredEvent[] = [];
  for (const stream of streams) {
    stream.events.forEach((event, position) => {
      if (query.startTime !== undefined && event.timestamp < query.startTime) return;
      if (query.endTime !== undefined && event.timestamp > query.endTime) return;
      if (!matches(event.message)) return;
      found.push({ ...event, logStreamName: stream.name, eventId: `${event.timestamp}-${stream.name}-${position}` });
    });
  }
  found.sort((a, b) => a.timestamp - b.timestamp || (a.logStreamName < b.logStreamName ? -1 : a.logStreamName > b.logStreamName ? 1 : 0));
  const offset = query.nextToken === undefined ? 0 : parseOffsetToken(query.nextToken);
  const page = found.slice(offset, offset + limit);
  const next = offset + page.length;
  return { events: page, nextToken: next < found.length ? Buffer.from(JSON.stringify({ offset: next })).toString('base64') : undefined };
}

/**
 * The plain-terms subset of CloudWatch Logs filter patterns: every term must occur in the message
 * (case-sensitive); `"a phrase"` is one term; an empty pattern matches everything. JSON and
 * space-delimited patterns, `?term` alternatives and `-term` exclusions are not supported.
 */
export function compileFilterPattern(pattern: string): (message: string) => boolean {
  const terms = [...pattern.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((match) => (match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2]!));
  return (message) => terms.every((term) => message.includes(term));
}

function firstIndexAtOrAfter(events: readonly StoredLogEvent[], timestamp: number): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (events[middle]!.timestamp < timestamp) low = middle + 1;
    else high = middle;
  }
  return low;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}

/** AWS's tokens look like `f/` + 56 digits; these keep that shape. */
function streamToken(direction: 'f' | 'b', position: number): string {
  return `${direction}/${String(position).padStart(56, '0')}`;
}

function parseStreamToken(token: string): { direction: 'f' | 'b'; position: number } {
  const match = /^([fb])\/(\d{1,56})$/.exec(token);
  if (!match) throw new InvalidTokenError();
  return { direction: match[1] as 'f' | 'b', position: Number(match[2]) };
}

function parseOffsetToken(token: string): number {
  try {
    const { offset } = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset?: unknown };
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // falls through to the error below
  }
  throw new InvalidTokenError();
}
