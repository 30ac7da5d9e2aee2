import { CORE_SCHEMA, load, YAMLException } from 'js-yaml';

import { InvalidConfigError } from '../errors';
import { pipelineFromV1 } from '../pipeline/from-v1';
import { analysePipeline } from '../pipeline/graph';
import { parameterDefaultIssues } from '../pipeline/parameters';
import { pipelinePolicyIssues } from '../pipeline/stage-policy';
import { deployPolicyIssues } from './deploy';
import { issueDetails } from './issues';
import { type MlopsV1Config, mlopsV1Schema, type StagePolicy } from './mlops-config';
import { CONFIG_FILE } from './patterns';
import { mlopsV2Schema, type PipelineConfig } from './mlops-v2';

/**
 * Reading `mlops.yaml` (YAML + schema + graph + stage policy), either version. Kept apart from the
 * schemas so that the functions which only read an already parsed pipeline do not bundle a YAML
 * parser. Every problem is reported with the file and the field that holds it.
 */

/** Version 1's own checks, with Version 1's field names (Train.ResourceConfig.InstanceType, …). */
function v1PolicyIssues(config: MlopsV1Config, policy: StagePolicy): string[] {
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

/**
 * YAML 1.2's core schema (as the YAML language server reads the file): no timestamps turned into
 * dates, no merge keys; duplicate keys are errors. js-yaml rather than the `yaml` package: the same
 * answers here for a third of the bytes in every function that reads mlops.yaml (README "Performance").
 */
function parseYaml(text: string): unknown {
  try {
    return load(text, { schema: CORE_SCHEMA });
  } catch (error) {
    if (error instanceof YAMLException) throw new InvalidConfigError(`${CONFIG_FILE}: not valid YAML: ${error.message.split('\n')[0]}`, { cause: error });
    throw error;
  }
}

/** Version 2's checks: references, types, branches and cycles (graph.ts), parameter defaults, the stage policy. */
function v2Issues(config: PipelineConfig, policy: StagePolicy): string[] {
  const { issues } = analysePipeline(config);
  issues.push(...parameterDefaultIssues(config), ...pipelinePolicyIssues(config, policy));
  if (config.Deploy && policy.allowedEndpointInstanceTypes) issues.push(...deployPolicyIssues(config.Deploy, policy.allowedEndpointInstanceTypes));
  return issues;
}

function reject(issues: readonly string[]): never {
  throw new InvalidConfigError(`${CONFIG_FILE}: ${issues.join('; ')}`);
}

/**
 * Parses and validates the text of `mlops.yaml` (Version 1 or 2) against the schema, the pipeline's
 * graph rules and the stage policy, and returns the pipeline as Version 2 (a Version 1 file is
 * converted: shared/pipeline/from-v1.ts). Pure; throws {@link InvalidConfigError} whose message names
 * the file, each offending field path and the problem, e.g.
 * `mlops.yaml: Steps.train.ResourceConfig.InstanceType: instance type … is not allowed`.
 */
export function parseMlopsConfig(text: string, policy: StagePolicy): PipelineConfig {
  const document = parseYaml(text);
  const version = document !== null && typeof document === 'object' ? (document as Record<string, unknown>).Version : undefined;
  if (version === 1) {
    const parsed = mlopsV1Schema.safeParse(document, { reportInput: true });
    if (!parsed.success) reject(issueDetails(parsed.error.issues));
    const issues = v1PolicyIssues(parsed.data, policy);
    if (issues.length > 0) reject(issues);
    const pipeline = pipelineFromV1(parsed.data);
    // A valid Version 1 file always makes a valid pipeline; anything else is a bug in the conversion.
    const converted = v2Issues(pipeline, policy);
    if (converted.length > 0) reject(converted);
    return pipeline;
  }
  if (version !== 2) reject([version === undefined ? 'Version: is required (1 or 2)' : `Version: must be 1 or 2, got ${JSON.stringify(version)}`]);
  const parsed = mlopsV2Schema.safeParse(document, { reportInput: true });
  if (!parsed.success) reject(issueDetails(parsed.error.issues));
  const issues = v2Issues(parsed.data, policy);
  if (issues.length > 0) reject(issues);
  return parsed.data;
}
