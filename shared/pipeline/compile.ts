import { DETAIL_TYPES, EVENT_SOURCES } from '../schemas/events';
import type { ForEachStep, InnerStepSpec, PipelineConfig, RetryPolicy, StepSpec } from '../schemas/mlops-v2';
import { type Block, decompose } from './decompose';
import type { Branch, PipelineGraph } from './graph';

/**
 * Compiles a pipeline into its own Step Functions state machine (Amazon States Language, JSONPath).
 *
 * The run announces itself, snapshots the commit's source (`Source snapshot`), then runs the steps.
 * Every step is a state named after it: job steps (Processing, Training, Tuning, Transform) are
 * `lambda:invoke.waitForTaskToken` tasks that start-job starts and SageMaker's state-change event
 * completes; a Condition is a task that evaluates it and a Choice (`<name> ?`) into its branches;
 * a Fail step is a task that builds its message and a Fail state (`<name> failed`); a
 * RegisterModel step is a task and the `Model Package Registered` event (`<name> registered`).
 * Independent steps sit in Parallel states; each step's result lands in `$.steps['<name>']`, and a
 * Parallel merges its branches' results. Nothing from mlops.yaml reaches an ARN or a policy: the
 * only ARNs are the stack's own functions and bus ({@link CompileTargets}); step names appear as
 * state names and string values, never as JSONPath keys (`.$`) or paths outside bracket quotes.
 *
 * There is no Catch: a failing step fails the run *at that step*, so RedriveExecution restarts
 * exactly there. `Model Build Failed` is published from the execution's status change instead.
 * Pure and deterministic: the same pipeline and targets give the same definition, byte for byte.
 */

/** The stack's resources a compiled pipeline may call. */
export interface CompileTargets {
  snapshotSourceFunctionArn: string;
  startJobFunctionArn: string;
  evaluateStepFunctionArn: string;
  registerModelFunctionArn: string;
  eventBusName: string;
}

export interface CompiledPipeline {
  definition: Record<string, unknown>;
  /** Waits the state machine's shape adds beyond the pipeline's own dependencies ([waiting step, step waited for]). */
  extraWaits: [string, string][];
}

type State = Record<string, unknown>;

/** Step Functions allows at most 10 nested intrinsic functions in a field: a Parallel merges at most this many branches. */
const MAX_PARALLEL_BRANCHES = 10;

export const STARTED_STATE = 'Build started';
export const SNAPSHOT_STATE = 'Source snapshot';
export const SUCCEEDED_STATE = 'Build succeeded';
/** A ForEach's Map state is `<ForEach> (each)`; the Pass ending each iteration `<ForEach> (item)`. */
export const FOR_EACH_MAP_SUFFIX = ' (each)';
export const FOR_EACH_ITEM_SUFFIX = ' (item)';
const FOR_EACH_REUSED_SUFFIX = ' (reused)';

/** Error names each SageMaker Pipelines exception type retries (shared/errors.ts names them). */
const RETRY_ERRORS: Record<RetryPolicy['ExceptionType'][number], string[]> = {
  'SageMaker.CAPACITY_ERROR': ['SageMakerCapacityError'],
  'SageMaker.JOB_INTERNAL_ERROR': ['SageMakerInternalError'],
  'SageMaker.RESOURCE_LIMIT': ['SageMakerResourceLimit'],
  'Step.THROTTLING': ['RetryableError', 'Lambda.TooManyRequestsException'],
  'Step.SERVICE_FAULT': ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'],
};

/** Transient failures of a task's own Lambda call, retried for every task. */
const LAMBDA_RETRY = {
  ErrorEquals: ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException', 'RetryableError'],
  IntervalSeconds: 2,
  MaxAttempts: 6,
  BackoffRate: 2,
  JitterStrategy: 'FULL',
};

const EVENTS_RETRY = [
  {
    ErrorEquals: ['EventBridge.FailedEntry', 'EventBridge.EventBridgeException', 'EventBridge.InternalException', 'EventBridge.ThrottlingException'],
    IntervalSeconds: 1,
    MaxAttempts: 5,
    BackoffRate: 2,
    JitterStrategy: 'FULL',
  },
];

