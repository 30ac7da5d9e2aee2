import { HistoryEventType } from '@aws-sdk/client-sfn';

import { getBranchHead, getCommitTree, getFileAtCommit } from '../aws/codecommit';
import { describeExecution, ensureStateMachine, errorLogging, startNamedExecution, walkExecutionHistory } from '../aws/sfn';
import { matchesAny } from '../config';
import { InvalidConfigError, InvalidInputError, isAwsError } from '../errors';
import { buildExecutionName, buildKeyPrefix, canonicalJson, pipelineStateMachineName, requestedBuildExecutionName, shortHash, sourceSnapshotPrefix } from '../naming';
import type { ModelBuildRequested, RepositoryStateChange } from '../schemas/events';
import type { StagePolicy } from '../schemas/mlops-config';
import { CONFIG_FILE } from '../schemas/patterns';
import type { ParameterValue, PipelineConfig } from '../schemas/mlops-v2';
import { manifestsNamedIn, parseMlopsConfig } from '../schemas/parse-mlops-config';
import type { ManifestFiles } from './ack-steps';
import { type BuildContext, type PipelineRunInput, stepResultSchema, type StepResult } from '../schemas/task-inputs';
import { compilePipeline, type CompileTargets, FOR_EACH_MAP_SUFFIX } from './compile';
import { analysePipeline, type PipelineGraph } from './graph';
import { resolveParameters } from './parameters';
import { loadPipeline, storePipeline } from './stored-pipeline';
import { syncTriggers, type TriggerSettings } from './triggers';

/** What the stage says about builds. */
export interface BuildSettings extends StagePolicy {
  artifactsBucket: string;
  repositories: readonly string[];
  branches: readonly string[];
  /** Name prefix of compiled pipeline state machines (`sluice-<stage>-build-`). */
  stateMachinePrefix: string;
  /** The role compiled state machines run as (passed to states.amazonaws.com only). */
  pipelineRoleArn: string;
  /** The stage's build-runs log group (ARN ending in `:*`): compiled pipelines log their errors there. */
  runLogGroupArn: string;
  /** The state machine that fails a build rejected before it started, visibly. */
  rejectedStateMachineArn: string;
  /** The stack's functions and bus a compiled pipeline calls. */
  targets: CompileTargets;
  /** Where a push keeps the repository's schedule and dataset triggers (on-source-push only). */
  triggers?: TriggerSettings;
}

/** A build that is doomed before it starts: it runs the rejected-build state machine, which fails at once. */
export interface BuildRejection {
  Error: 'InvalidConfig';
  Cause: string;
}

/** The input of the rejected-build state machine. */
export interface RejectedBuildInput {
  build: BuildContext;
  failure: BuildRejection;
}

export type PushOutcome =
  | { action: 'ignored'; reason: string }
  | {
      action: 'started' | 'already-started';
      executionArn: string;
      configValid: boolean;
      stateMachineArn: string;
      extraWaits?: [string, string][];
      /** Fields the pipeline's ACK manifests set that the stage owns, ignored (shared/pipeline/ack-steps.ts). */
      warnings?: string[];
    };

/** A build to start: a commit of a repository, with what a run started by hand may add. */
interface BuildRequest {
  repository: string;
  branch: string;
  commit: string;
  executionName: string;
  parameters?: Record<string, unknown>;
  fromStep?: string;
  sourceExecutionArn?: string;
  /** A push: the commit is the branch's new head, so its mlops.yaml decides the branch's triggers. */
  isPush?: boolean;
}

/** Extra time a job may wait for capacity on top of its maximum runtime. */
const QUEUE_MARGIN_SECONDS = 3600;
/**
 * Step Functions' limit on an execution's input (256 KiB, UTF-8 bytes):
 * https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
 */
const MAX_INPUT_BYTES = 256 * 1024;
/** The most of a rejection's Cause the rejected-build input carries: far below {@link MAX_INPUT_BYTES}, whatever the issues list. */
export const MAX_REJECTION_CAUSE_BYTES = 32 * 1024;

/**
 * `cause` cut to at most {@link MAX_REJECTION_CAUSE_BYTES} UTF-8 bytes, ending with a visible
 * "(truncated, N bytes in all)" when it was cut; unchanged otherwise. Never splits a character. Pure.
 */
