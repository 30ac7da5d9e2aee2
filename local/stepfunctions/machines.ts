import { StateMachine } from 'aws-local-stepfunctions';

import type { StateMachineSpec } from '../cloudformation/template';
import type { ServiceContext } from '../context';
import { AwsServiceError } from '../http/aws-json';
import { JsonStore } from '../store/json-store';
import { type PreparedDefinition, prepareDefinition } from './definition';
import { stateMachineArn, storeKey } from './names';

/**
 * The state machines the service runs: those the packaged template declares, and those created
 * at runtime through CreateStateMachine, which are kept in the data directory (definition, role,
 * configuration, tags, creation date) and come back after a restart. Every machine is built (and
 * so validated, ~100 ms) once: at boot for the template's, at creation for the others; a stored
 * machine is rebuilt without validating it again.
 */

export interface Tag {
  key: string;
  value: string;
}

/** One ValidateStateMachineDefinition diagnostic. */
export interface Diagnostic {
  severity: 'ERROR';
  code: string;
  message: string;
  location?: string;
}

/** What CreateStateMachine asked for, as kept on disk. */
interface CreatedMachine {
  name: string;
  /** The definition as the caller sent it (DescribeStateMachine returns it verbatim). */
  definition: string;
  roleArn: string;
  loggingConfiguration: Record<string, unknown>;
  tracingConfiguration: Record<string, unknown>;
}

/** One machine's document in the store. */
interface MachineRecord {
  stateMachineArn: string;
  /** Epoch milliseconds. */
  creationDate: number;
  /** Set for machines created through the API (the template declares the others). */
  created?: CreatedMachine;
  /** DeleteStateMachine was called while executions ran: no new executions, gone once they end. */
  deleting?: boolean;
  tags?: Tag[];
}

export interface Machine {
  arn: string;
  name: string;
  /** The definition as written (the library runs `prepared.definition`). */
  definition: Record<string, unknown>;
  /** The definition as DescribeStateMachine returns it. */
  definitionText: string;
  roleArn?: string;
  loggingConfiguration: Record<string, unknown>;
  tracingConfiguration: Record<string, unknown>;
  prepared: PreparedDefinition;
  runner: StateMachine;
  /** Epoch milliseconds. */
  creationDate: number;
  deleting: boolean;
  tags: Tag[];
}

/** A CreateStateMachine request, its fields checked for type by the API layer. */
export interface CreateMachineRequest {
  name: string;
  definition: string;
  roleArn: string;
  loggingConfiguration?: Record<string, unknown>;
  tracingConfiguration?: Record<string, unknown>;
  tags: Tag[];
}

const DEFAULT_LOGGING = { level: 'OFF', includeExecutionData: false };
const DEFAULT_TRACING = { enabled: false };
const MAX_TAGS = 50;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Where the library's JSONPath-only engine would silently do something else than Step Functions. */
function unsupportedFeatures(definition: Record<string, unknown>, states: Map<string, Record<string, unknown>>): Diagnostic[] {
  const found: Diagnostic[] = [];
  const unsupported = (message: string, location: string) => found.push({ severity: 'ERROR', code: 'UNSUPPORTED_BY_LOCAL_RUNTIME', message, location });
  if (definition.QueryLanguage === 'JSONata') unsupported('QueryLanguage JSONata: the local runtime runs JSONPath definitions only', '/QueryLanguage');
  for (const [name, state] of states) {
    if (state.QueryLanguage === 'JSONata') unsupported(`state ${name} uses JSONata: the local runtime runs JSONPath definitions only`, `/States/${name}/QueryLanguage`);
    const assigns = [state, ...(Array.isArray(state.Choices) ? state.Choices : []), ...(Array.isArray(state.Catch) ? state.Catch : [])].some((holder: unknown) => isRecord(holder) && holder.Assign !== undefined);
    if (assigns) unsupported(`state ${name} uses Assign: the local runtime does not execute variables`, `/States/${name}/Assign`);
  }
  return found;
}

/** The library's validation error ("State machine definition is invalid, see error(s) below:\n CODE: message\n…") as diagnostics. */
function libraryDiagnostics(message: string): Diagnostic[] {
  const lines = message
    .split('\n')
    .slice(1)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (lines.length === 0) return [{ severity: 'ERROR', code: 'SCHEMA_VALIDATION_FAILED', message }];
  return lines.map((line) => {
    const match = /^([A-Z_]+): (.*)$/.exec(line);
    const code = match?.[1] ?? 'SCHEMA_VALIDATION_FAILED';
    const text = match?.[2] ?? line;
    const location = /^(\/\S*) /.exec(text)?.[1];
    return { severity: 'ERROR', code, message: text, ...(location ? { location } : {}) };
  });
}

/** A definition built for the library, or why it cannot be. */
type Built = { definition: Record<string, unknown>; prepared: PreparedDefinition; runner: StateMachine; diagnostics?: undefined } | { diagnostics: Diagnostic[] };

