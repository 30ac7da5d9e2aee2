import { sdkStreamMixin } from '@smithy/core/serde';
import { Readable } from 'node:stream';

import { buildPlan, type DeploySettings, type PackageLineage } from '../../shared/deploy/plan';
import type { DeployPlan, StagePlan, StageTaskInput } from '../../shared/schemas/deploy';
import { ACCOUNT, BUCKET, COMMIT, exampleConfig, REGION } from './fixtures';

/** The abalone example's model package group on the test stage, and its version 3. */
export const GROUP = 'sluice-test-abalone';
export const VERSION = 3;
export const MODEL_PACKAGE_ARN = `arn:aws:sagemaker:${REGION}:${ACCOUNT}:model-package/${GROUP}/${VERSION}`;
export const BUILD_EXECUTION_NAME = 'abalone-0123456789abcdef0123456789abcdef01234567-a1b2c3';
export const BUILD_EXECUTION_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:execution:sluice-test-model-build:${BUILD_EXECUTION_NAME}`;
export const DEPLOY_STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:sluice-test-model-deploy`;
export const DEPLOY_EXECUTION_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:execution:sluice-test-model-deploy:${GROUP}-v${VERSION}-0a1b2c3d`;
export const TASK_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAeMc1xG0Vn7-deploy-token';
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/sluice-test-sagemaker`;

export const DEPLOY_SETTINGS: DeploySettings = {
  artifactsBucket: BUCKET,
  allowedEndpointInstanceTypes: ['ml.t2.medium', 'ml.m5.large'],
  maxEndpointInstanceCount: 4,
  prodGate: 'manual',
  prodGateTimeoutSeconds: 86_400,
  bakeSeconds: 300,
};

export function lineage(overrides: Partial<PackageLineage> = {}): PackageLineage {
  return { modelPackageGroupName: GROUP, version: VERSION, approvalStatus: 'Approved', repository: 'abalone', commit: COMMIT, buildExecutionName: BUILD_EXECUTION_NAME, ...overrides };
}

/** The plan prepare-deploy makes for the example's version 3 (both stages, mode deploy). */
export function plan(overrides: Partial<DeployPlan> = {}, mode: DeployPlan['mode'] = 'deploy'): DeployPlan {
  const built = buildPlan(
    { executionArn: DEPLOY_EXECUTION_ARN, request: { modelPackageArn: MODEL_PACKAGE_ARN, mode, stages: ['staging', 'prod'], reason: 'approved' } },
    lineage(),
    exampleConfig().Deploy!,
    DEPLOY_SETTINGS,
  );
  return { ...built, ...overrides };
}

/** A per-stage task input for `stage` of {@link plan}. */
export function stageInput(stage: 'staging' | 'prod', overrides: Partial<StagePlan> = {}, planOverrides: Partial<DeployPlan> = {}): StageTaskInput {
  const whole = plan(planOverrides);
  return { executionArn: DEPLOY_EXECUTION_ARN, plan: whole, stage: { ...whole[stage]!, ...overrides } };
}

/** The example's SmokeTest body: what prepare-deploy stores and smoke-test reads back. */
export const SMOKE_BODY = exampleConfig().Deploy!.SmokeTest.Body;

/** A GetObject answer with `text` as its body (a fresh stream per call). */
export function smokeBodyObject(text: string) {
  return { Body: sdkStreamMixin(Readable.from([Buffer.from(text)])) };
}