export function capRejectionCause(cause: string): string {
  const bytes = Buffer.byteLength(cause);
  if (bytes <= MAX_REJECTION_CAUSE_BYTES) return cause;
  const marker = ` … (truncated, ${bytes} bytes in all)`;
  const kept = Buffer.from(cause).subarray(0, MAX_REJECTION_CAUSE_BYTES - Buffer.byteLength(marker)).toString('utf8');
  // A multi-byte character cut in half decodes to U+FFFD: drop it rather than show a broken one.
  return `${kept.replace(/\uFFFD+$/, '')}${marker}`;
}

/** Returns why a repository event does not trigger a build, or undefined when it does. Pure. */
export function ignoreReason(event: RepositoryStateChange, settings: Pick<BuildSettings, 'repositories' | 'branches'>): string | undefined {
  const { detail } = event;
  if (detail.event !== 'referenceCreated' && detail.event !== 'referenceUpdated') return `event ${detail.event} does not build`;
  if (detail.referenceType !== 'branch') return `reference type ${detail.referenceType} does not build`;
  if (!detail.commitId) return 'event has no commitId';
  if (!matchesAny(detail.repositoryName, settings.repositories)) return `repository ${detail.repositoryName} is not configured to build`;
  if (!matchesAny(detail.referenceName, settings.branches)) return `branch ${detail.referenceName} is not configured to build`;
  return undefined;
}

/** Every step that runs after `step`: what waits for it, directly or through a Condition's branch. Pure. */
export function stepsFrom(graph: PipelineGraph, step: string): Set<string> {
  const after = new Set([step]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of graph.order) {
      if (after.has(name)) continue;
      const waitsFor = [...(graph.dependencies.get(name) ?? []), ...(graph.branchOf.has(name) ? [graph.branchOf.get(name)!.condition] : [])];
      if (waitsFor.some((dependency) => after.has(dependency))) {
        after.add(name);
        grew = true;
      }
    }
  }
  return after;
}

/** What a run carries over from its source run: the step results and the pipeline and parameters they were made with. */
async function sourceRun(executionArn: string, repository: string): Promise<{ pipeline: PipelineConfig; parameters: Record<string, unknown> }> {
  const source = await describeExecution(executionArn);
  const input = source?.input ? (JSON.parse(source.input) as Partial<PipelineRunInput>) : undefined;
  // A run of another repository is not a source: its results belong to that repository.
  if (!source || input?.build?.repository !== repository || !input.build.pipelineUri) throw new InvalidConfigError(`sourceExecutionArn: ${executionArn} is not a build of ${repository}`);
  const pipeline = await loadPipeline(input.build.pipelineUri).catch((error: unknown) => {
    // A rejected build never wrote its pipeline: it ran no step, so it has nothing to carry over.
    if (error instanceof InvalidInputError) throw new InvalidConfigError(`sourceExecutionArn: ${executionArn} ran no pipeline (${error.message})`, { cause: error });
    throw error;
  });
  return { pipeline, parameters: input.parameters ?? {} };
}

/**
 * The results a run started from `fromStep` carries over from `sourceExecutionArn`: those of the
 * job and RegisterModel steps that do not run after `fromStep`, as the source run recorded them (each
 * state's output). A step the source run did not reach simply runs. A step whose settings, or a
 * parameter it reads, differ from the source run's is refused: its result would not be this
 * pipeline's. Throws InvalidConfigError naming the step, the parameter or the source run.
 */