/**
 * Parses, checks and builds a definition sent through the API: what CreateStateMachine and
 * ValidateStateMachineDefinition share. Never throws.
 */
export function buildDefinition(text: string): Built {
  const error = (code: string, message: string): Built => ({ diagnostics: [{ severity: 'ERROR', code, message }] });
  if (text.trim() === '') return error('MISSING_DESCRIPTION', 'the definition is empty');
  let definition: unknown;
  try {
    definition = JSON.parse(text);
  } catch (parseError) {
    return error('INVALID_JSON_DESCRIPTION', (parseError as Error).message);
  }
  if (!isRecord(definition)) return error('SCHEMA_VALIDATION_FAILED', 'the definition is not a JSON object');
  let prepared: PreparedDefinition;
  try {
    prepared = prepareDefinition(definition);
  } catch (prepareError) {
    const message = (prepareError as Error).message;
    return error(message.includes('is used twice') ? 'DUPLICATE_STATE_NAME' : 'SCHEMA_VALIDATION_FAILED', message);
  }
  const unsupported = unsupportedFeatures(definition, prepared.states);
  if (unsupported.length > 0) return { diagnostics: unsupported };
  try {
    return { definition, prepared, runner: new StateMachine(prepared.definition) };
  } catch (buildError) {
    return { diagnostics: libraryDiagnostics((buildError as Error).message) };
  }
}

/** Logging configuration with Step Functions' defaults filled in (what DescribeStateMachine shows, and what idempotency compares). */
function logging(configuration: Record<string, unknown> | undefined): Record<string, unknown> {
  return { ...DEFAULT_LOGGING, ...configuration };
}

function tracing(configuration: Record<string, unknown> | undefined): Record<string, unknown> {
  return { ...DEFAULT_TRACING, ...configuration };
}

/**
 * The same JSON document, whatever the whitespace. Compares the texts as sent: the parsed object
 * the library runs is not a reference (it fills in defaults on the states it was given).
 */
function sameDefinition(text: string, earlier: string): boolean {
  try {
    return JSON.stringify(JSON.parse(text)) === JSON.stringify(JSON.parse(earlier));
  } catch {
    return false;
  }
}

/** Adds or replaces `tags` by key. Throws TooManyTags past 50. */
function mergeTags(arn: string, current: Tag[], tags: Tag[]): Tag[] {
  const merged = new Map(current.map((tag) => [tag.key, tag.value]));
  for (const tag of tags) merged.set(tag.key, tag.value);
  if (merged.size > MAX_TAGS) throw new AwsServiceError('TooManyTags', `Too many tags: a resource has at most ${MAX_TAGS} tags: '${arn}'`);
  return [...merged].map(([key, value]) => ({ key, value }));
}

export class StateMachines {
  private readonly store: JsonStore<MachineRecord>;
  private readonly machines = new Map<string, Machine>();

  /** Builds the template's machines (throws when one is invalid, as a deployment would fail) and reloads the created ones. */
  constructor(
    private readonly ctx: ServiceContext,
    specs: StateMachineSpec[],
  ) {
    this.store = new JsonStore<MachineRecord>(`${ctx.dataDir}/state-machines`);
    for (const spec of specs) {
      let prepared: PreparedDefinition;
      let runner: StateMachine;
      try {
        prepared = prepareDefinition(spec.definition);
        runner = new StateMachine(prepared.definition);
      } catch (error) {
        throw new Error(`state machine ${spec.name}: ${(error as Error).message}`, { cause: error });
      }
      // A template machine keeps its creation date across restarts; what the template says wins over anything created under its name.
      const known = this.store.get(storeKey(spec.arn));
      const record: MachineRecord = { stateMachineArn: spec.arn, creationDate: known?.creationDate ?? Date.now(), tags: known?.tags };
      if (!known || known.created || known.deleting) this.store.put(storeKey(spec.arn), record);
      this.machines.set(spec.arn, {
        arn: spec.arn,
        name: spec.name,
        definition: spec.definition,
        definitionText: JSON.stringify(spec.definition),
        roleArn: spec.roleArn,
        loggingConfiguration: logging(undefined),
        tracingConfiguration: tracing(undefined),
        prepared,
        runner,
        creationDate: record.creationDate,
        deleting: false,
        tags: record.tags ?? [],
      });
    }
    for (const { value } of this.store.list()) {
      if (!value.created || this.machines.has(value.stateMachineArn)) continue;
      try {
        this.machines.set(value.stateMachineArn, this.reload(value, value.created));
      } catch (error) {
        ctx.log('a stored state machine could not be rebuilt; it is left out', { stateMachineArn: value.stateMachineArn, error: String(error) });
      }
    }
  }

