import type { RunOptions, StateMachineDefinition } from 'aws-local-stepfunctions';

/**
 * Prepares an Amazon States Language definition for aws-local-stepfunctions so that Task states
 * behave as on AWS where the library does not:
 *
 * - The library races every Task against its own timer: 60 s when the state sets no timeout, and
 *   `TimeoutSecondsPath` resolved against the state's *effective* input (after `Parameters`), so a
 *   path into the state input "does not point to a value" and the run dies. The library's copy of
 *   each Task therefore gets a fixed, practically infinite `TimeoutSeconds`, and the emulator
 *   enforces the definition's own `TimeoutSeconds`/`HeartbeatSeconds` itself.
 * - A task handler only ever sees the resolved `Parameters`. To evaluate `TimeoutSecondsPath` /
 *   `HeartbeatSecondsPath` against the state input, the library's copy wraps `Parameters` in
 *   `{ parameters: <Parameters>, "timeoutSeconds.$": <path>, "heartbeatSeconds.$": <path> }`: the
 *   library resolves the paths against the same input as `Parameters` (after `InputPath`) and the
 *   handler unwraps them (see {@link unwrapTaskInput}).
 *
 * - A Pass state whose `Result` is falsy (0, false, "", null) passes its input through in the
 *   library (it tests `if (Result)`); the library's copy carries a 0 or false Result as a
 *   constant `Parameters`, which the library returns as is. (Its validator refuses a string or
 *   null `Parameters`, so `Result: ""` and `Result: null` keep the library's behaviour.)
 *
 * The definition the service describes (DescribeStateMachine) stays the one it was given.
 */

type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
/** A JSON value as aws-local-stepfunctions passes it to and takes it from task handlers. */
export type JsonValue = Parameters<LocalHandlers[string]>[0];
/** A task handler as aws-local-stepfunctions calls it. */
export type TaskHandler = LocalHandlers[string];

/**
 * The timeout the library's copy of every Task gets, in seconds: the longest delay `setTimeout`
 * accepts (2^31-1 ms), beyond which Node fires the timer at once. The emulator's own timers apply
 * the definition's real timeouts; the emulator always settles the handler, which clears this one.
 */
export const LIBRARY_TASK_TIMEOUT_SECONDS = 2_147_483;

/** What the emulator needs to know about one Task state, as the definition wrote it. */
export interface TaskStateSpec {
  name: string;
  resource: string;
  timeoutSeconds?: number;
  heartbeatSeconds?: number;
}

/** A definition ready for the library plus what the emulator reads from the original. */
export interface PreparedDefinition {
  /** The library's copy (wrapped Parameters, fixed timeouts). */
  definition: StateMachineDefinition;
  /** Every Task state by name, Map and Parallel branches included (names are machine-wide unique). */
  tasks: Map<string, TaskStateSpec>;
  /** Every state as written, by name (for Fail states' Error/Cause, state types). */
  states: Map<string, Record<string, unknown>>;
  /**
   * The States object each state sits in: `''` for the top level, `<Parallel>[<i>]` for branch i
   * of a Parallel state, `<Map>[*]` for a Map state's iterations.
   */
  containers: Map<string, string>;
  /** The Parallel and Map states enclosing each state, innermost first (empty at the top level). */
  ancestors: Map<string, string[]>;
}