async function carriedOver(pipeline: PipelineConfig, graph: PipelineGraph, parameters: Record<string, ParameterValue>, request: BuildRequest): Promise<Record<string, StepResult>> {
  const { fromStep, sourceExecutionArn, repository } = request;
  if (!fromStep || !sourceExecutionArn) return {};
  if (!Object.hasOwn(pipeline.Steps, fromStep)) throw new InvalidConfigError(`fromStep: the pipeline has no step "${fromStep}" (steps: ${graph.order.join(', ')})`);
  const source = await sourceRun(sourceExecutionArn, repository);
  const rerun = stepsFrom(graph, fromStep);
  const wanted = new Set(graph.order.filter((name) => !rerun.has(name) && ['Processing', 'Training', 'Tuning', 'Transform', 'RegisterModel', 'ForEach'].includes(pipeline.Steps[name]!.Type)));
  const found: Record<string, StepResult> = {};
  await walkExecutionHistory(sourceExecutionArn, false, (event) => {
    // A ForEach's whole result (its items' results too) is in its Map state's output.
    const exited = event.type === HistoryEventType.TaskStateExited || event.type === HistoryEventType.MapStateExited ? event.stateExitedEventDetails : undefined;
    const name = exited?.name?.endsWith(FOR_EACH_MAP_SUFFIX) ? exited.name.slice(0, -FOR_EACH_MAP_SUFFIX.length) : exited?.name;
    if (exited && name && wanted.has(name) && exited.output) {
      const parsed = stepResultSchema.safeParse((JSON.parse(exited.output) as { steps?: Record<string, unknown> }).steps?.[name]);
      if (parsed.success && !(parsed.data.Type === 'ForEach' && !parsed.data.Results)) {
        const result = parsed.data;
        found[name] = result.Type === 'RegisterModel' ? result : 'ReusedFrom' in result ? { ...result, ReusedFrom: result.ReusedFrom ?? sourceExecutionArn, CachedFrom: null } : result;
      }
    }
    return false;
  });
  // Only a result actually carried over must be this pipeline's; a step the source run did not reach runs anyway.
  for (const name of graph.order.filter((step) => Object.hasOwn(found, step))) {
    const settings = canonicalJson(pipeline.Steps[name]);
    if (settings !== canonicalJson(source.pipeline.Steps[name])) throw new InvalidConfigError(`fromStep: Steps.${name} differs from ${sourceExecutionArn}'s; start from ${name} or an earlier step`);
    for (const [parameter, value] of Object.entries(parameters)) {
      if (settings.includes(`"Parameters.${parameter}"`) && source.parameters[parameter] !== value) {
        throw new InvalidConfigError(`fromStep: Steps.${name} reads Parameters.${parameter}, which is ${JSON.stringify(value)} here and was ${JSON.stringify(source.parameters[parameter])} in ${sourceExecutionArn}; start from ${name} or an earlier step`);
      }
    }
  }
  return found;
}

/** The texts of the manifest files a pipeline names, at `commit` (undefined for a path the commit lacks). Throws RetryableError on throttling. */
async function readManifests(repository: string, commit: string, paths: readonly string[]): Promise<ManifestFiles> {
  const texts = await Promise.all(paths.map(async (path) => [path, await getFileAtCommit(repository, commit, path)] as const));
  return Object.fromEntries(texts.map(([path, bytes]) => [path, bytes === undefined ? undefined : new TextDecoder().decode(bytes)]));
}

/**
 * Starts the build of one commit: reads mlops.yaml, checks it, compiles the pipeline into its state
 * machine (created if this exact pipeline has none yet), writes the pipeline next to the build and
 * starts the run under the request's execution name; the run's first state snapshots the source. A
 * file that cannot build starts the rejected-build state machine instead, so the run fails at
 * once, visibly. A repository without mlops.yaml is not a model repository: ignored.
 * Throws RetryableError on throttling, InvalidInputError for a commit the repository does not have.
 * Idempotent: the same request starts nothing new.
 */
