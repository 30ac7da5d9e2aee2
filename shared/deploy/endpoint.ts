import { type DeploymentConfig, type DescribeEndpointCommandOutput, EndpointStatus, ModelApprovalStatus } from '@aws-sdk/client-sagemaker';

import { deleteJobToken, getJobToken, type JobToken, listJobTokens, putJobToken, setJobTokenPhase } from '../aws/dynamodb';
import { createEndpoint, deleteEndpoint, describeEndpoint, describeModelPackage, updateEndpoint } from '../aws/sagemaker';
import { completeTask, failTask } from '../aws/sfn';
import { DeployRolledBackError, EndpointDeployFailedError, ModelPackageNotApprovedError } from '../errors';
import type { StagePlan, StageTokenTaskInput } from '../schemas/deploy';
import { deployTags } from './resources';

/**
 * The endpoint deploy, as a reconcile loop (observe → compare → act → report). deploy-endpoint
 * parks the task token under `endpoint:<EndpointName>` in the job token table with what to
 * deploy; then the task itself, every Endpoint State Change event and the reconciler run the same
 * step: describe the endpoint, decide from what it is and whether Sluice already asked for the
 * change (`phase`), act or settle the token. Duplicate events and races are harmless: every
 * step describes first, and a settled token counts as done.
 */

/** Key of an endpoint's waiting deploy in the job token table. */
export function endpointTokenKey(endpointName: string): string {
  return `endpoint:${endpointName}`;
}

/** What the task completes with once the endpoint serves the stage's config. */
export interface EndpointDeployed {
  endpointName: string;
  endpointConfigName: string;
  status: 'InService';
  alreadyDeployed: boolean;
}

export type EndpointDecision =
  | { action: 'succeed' }
  | { action: 'fail'; error: string; cause: string }
  | { action: 'create' | 'update' | 'delete' | 'wait' };

/** SageMaker's traffic step sizes for the strategies of mlops.yaml. */
const CANARY_PERCENT = 10;
const LINEAR_STEP_PERCENT = 33;
/** UpdateEndpoint's upper bound for WaitIntervalInSeconds. */
const MAX_WAIT_INTERVAL_SECONDS = 3600;

/**
 * UpdateEndpoint's DeploymentConfig: blue/green traffic shifting for prod with the alarms that roll
 * it back; none for staging (SageMaker's default replaces the fleet at once). Pure.
 */
export function deploymentConfig(stage: StagePlan): DeploymentConfig | undefined {
  if (stage.stage !== 'prod') return undefined;
  const wait = Math.min(stage.bakeSeconds, MAX_WAIT_INTERVAL_SECONDS);
  const routing =
    stage.strategy === 'CANARY'
      ? { Type: 'CANARY' as const, CanarySize: { Type: 'CAPACITY_PERCENT' as const, Value: CANARY_PERCENT }, WaitIntervalInSeconds: wait }
      : stage.strategy === 'LINEAR'
        ? { Type: 'LINEAR' as const, LinearStepSize: { Type: 'CAPACITY_PERCENT' as const, Value: LINEAR_STEP_PERCENT }, WaitIntervalInSeconds: wait }
        : { Type: 'ALL_AT_ONCE' as const, WaitIntervalInSeconds: wait };
  return {
    BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: routing, TerminationWaitInSeconds: 0 },
    ...(stage.alarmNames.length > 0 ? { AutoRollbackConfiguration: { Alarms: stage.alarmNames.map((AlarmName) => ({ AlarmName })) } } : {}),
  };
}

/**
 * Decides the next step from the described endpoint, the config it must serve and whether Sluice
 * has already asked for the change. Pure. In short: absent → create; busy → wait; InService on
 * ours → succeed; InService elsewhere → update (or DeployRolledBack once we asked); Failed →
 * delete and recreate (or EndpointDeployFailed once we asked); OutOfService/UpdateRollbackFailed →
 * EndpointDeployFailed.
 */
