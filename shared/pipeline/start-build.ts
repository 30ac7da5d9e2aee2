import { getFileAtCommit } from '../aws/codecommit';
import { startNamedExecution } from '../aws/sfn';
import { matchesAny } from '../config';
import { InvalidConfigError, SourceTooLargeError } from '../errors';
import { buildExecutionName } from '../naming';
import { CONFIG_FILE, type MlopsConfig, type StagePolicy } from '../schemas/mlops-config';
import { parseMlopsConfig } from '../schemas/parse-mlops-config';
import type { RepositoryStateChange } from '../schemas/events';
import type { BuildContext } from '../schemas/task-inputs';
import { snapshotSource } from './source-snapshot';

/** What the stage says about builds. */
export interface BuildSettings extends StagePolicy {
  stateMachineArn: string;
  artifactsBucket: string;
  maxSourceBytes: number;
  repositories: readonly string[];
  branches: readonly string[];
}

/** A build that is doomed before it starts: the state machine goes straight to its failure path. */
export interface BuildRejection {
  Error: 'InvalidConfig' | 'SourceTooLarge';
  Cause: string;
}

/** The model-build execution's input. Exactly one of `config` and `failure` is non-null. */
export interface BuildExecutionInput {
  build: BuildContext;
  config: MlopsConfig | null;
  failure: BuildRejection | null;
}

export type PushOutcome =
  | { action: 'ignored'; reason: string }
  | { action: 'started' | 'already-started'; executionArn: string; configValid: boolean };

/** Extra time a job may wait for capacity on top of its maximum runtime. */
const QUEUE_MARGIN_SECONDS = 3600;

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

/**
 * Handles a push: reads mlops.yaml at the pushed commit, snapshots the source, and starts the
 * model-build execution named after repository + commit. An invalid mlops.yaml or an oversized
 * tree still starts the execution, carrying `failure`, so the run fails at once, visibly, and
 * publishes Model Build Failed. A repository without mlops.yaml is not a model repository: ignored.
 * Throws RetryableError on throttling. Idempotent: a repeated event starts nothing.
 */
export async function startModelBuild(event: RepositoryStateChange, settings: BuildSettings): Promise<PushOutcome> {
  const reason = ignoreReason(event, settings);
  if (reason) return { action: 'ignored', reason };
  const { repositoryName: repository, referenceName: branch } = event.detail;
  const commit = event.detail.commitId!;

  const file = await getFileAtCommit(repository, commit, CONFIG_FILE);
  if (!file) return { action: 'ignored', reason: `${repository}@${commit} has no ${CONFIG_FILE} at its root` };

  const executionName = buildExecutionName(repository, commit);
  const prefix = `builds/${executionName}/`;
  let snapshot = { sourceUri: `s3://${settings.artifactsBucket}/${prefix}source.tar.gz`, sourcePrefix: `s3://${settings.artifactsBucket}/${prefix}source/` };
  let config: MlopsConfig | null = null;
  let failure: BuildRejection | null = null;
  try {
    config = parseMlopsConfig(new TextDecoder().decode(file), settings);
    snapshot = await snapshotSource(repository, commit, { bucket: settings.artifactsBucket, prefix }, settings.maxSourceBytes);
  } catch (error) {
    if (error instanceof InvalidConfigError) failure = { Error: 'InvalidConfig', Cause: error.message };
    else if (error instanceof SourceTooLargeError) failure = { Error: 'SourceTooLarge', Cause: error.message };
    else throw error;
  }
  if (failure) config = null;

  const input: BuildExecutionInput = {
    build: {
      repository,
      branch,
      commit,
      executionName,
      sourceUri: snapshot.sourceUri,
      sourcePrefix: snapshot.sourcePrefix,
      taskTimeoutSeconds: settings.maxRuntimeSeconds + QUEUE_MARGIN_SECONDS,
    },
    config,
    failure,
  };
  const { started, executionArn } = await startNamedExecution(settings.stateMachineArn, executionName, input);
  return { action: started ? 'started' : 'already-started', executionArn, configValid: failure === null };
}
