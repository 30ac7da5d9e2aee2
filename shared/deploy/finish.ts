import { getLiveVersion, type LiveVersion, putLiveVersion } from '../aws/dynamodb';
import { deleteEndpointConfig, deleteModel, describeEndpoint, listEndpointConfigNames, listModelNames } from '../aws/sagemaker';
import { RetryableError } from '../errors';
import { logger } from '../logger';
import { endpointConfigNamePrefix, endpointName, modelNamePrefix } from '../naming';
import type { StageTaskInput } from '../schemas/deploy';
import { releaseEndpointLock, type ReleaseResult } from './lock';

export interface FinishSettings {
  deploymentTable: string;
  /** Versions of endpoint configs and models kept per endpoint (the live one is always kept). */
  keepVersions: number;
}

export interface FinishResult {
  endpointName: string;
  live: LiveVersion;
  deleted: { endpointConfigs: string[]; models: string[] };
  /** Deletions that failed for a reason retrying would not fix; logged, never failing the deploy. */
  cleanupErrors: string[];
  lock: ReleaseResult;
}

/** Versions of the names `<prefix><version>`, newest first; other names are ignored. Pure. */
export function versionsByName(names: readonly string[], prefix: string): Map<string, number> {
  const versions = names
    .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
    .map((name) => [name, Number(name.slice(prefix.length))] as const)
    .sort((a, b) => b[1] - a[1]);
  return new Map(versions);
}

/** Names to delete: all but the newest `keep` versions and the protected versions. Pure. */
export function namesBeyond(names: Map<string, number>, keep: number, protectedVersions: ReadonlySet<number>): string[] {
  const newest = new Set([...new Set(names.values())].slice(0, keep));
  return [...names].filter(([, version]) => !newest.has(version) && !protectedVersions.has(version)).map(([name]) => name);
}

async function deleteEach(names: string[], remove: (name: string) => Promise<void>, errors: string[]): Promise<string[]> {
  const deleted: string[] = [];
  for (const name of names) {
    try {
      await remove(name);
      deleted.push(name);
    } catch (error) {
      if (error instanceof RetryableError) throw error;
      errors.push(`${name}: ${(error as Error).message}`);
    }
  }
  return deleted;
}

/**
 * finish-stage: records the version the endpoint now serves, deletes this endpoint's configs and
 * the group's models beyond the newest `keepVersions` (never one that is live on either stage or
 * that the endpoint runs on), then hands the endpoint lock on. Throws RetryableError on
 * throttling. Idempotent.
 */
export async function finishStage(input: StageTaskInput, settings: FinishSettings, now = new Date()): Promise<FinishResult> {
  const { plan, stage, executionArn } = input;
  const live: LiveVersion = {
    endpointName: stage.endpointName,
    stage: stage.stage,
    modelPackageArn: plan.modelPackageArn,
    version: plan.version,
    endpointConfigName: stage.endpointConfigName,
    modelName: stage.modelName,
    deployedAt: now.toISOString(),
    executionArn,
  };
  await putLiveVersion(settings.deploymentTable, live);

  const group = plan.modelPackageGroupName;
  const configPrefix = endpointConfigNamePrefix(group, stage.stage);
  const configs = versionsByName(await listEndpointConfigNames(configPrefix), configPrefix);
  const running = (await describeEndpoint(stage.endpointName))?.EndpointConfigName;
  const protectedConfigs = new Set([plan.version, ...(running && configs.has(running) ? [configs.get(running)!] : [])]);
  const staleConfigs = namesBeyond(configs, settings.keepVersions, protectedConfigs);

  const otherStage = stage.stage === 'prod' ? 'staging' : 'prod';
  const otherLive = await getLiveVersion(settings.deploymentTable, endpointName(group, otherStage));
  const keptConfigVersions = [...configs].filter(([name]) => !staleConfigs.includes(name)).map(([, version]) => version);
  const protectedModels = new Set([plan.version, ...keptConfigVersions, ...(otherLive ? [otherLive.version] : [])]);
  const modelPrefix = modelNamePrefix(group);
  const staleModels = namesBeyond(versionsByName(await listModelNames(modelPrefix), modelPrefix), settings.keepVersions, protectedModels);

  const cleanupErrors: string[] = [];
  const deleted = {
    endpointConfigs: await deleteEach(staleConfigs, deleteEndpointConfig, cleanupErrors),
    models: await deleteEach(staleModels, deleteModel, cleanupErrors),
  };
  if (cleanupErrors.length > 0) logger.warn('some old endpoint configs or models could not be deleted', { cleanupErrors });

  const lock = await releaseEndpointLock(settings.deploymentTable, { action: 'release', executionArn, endpointName: stage.endpointName }, now);
  return { endpointName: stage.endpointName, live, deleted, cleanupErrors, lock };
}
