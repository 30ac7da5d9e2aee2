import type { PipelineConfig } from '../schemas/mlops-v2';
import type { ImagePolicy, StagePolicy } from '../schemas/mlops-config';
import { isGet } from '../schemas/patterns';
import type { Value } from '../schemas/pipeline-values';
import { stepFields } from './for-each';

/**
 * The stage's rules for every job a pipeline starts: instance types from its list, instance counts,
 * volume sizes and runtimes within its maximums, images from accounts it pulls from. Checked twice: at push for what the file fixes (literals, and every value a
 * parameter can take: its default and its EnumValues), and at run time by start-job for the resolved
 * request (a run's parameter overrides and step properties). Pure.
 */

/** Why `type` may not run on this stage, or undefined. */
export function instanceTypeIssue(field: string, type: string, policy: Pick<StagePolicy, 'allowedInstanceTypes'>): string | undefined {
  if (policy.allowedInstanceTypes.includes(type)) return undefined;
  return `${field}: instance type "${type}" is not allowed on this stage (allowed: ${policy.allowedInstanceTypes.join(', ')})`;
}

/** Why `seconds` is too long for this stage, or undefined. */
export function runtimeIssue(field: string, seconds: number | undefined, policy: Pick<StagePolicy, 'maxRuntimeSeconds'>): string | undefined {
  if (seconds === undefined || seconds <= policy.maxRuntimeSeconds) return undefined;
  return `${field}: ${seconds} s exceeds this stage's maximum of ${policy.maxRuntimeSeconds} s`;
}

/** Why `count` instances are more than this stage runs one job on, or undefined. */
export function instanceCountIssue(field: string, count: number, policy: Pick<StagePolicy, 'maxInstanceCount'>): string | undefined {
  if (count <= policy.maxInstanceCount) return undefined;
  return `${field}: ${count} instances exceed this stage's maximum of ${policy.maxInstanceCount} per job`;
}

/** Why a `gigabytes` volume is larger than this stage allows, or undefined. */
export function volumeSizeIssue(field: string, gigabytes: number, policy: Pick<StagePolicy, 'maxVolumeSizeInGB'>): string | undefined {
  if (gigabytes <= policy.maxVolumeSizeInGB) return undefined;
  return `${field}: ${gigabytes} GB exceeds this stage's maximum volume of ${policy.maxVolumeSizeInGB} GB`;
}

/**
 * An ECR image URI: `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]`
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/docker-pull-ecr-image.html).
 */
const ECR_IMAGE = /^(\d{12})\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/\S+$/;

/**
 * Why `image` will not run on this stage, or undefined. An ECR image must live in an account the
 * stage pulls from: its own (the execution roles' PullImages grant), `imageAccountIds` (the same
 * grant), or SageMaker's own image accounts (`awsImageAccountIds`: pulled with SageMaker's
 * credentials, https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-algo-docker-registry-paths.html).
 * SageMaker runs jobs and models only from ECR (a private Docker registry serves only VPC-mode
 * inference, https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-containers-inference-private.html,
 * which Sluice does not configure), so any other image is refused, except on a stage that runs
 * mlops.yaml's `Local.Images` (the local runtime) when it is one of their keys. Pure.
 */
export function imageIssue(field: string, image: string, policy: ImagePolicy, localImages: readonly string[]): string | undefined {
  const ecr = ECR_IMAGE.exec(image);
  if (ecr) {
    const account = ecr[1]!;
    if (account === policy.accountId || policy.imageAccountIds.includes(account) || policy.awsImageAccountIds.includes(account)) return undefined;
    return `${field}: image "${image}" is in account ${account}'s ECR, which this stage does not pull from (this account ${policy.accountId}, imageAccountIds: ${policy.imageAccountIds.join(', ') || 'none'}, or SageMaker's image accounts in awsImageAccountIds)`;
  }
  if (policy.localImages && localImages.includes(image)) return undefined;
  return `${field}: image "${image}" is not an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>), the only kind SageMaker runs${policy.localImages ? ', nor a key of Local.Images' : ''}`;
}

/** Every value a field can take that the file decides: the literal, or each value its parameter can take. */
function possibleValues(config: PipelineConfig, value: Value | undefined): { value: string | number | boolean; via?: string }[] {
  if (value === undefined) return [];
  if (typeof value !== 'object') return [{ value }];
  if (!isGet(value) || !value.Get.startsWith('Parameters.')) return [];
  const name = value.Get.slice('Parameters.'.length);
  const spec = Object.hasOwn(config.Parameters, name) ? config.Parameters[name] : undefined;
  if (!spec) return [];
  const values = spec.Type === 'String' && spec.EnumValues ? [spec.Default, ...spec.EnumValues] : [spec.Default];
  return [...new Set(values)].map((candidate) => ({ value: candidate, via: `Parameters.${name}` }));
}

