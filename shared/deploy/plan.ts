import { ModelApprovalStatus } from '@aws-sdk/client-sagemaker';

import { getObjectText } from '../aws/s3';
import { describeModelPackage } from '../aws/sagemaker';
import { InvalidConfigError, InvalidInputError, ModelPackageNotApprovedError } from '../errors';
import { buildKeyPrefix, deployModelName, endpointAlarmNames, endpointConfigName, endpointName, parseModelPackageArn } from '../naming';
import { type DeployConfig, type DeployPlan, type DeployStage, type EndpointPolicy, type PrepareDeployInput, readDeployConfig, type StagePlan } from '../schemas/deploy';
import { CONFIG_FILE } from '../schemas/patterns';
import { smokeTestPlan, storeSmokeBody } from './smoke-body';

/** What the stage decides about deploys (from its environment). */
export interface DeploySettings extends EndpointPolicy {
  artifactsBucket: string;
  prodGate: 'manual' | 'auto';
  prodGateTimeoutSeconds: number;
  bakeSeconds: number;
}

/** The model package's lineage, as register-model recorded it in CustomerMetadataProperties. */
export interface PackageLineage {
  modelPackageGroupName: string;
  version: number;
  approvalStatus: string | undefined;
  repository: string | undefined;
  commit: string | undefined;
  /** The build execution's name: where its pipeline.json lives. */
  buildExecutionName: string | undefined;
}

/** Last segment of an execution ARN (`arn:…:execution:<state machine>:<name>`). */
function executionNameOf(executionArn: string | undefined): string | undefined {
  if (!executionArn) return undefined;
  const name = executionArn.split(':').at(-1);
  return name && /^[A-Za-z0-9_-]{1,80}$/.test(name) ? name : undefined;
}

/**
 * Reads the version's status and lineage. Throws InvalidInputError when the package does not
 * exist, RetryableError on throttling. Read-only.
 */
export async function readPackageLineage(modelPackageArn: string): Promise<PackageLineage> {
  const described = await describeModelPackage(modelPackageArn);
  if (!described) throw new InvalidInputError(`model package ${modelPackageArn} does not exist`);
  const metadata = described.CustomerMetadataProperties ?? {};
  // The request schema only admits versioned model package ARNs, so the ARN always parses.
  const fromArn = parseModelPackageArn(modelPackageArn);
  return {
    modelPackageGroupName: described.ModelPackageGroupName ?? fromArn?.group ?? '',
    version: described.ModelPackageVersion ?? fromArn?.version ?? 0,
    approvalStatus: described.ModelApprovalStatus,
    repository: metadata['sluice:repository'],
    commit: metadata['sluice:commit'],
    buildExecutionName: executionNameOf(metadata['sluice:execution']),
  };
}

/** The plan of one stage. Pure. */
export function stagePlan(stage: DeployStage, group: string, version: number, deploy: DeployConfig, mode: DeployPlan['mode'], settings: Pick<DeploySettings, 'bakeSeconds'>): StagePlan {
  const variant = stage === 'prod' ? deploy.Prod : deploy.Staging;
  const endpoint = endpointName(group, stage);
  const alarms = endpointAlarmNames(endpoint);
  return {
    stage,
    endpointName: endpoint,
    modelName: deployModelName(group, version),
    endpointConfigName: endpointConfigName(group, stage, version),
    instanceType: variant.InstanceType,
    instanceCount: variant.InitialInstanceCount,
    // A rollback leaves a version known to be bad: shift everything at once, without a bake.
    strategy: stage === 'prod' && mode === 'deploy' ? deploy.Prod.Strategy : 'ALL_AT_ONCE',
    bakeSeconds: mode === 'rollback' ? 0 : settings.bakeSeconds,
    alarmNames: stage === 'prod' ? [alarms.errors, alarms.latency] : [],
    ...(deploy.DataCapture ? { dataCaptureSamplingPercentage: deploy.DataCapture.SamplingPercentage } : {}),
  };
}

/** The whole plan from the package's lineage and its Deploy section (the smoke test's body by reference: {@link smokeTestPlan}). Pure. */
export function buildPlan(input: PrepareDeployInput, lineage: PackageLineage, deploy: DeployConfig, settings: DeploySettings): DeployPlan {
  const { request } = input;
  const plan: DeployPlan = {
    mode: request.mode,
    modelPackageArn: request.modelPackageArn,
    modelPackageGroupName: lineage.modelPackageGroupName,
    version: lineage.version,
    // Always present (Model Deployed carries them); "unknown" for a version registered outside Sluice.
    repository: lineage.repository ?? 'unknown',
    commit: lineage.commit ?? 'unknown',
    gate: { mode: request.mode === 'rollback' ? 'auto' : settings.prodGate, timeoutSeconds: settings.prodGateTimeoutSeconds },
    smokeTest: smokeTestPlan(deploy.SmokeTest, settings.artifactsBucket, lineage.modelPackageGroupName, lineage.version),
  };
  for (const stage of request.stages) plan[stage] = stagePlan(stage, lineage.modelPackageGroupName, lineage.version, deploy, request.mode, settings);
  return plan;
}

/**
 * prepare-deploy: checks the version (still Approved, for a deploy), reads the Deploy section
 * of its build's pipeline (`builds/<repository key>/<execution>/pipeline.json`: mlops.yaml as that build read it)
 * names everything each stage will create, and stores the smoke test's body at
 * `deploys/<group>/v<version>/smoke-body` (the plan carries its URI, size and SHA-256).
 * Throws ModelPackageNotApprovedError, InvalidConfigError (no lineage, no snapshot, missing or
 * invalid Deploy, instance type not allowed), RetryableError on throttling. Idempotent: the only
 * write is the version's body, the same bytes each time.
 */
export async function prepareDeploy(input: PrepareDeployInput, settings: DeploySettings): Promise<DeployPlan> {
  const { modelPackageArn, mode } = input.request;
  const lineage = await readPackageLineage(modelPackageArn);
  if (mode === 'deploy' && lineage.approvalStatus !== ModelApprovalStatus.APPROVED) {
    throw new ModelPackageNotApprovedError(`${modelPackageArn} is ${lineage.approvalStatus ?? 'of unknown status'}, not Approved`);
  }
  if (!lineage.buildExecutionName || !lineage.repository) {
    throw new InvalidConfigError(`${modelPackageArn} has no sluice:execution or sluice:repository metadata: it was not registered by a Sluice build, so its ${CONFIG_FILE} is unknown`);
  }
  const key = `${buildKeyPrefix(lineage.repository, lineage.buildExecutionName)}pipeline.json`;
  const text = await getObjectText(settings.artifactsBucket, key);
  if (text === undefined) throw new InvalidConfigError(`s3://${settings.artifactsBucket}/${key} does not exist: the build's pipeline is gone`);
  const deploy = readDeployConfig(JSON.parse(text) as unknown, settings);
  const plan = buildPlan(input, lineage, deploy, settings);
  await storeSmokeBody(plan.smokeTest, deploy.SmokeTest.Body);
  return plan;
}
