import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { JsonStore } from '../store/json-store';

/**
 * CloudWatch Logs' data, durable under the runtime's data directory: one directory per log group
 * (named by a hash of the group's name, which may hold `/`), its metadata in `group.json` and one
 * JSON-lines file per log stream, appended to as events arrive. A stream's events are read from
 * disk once and then kept in memory, sorted by timestamp (stable: equal timestamps keep arrival order).
 */

/** One stored event. Times are epoch milliseconds, as CloudWatch Logs carries them. */
export interface StoredLogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

export interface LogStreamInfo {
  name: string;
  creationTime: number;
  firstEventTimestamp?: number;
  lastEventTimestamp?: number;
  lastIngestionTime?: number;
  storedBytes: number;
}

export interface LogGroupInfo {
  name: string;
  creationTime: number;
  storedBytes: number;
  retentionInDays?: number;
}

/** What a log group's `group.json` holds. */
interface GroupRecord {
  name: string;
  creationTime: number;
  /** Events older than this many days (by their timestamp) are gone; absent: kept forever. */
  retentionInDays?: number;
  /** Stream name → creation time; the stream's file is `<hash of its name>.jsonl`. */
  streams: Record<string, number>;
}

/** The group or stream named does not exist (the API answers ResourceNotFoundException). */
export class LogResourceNotFoundError extends Error {
  override readonly name = 'LogResourceNotFoundError';
}

export class LogStore {
  private readonly groups: JsonStore<GroupRecord>;
  /** Events by `<group key>/<stream key>`, loaded on first use. */
  private readonly loaded = new Map<string, StoredLogEvent[]>();

  constructor(
    private readonly directory: string,
    private readonly now: () => number = Date.now,
  ) {
    this.groups = new JsonStore(join(directory, 'groups'));
  }

  /** Creates the group (with a retention, when given); false (and nothing changed) when it exists. */
  createGroup(name: string, retentionInDays?: number): boolean {
    if (this.groups.get(key(name))) return false;
    this.groups.put(key(name), { name, creationTime: this.now(), streams: {}, ...(retentionInDays === undefined ? {} : { retentionInDays }) });
    return true;
  }

  /** Sets (or, with undefined, removes) the group's retention. Throws LogResourceNotFoundError. */
  setRetention(group: string, retentionInDays: number | undefined): void {
    const { retentionInDays: _old, ...record } = this.group(group);
    this.groups.put(key(group), retentionInDays === undefined ? record : { ...record, retentionInDays });
  }

  /** Creates the stream; false when it exists. Throws LogResourceNotFoundError when the group does not. */
  createStream(group: string, stream: string): boolean {
    const record = this.group(group);
    if (Object.hasOwn(record.streams, stream)) return false;
    record.streams[stream] = this.now();
    this.groups.put(key(group), record);
    return true;
  }

  /** Creates the group and the stream unless they exist (idempotent): how services' own output arrives. */
  ensureStream(group: string, stream: string, retentionInDays?: number): void {
    this.createGroup(group, retentionInDays);
    this.createStream(group, stream);
  }

  /**
   * Appends events to a stream (ingestion time: now). Throws LogResourceNotFoundError when the
   * group or the stream does not exist.
   */
  append(group: string, stream: string, events: readonly { timestamp: number; message: string }[]): void {
    const record = this.group(group);
    if (!Object.hasOwn(record.streams, stream)) throw new LogResourceNotFoundError('The specified log stream does not exist.');
    const ingestionTime = this.now();
    const stored = events.map((event) => ({ timestamp: event.timestamp, message: event.message, ingestionTime }));
    const list = this.read(group, stream);
    mkdirSync(join(this.directory, 'streams', key(group)), { recursive: true });
    appendFileSync(this.streamFile(group, stream), stored.map((event) => `${JSON.stringify(event)}\n`).join(''));
    for (const event of stored) insertSorted(list, event);
  }