async function startBuild(request: BuildRequest, settings: BuildSettings): Promise<PushOutcome> {
  const { repository, branch, commit, executionName } = request;
  const file = await getFileAtCommit(repository, commit, CONFIG_FILE).catch((error: unknown) => {
    if (isAwsError(error, 'CommitDoesNotExistException')) throw new InvalidInputError(`commit: ${commit} does not exist in ${repository}`, { cause: error });
    throw error;
  });
  if (!file) return { action: 'ignored', reason: `${repository}@${commit} has no ${CONFIG_FILE} at its root` };
  const tree = await getCommitTree(repository, commit);
  if (!tree) throw new InvalidInputError(`commit: ${commit} does not exist in ${repository}`);

  const prefix = buildKeyPrefix(repository, executionName);
  const at = (key: string) => `s3://${settings.artifactsBucket}/${prefix}${key}`;
  // The snapshot lives by tree: a new commit with the same files (a revert, a merge, a retag) reuses it.
  const source = (key: string) => `s3://${settings.artifactsBucket}/${sourceSnapshotPrefix(repository, tree)}${key}`;
  const build: BuildContext = {
    repository,
    branch,
    commit,
    executionName,
    sourceUri: source('source.tar.gz'),
    sourcePrefix: source('source/'),
    sourceManifestUri: source('source-manifest.json'),
    pipelineUri: at('pipeline.json'),
    taskTimeoutSeconds: settings.maxRuntimeSeconds + QUEUE_MARGIN_SECONDS,
  };
  let run: { pipeline: PipelineConfig; graph: PipelineGraph; input: PipelineRunInput } | undefined;
  let failure: BuildRejection | undefined;
  const warnings: string[] = [];
  try {
    const text = new TextDecoder().decode(file);
    const pipeline = parseMlopsConfig(text, settings, repository, { files: await readManifests(repository, commit, manifestsNamedIn(text)), warnings });
    const { graph } = analysePipeline(pipeline);
    const parameters = resolveParameters(pipeline, request.parameters);
    if ('issues' in parameters) throw new InvalidConfigError(parameters.issues.join('; '));
    const input: PipelineRunInput = { build, parameters: parameters.values, steps: {}, reuse: await carriedOver(pipeline, graph, parameters.values, request) };
    const bytes = Buffer.byteLength(JSON.stringify(input));
    if (bytes > MAX_INPUT_BYTES) throw new InvalidConfigError(`the run's input is ${bytes} bytes, above Step Functions' ${MAX_INPUT_BYTES}: start from an earlier step`);
    run = { pipeline, graph, input };
  } catch (error) {
    if (error instanceof InvalidConfigError) failure = { Error: 'InvalidConfig', Cause: capRejectionCause(error.message) };
    else throw error;
  }

  if (!run || failure) {
    const input: RejectedBuildInput = { build, failure: failure! };
    const { started, executionArn } = await startNamedExecution(settings.rejectedStateMachineArn, executionName, input);
    return { action: started ? 'started' : 'already-started', executionArn, configValid: false, stateMachineArn: settings.rejectedStateMachineArn };
  }

  // Before the run starts, so that a failure here is retried with the push (the run's name keeps it single).
  if (request.isPush && settings.triggers) await syncTriggers(repository, branch, commit, run.pipeline, settings.triggers);
  const { definition, extraWaits } = compilePipeline(run.pipeline, run.graph, settings.targets);
  const name = pipelineStateMachineName(settings.stateMachinePrefix, repository, shortHash([canonicalJson(definition), settings.pipelineRoleArn], 8));
  // Logging is not part of the definition, so not of the name: the same pipeline keeps its machine.
  const stateMachineArn = await ensureStateMachine(name, definition, settings.pipelineRoleArn, [{ key: 'sluice:repository', value: repository.slice(0, 256) }], errorLogging(settings.runLogGroupArn));
  await storePipeline(settings.artifactsBucket, prefix, run.pipeline);
  const { started, executionArn } = await startNamedExecution(stateMachineArn, executionName, run.input);
  return {
    action: started ? 'started' : 'already-started',
    executionArn,
    configValid: true,
    stateMachineArn,
    ...(extraWaits.length > 0 ? { extraWaits } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/**
 * Handles a push: builds the pushed commit under an execution name derived from repository +
 * commit, so the same commit never builds twice, whichever branch it was pushed to.
 * Throws RetryableError on throttling. Idempotent: a repeated event starts nothing.
 */
export async function startModelBuild(event: RepositoryStateChange, settings: BuildSettings): Promise<PushOutcome> {
  const reason = ignoreReason(event, settings);
  if (reason) return { action: 'ignored', reason };
  const { repositoryName: repository, referenceName: branch } = event.detail;
  const commit = event.detail.commitId!;
  return startBuild({ repository, branch, commit, executionName: buildExecutionName(repository, commit), isPush: true }, settings);
}

/**
 * Handles `Model Build Requested`: builds a commit (default: the branch's head) with the request's
 * parameter overrides, optionally from a step on. Runs only for repositories the stage builds.
 * Throws RetryableError on throttling. Idempotent: the same request id starts nothing new.
 */
export async function startRequestedBuild(request: ModelBuildRequested['detail'], settings: BuildSettings): Promise<PushOutcome> {
  const { repository, branch, requestId } = request;
  if (!matchesAny(repository, settings.repositories)) return { action: 'ignored', reason: `repository ${repository} is not configured to build` };
  const commit = request.commit ?? (await getBranchHead(repository, branch));
  if (!commit) return { action: 'ignored', reason: `${repository} has no branch ${branch}` };
  return startBuild(
    { repository, branch, commit, executionName: requestedBuildExecutionName(repository, commit, requestId), parameters: request.parameters, fromStep: request.fromStep, sourceExecutionArn: request.sourceExecutionArn },
    settings,
  );
}
