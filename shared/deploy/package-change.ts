import { ModelApprovalStatus } from '@aws-sdk/client-sagemaker';

import { getLiveVersion } from '../aws/dynamodb';
import { publishEvent } from '../aws/eventbridge';
import { findLatestApprovedModelPackage } from '../aws/sagemaker';
import { startNamedExecution } from '../aws/sfn';
import { deployExecutionName, endpointName, rollbackExecutionName, stageResourcePrefix } from '../naming';
import { DEPLOY_STAGES, type DeployRequest, type DeployStage } from '../schemas/deploy';
import { DETAIL_TYPES, type ModelPackageStateChange } from '../schemas/events';

/** What the stage decides about starting deploys. */
export interface PackageChangeSettings {
  stateMachineArn: string;
  deploymentTable: string;
  eventBusName: string;
  /** Only groups named `<prefix>-…` belong to this stage. */
  groupPrefix: string;
}

export type PackageChangeOutcome =
  | { action: 'ignored'; reason: string }
  | { action: 'deploy-started' | 'deploy-already-started'; executionArn: string }
  | { action: 'rollback-started' | 'rollback-already-started'; executionArn: string; stages: DeployStage[]; rollbackTo: string }
  | { action: 'no-version-left'; stages: DeployStage[] };

export const NO_VERSION_LEFT = 'no approved version left to roll back to';

/** When the package last changed: the event's LastModifiedTime, else the event's time. Pure. */
function changeStamp(event: ModelPackageStateChange): string {
  const modified = event.detail.LastModifiedTime;
  return typeof modified === 'string' || typeof modified === 'number' ? String(modified) : event.time;
}

/** Stages whose endpoint serves `modelPackageArn`, from the deployment table. Throws RetryableError on throttling. */
async function stagesServing(table: string, group: string, modelPackageArn: string): Promise<DeployStage[]> {
  const stages: DeployStage[] = [];
  for (const stage of DEPLOY_STAGES) {
    const live = await getLiveVersion(table, endpointName(group, stage));
    if (live?.modelPackageArn === modelPackageArn) stages.push(stage);
  }
  return stages;
}

/**
 * A Model Package State Change, decided from state because the event has no previous status:
 * Approved → start a deploy (staging, gate, prod) named after the version and its
 * LastModifiedTime, so duplicated events start one run; Rejected while live → start a rollback of
 * those stages to the newest other Approved version, or publish Model Deploy Failed when none is
 * left (capacity is left as it is); anything else → ignored. Throws RetryableError on throttling.
 * Idempotent.
 */
export async function handleModelPackageChange(event: ModelPackageStateChange, settings: PackageChangeSettings): Promise<PackageChangeOutcome> {
  const { ModelPackageGroupName: group, ModelPackageVersion: version, ModelPackageArn: modelPackageArn, ModelApprovalStatus: status } = event.detail;
  if (!group.startsWith(stageResourcePrefix(settings.groupPrefix))) return { action: 'ignored', reason: `group ${group} does not belong to this stage` };

  if (status === ModelApprovalStatus.APPROVED) {
    const request: DeployRequest = { modelPackageArn, mode: 'deploy', stages: [...DEPLOY_STAGES], reason: `v${version} approved` };
    const { started, executionArn } = await startNamedExecution(settings.stateMachineArn, deployExecutionName(group, version, changeStamp(event)), request);
    return { action: started ? 'deploy-started' : 'deploy-already-started', executionArn };
  }

  if (status === ModelApprovalStatus.REJECTED) {
    const stages = await stagesServing(settings.deploymentTable, group, modelPackageArn);
    if (stages.length === 0) return { action: 'ignored', reason: `v${version} was rejected but is not live on any stage` };
    const target = await findLatestApprovedModelPackage(group, modelPackageArn);
    if (!target) {
      await publishEvent(settings.eventBusName, DETAIL_TYPES.modelDeployFailed, { modelPackageArn, reason: NO_VERSION_LEFT, stages }, [modelPackageArn]);
      return { action: 'no-version-left', stages };
    }
    const request: DeployRequest = { modelPackageArn: target.modelPackageArn, mode: 'rollback', stages, reason: `rollback: v${version} rejected` };
    const { started, executionArn } = await startNamedExecution(settings.stateMachineArn, rollbackExecutionName(group, version, changeStamp(event)), request);
    return { action: started ? 'rollback-started' : 'rollback-already-started', executionArn, stages, rollbackTo: target.modelPackageArn };
  }

  return { action: 'ignored', reason: `status ${status} starts nothing` };
}
