import { HistoryEventType } from '@aws-sdk/client-sfn';

import type { JsonValue, PreparedDefinition } from './definition';
import type { HistoryEvent } from './history';

/**
 * Where an execution resumes, planned from its history alone: used by RedriveExecution, and at
 * boot to continue the executions a previous process left RUNNING (same execution, history
 * continues; see service.ts).
 *
 * State names are unique machine-wide, so every state has one static place: the top level, or
 * branch i of a Parallel state, recursively ({@link PreparedDefinition.containers}). Replaying the
 * history's StateEntered/StateExited events attempt by attempt (ExecutionRedriven separates
 * attempts) tells where each place stopped:
 *
 * - the last state entered in a place without exiting is where it resumes, with its recorded input;
 * - a Parallel state resumes branch by branch: a branch whose terminal state exited is done (its
 *   recorded output stands and it does not run again), the others resume where they stopped;
 * - a Map state runs again as a whole (Step Functions redrives only the failed iterations; the
 *   local runtime does not track iterations apart);
 * - Retry counters start afresh.
 *
 * The plan becomes a derived definition whose places start at a synthetic Pass state carrying the
 * recorded input (or output) and then go to the state that resumes. The service runs it with the
 * same task handlers and leaves the synthetic states out of the history.
 */

/** How one place (the top level, or one Parallel branch) resumes. */
export type ResumePlan =
  /** From its StartAt, as written (it never ran, or ran nothing this plan can keep). */
  | { kind: 'start' }
  /** Finished: its recorded output stands. */
  | { kind: 'done'; output: JsonValue }
  /** At `state` with `input`; for a Parallel state, how each of its branches resumes. */
  | { kind: 'at'; state: string; input: JsonValue; branches?: ResumePlan[] };

/** A derived definition and the names of the synthetic states in it. */
export interface DerivedDefinition {
  definition: Record<string, unknown>;
  synthetic: Set<string>;
}

interface StateEvent {
  entered: boolean;
  name: string;
  /** The recorded input (entered) or output (exited), as JSON text. */
  data: string;
}

const START: ResumePlan = { kind: 'start' };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The state events of each attempt, in order (the first attempt, then one per ExecutionRedriven). */
function attempts(events: HistoryEvent[]): StateEvent[][] {
  const all: StateEvent[][] = [[]];
  for (const event of events) {
    if (event.type === HistoryEventType.ExecutionRedriven) {
      all.push([]);
      continue;
    }
    const entered = event.type.endsWith('StateEntered');
    if (!entered && !event.type.endsWith('StateExited')) continue;
    const details = event[entered ? 'stateEnteredEventDetails' : 'stateExitedEventDetails'];
    if (!isRecord(details) || typeof details.name !== 'string') continue;
    const data = entered ? details.input : details.output;
    all.at(-1)!.push({ entered, name: details.name, data: typeof data === 'string' ? data : 'null' });
  }
  return all;
}

function parse(text: string): JsonValue {
  return JSON.parse(text) as JsonValue;
}

/**
 * Where the place `container` stands after `events` (one attempt, limited to the span in which
 * the place ran), given `plan`, the way it resumed at the start of that attempt.
 */
function resolve(prepared: PreparedDefinition, container: string, plan: ResumePlan, events: StateEvent[]): ResumePlan {
  const own = (event: StateEvent) => event.entered && prepared.containers.get(event.name) === container;
  const last = events.findLastIndex(own);
  if (last < 0) return plan;
  const entered = events[last]!;
  const state = prepared.states.get(entered.name) ?? {};
  const exit = events.slice(last + 1).find((event) => !event.entered && event.name === entered.name);
  if (exit) {
    // Stopped between two states (a shutdown): what follows the exited state.
    if (state.End === true || state.Type === 'Succeed') return { kind: 'done', output: parse(exit.data) };
    if (typeof state.Next === 'string') return { kind: 'at', state: state.Next, input: parse(exit.data) };
    return { kind: 'at', state: entered.name, input: parse(entered.data) };
  }
  const input = parse(entered.data);
  if (state.Type !== 'Parallel' || !Array.isArray(state.Branches)) return { kind: 'at', state: entered.name, input };
  // The branches carry over from the plan only when this entry is the one the plan resumed at
  // (the first state entered here in this attempt); a later entry (a loop) ran them all afresh.
  const carried = plan.kind === 'at' && plan.state === entered.name && events.findIndex(own) === last ? plan.branches : undefined;
  const inside = events.slice(last + 1);
  const branches = state.Branches.map((_branch: unknown, index: number) => resolve(prepared, `${entered.name}[${index}]`, carried?.[index] ?? START, inside));
  return { kind: 'at', state: entered.name, input, branches };
}