/** Suffixes of the states a step compiles to besides its own (`check ?`, `gate failed`, `register registered`, `check (if)`, `per-sex (each)`, `per-sex (item)`). */
const STEP_STATE_SUFFIXES = [' ?', ' failed', ' registered', ' (if)', ' (else)', FOR_EACH_MAP_SUFFIX, FOR_EACH_ITEM_SUFFIX, FOR_EACH_REUSED_SUFFIX];

/**
 * The step a state of a compiled pipeline belongs to: the state of the same name, or one the step
 * compiles to besides it (`gate failed` → `gate`); undefined for the states around the steps
 * (`Build started`, `Source snapshot`, `parallel #1: …`, `Build succeeded`). Step names hold no
 * space; every other state name does. Pure.
 */
export function stepOfState(state: string): string | undefined {
  if (!state.includes(' ')) return state;
  const suffix = STEP_STATE_SUFFIXES.find((candidate) => state.endsWith(candidate));
  const step = suffix === undefined ? undefined : state.slice(0, -suffix.length);
  return step !== undefined && !step.includes(' ') ? step : undefined;
}

/** `$.steps['<name>']`: bracket notation, as Step Functions requires for names with `-`. */
export function resultPath(step: string): string {
  return `$.steps['${step}']`;
}

/** The retriers of a task: the step's own policies first (the first matching retrier wins), then the Lambda defaults. */
function retriers(policies: readonly RetryPolicy[] | undefined): Record<string, unknown>[] {
  const claimed = new Set<string>();
  const own = (policies ?? []).map((policy) => {
    const errors = [...new Set(policy.ExceptionType.flatMap((type) => RETRY_ERRORS[type]))].filter((error) => !claimed.has(error));
    errors.forEach((error) => claimed.add(error));
    return {
      ErrorEquals: errors,
      IntervalSeconds: policy.IntervalSeconds,
      MaxAttempts: policy.MaxAttempts,
      BackoffRate: policy.BackoffRate,
      ...(policy.MaxDelaySeconds === undefined ? {} : { MaxDelaySeconds: policy.MaxDelaySeconds }),
      JitterStrategy: 'FULL',
    };
  });
  const defaults = LAMBDA_RETRY.ErrorEquals.filter((error) => !claimed.has(error));
  return [...own.filter((retrier) => retrier.ErrorEquals.length > 0), ...(defaults.length > 0 ? [{ ...LAMBDA_RETRY, ErrorEquals: defaults }] : [])];
}

/** The event detail fields every build event carries. */
const BUILD_FIELDS = {
  'repository.$': '$.build.repository',
  'branch.$': '$.build.branch',
  'commit.$': '$.build.commit',
  'executionArn.$': '$$.Execution.Id',
};

/**
 * The partition of the stack's functions (`arn:<partition>:lambda:…`): the service integrations'
 * ARNs are `arn:<partition>:states:::…` (aws-cn, aws-us-gov are not aws;
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html). Throws when the ARN has none.
 */
export function partitionOf(arn: string): string {
  const partition = /^arn:(aws[a-z-]*):/.exec(arn)?.[1];
  if (!partition) throw new Error(`${arn} is not an ARN with an AWS partition`);
  return partition;
}

/** A Step Functions service integration's Resource in `partition`, e.g. `lambda:invoke.waitForTaskToken`. */
const integration = (partition: string, action: string) => `arn:${partition}:states:::${action}`;

function putEvent(partition: string, bus: string, detailType: string, detail: Record<string, unknown>, comment: string): State {
  return {
    Type: 'Task',
    Comment: comment,
    Resource: integration(partition, 'events:putEvents'),
    Parameters: { Entries: [{ EventBusName: bus, Source: EVENT_SOURCES.sluice, DetailType: detailType, Detail: { ...BUILD_FIELDS, ...detail } }] },
    ResultPath: null,
    Retry: EVENTS_RETRY,
  };
}

/** The task input every step function receives; inside a ForEach, also the iteration's item. */
function stepPayload(step: string, inItem = false): Record<string, unknown> {
  return { step, 'executionArn.$': '$$.Execution.Id', 'build.$': '$.build', 'parameters.$': '$.parameters', 'steps.$': '$.steps', 'reuse.$': '$.reuse', ...(inItem ? { 'item.$': '$.item' } : {}) };
}

