import { CORE_SCHEMA, load, YAMLException } from 'js-yaml';

import { InvalidConfigError } from '../errors';
import { expandManifestSteps, type ManifestFiles, manifestPaths } from '../pipeline/ack-steps';
import { pipelineFromV1 } from '../pipeline/from-v1';
import { analysePipeline } from '../pipeline/graph';
import { stepFields } from '../pipeline/for-each';
import { parameterDefaultIssues } from '../pipeline/parameters';
import { imageIssue, instanceCountIssue, instanceTypeIssue, pipelinePolicyIssues, runtimeIssue, volumeSizeIssue } from '../pipeline/stage-policy';
import { maySelfApprove, type Registration, tenancyIssues } from '../pipeline/tenancy';
import { type DeployConfig, deployPolicyIssues } from './deploy';
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
  const jobs = [
    ['Preprocess.ProcessingResources.ClusterConfig', config.Preprocess.ProcessingResources.ClusterConfig, 'Preprocess', config.Preprocess.StoppingCondition],
    ['Train.ResourceConfig', config.Train.ResourceConfig, 'Train', config.Train.StoppingCondition],
    ['Evaluate.ProcessingResources.ClusterConfig', config.Evaluate.ProcessingResources.ClusterConfig, 'Evaluate', config.Evaluate.StoppingCondition],
  ] as const;
  const localImages = Object.keys(config.Local?.Images ?? {});
  const images = policy.images
    ? ([
        ['Preprocess.AppSpecification.ImageUri', config.Preprocess.AppSpecification.ImageUri],
        ['Train.AlgorithmSpecification.TrainingImage', config.Train.AlgorithmSpecification.TrainingImage],
        ['Evaluate.AppSpecification.ImageUri', config.Evaluate.AppSpecification.ImageUri],
        ['Register.InferenceSpecification.Image', config.Register.InferenceSpecification.Image],
      ] as const).map(([field, image]) => (image === undefined ? undefined : imageIssue(field, image, policy.images!, localImages)))
    : [];
  const issues = [...images, ...jobs.flatMap(([at, resources, step, stopping]) => [
    instanceTypeIssue(`${at}.InstanceType`, resources.InstanceType, policy),
    instanceCountIssue(`${at}.InstanceCount`, resources.InstanceCount, policy),
    volumeSizeIssue(`${at}.VolumeSizeInGB`, resources.VolumeSizeInGB, policy),
    runtimeIssue(`${step}.StoppingCondition.MaxRuntimeInSeconds`, stopping?.MaxRuntimeInSeconds, policy),
  ])].filter((issue): issue is string => issue !== undefined);

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
  return issues;
}

/** The Deploy section against the stage's endpoint policy, when the caller knows it. */
function deployIssues(deploy: DeployConfig | undefined, policy: StagePolicy): string[] {
  const { allowedEndpointInstanceTypes, maxEndpointInstanceCount } = policy;
  if (!deploy || !allowedEndpointInstanceTypes || maxEndpointInstanceCount === undefined) return [];
  return deployPolicyIssues(deploy, { allowedEndpointInstanceTypes, maxEndpointInstanceCount });
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
  issues.push(...parameterDefaultIssues(config), ...pipelinePolicyIssues(config, policy), ...deployIssues(config.Deploy, policy));
  return issues;
}

/** Version 2's registrations: its RegisterModel steps. */
function registrations(config: PipelineConfig): Registration[] {
  return stepFields(config).flatMap(([name, spec]) =>
    spec.Type === 'RegisterModel' ? [{ field: `Steps.${name}`, group: spec.ModelPackageGroupName, approval: spec.ModelApprovalStatus }] : [],
  );
}

function reject(issues: readonly string[]): never {
  throw new InvalidConfigError(`${CONFIG_FILE}: ${issues.join('; ')}`);
}

/** The ACK manifests a pipeline's steps name (shared/pipeline/ack-steps.ts). */
export interface ManifestOptions {
  /** Each manifest's text by its path in the repository (see {@link manifestsNamedIn}). */
  files?: ManifestFiles;
  /** Receives one line per stage-owned field a manifest set, which is ignored. */
  warnings?: string[];
}

/**
 * The manifest files the text of `mlops.yaml` names (`Steps.<step>.Manifest`), for the caller to
 * read from the same commit before {@link parseMlopsConfig}; none when the text is not valid YAML
 * (parsing then says why). Pure.
 */
export function manifestsNamedIn(text: string): string[] {
  try {
    return manifestPaths(load(text, { schema: CORE_SCHEMA }));
  } catch (error) {
    if (error instanceof YAMLException) return [];
    throw error;
  }
}

/**
 * Parses and validates the text of `mlops.yaml` (Version 1 or 2) of `repository` against the
 * schema, the pipeline's graph rules, the stage policy and what the repository may claim
 * (tenancy.ts: its own model package groups; self-approval only where the stage allows it), and
 * returns the pipeline as Version 2 (a Version 1 file is converted: shared/pipeline/from-v1.ts;
 * a step given as an ACK manifest is expanded first: shared/pipeline/ack-steps.ts).
 * Pure; throws {@link InvalidConfigError} whose message names the file, each offending field path
 * and the problem, e.g. `mlops.yaml: Steps.train.ResourceConfig.InstanceType: instance type … is not allowed`.
 */
export function parseMlopsConfig(text: string, policy: StagePolicy, repository: string, manifests: ManifestOptions = {}): PipelineConfig {
  const document = parseYaml(text);
  const version = document !== null && typeof document === 'object' ? (document as Record<string, unknown>).Version : undefined;
  const selfApproval = maySelfApprove(repository, policy);
  if (version === 1) {
    const parsed = mlopsV1Schema.safeParse(document, { reportInput: true });
    if (!parsed.success) reject(issueDetails(parsed.error.issues));
    const { Register } = parsed.data;
    const issues = [
      ...v1PolicyIssues(parsed.data, policy),
      ...deployIssues(parsed.data.Deploy, policy),
      ...tenancyIssues([{ field: 'Register', group: Register.ModelPackageGroupName, approval: Register.ModelApprovalStatus }], repository, selfApproval),
    ];
    if (issues.length > 0) reject(issues);
    // A valid Version 1 file always makes a valid pipeline (tests/unit/pipeline/from-v1.test.ts).
    return pipelineFromV1(parsed.data);
  }
  if (version !== 2) reject([version === undefined ? 'Version: is required (1 or 2)' : `Version: must be 1 or 2, got ${JSON.stringify(version)}`]);
  const expanded = expandManifestSteps(document, manifests.files ?? {});
  if (expanded.issues.length > 0) reject(expanded.issues);
  manifests.warnings?.push(...expanded.warnings);
  const parsed = mlopsV2Schema.safeParse(expanded.document, { reportInput: true });
  if (!parsed.success) reject(issueDetails(parsed.error.issues));
  const issues = [...v2Issues(parsed.data, policy), ...tenancyIssues(registrations(parsed.data), repository, selfApproval)];
  if (issues.length > 0) reject(issues);
  return parsed.data;
}