export function decideEndpoint(endpoint: DescribeEndpointCommandOutput | undefined, expectedConfig: string, phase: 'waiting' | 'deploying'): EndpointDecision {
  const name = endpoint?.EndpointName ?? 'endpoint';
  const asked = phase === 'deploying';
  const reason = endpoint?.FailureReason ? `: ${endpoint.FailureReason}` : '';
  if (!endpoint) {
    return asked ? { action: 'fail', error: new EndpointDeployFailedError('').name, cause: `the endpoint was deleted while it was being deployed with ${expectedConfig}` } : { action: 'create' };
  }
  switch (endpoint.EndpointStatus) {
    case EndpointStatus.CREATING:
    case EndpointStatus.UPDATING:
    case EndpointStatus.SYSTEM_UPDATING:
    case EndpointStatus.DELETING:
      return { action: 'wait' };
    case EndpointStatus.ROLLING_BACK:
      return asked ? { action: 'fail', error: new DeployRolledBackError('').name, cause: `${name} is rolling back the update to ${expectedConfig}${reason}` } : { action: 'wait' };
    case EndpointStatus.IN_SERVICE:
      if (endpoint.EndpointConfigName === expectedConfig) return { action: 'succeed' };
      return asked
        ? { action: 'fail', error: new DeployRolledBackError('').name, cause: `${name} is InService on ${endpoint.EndpointConfigName ?? 'another config'}, not ${expectedConfig}: SageMaker rolled the update back${reason}` }
        : { action: 'update' };
    case EndpointStatus.FAILED:
      return asked ? { action: 'fail', error: new EndpointDeployFailedError('').name, cause: `${name} failed with ${expectedConfig}${reason}` } : { action: 'delete' };
    default:
      return { action: 'fail', error: new EndpointDeployFailedError('').name, cause: `${name} is ${endpoint.EndpointStatus ?? 'in an unknown state'}${reason}` };
  }
}

export type EndpointStepResult = 'untracked' | 'succeeded' | 'failed' | 'already-settled' | 'created' | 'updated' | 'deleted' | 'waiting';

/**
 * One reconcile step for the deploy waiting on `endpointName`: describe, decide, act or settle.
 * Throws RetryableError on throttling. Idempotent.
 */
export async function advanceEndpointDeploy(tokenTable: string, endpointName: string): Promise<EndpointStepResult> {
  const token = await getJobToken(tokenTable, endpointTokenKey(endpointName));
  if (!token || token.kind !== 'endpoint' || !token.endpointConfigName) return 'untracked';
  const expected = token.endpointConfigName;
  const phase = token.phase ?? 'waiting';
  const decision = decideEndpoint(await describeEndpoint(endpointName), expected, phase);
  switch (decision.action) {
    case 'wait':
      return 'waiting';
    case 'succeed':
    case 'fail': {
      const output: EndpointDeployed = { endpointName, endpointConfigName: expected, status: 'InService', alreadyDeployed: phase === 'waiting' };
      const delivered = decision.action === 'succeed' ? await completeTask(token.taskToken, output) : await failTask(token.taskToken, decision.error, decision.cause);
      await deleteJobToken(tokenTable, token.jobName, token.taskToken);
      if (!delivered) return 'already-settled';
      return decision.action === 'succeed' ? 'succeeded' : 'failed';
    }
    case 'create':
      await createEndpoint({ EndpointName: endpointName, EndpointConfigName: expected, Tags: token.deployment?.tags });
      await setJobTokenPhase(tokenTable, token.jobName, token.taskToken, 'deploying');
      return 'created';
    case 'update':
      await updateEndpoint({ EndpointName: endpointName, EndpointConfigName: expected, DeploymentConfig: token.deployment?.deploymentConfig });
      await setJobTokenPhase(tokenTable, token.jobName, token.taskToken, 'deploying');
      return 'updated';
    case 'delete':
      // The endpoint goes Deleting; the reconciler (or the next event) finds it gone and recreates it.
      await deleteEndpoint(endpointName);
      return 'deleted';
  }
}

/** How long a deploy token is kept at most (DynamoDB TTL), whatever the task's timeout. */
const TOKEN_LIFETIME_SECONDS = 3 * 86_400;