/** What all emitters of one definition share: state names are unique machine-wide, Parallels are numbered in order. */
interface Shared {
  names: Set<string>;
  parallels: number;
  /** Each Parallel's number, given in the order a run meets them (states are emitted last to first). */
  numbers: Map<Block, number>;
  extraWaits: [string, string][];
}

/** Emits the states of one States object (the machine's, or one Parallel branch's). */
class Emitter {
  readonly states: Record<string, State> = {};

  /**
   * `forEach`: the ForEach whose iteration (Map ItemProcessor) these states run in; its state
   * carries `item` as well, and its steps are the ForEach's inner steps.
   */
  constructor(
    private readonly config: PipelineConfig,
    private readonly graph: PipelineGraph,
    private readonly targets: CompileTargets,
    private readonly shared: Shared,
    private readonly forEach?: string,
  ) {}

  /** The settings of a step of this emitter's frame (top level, or the ForEach's inner steps). */
  private specOf(name: string): StepSpec | InnerStepSpec {
    const owner = this.forEach === undefined ? undefined : this.config.Steps[this.forEach];
    return owner?.Type === 'ForEach' ? owner.Steps[name]! : this.config.Steps[name]!;
  }

  private add(name: string, state: State): string {
    if (this.shared.names.has(name)) throw new Error(`state name ${name} is generated twice`);
    this.shared.names.add(name);
    this.states[name] = state;
    return name;
  }

  /** `Next: next`, or `End: true` when nothing follows. */
  private static then(next: string | undefined): Record<string, unknown> {
    return next === undefined ? { End: true } : { Next: next };
  }

  /** Emits the steps of one frame (top level or a branch) and returns its first state, or `next` when it is empty. */
  frame(branch: Branch | undefined, next: string | undefined): string | undefined {
    const members =
      this.forEach !== undefined
        ? (this.graph.forEach.get(this.forEach)?.order ?? [])
        : this.graph.order.filter((name) => {
            const own = this.graph.branchOf.get(name);
            return own?.condition === branch?.condition && own?.side === branch?.side;
          });
    if (members.length === 0) return next;
    const { block, extraWaits } = decompose(members, (name) => this.graph.dependencies.get(name) ?? []);
    this.shared.extraWaits.push(...extraWaits);
    this.number(block);
    return this.block(block, next);
  }

  /** Numbers the Parallels of a block in run order (depth first, left to right). */
  private number(block: Block): void {
    if (block.kind === 'step') return;
    if (block.kind === 'parallel') {
      this.shared.parallels += 1;
      this.shared.numbers.set(block, this.shared.parallels);
    }
    (block.kind === 'sequence' ? block.items : block.branches).forEach((inner) => this.number(inner));
  }

  private block(block: Block, next: string | undefined): string {
    switch (block.kind) {
      case 'step':
        return this.step(block.name, this.specOf(block.name), next);
      case 'sequence':
        return block.items.reduceRight<string | undefined>((following, item) => this.block(item, following), next)!;
      case 'parallel':
        return this.parallel(block.branches, next, block);
    }
  }

  private parallel(branches: Block[], next: string | undefined, block?: Block): string {
    // Step Functions nests at most 10 intrinsic functions per field, so one Parallel merges at most 10 branches.
    if (branches.length > MAX_PARALLEL_BRANCHES) {
      const groups: Block[] = [];
      const size = Math.ceil(branches.length / Math.ceil(branches.length / MAX_PARALLEL_BRANCHES));
      for (let start = 0; start < branches.length; start += size) {
        const group = branches.slice(start, start + size);
        groups.push(group.length === 1 ? group[0]! : { kind: 'parallel', branches: group });
      }
      return this.parallel(groups, next);
    }
    let number = block === undefined ? undefined : this.shared.numbers.get(block);
    if (number === undefined) {
      this.shared.parallels += 1;
      number = this.shared.parallels;
    }
    const names = stepNames(branches);
    const name = `parallel #${number}: ${names.join(', ')}`.slice(0, 80);
    const merged = branches.slice(1).reduce((merge, _branch, index) => `States.JsonMerge(${merge}, $[${index + 1}].steps, false)`, '$[0].steps');
    const compiled = branches.map((branch) => {
      const inner = new Emitter(this.config, this.graph, this.targets, this.shared, this.forEach);
      const start = inner.block(branch, undefined);
      return { StartAt: start, States: inRunOrder(start, inner.states) };
    });
    return this.add(name, {
      Type: 'Parallel',
      Comment: `Independent steps run at the same time: ${names.join(', ')}. Each branch adds its steps' results; they are merged into $.steps.`,
      Branches: compiled,
      ResultSelector: { 'build.$': '$[0].build', 'parameters.$': '$[0].parameters', 'reuse.$': '$[0].reuse', 'steps.$': merged, ...(this.forEach === undefined ? {} : { 'item.$': '$[0].item' }) },
      // No `ResultPath`: its default ($) replaces the state with the merged result. Written out as
      // '$', aws-local-stepfunctions 3.0.0 (the local runtime) stores the result under a key "$".
      ...Emitter.then(next),
    });
  }

