import type { CapacitySize, DeploymentConfig, DescribeEndpointConfigOutput } from '@aws-sdk/client-sagemaker';

import { validationError } from './common';
import type { Wire } from './types';

/**
 * SageMaker deployment guardrails, read and planned: UpdateEndpoint's DeploymentConfig
 * (BlueGreenUpdatePolicy with its TrafficRoutingConfiguration, or RollingUpdatePolicy, plus
 * AutoRollbackConfiguration) validated as SageMaker validates it, and turned into traffic steps.
 */

/** One traffic shift: the share of requests on the new fleet afterwards, and whether a baking period follows. */
export interface DeploymentStep {
  share: number;
  bake: boolean;
}

export interface DeploymentPlan {
  steps: DeploymentStep[];
  /** WaitIntervalInSeconds, in ms: the length of each baking period. */
  waitMs: number;
  /** TerminationWaitInSeconds, in ms: how long the old fleet stays up (monitored) after the last step. */
  terminationWaitMs: number;
  /** AutoRollbackConfiguration alarm names. */
  alarms: string[];
  /** MaximumExecutionTimeoutInSeconds, in ms. */
  maximumExecutionMs?: number;
}

type Config = Wire<DeploymentConfig>;

function integer(value: unknown, field: string, min: number, max: number, required: boolean): number | undefined {
  if (value === undefined || value === null) {
    if (required) throw validationError(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw validationError(`1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: Member must have value between ${min} and ${max}`);
  }
  return value;
}

function structure(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw validationError(`Value at '${field}' must be a structure`);
  return value as Record<string, unknown>;
}

function capacity(value: unknown, field: string, required: boolean): Wire<CapacitySize> | undefined {
  const size = structure(value, field);
  if (!size) {
    if (required) throw validationError(`${field} is required for this traffic routing type.`);
    return undefined;
  }
  if (size.Type !== 'CAPACITY_PERCENT' && size.Type !== 'INSTANCE_COUNT') {
    throw validationError(`1 validation error detected: Value '${String(size.Type)}' at '${field}.type' failed to satisfy constraint: Member must satisfy enum value set: [INSTANCE_COUNT, CAPACITY_PERCENT]`);
  }
  integer(size.Value, `${field}.value`, 1, size.Type === 'CAPACITY_PERCENT' ? 100 : 1_000_000, true);
  return { Type: size.Type, Value: size.Value as number };
}

/** Validates UpdateEndpoint's DeploymentConfig (absent → undefined); returns it as given. */
export function readDeploymentConfig(value: unknown): Config | undefined {
  const config = structure(value, 'deploymentConfig');
  if (!config) return undefined;
  const blueGreen = structure(config.BlueGreenUpdatePolicy, 'deploymentConfig.blueGreenUpdatePolicy');
  const rolling = structure(config.RollingUpdatePolicy, 'deploymentConfig.rollingUpdatePolicy');
  if (blueGreen && rolling) throw validationError('Only one of BlueGreenUpdatePolicy and RollingUpdatePolicy can be specified.');
  if (blueGreen) {
    const routing = structure(blueGreen.TrafficRoutingConfiguration, 'deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration');
    if (!routing) throw validationError("1 validation error detected: Value at 'deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration' failed to satisfy constraint: Member must not be null");
    const field = 'deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration';
    if (routing.Type !== 'ALL_AT_ONCE' && routing.Type !== 'CANARY' && routing.Type !== 'LINEAR') {
      throw validationError(`1 validation error detected: Value '${String(routing.Type)}' at '${field}.type' failed to satisfy constraint: Member must satisfy enum value set: [ALL_AT_ONCE, CANARY, LINEAR]`);
    }
    integer(routing.WaitIntervalInSeconds, `${field}.waitIntervalInSeconds`, 0, 3600, true);
    const canary = capacity(routing.CanarySize, `${field}.canarySize`, routing.Type === 'CANARY');
    if (canary?.Type === 'CAPACITY_PERCENT' && canary.Value! > 50) throw validationError('CanarySize must be at most 50% of the new fleet.');
    capacity(routing.LinearStepSize, `${field}.linearStepSize`, routing.Type === 'LINEAR');
    integer(blueGreen.TerminationWaitInSeconds, 'deploymentConfig.blueGreenUpdatePolicy.terminationWaitInSeconds', 0, 3600, false);
    integer(blueGreen.MaximumExecutionTimeoutInSeconds, 'deploymentConfig.blueGreenUpdatePolicy.maximumExecutionTimeoutInSeconds', 600, 28800, false);
  }
  if (rolling) {
    capacity(rolling.MaximumBatchSize, 'deploymentConfig.rollingUpdatePolicy.maximumBatchSize', true);
    integer(rolling.WaitIntervalInSeconds, 'deploymentConfig.rollingUpdatePolicy.waitIntervalInSeconds', 0, 3600, true);
    integer(rolling.MaximumExecutionTimeoutInSeconds, 'deploymentConfig.rollingUpdatePolicy.maximumExecutionTimeoutInSeconds', 600, 28800, false);
    capacity(rolling.RollbackMaximumBatchSize, 'deploymentConfig.rollingUpdatePolicy.rollbackMaximumBatchSize', false);
  }
  const rollback = structure(config.AutoRollbackConfiguration, 'deploymentConfig.autoRollbackConfiguration');
  if (rollback?.Alarms !== undefined) {
    const alarms = rollback.Alarms;
    if (!Array.isArray(alarms) || alarms.length < 1 || alarms.length > 10) throw validationError("1 validation error detected: Value at 'deploymentConfig.autoRollbackConfiguration.alarms' failed to satisfy constraint: Member must have length between 1 and 10");
    for (const alarm of alarms as { AlarmName?: unknown }[]) {
      if (typeof alarm?.AlarmName !== 'string' || alarm.AlarmName === '' || alarm.AlarmName.length > 255) {
        throw validationError("1 validation error detected: Value at 'deploymentConfig.autoRollbackConfiguration.alarms.member.alarmName' failed to satisfy constraint: Member must have length between 1 and 255");
      }
    }
  }
  return config as Config;
}

/** The share of the new fleet a CapacitySize stands for (INSTANCE_COUNT against the new config's instances). */
function shareOf(size: Wire<CapacitySize>, instances: number): number {
  const share = size.Type === 'INSTANCE_COUNT' ? size.Value! / Math.max(instances, 1) : size.Value! / 100;
  return Math.min(Math.max(share, 0), 1);
}

/**
 * The traffic steps of a validated DeploymentConfig against the new endpoint config:
 * CANARY → canary share (bake) then 100 %; LINEAR → step, 2·step, … up to 100 %, each followed by
 * a bake; ALL_AT_ONCE → 100 % then a bake. A RollingUpdatePolicy is emulated as LINEAR with
 * MaximumBatchSize steps (locally there are no instances to replace one batch at a time); with
 * neither policy, ALL_AT_ONCE without a wait (the alarms are still checked once).
 */
export function planDeployment(config: Config, endpointConfig: Wire<DescribeEndpointConfigOutput>): DeploymentPlan {
  const instances = (endpointConfig.ProductionVariants ?? []).reduce((sum, variant) => sum + (variant.InitialInstanceCount ?? 1), 0);
  const alarms = (config.AutoRollbackConfiguration?.Alarms ?? []).map((alarm) => alarm.AlarmName!);
  const linear = (step: number): DeploymentStep[] => {
    const steps: DeploymentStep[] = [];
    for (let k = 1; steps.at(-1)?.share !== 1; k += 1) steps.push({ share: Math.min(1, Math.round(k * step * 1e6) / 1e6), bake: true });
    return steps;
  };
  const blueGreen = config.BlueGreenUpdatePolicy;
  if (blueGreen) {
    const routing = blueGreen.TrafficRoutingConfiguration!;
    const steps =
      routing.Type === 'CANARY'
        ? [
            { share: shareOf(routing.CanarySize!, instances), bake: true },
            { share: 1, bake: false },
          ]
        : routing.Type === 'LINEAR'
          ? linear(shareOf(routing.LinearStepSize!, instances))
          : [{ share: 1, bake: true }];
    return {
      steps,
      waitMs: routing.WaitIntervalInSeconds! * 1000,
      terminationWaitMs: (blueGreen.TerminationWaitInSeconds ?? 0) * 1000,
      alarms,
      maximumExecutionMs: blueGreen.MaximumExecutionTimeoutInSeconds !== undefined ? blueGreen.MaximumExecutionTimeoutInSeconds * 1000 : undefined,
    };
  }
  const rolling = config.RollingUpdatePolicy;
  if (rolling) {
    return {
      steps: linear(shareOf(rolling.MaximumBatchSize!, instances)),
      waitMs: rolling.WaitIntervalInSeconds! * 1000,
      terminationWaitMs: 0,
      alarms,
      maximumExecutionMs: rolling.MaximumExecutionTimeoutInSeconds !== undefined ? rolling.MaximumExecutionTimeoutInSeconds * 1000 : undefined,
    };
  }
  return { steps: [{ share: 1, bake: true }], waitMs: 0, terminationWaitMs: 0, alarms };
}