/** The shape a wrapped Task's handler receives. */
export interface UnwrappedTaskInput {
  parameters: JsonValue;
  timeoutSeconds?: JsonValue;
  heartbeatSeconds?: JsonValue;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDefinition(value: unknown): value is StateMachineDefinition {
  return isRecord(value) && typeof value.StartAt === 'string' && isRecord(value.States) && Object.values(value.States).every((state) => isRecord(state) && typeof state.Type === 'string');
}

function wrapTask(state: Record<string, unknown>): Record<string, unknown> {
  const { Parameters, TimeoutSeconds: _timeout, TimeoutSecondsPath, HeartbeatSeconds: _heartbeat, HeartbeatSecondsPath, ...rest } = state;
  const wrapped: Record<string, unknown> = Parameters === undefined ? { 'parameters.$': '$' } : { parameters: Parameters };
  if (typeof TimeoutSecondsPath === 'string') wrapped['timeoutSeconds.$'] = TimeoutSecondsPath;
  if (typeof HeartbeatSecondsPath === 'string') wrapped['heartbeatSeconds.$'] = HeartbeatSecondsPath;
  return { ...rest, Parameters: wrapped, TimeoutSeconds: LIBRARY_TASK_TIMEOUT_SECONDS };
}

type Collected = Omit<PreparedDefinition, 'definition'>;

/** Where a States object sits: its container id and the compound states around it, innermost first. */
interface Scope {
  container: string;
  ancestors: string[];
}

/** Walks a States object (recursing into Map and Parallel), collecting specs and rewriting Tasks. */
function prepareStates(states: Record<string, unknown>, collected: Collected, scope: Scope): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(states).map(([name, raw]) => {
      if (!isRecord(raw)) throw new Error(`state ${name} is not an object`);
      if (collected.states.has(name)) throw new Error(`state name ${name} is used twice; Step Functions requires unique state names`);
      collected.states.set(name, raw);
      collected.containers.set(name, scope.container);
      collected.ancestors.set(name, scope.ancestors);
      const inner = [name, ...scope.ancestors];
      switch (raw.Type) {
        case 'Task': {
          if (typeof raw.Resource !== 'string') throw new Error(`Task state ${name} has no Resource`);
          collected.tasks.set(name, {
            name,
            resource: raw.Resource,
            timeoutSeconds: typeof raw.TimeoutSeconds === 'number' ? raw.TimeoutSeconds : undefined,
            heartbeatSeconds: typeof raw.HeartbeatSeconds === 'number' ? raw.HeartbeatSeconds : undefined,
          });
          return [name, wrapTask(raw)];
        }
        case 'Map': {
          const key = isRecord(raw.ItemProcessor) ? 'ItemProcessor' : 'Iterator';
          const processor = raw[key];
          if (!isRecord(processor) || !isRecord(processor.States)) return [name, raw];
          return [name, { ...raw, [key]: { ...processor, States: prepareStates(processor.States, collected, { container: `${name}[*]`, ancestors: inner }) } }];
        }
        case 'Parallel': {
          if (!Array.isArray(raw.Branches)) return [name, raw];
          const branches = raw.Branches.map((branch: unknown, index) =>
            isRecord(branch) && isRecord(branch.States) ? { ...branch, States: prepareStates(branch.States, collected, { container: `${name}[${index}]`, ancestors: inner }) } : branch,
          );
          return [name, { ...raw, Branches: branches }];
        }
        case 'Pass': {
          if (raw.Result !== 0 && raw.Result !== false) return [name, raw];
          const { Result, Parameters: _ignored, ...rest } = raw;
          return [name, { ...rest, Parameters: Result }];
        }
        default:
          return [name, raw];
      }
    }),
  );
}

/**
 * Prepares `definition` (see the module comment). Pure; throws when it is not an ASL document or
 * reuses a state name. The library validates the result when it builds the StateMachine.
 */
export function prepareDefinition(definition: Record<string, unknown>): PreparedDefinition {
  if (!isDefinition(definition)) throw new Error('not an Amazon States Language definition (StartAt, States)');
  const collected: Collected = { tasks: new Map(), states: new Map(), containers: new Map(), ancestors: new Map() };
  const States = prepareStates(definition.States, collected, { container: '', ancestors: [] });
  const prepared: unknown = { ...definition, States };
  if (!isDefinition(prepared)) throw new Error('prepared definition lost its shape');
  return { definition: prepared, ...collected };
}

/** Splits a wrapped Task input back into the resolved Parameters and the resolved timeout paths. */
export function unwrapTaskInput(input: JsonValue): UnwrappedTaskInput {
  if (input === null || typeof input !== 'object' || Array.isArray(input) || !('parameters' in input)) throw new Error('task input was not wrapped by prepareDefinition');
  return { parameters: input.parameters ?? null, timeoutSeconds: input.timeoutSeconds, heartbeatSeconds: input.heartbeatSeconds };
}