/**
 * How the execution whose history is `events` resumes. Pure. `{ kind: 'start' }` when it never
 * entered a state; `{ kind: 'done' }` when its last state finished (it stopped before it could end).
 */
export function planRedrive(prepared: PreparedDefinition, events: HistoryEvent[]): ResumePlan {
  return attempts(events).reduce((plan, attempt) => resolve(prepared, '', plan, attempt), START);
}

/** A Pass state that outputs `value` whatever it is (a falsy `Result` would pass the input through). */
function constant(value: JsonValue, transition: Record<string, unknown>): Record<string, unknown> {
  return { Type: 'Pass', Result: { value }, OutputPath: '$.value', ...transition };
}

function derive(container: Record<string, unknown>, plan: ResumePlan, name: () => string): Record<string, unknown> {
  if (plan.kind === 'start') return container;
  const start = name();
  if (plan.kind === 'done') return { ...container, StartAt: start, States: { [start]: constant(plan.output, { End: true }) } };
  const states: Record<string, unknown> = { ...(container.States as Record<string, unknown>) };
  const resumed = states[plan.state];
  if (plan.branches && isRecord(resumed) && Array.isArray(resumed.Branches)) {
    const branches = plan.branches;
    states[plan.state] = { ...resumed, Branches: resumed.Branches.map((branch: Record<string, unknown>, index: number) => derive(branch, branches[index] ?? START, name)) };
  }
  states[start] = constant(plan.input, { Next: plan.state });
  return { ...container, StartAt: start, States: states };
}

/**
 * The definition that resumes `definition` (as written, not prepared) as `plan` says, or
 * undefined when the plan is to start from the beginning. Synthetic state names never clash with
 * `taken` (the definition's own names). Pure.
 */
export function deriveDefinition(definition: Record<string, unknown>, plan: ResumePlan, taken: ReadonlySet<string>): DerivedDefinition | undefined {
  if (plan.kind === 'start') return undefined;
  const synthetic = new Set<string>();
  let counter = 0;
  const name = () => {
    let candidate: string;
    do {
      counter += 1;
      candidate = `Redrive:${counter}`;
    } while (taken.has(candidate));
    synthetic.add(candidate);
    return candidate;
  };
  return { definition: derive(definition, plan, name), synthetic };
}

/** The states a plan resumes at (top level and Parallel branches), each with its recorded input. Pure. */
export function resumedStates(plan: ResumePlan): { state: string; input: JsonValue }[] {
  if (plan.kind !== 'at') return [];
  return [{ state: plan.state, input: plan.input }, ...(plan.branches ?? []).flatMap(resumedStates)];
}

/**
 * `definition` with the Wait states named in `deadlines` waiting until the given ISO timestamp
 * instead of their Seconds/SecondsPath, so a resumed Wait keeps its original deadline. Pure.
 */
export function pinWaits(definition: Record<string, unknown>, deadlines: ReadonlyMap<string, string>): Record<string, unknown> {
  if (deadlines.size === 0 || !isRecord(definition.States)) return definition;
  const states = Object.fromEntries(
    Object.entries(definition.States).map(([name, state]) => {
      if (!isRecord(state)) return [name, state];
      const deadline = deadlines.get(name);
      if (deadline !== undefined && state.Type === 'Wait') {
        const { Seconds: _seconds, SecondsPath: _secondsPath, ...rest } = state;
        return [name, { ...rest, Timestamp: deadline }];
      }
      if (Array.isArray(state.Branches)) return [name, { ...state, Branches: state.Branches.map((branch: Record<string, unknown>) => pinWaits(branch, deadlines)) }];
      return [name, state];
    }),
  );
  return { ...definition, States: states };
}