  private step(name: string, spec: StepSpec | InnerStepSpec, next: string | undefined): string {
    const t = this.targets;
    const inItem = this.forEach !== undefined;
    switch (spec.Type) {
      case 'ForEach':
        return this.forEachStep(name, spec, next);
      case 'Processing':
      case 'Training':
      case 'Tuning':
      case 'Transform':
        return this.add(name, {
          Type: 'Task',
          Comment: `${spec.Type} step: start-job starts the SageMaker job (or reuses a cached result) and SageMaker's state-change event completes the task.`,
          Resource: integration(partitionOf(t.startJobFunctionArn), 'lambda:invoke.waitForTaskToken'),
          Parameters: { FunctionName: t.startJobFunctionArn, Payload: { 'taskToken.$': '$$.Task.Token', ...stepPayload(name, inItem) } },
          TimeoutSecondsPath: '$.build.taskTimeoutSeconds',
          ResultPath: resultPath(name),
          Retry: retriers(spec.RetryPolicies),
          ...Emitter.then(next),
        });
      case 'Condition': {
        const choice = `${name} ?`;
        const ifStart = this.frame({ condition: name, side: 'If' }, next) ?? this.done(`${name} (if)`, next);
        const elseStart = this.frame({ condition: name, side: 'Else' }, next) ?? this.done(`${name} (else)`, next);
        this.add(choice, {
          Type: 'Choice',
          Comment: `The If branch when the condition holds, else the Else branch.`,
          Choices: [{ Variable: `${resultPath(name)}.Outcome`, BooleanEquals: true, Next: ifStart }],
          Default: elseStart,
        });
        return this.add(name, {
          Type: 'Task',
          Comment: 'Condition step: evaluates the condition over parameters, report values and step properties.',
          Resource: t.evaluateStepFunctionArn,
          Parameters: stepPayload(name, inItem),
          ResultPath: resultPath(name),
          Retry: retriers(undefined),
          Next: choice,
        });
      }
      case 'Fail': {
        const fail = this.add(`${name} failed`, {
          Type: 'Fail',
          Comment: 'Ends the run with the Fail step\'s error name and message.',
          ErrorPath: `${resultPath(name)}.Error`,
          CausePath: `${resultPath(name)}.Cause`,
        });
        return this.add(name, {
          Type: 'Task',
          Comment: 'Fail step: builds the error message from parameters, report values and step properties.',
          Resource: t.evaluateStepFunctionArn,
          Parameters: stepPayload(name, inItem),
          ResultPath: resultPath(name),
          Retry: retriers(undefined),
          Next: fail,
        });
      }
      case 'RegisterModel': {
        const announce = this.add(
          `${name} registered`,
          {
            ...putEvent(
              partitionOf(t.registerModelFunctionArn),
              t.eventBusName,
              DETAIL_TYPES.modelPackageRegistered,
              {
                step: name,
                'modelPackageArn.$': `${resultPath(name)}.ModelPackageArn`,
                'modelPackageGroupName.$': `${resultPath(name)}.ModelPackageGroupName`,
                'modelApprovalStatus.$': `${resultPath(name)}.ModelApprovalStatus`,
                'cachedFrom.$': `${resultPath(name)}.CachedFrom`,
              },
              'Model Package Registered on the service bus.',
            ),
            ...Emitter.then(next),
          },
        );
        return this.add(name, {
          Type: 'Task',
          Comment: 'RegisterModel step: a model package version with metrics and lineage (idempotent ClientToken).',
          Resource: t.registerModelFunctionArn,
          Parameters: stepPayload(name, inItem),
          ResultPath: resultPath(name),
          Retry: retriers(undefined),
          Next: announce,
        });
      }
    }
  }

