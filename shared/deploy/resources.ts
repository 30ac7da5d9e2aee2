import type { ProductionVariantInstanceType, Tag } from '@aws-sdk/client-sagemaker';

import { putMetricAlarm } from '../aws/cloudwatch';
import { createEndpointConfig, createModel } from '../aws/sagemaker';
import { tagValue } from '../pipeline/job-requests';
import { type ExecutionRoles, executionRoleArn } from '../pipeline/tenancy';
import { isolateEndpointConfig, isolateModel, type StageIsolation } from '../isolation';
import { endpointAlarmNames } from '../naming';
import type { DeployPlan, StagePlan, StageTaskInput } from '../schemas/deploy';

/**
 * The per-stage SageMaker resources of a deploy: the model, the endpoint config and (prod) the
 * alarms that roll an update back. Names come from the plan, so every call is idempotent.
 */

/** The one variant of every Sluice endpoint (the alarms' VariantName dimension). */
export const VARIANT_NAME = 'AllTraffic';

/** Lineage tags on models, endpoint configs and endpoints: commit, version and run. */
export function deployTags(plan: DeployPlan, executionArn: string): Tag[] {
  return [
    ...(plan.repository ? [{ Key: 'sluice:repository', Value: tagValue(plan.repository) }] : []),
    ...(plan.commit ? [{ Key: 'sluice:commit', Value: tagValue(plan.commit) }] : []),
    { Key: 'sluice:model-package', Value: tagValue(plan.modelPackageArn) },
    { Key: 'sluice:execution', Value: tagValue(executionArn) },
  ];
}

/**
 * CreateModel from the model package (SageMaker reads image and model data from it) under the
 * repository's execution role (its own, or the stage's: tenancy.ts) and the stage's network settings. Returns created: false when the model already exists (the other stage,
 * or a retried task, made it). Throws RetryableError on throttling.
 */
export async function createStageModel(input: StageTaskInput, roles: ExecutionRoles, isolation: StageIsolation): Promise<{ modelName: string; created: boolean }> {
  const { plan, stage, executionArn } = input;
  const roleArn = executionRoleArn(plan.repository, roles);
  const created = await createModel(
    isolateModel({ ModelName: stage.modelName, Containers: [{ ModelPackageName: plan.modelPackageArn }], ExecutionRoleArn: roleArn, Tags: deployTags(plan, executionArn) }, isolation),
  );
  return { modelName: stage.modelName, created };
}

/** Where an endpoint's captured requests and responses go: the stage's bucket, never configurable. */
export function dataCaptureUri(bucket: string, endpointName: string): string {
  return `s3://${bucket}/data-capture/${endpointName}/`;
}

/**
 * CreateEndpointConfig: one AllTraffic variant of the stage's instance type and count, with data
 * capture when the plan asks for it, under the stage's KMS keys. Returns created: false when it already exists. Throws
 * RetryableError on throttling.
 */
export async function createStageEndpointConfig(input: StageTaskInput, bucket: string, isolation: StageIsolation): Promise<{ endpointConfigName: string; created: boolean }> {
  const { plan, stage, executionArn } = input;
  const created = await createEndpointConfig(isolateEndpointConfig({
    EndpointConfigName: stage.endpointConfigName,
    ProductionVariants: [
      {
        VariantName: VARIANT_NAME,
        ModelName: stage.modelName,
        // Checked against the stage's allowlist by prepare-deploy.
        InstanceType: stage.instanceType as ProductionVariantInstanceType,
        InitialInstanceCount: stage.instanceCount,
      },
    ],
    ...(stage.dataCaptureSamplingPercentage !== undefined
      ? {
          DataCaptureConfig: {
            EnableCapture: true,
            InitialSamplingPercentage: stage.dataCaptureSamplingPercentage,
            DestinationS3Uri: dataCaptureUri(bucket, stage.endpointName),
            CaptureOptions: [{ CaptureMode: 'Input' as const }, { CaptureMode: 'Output' as const }],
          },
        }
      : {}),
    Tags: deployTags(plan, executionArn),
  }, isolation));
  return { endpointConfigName: stage.endpointConfigName, created };
}

/**
 * The alarms SageMaker watches during a blue/green update (AutoRollbackConfiguration): any 5xx in
 * a minute, or an average ModelLatency above the stage's threshold. PutMetricAlarm replaces an
 * alarm of the same name, so this is idempotent. Throws RetryableError on throttling.
 */
export async function ensureStageAlarms(stage: StagePlan, latencyThresholdMs: number): Promise<{ alarmNames: string[] }> {
  const names = endpointAlarmNames(stage.endpointName);
  const common = {
    Namespace: 'AWS/SageMaker',
    Dimensions: [
      { Name: 'EndpointName', Value: stage.endpointName },
      { Name: 'VariantName', Value: VARIANT_NAME },
    ],
    Period: 60,
    EvaluationPeriods: 1,
    TreatMissingData: 'notBreaching',
  };
  await putMetricAlarm({
    ...common,
    AlarmName: names.errors,
    AlarmDescription: `Any 5xx from ${stage.endpointName} in a minute; rolls a Sluice blue/green update back.`,
    MetricName: 'Invocation5XXErrors',
    Statistic: 'Sum',
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  });
  await putMetricAlarm({
    ...common,
    AlarmName: names.latency,
    AlarmDescription: `Average model latency of ${stage.endpointName} above ${latencyThresholdMs} ms over a minute; rolls a Sluice blue/green update back.`,
    MetricName: 'ModelLatency',
    Statistic: 'Average',
    // ModelLatency is reported in microseconds.
    Threshold: latencyThresholdMs * 1000,
    ComparisonOperator: 'GreaterThanThreshold',
  });
  return { alarmNames: [names.errors, names.latency] };
}