/**
 * deploy-endpoint: for a deploy (not a rollback), checks that the version is still Approved (it may
 * have been rejected while the run waited at the gate or for the lock), records the token with
 * what to deploy, then takes the first step. Throws ModelPackageNotApprovedError, RetryableError
 * on throttling. Idempotent: a retried task replaces the token and re-observes.
 */
export async function startEndpointDeploy(tokenTable: string, input: StageTokenTaskInput, now = new Date()): Promise<{ endpointName: string; result: EndpointStepResult }> {
  const { stage, plan, executionArn } = input;
  if (plan.mode === 'deploy') {
    const status = (await describeModelPackage(plan.modelPackageArn))?.ModelApprovalStatus;
    if (status !== ModelApprovalStatus.APPROVED) {
      throw new ModelPackageNotApprovedError(`${plan.modelPackageArn} is ${status ?? 'gone'}, no longer Approved: not deploying it to ${stage.endpointName}`);
    }
  }
  const createdAt = Math.floor(now.getTime() / 1000);
  const deploymentConfiguration = deploymentConfig(stage);
  const token: JobToken = {
    jobName: endpointTokenKey(stage.endpointName),
    kind: 'endpoint',
    taskToken: input.taskToken,
    executionArn,
    step: stage.stage,
    createdAt,
    expiresAt: createdAt + TOKEN_LIFETIME_SECONDS,
    endpointConfigName: stage.endpointConfigName,
    phase: 'waiting',
    deployment: { tags: deployTags(plan, executionArn), ...(deploymentConfiguration ? { deploymentConfig: deploymentConfiguration } : {}) },
  };
  await putJobToken(tokenTable, token);
  return { endpointName: stage.endpointName, result: await advanceEndpointDeploy(tokenTable, stage.endpointName) };
}

/** Endpoint State Change spells statuses IN_SERVICE, ROLLING_BACK…; the API says InService, RollingBack… Pure. */
export function normalizeEndpointStatus(status: string): string {
  if (!status.includes('_') && status !== status.toUpperCase()) return status;
  return status
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/** Statuses that are only progress: the endpoint will change again and send another event. */
const PROGRESS = new Set<string>([EndpointStatus.CREATING, EndpointStatus.UPDATING, EndpointStatus.SYSTEM_UPDATING]);

/**
 * on-endpoint-state-change: ignores progress events, otherwise takes a reconcile step for the
 * endpoint. Returns 'ignored' or the step's result. Throws RetryableError on throttling.
 */
export async function onEndpointStateChange(tokenTable: string, endpointName: string, eventStatus: string): Promise<EndpointStepResult | 'ignored'> {
  if (PROGRESS.has(normalizeEndpointStatus(eventStatus))) return 'ignored';
  return advanceEndpointDeploy(tokenTable, endpointName);
}

export interface EndpointReconcileReport {
  checked: number;
  settled: number;
  acted: number;
  waiting: number;
}

/**
 * The safety net for lost endpoint events: a reconcile step for every endpoint deploy token
 * older than `minAgeSeconds`. Throws RetryableError on throttling; safe to run concurrently.
 */
export async function reconcileEndpointDeploys(tokenTable: string, minAgeSeconds: number, now = new Date()): Promise<EndpointReconcileReport> {
  const report: EndpointReconcileReport = { checked: 0, settled: 0, acted: 0, waiting: 0 };
  const nowSeconds = Math.floor(now.getTime() / 1000);
  for (const token of await listJobTokens(tokenTable)) {
    if (token.kind !== 'endpoint' || nowSeconds - token.createdAt < minAgeSeconds) continue;
    report.checked += 1;
    const result = await advanceEndpointDeploy(tokenTable, token.jobName.slice(endpointTokenKey('').length));
    if (result === 'succeeded' || result === 'failed' || result === 'already-settled') report.settled += 1;
    else if (result === 'created' || result === 'updated' || result === 'deleted') report.acted += 1;
    else if (result === 'waiting') report.waiting += 1;
  }
  return report;
}