/** The stage policy's problems with what a pipeline file fixes, each naming its field. Pure. */
export function pipelinePolicyIssues(config: PipelineConfig, policy: StagePolicy): string[] {
  const issues: string[] = [];
  const checkType = (field: string, value: Value) => {
    for (const candidate of possibleValues(config, value)) {
      const issue = instanceTypeIssue(field, String(candidate.value), policy);
      if (issue) issues.push(candidate.via ? `${issue} (a value of ${candidate.via})` : issue);
    }
  };
  const checkRuntime = (field: string, value: Value | undefined) => {
    for (const candidate of possibleValues(config, value)) {
      const issue = typeof candidate.value === 'number' ? runtimeIssue(field, candidate.value, policy) : undefined;
      if (issue) issues.push(candidate.via ? `${issue} (the default of ${candidate.via})` : issue);
    }
  };
  const checkNumber = (field: string, value: Value, issueOf: (field: string, value: number, policy: StagePolicy) => string | undefined) => {
    for (const candidate of possibleValues(config, value)) {
      const issue = typeof candidate.value === 'number' ? issueOf(field, candidate.value, policy) : undefined;
      if (issue) issues.push(candidate.via ? `${issue} (a value of ${candidate.via})` : issue);
    }
  };
  const checkResources = (at: string, resources: { InstanceType: Value; InstanceCount: Value; VolumeSizeInGB: Value }) => {
    checkType(`${at}.InstanceType`, resources.InstanceType);
    checkNumber(`${at}.InstanceCount`, resources.InstanceCount, instanceCountIssue);
    checkNumber(`${at}.VolumeSizeInGB`, resources.VolumeSizeInGB, volumeSizeIssue);
  };
  const localImages = Object.keys(config.Local?.Images ?? {});
  const checkImage = (field: string, value: Value | undefined) => {
    if (!policy.images) return;
    for (const candidate of possibleValues(config, value)) {
      const issue = imageIssue(field, String(candidate.value), policy.images, localImages);
      if (issue) issues.push(candidate.via ? `${issue} (a value of ${candidate.via})` : issue);
    }
  };
  for (const [name, spec] of stepFields(config)) {
    if (spec.Type === 'Processing') {
      checkImage(`Steps.${name}.AppSpecification.ImageUri`, spec.AppSpecification.ImageUri);
      checkResources(`Steps.${name}.ProcessingResources.ClusterConfig`, spec.ProcessingResources.ClusterConfig);
      checkRuntime(`Steps.${name}.StoppingCondition.MaxRuntimeInSeconds`, spec.StoppingCondition?.MaxRuntimeInSeconds);
    } else if (spec.Type === 'Training') {
      checkImage(`Steps.${name}.AlgorithmSpecification.TrainingImage`, spec.AlgorithmSpecification.TrainingImage);
      checkResources(`Steps.${name}.ResourceConfig`, spec.ResourceConfig);
      checkRuntime(`Steps.${name}.StoppingCondition.MaxRuntimeInSeconds`, spec.StoppingCondition?.MaxRuntimeInSeconds);
    } else if (spec.Type === 'Tuning') {
      const definition = spec.TrainingJobDefinition;
      checkImage(`Steps.${name}.TrainingJobDefinition.AlgorithmSpecification.TrainingImage`, definition.AlgorithmSpecification.TrainingImage);
      checkResources(`Steps.${name}.TrainingJobDefinition.ResourceConfig`, definition.ResourceConfig);
      checkRuntime(`Steps.${name}.TrainingJobDefinition.StoppingCondition.MaxRuntimeInSeconds`, definition.StoppingCondition?.MaxRuntimeInSeconds);
      checkRuntime(`Steps.${name}.HyperParameterTuningJobConfig.ResourceLimits.MaxRuntimeInSeconds`, spec.HyperParameterTuningJobConfig.ResourceLimits.MaxRuntimeInSeconds);
    } else if (spec.Type === 'Transform') {
      checkImage(`Steps.${name}.Model.Image`, spec.Model.Image);
      checkType(`Steps.${name}.TransformResources.InstanceType`, spec.TransformResources.InstanceType);
      checkNumber(`Steps.${name}.TransformResources.InstanceCount`, spec.TransformResources.InstanceCount, instanceCountIssue);
    } else if (spec.Type === 'RegisterModel') {
      checkImage(`Steps.${name}.InferenceSpecification.Image`, spec.InferenceSpecification.Image);
    }
  }
  return issues;
}
