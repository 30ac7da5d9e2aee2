import { HistoryEventType } from '@aws-sdk/client-sfn';

/**
 * Execution history as GetExecutionHistory returns it: numbered events with the real type names
 * and `<camelCaseType>EventDetails` payloads. Events are kept with millisecond timestamps and
 * converted to the wire's epoch seconds by the service.
 */

/** One stored history event (timestamp in epoch milliseconds). */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: HistoryEventType;
  [details: string]: unknown;
}

/** What the emulator appends: a type and, when the type has them, its details. */
export interface NewHistoryEvent {
  type: HistoryEventType;
  details?: Record<string, unknown>;
}

const EVENT_TYPES = new Set<string>(Object.values(HistoryEventType));

/** The event type named `name`, or undefined when Step Functions has no such type. */
export function historyEventType(name: string): HistoryEventType | undefined {
  return EVENT_TYPES.has(name) ? (name as HistoryEventType) : undefined;
}

/** The field that carries an event type's details, e.g. TaskStateEntered → stateEnteredEventDetails. */
export function detailsField(type: HistoryEventType): string {
  if (type.endsWith('StateEntered')) return 'stateEnteredEventDetails';
  if (type.endsWith('StateExited')) return 'stateExitedEventDetails';
  if (type.startsWith('MapIteration')) return `mapIteration${type.slice('MapIteration'.length)}EventDetails`;
  return `${type.charAt(0).toLowerCase()}${type.slice(1)}EventDetails`;
}

/** JSON text of a value as history carries inputs and outputs. */
export function historyData(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/**
 * An execution's append-only history. `persist` gets the whole list after every append (the
 * service writes it atomically). Once closed (the execution ended), appends are ignored: nothing
 * follows ExecutionSucceeded/Failed/Aborted/TimedOut, as on AWS.
 */
export class HistoryLog {
  private closed = false;

  constructor(
    private readonly persist: (events: HistoryEvent[]) => void,
    private readonly events: HistoryEvent[] = [],
  ) {}

  /**
   * Appends one event; returns it, or undefined when the log is closed. `previousEventId` defaults
   * to the last event's id; callers pass another to chain an event to the earlier events of its own
   * state when Parallel branches interleave.
   */
  append(event: NewHistoryEvent, now = Date.now(), previousEventId?: number): HistoryEvent | undefined {
    if (this.closed) return undefined;
    const previous = this.events.at(-1);
    const stored: HistoryEvent = { id: (previous?.id ?? 0) + 1, previousEventId: previousEventId ?? previous?.id ?? 0, timestamp: now, type: event.type };
    if (event.details) stored[detailsField(event.type)] = event.details;
    this.events.push(stored);
    this.persist(this.events);
    return stored;
  }

  /** Appends the execution's final event and closes the log. */
  close(event?: NewHistoryEvent): void {
    if (event) this.append(event);
    this.closed = true;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The events so far (a copy). */
  list(): HistoryEvent[] {
    return [...this.events];
  }
}

/** A state event from aws-local-stepfunctions' event log, reduced to what the history needs. */
export interface LibraryEvent {
  type: string;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  parentState?: { name: string; type: string };
  index?: number;
}

/** The value at a reference path such as `$.steps['per-sex'].Items` or `$.a[0].b`, or undefined. Pure. */
export function valueAtReferencePath(input: unknown, path: string): unknown {
  if (!path.startsWith('$')) return undefined;
  let value = input;
  let rest = path.slice(1);
  while (rest !== '') {
    const step = /^(?:\.([^.[\]]+)|\['([^']*)'\]|\[(\d+)\])/.exec(rest);
    if (!step) return undefined;
    rest = rest.slice(step[0].length);
    const key = step[1] ?? step[2];
    if (key !== undefined) value = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
    else value = Array.isArray(value) ? value[Number(step[3])] : undefined;
    if (value === undefined) return undefined;
  }
  return value;
}

/**
 * The AWS history events a library event stands for. Execution start and end are left to the
 * service (it knows stop reasons and restarts); Task progress comes from the task handlers;
 * retries and catches have no event of their own on AWS (a retry shows as a new TaskScheduled, a
 * catch as the state's exit with the error output). A Map state also starts (MapStateStarted, with
 * its items' count, from `spec`, the state as written) and succeeds (MapStateSucceeded) as on AWS.
 */
export function historyEventsFor(event: LibraryEvent, spec?: Record<string, unknown>): NewHistoryEvent[] {
  const state = event.state;
  switch (event.type) {
    case 'StateEntered': {
      const type = state && historyEventType(`${state.type}StateEntered`);
      if (!type || !state) return [];
      const entered: NewHistoryEvent = { type, details: { name: state.name, input: historyData(state.input), inputDetails: { truncated: false } } };
      if (state.type !== 'Map') return [entered];
      // A Map state starts over its items: MapStateStarted carries how many (ItemsPath, after InputPath-less input).
      const items = valueAtReferencePath(state.input, typeof spec?.ItemsPath === 'string' ? spec.ItemsPath : '$');
      return [entered, { type: HistoryEventType.MapStateStarted, details: Array.isArray(items) ? { length: items.length } : {} }];
    }
    case 'StateExited': {
      const type = state && historyEventType(`${state.type}StateExited`);
      if (!type || !state) return [];
      const exited: NewHistoryEvent = { type, details: { name: state.name, output: historyData(state.output), outputDetails: { truncated: false } } };
      return state.type === 'Map' ? [{ type: HistoryEventType.MapStateSucceeded }, exited] : [exited];
    }
    case 'StateFailed': {
      // Tasks report their own TaskFailed; Map and Parallel states have a failed event of their own.
      const type = state && (state.type === 'Map' || state.type === 'Parallel') ? historyEventType(`${state.type}StateFailed`) : undefined;
      return type ? [{ type }] : [];
    }
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
    case 'MapIterationFailed': {
      const type = historyEventType(event.type);
      return type ? [{ type, details: { name: event.parentState?.name, index: event.index } }] : [];
    }
    default:
      return [];
  }
}