  /** Every group, by name. */
  listGroups(): LogGroupInfo[] {
    return this.groups
      .list()
      .map(({ value }) => ({
        name: value.name,
        creationTime: value.creationTime,
        storedBytes: Object.keys(value.streams).reduce((sum, stream) => sum + storedBytes(this.read(value.name, stream)), 0),
        ...(value.retentionInDays === undefined ? {} : { retentionInDays: value.retentionInDays }),
      }))
      .sort((a, b) => compare(a.name, b.name));
  }

  /** The group's streams, by name. Throws LogResourceNotFoundError when the group does not exist. */
  listStreams(group: string): LogStreamInfo[] {
    const record = this.group(group);
    return Object.entries(record.streams)
      .map(([name, creationTime]) => {
        const events = this.read(group, name);
        return {
          name,
          creationTime,
          firstEventTimestamp: events[0]?.timestamp,
          lastEventTimestamp: events.at(-1)?.timestamp,
          lastIngestionTime: events.reduce<number | undefined>((last, event) => Math.max(last ?? 0, event.ingestionTime), undefined),
          storedBytes: storedBytes(events),
        };
      })
      .sort((a, b) => compare(a.name, b.name));
  }

  /** The stream's events, sorted by timestamp (the store's own array: do not mutate). Throws LogResourceNotFoundError. */
  events(group: string, stream: string): readonly StoredLogEvent[] {
    if (!Object.hasOwn(this.group(group).streams, stream)) throw new LogResourceNotFoundError('The specified log stream does not exist.');
    return this.read(group, stream);
  }

  private group(name: string): GroupRecord {
    const record = this.groups.get(key(name));
    if (!record) throw new LogResourceNotFoundError('The specified log group does not exist.');
    return record;
  }

  private streamFile(group: string, stream: string): string {
    return join(this.directory, 'streams', key(group), `${key(stream)}.jsonl`);
  }

  /**
   * The stream's live events: those its group's retention has expired are dropped, from memory and
   * from disk (CloudWatch Logs deletes them; it may take a while there, here it is at the next read).
   */
  private read(group: string, stream: string): StoredLogEvent[] {
    const list = this.load(group, stream);
    const retentionInDays = this.groups.get(key(group))?.retentionInDays;
    if (retentionInDays === undefined || list.length === 0) return list;
    const cutoff = this.now() - retentionInDays * DAY_MS;
    if (list[0]!.timestamp >= cutoff) return list;
    // Sorted by timestamp: the expired events are a prefix.
    const firstLive = list.findIndex((event) => event.timestamp >= cutoff);
    list.splice(0, firstLive === -1 ? list.length : firstLive);
    writeFileSync(this.streamFile(group, stream), list.map((event) => `${JSON.stringify(event)}\n`).join(''));
    return list;
  }

  private load(group: string, stream: string): StoredLogEvent[] {
    const cacheKey = `${key(group)}/${key(stream)}`;
    let list = this.loaded.get(cacheKey);
    if (!list) {
      list = [];
      const file = this.streamFile(group, stream);
      if (existsSync(file)) {
        for (const line of readFileSync(file, 'utf8').split('\n')) {
          // A crash mid-append can leave the last line cut short: it is dropped.
          if (!line) continue;
          try {
            insertSorted(list, JSON.parse(line) as StoredLogEvent);
          } catch {
            continue;
          }
        }
      }
      this.loaded.set(cacheKey, list);
    }
    return list;
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** A file-name-safe key for a group or stream name (names may hold `/`, `[`, `$` and be 512 long). */
function key(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, 32);
}

/** Inserts after every event with a timestamp <= the new one's: appends in the usual in-order case. */
function insertSorted(list: StoredLogEvent[], event: StoredLogEvent): void {
  let index = list.length;
  while (index > 0 && list[index - 1]!.timestamp > event.timestamp) index -= 1;
  list.splice(index, 0, event);
}

function storedBytes(events: readonly StoredLogEvent[]): number {
  return events.reduce((sum, event) => sum + Buffer.byteLength(event.message), 0);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