  /**
   * A ForEach: a task resolving its items (`$.steps['<name>']` = {Type, Items}, or the whole result
   * carried over from an earlier run), a Choice that skips the Map for a carried-over result, and
   * the inline Map `<name> (each)` running the inner steps once per item, each iteration ending in
   * `<name> (item)`, a Pass that keeps only the iteration's own results (they land, in item order,
   * in `$.steps['<name>'].Results`).
   */
  private forEachStep(name: string, spec: ForEachStep, next: string | undefined): string {
    const iteration = new Emitter(this.config, this.graph, this.targets, this.shared, name);
    const inner = this.graph.forEach.get(name)?.order ?? [];
    const itemDone = iteration.add(`${name}${FOR_EACH_ITEM_SUFFIX}`, {
      Type: 'Pass',
      Comment: "The iteration's output: only its own steps' results (not the run's whole state), so the Map's result stays small.",
      Parameters: Object.fromEntries(inner.map((step) => [`${step}.$`, resultPath(step)])),
      End: true,
    });
    const start = iteration.frame(undefined, itemDone) ?? itemDone;
    const map = this.add(`${name}${FOR_EACH_MAP_SUFFIX}`, {
      Type: 'Map',
      Comment: `ForEach step: ${inner.join(', ')} once per item, at most ${spec.MaxConcurrency} items at a time. Each iteration sees the run's state and its item; the items' results land in item order.`,
      ItemsPath: `${resultPath(name)}.Items`,
      ItemSelector: {
        'build.$': '$.build',
        'parameters.$': '$.parameters',
        'steps.$': '$.steps',
        'reuse.$': '$.reuse',
        item: { forEach: name, 'index.$': '$$.Map.Item.Index', 'value.$': '$$.Map.Item.Value' },
      },
      MaxConcurrency: spec.MaxConcurrency,
      ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: start, States: inRunOrder(start, iteration.states) },
      ResultPath: `${resultPath(name)}.Results`,
      ...Emitter.then(next),
    });
    // A Choice cannot end a branch: a carried-over result with nothing after it ends at a Succeed state.
    const skip = next ?? this.add(`${name}${FOR_EACH_REUSED_SUFFIX}`, { Type: 'Succeed', Comment: 'Carried over from an earlier run; nothing follows in this branch.' });
    const choice = this.add(`${name} ?`, {
      Type: 'Choice',
      Comment: "A result carried over from an earlier run already holds every item's results: the Map does not run again.",
      Choices: [{ Variable: `${resultPath(name)}.Results`, IsPresent: true, Next: skip }],
      Default: map,
    });
    return this.add(name, {
      Type: 'Task',
      Comment: 'ForEach step: resolves its items (a list, a String parameter holding a JSON list, or a JSON list in a report).',
      Resource: this.targets.evaluateStepFunctionArn,
      Parameters: stepPayload(name),
      ResultPath: resultPath(name),
      Retry: retriers(undefined),
      Next: choice,
    });
  }

  /** An empty branch of a Condition: a Pass state that goes on (or ends the branch). */
  private done(name: string, next: string | undefined): string {
    return this.add(name, { Type: 'Pass', Comment: 'This branch holds no steps.', ...Emitter.then(next) });
  }
}

/** The states in the order a run meets them (StartAt first, then each state's successors), for readers of the definition. */
/**
 * The states reachable from `startAt` (Next, Default, Choices, Catch), in the order a run meets
 * them. States no run can reach are left out: Step Functions refuses a definition with any (e.g.
 * `Build succeeded` of a pipeline whose every path ends in a Fail step). Pure.
 */
function inRunOrder(startAt: string, states: Record<string, State>): Record<string, State> {
  const ordered: Record<string, State> = {};
  const visit = (name: string | undefined) => {
    if (name === undefined || Object.hasOwn(ordered, name) || !Object.hasOwn(states, name)) return;
    const state = states[name]!;
    ordered[name] = state;
    const choices = Array.isArray(state.Choices) ? (state.Choices as { Next: string }[]).map((choice) => choice.Next) : [];
    const catchers = Array.isArray(state.Catch) ? (state.Catch as { Next: string }[]).map((catcher) => catcher.Next) : [];
    [...choices, state.Default as string | undefined, state.Next as string | undefined, ...catchers].forEach(visit);
  };
  visit(startAt);
  return ordered;
}

