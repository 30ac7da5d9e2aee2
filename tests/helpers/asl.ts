import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ExecutionError, type RunOptions, type StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { parse } from 'yaml';

import { ACCOUNT, REGION, ROOT } from './fixtures';

/**
 * Loads statemachines/<name>.asl.yaml the way serverless-step-functions would deliver it to
 * Step Functions, minus CloudFormation: `{Ref: X}`, `{'Fn::GetAtt': [X, Attr]}` and `Fn::Join` are replaced
 * by fake but well-formed values. Any other intrinsic (Fn::Sub, ...) throws, so a
 * definition never reaches a test with an unresolved CloudFormation object inside it.
 */

/** How intrinsics are replaced. The defaults suit unit tests; the local runtime can pass its own. */
export interface IntrinsicResolver {
  /** Value of `{Ref: logicalId}`. */
  ref(logicalId: string): string;
  /** Value of `{'Fn::GetAtt': [logicalId, attribute]}`. */
  getAtt(logicalId: string, attribute: string): string;
}

/** Bus name every `{Ref: EventBus}` becomes in tests. */
export const TEST_EVENT_BUS = 'sluice-test';

/** The fake ARN a `{'Fn::GetAtt': [<LogicalId>, Arn]}` of a Lambda function becomes. */
export function fakeFunctionArn(logicalId: string): string {
  return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalId}`;
}

const TEST_RESOLVER: IntrinsicResolver = {
  ref(logicalId) {
    if (logicalId === 'EventBus') return TEST_EVENT_BUS;
    throw new Error(`no test value for {Ref: ${logicalId}}`);
  },
  getAtt(logicalId, attribute) {
    if (attribute === 'Arn' && logicalId.endsWith('LambdaFunction')) return fakeFunctionArn(logicalId);
    throw new Error(`no test value for {Fn::GetAtt: [${logicalId}, ${attribute}]}`);
  },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Pseudo parameters as CloudFormation resolves them in the test account and region. */
const PSEUDO_PARAMETERS: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, 'AWS::URLSuffix': 'amazonaws.com' };

/** Returns a copy of `node` with every Ref / Fn::GetAtt / Fn::Join replaced (a Ref to a pseudo parameter by its test value). Pure. */
export function resolveIntrinsics(node: unknown, resolver: IntrinsicResolver = TEST_RESOLVER): unknown {
  if (Array.isArray(node)) return node.map((item) => resolveIntrinsics(item, resolver));
  if (!isRecord(node)) return node;
  const keys = Object.keys(node);
  if (keys.length === 1 && keys[0] === 'Ref') {
    const logicalId = node.Ref;
    if (typeof logicalId !== 'string') throw new Error(`malformed Ref: ${JSON.stringify(node)}`);
    return Object.hasOwn(PSEUDO_PARAMETERS, logicalId) ? PSEUDO_PARAMETERS[logicalId] : resolver.ref(logicalId);
  }
  if (keys.length === 1 && keys[0] === 'Fn::Join') {
    const [separator, items] = Array.isArray(node['Fn::Join']) ? (node['Fn::Join'] as unknown[]) : [];
    if (typeof separator !== 'string' || !Array.isArray(items)) throw new Error(`malformed Fn::Join: ${JSON.stringify(node)}`);
    return items.map((item) => String(resolveIntrinsics(item, resolver))).join(separator);
  }
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const target = node['Fn::GetAtt'];
    const [logicalId, attribute] = typeof target === 'string' ? target.split('.') : Array.isArray(target) ? target : [];
    if (typeof logicalId !== 'string' || typeof attribute !== 'string') throw new Error(`malformed Fn::GetAtt: ${JSON.stringify(node)}`);
    return resolver.getAtt(logicalId, attribute);
  }
  const intrinsic = keys.find((key) => key.startsWith('Fn::'));
  if (intrinsic) throw new Error(`unsupported CloudFormation intrinsic ${intrinsic} in state machine definition`);
  return Object.fromEntries(keys.map((key) => [key, resolveIntrinsics(node[key], resolver)]));
}

function isDefinition(value: unknown): value is StateMachineDefinition {
  return (
    isRecord(value) &&
    typeof value.StartAt === 'string' &&
    isRecord(value.States) &&
    Object.values(value.States).every((state) => isRecord(state) && typeof state.Type === 'string')
  );
}

/**
 * Reads statemachines/<name>.asl.yaml and resolves its CloudFormation intrinsics (see
 * {@link resolveIntrinsics}). Returns a fresh object each call. Throws when the file is missing,
 * is not an ASL document (StartAt + States) or uses an intrinsic the resolver does not know.
 */
export function loadStateMachineDefinition(name: string, resolver: IntrinsicResolver = TEST_RESOLVER): StateMachineDefinition {
  const file = join(ROOT, 'statemachines', `${name}.asl.yaml`);
  const definition = resolveIntrinsics(parse(readFileSync(file, 'utf8')), resolver);
  if (!isDefinition(definition)) throw new Error(`${file} is not an Amazon States Language definition (StartAt, States)`);
  return definition;
}

/**
 * aws-local-stepfunctions 3.0.0 resolves a Task's `TimeoutSecondsPath` against the state's
 * effective input (after `Parameters`), where Step Functions resolves it against the state input;
 * `$.build.taskTimeoutSeconds` then "does not point to a value" and the run dies with an
 * uncatchable States.Runtime. Returns a copy of `definition` whose top-level Task states use a
 * fixed `TimeoutSeconds` instead (60, the library's own default, unless told otherwise). Pure.
 */
export function withFixedTaskTimeouts(definition: StateMachineDefinition, timeoutSeconds = 60): StateMachineDefinition {
  const states = Object.entries(definition.States).map(([name, state]) => {
    if (state.Type !== 'Task' || state.TimeoutSecondsPath === undefined) return [name, state] as const;
    const { TimeoutSecondsPath: _path, ...rest } = state;
    return [name, { ...rest, TimeoutSeconds: timeoutSeconds }] as const;
  });
  return { ...definition, States: Object.fromEntries(states) };
}

/**
 * {@link withFixedTaskTimeouts} at every depth: Task states inside Parallel branches and Map item
 * processors (however deeply nested) get the fixed `TimeoutSeconds` too, as compiled pipelines nest their Tasks there. Pure.
 */
export function withFixedTaskTimeoutsDeep(definition: StateMachineDefinition, timeoutSeconds = 60): StateMachineDefinition {
  const fixed = withFixedTaskTimeouts(definition, timeoutSeconds);
  const states = Object.entries(fixed.States).map(([name, state]) => {
    if (state.Type === 'Parallel') return [name, { ...state, Branches: state.Branches.map((branch) => withFixedTaskTimeoutsDeep(branch, timeoutSeconds)) }] as const;
    if (state.Type === 'Map' && state.ItemProcessor) return [name, { ...state, ItemProcessor: { ...state.ItemProcessor, ...withFixedTaskTimeoutsDeep(state.ItemProcessor, timeoutSeconds) } }] as const;
    return [name, state] as const;
  });
  return { ...fixed, States: Object.fromEntries(states) };
}

/** A Task override (by state name), as aws-local-stepfunctions takes it. */
export type LocalHandler = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>[string];
export type Json = Parameters<LocalHandler>[0];

/** An Error whose `name` is the ASL error name (what SendTaskFailure or a task's failure carries). */
export function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** A handler that always fails with `error`. */
export function throwing(error: Error): LocalHandler {
  return () => {
    throw error;
  };
}

export type Outcome = { status: 'SUCCEEDED'; output: Json } | { status: 'FAILED'; error: string; cause: string };

export interface PathRun<S extends string> {
  outcome: Outcome;
  /** Every task handler invocation, in order (retries included). */
  calls: { state: S; input: Json }[];
}

/**
 * Runs one execution to its end with every task in `handlers` overridden by state name, calls
 * recorded and retry intervals set to 0. The library rejects a failed run with an ExecutionError
 * whose `cause` is the final error: `name` is the Error and `message` the Cause.
 */
export async function runPath<S extends string>(stateMachine: StateMachine, input: Json, handlers: Record<S, LocalHandler>, context: Record<string, unknown>): Promise<PathRun<S>> {
  const calls: PathRun<S>['calls'] = [];
  const states = Object.keys(handlers) as S[];
  const recorded = Object.fromEntries(
    states.map((state): [string, LocalHandler] => [
      state,
      (taskInput) => {
        calls.push({ state, input: taskInput });
        return handlers[state](taskInput);
      },
    ]),
  );
  const execution = stateMachine.run(input, {
    context,
    overrides: { taskResourceLocalHandlers: recorded, retryIntervalOverrides: Object.fromEntries(states.map((state) => [state, 0])) },
  });
  const outcome = await execution.result.then(
    (output): Outcome => ({ status: 'SUCCEEDED', output }),
    (error: unknown): Outcome => {
      if (error instanceof ExecutionError && error.cause instanceof Error) return { status: 'FAILED', error: error.cause.name, cause: error.cause.message };
      throw error;
    },
  );
  return { outcome, calls };
}
