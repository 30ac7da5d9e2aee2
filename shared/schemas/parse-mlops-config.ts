import { parseDocument } from 'yaml';
import type * as z from './zod';

import { InvalidConfigError } from '../errors';
import { type DeployConfig, deployConfigSchema } from './deploy';
import { CONFIG_FILE, type MlopsConfig, mlopsConfigSchema, type StagePolicy } from './mlops-config';

/**
 * Reading `mlops.yaml` (YAML + schema + stage policy). Kept apart from the schema so that the
 * functions which only re-validate an already parsed config do not bundle a YAML parser.
 */

/** Fields a SageMaker user might try to set that only the stage may choose. */
const STAGE_OWNED = new Set(['RoleArn', 'VpcConfig', 'NetworkConfig', 'KmsKeyId', 'VolumeKmsKeyId', 'OutputDataConfig', 'ProcessingOutputConfig', 'S3OutputPath', 'Bucket']);

/** Renders a zod issue path as `Train.ResourceConfig.InstanceType` / `Preprocess.Inputs.raw`. */
function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') || '(root)';
}

function policyIssues(config: MlopsConfig, policy: StagePolicy): string[] {
  const issues: string[] = [];
  const checkInstance = (path: string, type: string) => {
    if (!policy.allowedInstanceTypes.includes(type)) {
      issues.push(`${path}: instance type "${type}" is not allowed on this stage (allowed: ${policy.allowedInstanceTypes.join(', ')})`);
    }
  };
  const checkRuntime = (path: string, seconds: number | undefined) => {
    if (seconds !== undefined && seconds > policy.maxRuntimeSeconds) {
      issues.push(`${path}: ${seconds} s exceeds this stage's maximum of ${policy.maxRuntimeSeconds} s`);
    }
  };
  checkInstance('Preprocess.ProcessingResources.ClusterConfig.InstanceType', config.Preprocess.ProcessingResources.ClusterConfig.InstanceType);
  checkInstance('Train.ResourceConfig.InstanceType', config.Train.ResourceConfig.InstanceType);
  checkInstance('Evaluate.ProcessingResources.ClusterConfig.InstanceType', config.Evaluate.ProcessingResources.ClusterConfig.InstanceType);
  checkRuntime('Preprocess.StoppingCondition.MaxRuntimeInSeconds', config.Preprocess.StoppingCondition?.MaxRuntimeInSeconds);
  checkRuntime('Train.StoppingCondition.MaxRuntimeInSeconds', config.Train.StoppingCondition?.MaxRuntimeInSeconds);
  checkRuntime('Evaluate.StoppingCondition.MaxRuntimeInSeconds', config.Evaluate.StoppingCondition?.MaxRuntimeInSeconds);

  const outputs = new Set([
    ...config.Preprocess.Outputs.map((o) => `preprocess/${o}`),
    'train/model',
  ]);
  const checkRefs = (path: string, sources: Record<string, { From?: string } | { Dataset?: string }>, allowed: Set<string>) => {
    for (const [name, source] of Object.entries(sources)) {
      if ('From' in source && source.From !== undefined && !allowed.has(source.From)) {
        issues.push(`${path}.${name}.From: "${source.From}" is not an output of an earlier step (available: ${[...allowed].join(', ') || 'none'})`);
      }
    }
  };
  checkRefs('Preprocess.Inputs', config.Preprocess.Inputs, new Set());
  checkRefs('Train.Channels', config.Train.Channels, new Set([...outputs].filter((o) => o !== 'train/model')));
  checkRefs('Evaluate.Inputs', config.Evaluate.Inputs, outputs);
  const reportOutput = config.Evaluate.Report.split('/')[0] ?? '';
  if (!config.Evaluate.Outputs.includes(reportOutput)) {
    issues.push(`Evaluate.Report: output "${reportOutput}" is not listed in Evaluate.Outputs`);
  }
  for (const [step, inputs] of [['Preprocess', config.Preprocess.Inputs], ['Evaluate', config.Evaluate.Inputs]] as const) {
    if ('code' in inputs) issues.push(`${step}.Inputs.code: the name "code" is reserved for the source tree`);
  }
  if (config.Deploy && policy.allowedEndpointInstanceTypes) issues.push(...deployPolicyIssues(config.Deploy, policy.allowedEndpointInstanceTypes));
  return issues;
}

/** The Deploy section's instance types against the stage's endpoint allowlist. Pure. */
function deployPolicyIssues(deploy: DeployConfig, allowed: readonly string[]): string[] {
  return [['Deploy.Staging.InstanceType', deploy.Staging.InstanceType], ['Deploy.Prod.InstanceType', deploy.Prod.InstanceType]]
    .filter(([, type]) => !allowed.includes(type!))
    .map(([path, type]) => `${path}: instance type "${type}" is not allowed for endpoints on this stage (allowed: ${allowed.join(', ')})`);
}

/** Renders zod issues the way mlops.yaml errors are reported, each path prefixed by `prefix`. */
function issueDetails(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): string[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${formatPath([...path, key])}: ${STAGE_OWNED.has(key) ? 'not allowed here: the stage decides roles, VPCs, KMS keys and buckets' : 'unknown field'}`);
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) return [`${formatPath(path)}: is required`];
    return [`${formatPath(path)}: ${issue.message}`];
  });
}

function parseYaml(text: string): unknown {
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    const first = document.errors[0]!;
    throw new InvalidConfigError(`${CONFIG_FILE}: not valid YAML: ${first.message.split('\n')[0]}`);
  }
  return document.toJS();
}

/**
 * Reads only the `Deploy` section of a build's `mlops.yaml` (the rest was validated when it was
 * built) and checks its instance types against the stage's endpoint allowlist. Pure; throws
 * {@link InvalidConfigError} naming the file, each field and the problem, including a missing Deploy.
 */
export function parseDeployConfig(text: string, allowedEndpointInstanceTypes: readonly string[]): DeployConfig {
  const document = parseYaml(text);
  const section = document !== null && typeof document === 'object' ? (document as Record<string, unknown>).Deploy : undefined;
  if (section === undefined || section === null) throw new InvalidConfigError(`${CONFIG_FILE}: Deploy: is required to deploy this model`);
  const parsed = deployConfigSchema.safeParse(section, { reportInput: true });
  if (!parsed.success) throw new InvalidConfigError(`${CONFIG_FILE}: ${issueDetails(parsed.error.issues, ['Deploy']).join('; ')}`);
  const issues = deployPolicyIssues(parsed.data, allowedEndpointInstanceTypes);
  if (issues.length > 0) throw new InvalidConfigError(`${CONFIG_FILE}: ${issues.join('; ')}`);
  return parsed.data;
}

/**
 * Parses and validates the text of `mlops.yaml` against the schema and the stage policy.
 * Pure; throws {@link InvalidConfigError} whose message names the file, each offending field path
 * and the problem, e.g. `mlops.yaml: Train.ResourceConfig.InstanceType: instance type … is not allowed`.
 */
export function parseMlopsConfig(text: string, policy: StagePolicy): MlopsConfig {
  const parsed = mlopsConfigSchema.safeParse(parseYaml(text), { reportInput: true });
  if (!parsed.success) throw new InvalidConfigError(`${CONFIG_FILE}: ${issueDetails(parsed.error.issues).join('; ')}`);
  const issues = policyIssues(parsed.data, policy);
  if (issues.length > 0) throw new InvalidConfigError(`${CONFIG_FILE}: ${issues.join('; ')}`);
  return parsed.data;
}