function stepNames(blocks: Block[]): string[] {
  return blocks.flatMap((block) => (block.kind === 'step' ? [block.name] : block.kind === 'sequence' ? stepNames(block.items) : stepNames(block.branches)));
}

/**
 * The RegisterModel steps every successful run has run: those whose every enclosing Condition
 * branch has, on its other side, a Fail step (so a run that took the other side failed). Their
 * versions can be named in `Model Build Succeeded`; a version registered on some paths only is
 * announced by its own `Model Package Registered`. Pure.
 */
export function certainRegistrations(config: PipelineConfig, graph: PipelineGraph): string[] {
  const failsOn = (condition: string, side: 'If' | 'Else') =>
    graph.order.some((name) => config.Steps[name]!.Type === 'Fail' && graph.branchOf.get(name)?.condition === condition && graph.branchOf.get(name)?.side === side);
  return graph.order.filter((name) => {
    if (config.Steps[name]!.Type !== 'RegisterModel') return false;
    const seen = new Set<string>();
    for (let branch = graph.branchOf.get(name); branch; branch = graph.branchOf.get(branch.condition)) {
      if (seen.has(branch.condition) || !failsOn(branch.condition, branch.side === 'If' ? 'Else' : 'If')) return false;
      seen.add(branch.condition);
    }
    return true;
  });
}

/**
 * The state machine definition of a pipeline (analysed by shared/pipeline/graph.ts, which must
 * have found no issues). Its input is a {@link PipelineRunInput}-shaped object; its output the
 * steps' results by name. Pure and deterministic.
 */
export function compilePipeline(config: PipelineConfig, graph: PipelineGraph, targets: CompileTargets): CompiledPipeline {
  const shared: Shared = { names: new Set([STARTED_STATE, SNAPSHOT_STATE, SUCCEEDED_STATE]), parallels: 0, numbers: new Map(), extraWaits: [] };
  const emitter = new Emitter(config, graph, targets, shared);
  const succeeded = emitter.frame(undefined, SUCCEEDED_STATE);
  const registered = certainRegistrations(config, graph);
  const packages = Object.fromEntries(registered.map((name) => [`${name}.$`, `${resultPath(name)}.ModelPackageArn`]));
  const first = registered[0] === undefined ? {} : { 'modelPackageArn.$': `${resultPath(registered[0])}.ModelPackageArn` };
  emitter.states[SUCCEEDED_STATE] = {
    ...putEvent(
      partitionOf(targets.snapshotSourceFunctionArn),
      targets.eventBusName,
      DETAIL_TYPES.modelBuildSucceeded,
      { ...first, modelPackages: packages, 'steps.$': '$.steps' },
      'Model Build Succeeded on the service bus: the versions every successful run registers (by step), and every step\'s result.',
    ),
    OutputPath: '$.steps',
    End: true,
  };
  emitter.states[SNAPSHOT_STATE] = {
    Type: 'Task',
    Comment: "Copies the commit's tree to the build's prefix (source/, source.tar.gz, source-manifest.json): the code every job reads and the cache keys hash. A tree above the stage's limit fails here with SourceTooLarge.",
    Resource: targets.snapshotSourceFunctionArn,
    Parameters: { 'build.$': '$.build' },
    ResultPath: null,
    Retry: retriers(undefined),
    Next: succeeded,
  };
  emitter.states[STARTED_STATE] = {
    ...putEvent(partitionOf(targets.snapshotSourceFunctionArn), targets.eventBusName, DETAIL_TYPES.modelBuildStarted, { 'parameters.$': '$.parameters' }, 'Model Build Started on the service bus.'),
    Next: SNAPSHOT_STATE,
  };
  const states = inRunOrder(STARTED_STATE, emitter.states);
  return {
    definition: {
      Comment: 'Sluice model build, compiled from the repository\'s mlops.yaml (shared/pipeline/compile.ts). One state per step; SageMaker\'s own events complete the job steps.',
      QueryLanguage: 'JSONPath',
      StartAt: STARTED_STATE,
      States: states,
    },
    extraWaits: shared.extraWaits,
  };
}