  /** A created machine from its record: validated when it was created, so built without validating again. */
  private reload(record: MachineRecord, created: CreatedMachine): Machine {
    const definition = JSON.parse(created.definition) as Record<string, unknown>;
    const prepared = prepareDefinition(definition);
    const runner = new StateMachine(prepared.definition, { validationOptions: { noValidate: true } });
    return this.machine(record, created, definition, prepared, runner);
  }

  private machine(record: MachineRecord, created: CreatedMachine, definition: Record<string, unknown>, prepared: PreparedDefinition, runner: StateMachine): Machine {
    return {
      arn: record.stateMachineArn,
      name: created.name,
      definition,
      definitionText: created.definition,
      roleArn: created.roleArn,
      loggingConfiguration: created.loggingConfiguration,
      tracingConfiguration: created.tracingConfiguration,
      prepared,
      runner,
      creationDate: record.creationDate,
      deleting: record.deleting === true,
      tags: record.tags ?? [],
    };
  }

  private save(machine: Machine): void {
    const key = storeKey(machine.arn);
    const known = this.store.get(key);
    this.store.put(key, { stateMachineArn: machine.arn, creationDate: machine.creationDate, created: known?.created, deleting: machine.deleting || undefined, tags: machine.tags });
  }

  get(arn: string): Machine | undefined {
    return this.machines.get(arn);
  }

  /** Every machine (DELETING ones included), by name. */
  list(): Machine[] {
    return [...this.machines.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * CreateStateMachine. Idempotent as on AWS: the same name with the same definition (whitespace
   * aside), logging and tracing configuration returns the existing machine (`created: false`),
   * ignoring a different roleArn or tags, which are not updated; anything else under the name is
   * StateMachineAlreadyExists. Throws InvalidDefinition (with the diagnostics), StateMachineDeleting,
   * TooManyTags.
   */
  create(request: CreateMachineRequest): { machine: Machine; created: boolean } {
    const arn = stateMachineArn(this.ctx.region, this.ctx.accountId, request.name);
    const loggingConfiguration = logging(request.loggingConfiguration);
    const tracingConfiguration = tracing(request.tracingConfiguration);
    const existing = this.machines.get(arn);
    if (existing) {
      if (existing.deleting) throw new AwsServiceError('StateMachineDeleting', `State Machine is being deleted: '${arn}'`);
      const same =
        sameDefinition(request.definition, existing.definitionText) &&
        JSON.stringify(loggingConfiguration) === JSON.stringify(existing.loggingConfiguration) &&
        JSON.stringify(tracingConfiguration) === JSON.stringify(existing.tracingConfiguration);
      if (same) return { machine: existing, created: false };
      throw new AwsServiceError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
    }
    const built = buildDefinition(request.definition);
    if (built.diagnostics) {
      throw new AwsServiceError('InvalidDefinition', `Invalid State Machine Definition: '${built.diagnostics.map((item) => `${item.code}: ${item.message}${item.location ? ` at ${item.location}` : ''}`).join(', ')}'`);
    }
    const created: CreatedMachine = { name: request.name, definition: request.definition, roleArn: request.roleArn, loggingConfiguration, tracingConfiguration };
    const record: MachineRecord = { stateMachineArn: arn, creationDate: Date.now(), created, tags: mergeTags(arn, [], request.tags) };
    this.store.put(storeKey(arn), record);
    const machine = this.machine(record, created, built.definition, built.prepared, built.runner);
    this.machines.set(arn, machine);
    return { machine, created: true };
  }

  /**
   * DeleteStateMachine. Step Functions marks a machine DELETING and deletes it once its executions
   * have ended; so does the local runtime when `running` (executions still run), else it deletes
   * at once. The service calls {@link finishDeletion} when the last one ends. A template machine
   * comes back at the next start: the template declares it.
   */
  delete(machine: Machine, running: boolean): void {
    if (running) {
      machine.deleting = true;
      this.save(machine);
      return;
    }
    this.machines.delete(machine.arn);
    this.store.delete(storeKey(machine.arn));
  }

  /** Deletes a DELETING machine whose executions have all ended. */
  finishDeletion(machine: Machine): void {
    if (machine.deleting && this.machines.get(machine.arn) === machine) this.delete(machine, false);
  }

  /**
   * UpdateStateMachine's logging half: the machine logs as `configuration` says from now on (its
   * definition, and so its executions, are unchanged). Kept on disk for machines created through the API.
   */
  updateLogging(machine: Machine, configuration: Record<string, unknown>): void {
    machine.loggingConfiguration = logging(configuration);
    const key = storeKey(machine.arn);
    const known = this.store.get(key);
    if (known?.created) this.store.put(key, { ...known, created: { ...known.created, loggingConfiguration: machine.loggingConfiguration } });
  }

  /** TagResource: adds or replaces tags by key. Throws TooManyTags. */
  tag(machine: Machine, tags: Tag[]): void {
    machine.tags = mergeTags(machine.arn, machine.tags, tags);
    this.save(machine);
  }
}
