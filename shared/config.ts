import type { StageIsolation } from './isolation';
import type { BuildSettings } from './pipeline/start-build';
import { scheduleExpressionProblem } from './pipeline/schedule-expression';
import type { DatasetTriggerSettings, TriggerSettings } from './pipeline/triggers';
import type { ExecutionRoles } from './pipeline/tenancy';
import * as z from './schemas/zod';

/**
 * The only place that reads `process.env`. Each entry point loads the settings it needs at
 * module scope, so a missing or malformed variable fails the cold start with the variable's name
 * instead of failing some later call. Results are frozen.
 */

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

// Each variable's schema is built only when a function reads that variable: a cold start pays for its own few.
const commaList = () => z.pipe(
  z.string(),
  z.transform((value: string) => value.split(',').map((item) => item.trim()).filter((item) => item !== '')),
).check(z.refine((items) => items.length > 0, 'must list at least one value'));

const positiveInt = () => z.coerce.number().check(z.int(), z.positive());

/** A comma-separated list that may be empty (unset or ''). */
const optionalList = () => z._default(z.pipe(
  z.string(),
  z.transform((value: string) => value.split(',').map((item) => item.trim()).filter((item) => item !== '')),
), []);

/** A comma-separated list of 12-digit account ids; may be empty. */
const accountIdList = () => optionalList().check(z.refine((ids: string[]) => ids.every((id) => /^\d{12}$/.test(id)), 'must list 12-digit account ids'));

const variables = {
  STAGE: () => z.string().check(z.minLength(1)),
  /** Set by Lambda itself. */
  AWS_REGION: () => z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region')),
  ARTIFACTS_BUCKET: () => z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')),
  /** Name prefix of compiled pipeline state machines, e.g. sluice-dev-build-. */
  BUILD_STATE_MACHINE_PREFIX: () => z.string().check(z.regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be a short state machine name prefix')),
  REJECTED_BUILD_STATE_MACHINE_ARN: () => z.string().check(z.startsWith('arn:')),
  PIPELINE_ROLE_ARN: () => z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN')),
  SNAPSHOT_SOURCE_FUNCTION_ARN: () => z.string().check(z.startsWith('arn:')),
  /** Where compiled build pipelines log, in the form Step Functions wants: `arn:<partition>:logs:<region>:<account>:log-group:<name>:*`. */
  BUILD_RUNS_LOG_GROUP_ARN: () => z.string().check(z.regex(/^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[^:]+:\*$/, 'must be a log group ARN ending in :*')),
  START_JOB_FUNCTION_ARN: () => z.string().check(z.startsWith('arn:')),
  EVALUATE_STEP_FUNCTION_ARN: () => z.string().check(z.startsWith('arn:')),
  REGISTER_MODEL_FUNCTION_ARN: () => z.string().check(z.startsWith('arn:')),
  STEP_CACHE_TABLE: () => z.string().check(z.minLength(3)),
  JOB_TOKEN_TABLE: () => z.string().check(z.minLength(3)),
  BUILD_ANNOUNCEMENT_TABLE: () => z.string().check(z.minLength(3)),
  SAGEMAKER_ROLE_ARN: () => z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN')),
  /** The repositories with an execution role of their own, and those roles' ARN prefix (shared/pipeline/tenancy.ts). */
  ROLE_REPOSITORIES: optionalList,
  REPOSITORY_ROLE_ARN_PREFIX: () => z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+-$/, 'must be an IAM role ARN prefix ending in -'))),
  ALLOWED_INSTANCE_TYPES: commaList,
  MAX_RUNTIME_SECONDS: positiveInt,
  MAX_INSTANCE_COUNT: positiveInt,
  MAX_VOLUME_SIZE_GB: positiveInt,
  MAX_ENDPOINT_INSTANCE_COUNT: positiveInt,
  /** The stage's network and encryption settings for jobs and endpoints (shared/isolation.ts); unset: none. */
  NETWORK_ISOLATION: () => z.pipe(z._default(z.enum(['true', 'false']), 'false'), z.transform((value: 'true' | 'false') => value === 'true')),
  VPC_SUBNETS: optionalList,
  VPC_SECURITY_GROUP_IDS: optionalList,
  VOLUME_KMS_KEY_ID: () => z._default(z.string().check(z.maxLength(2048)), ''),
  OUTPUT_KMS_KEY_ID: () => z._default(z.string().check(z.maxLength(2048)), ''),
  /** The stack's account (CloudFormation's AWS::AccountId): its ECR images are the stage's own. */
  AWS_ACCOUNT_ID: () => z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit account id')),
  /** Accounts whose ECR images jobs and models may use beside this one (stage parameters imageAccountIds and awsImageAccountIds). */
  IMAGE_ACCOUNT_IDS: accountIdList,
  AWS_IMAGE_ACCOUNT_IDS: accountIdList,
  /** 'true' where mlops.yaml's Local.Images run (the local runtime). */
  LOCAL_IMAGES: () => z.pipe(z._default(z.enum(['true', 'false']), 'false'), z.transform((value: 'true' | 'false') => value === 'true')),
  /** Repositories (globs) that may register their versions as Approved; empty: none. */
  SELF_APPROVAL_REPOSITORIES: optionalList,
  MAX_SOURCE_BYTES: positiveInt,
  TRIGGER_REPOSITORIES: commaList,
  TRIGGER_BRANCHES: commaList,
  /** `<service>-<stage>`: single hyphens only, so that the `--` after it ends the stage (naming.ts stageResourcePrefix). */
  MODEL_PACKAGE_GROUP_PREFIX: () => z.string().check(z.regex(/^[a-zA-Z0-9](-?[a-zA-Z0-9]){0,30}$/, 'must be a short SageMaker-style name with single hyphens')),
  DEAD_LETTER_QUEUE_URL: () => z.url(),
  RECONCILE_MIN_AGE_SECONDS: () => z._default(positiveInt(), 120),
  DEPLOYMENT_TABLE: () => z.string().check(z.minLength(3)),
  MODEL_DEPLOY_STATE_MACHINE_ARN: () => z.string().check(z.startsWith('arn:')),
  EVENT_BUS_NAME: () => z.string().check(z.minLength(1)),
  ALLOWED_ENDPOINT_INSTANCE_TYPES: commaList,
  PROD_GATE: () => z.enum(['manual', 'auto']),
  PROD_GATE_TIMEOUT_SECONDS: positiveInt,
  BAKE_SECONDS: () => z._default(z.coerce.number().check(z.int(), z.gte(0), z.lte(3600)), 300),
  MODEL_LATENCY_THRESHOLD_MS: positiveInt,
  KEEP_VERSIONS: () => z._default(positiveInt(), 3),
  TRIGGER_TABLE: () => z.string().check(z.minLength(3)),
  /** `<service>-<stage>--schedule-`: the schedule rules' name prefix (IAM grants only those). */
  SCHEDULE_RULE_PREFIX: () => z.string().check(z.regex(/^[.\-_A-Za-z0-9]{1,40}$/, 'must be a short EventBridge rule name prefix')),
  /** on-source-push's own ARN: the schedule rules' target. */
  BUILD_FUNCTION_ARN: () => z.string().check(z.regex(/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]+$/, 'must be a Lambda function ARN')),
  /** The stage's `schedules` setting as JSON: repository (`*` wildcard) → rate()/cron() expression; unset or '': none. */
  STAGE_SCHEDULES: () =>
    z.pipe(
      z._default(z.string(), ''),
      z.transform((text: string, ctx) => {
        let parsed: unknown;
        try {
          parsed = text.trim() === '' ? {} : JSON.parse(text);
        } catch {
          ctx.issues.push({ code: 'custom', message: 'must be a JSON object of repository → schedule expression', input: text });
          return {};
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          ctx.issues.push({ code: 'custom', message: 'must be a JSON object of repository → schedule expression', input: text });
          return {};
        }
        for (const [repository, expression] of Object.entries(parsed)) {
          const problem = typeof expression === 'string' ? scheduleExpressionProblem(expression) : 'must be a string';
          if (problem) ctx.issues.push({ code: 'custom', message: `stage setting schedules.${repository}: ${JSON.stringify(expression)} is not an EventBridge schedule: ${problem}`, input: text });
        }
        return parsed as Record<string, string>;
      }),
    ),
  DATASET_DEBOUNCE_SECONDS: () => z.coerce.number().check(z.int(), z.gte(1), z.lte(86_400)),
  DATASET_BUILD_STATE_MACHINE_ARN: () => z.string().check(z.startsWith('arn:')),
} as const;

type Variables = typeof variables;
type Loaded<K extends keyof Variables> = { readonly [P in K]: z.output<ReturnType<Variables[P]>> };

/**
 * Reads and validates the named environment variables. Throws {@link ConfigurationError} naming
 * each missing or malformed variable. Not cached: call once at module scope.
 */
export function loadConfig<K extends keyof Variables>(...names: K[]): Loaded<K> {
  const result: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const name of names) {
    const parsed = variables[name]().safeParse(process.env[name]);
    if (parsed.success) result[name] = parsed.data;
    else problems.push(`${name}: ${parsed.error.issues[0]?.message ?? 'invalid'}${process.env[name] === undefined ? ' (not set)' : ''}`);
  }
  if (problems.length > 0) throw new ConfigurationError(`invalid environment: ${problems.join('; ')}`);
  return Object.freeze(result) as Loaded<K>;
}

/** Glob match with `*` as the only wildcard, as in the stage's repository/branch lists. */
export function matchesAny(value: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return regex.test(value);
  });
}

/**
 * The settings a build starts with (on-source-push and the CodePipeline action's build), read from
 * the environment. Throws {@link ConfigurationError} naming each missing or malformed variable.
 * `everything`: ignore the stage's repository/branch filters (a pipeline chooses its own).
 */
export function loadBuildSettings(everything = false): BuildSettings {
  const env = loadConfig(
    'ARTIFACTS_BUCKET', 'ALLOWED_INSTANCE_TYPES', 'MAX_RUNTIME_SECONDS', 'MAX_INSTANCE_COUNT', 'MAX_VOLUME_SIZE_GB', 'SELF_APPROVAL_REPOSITORIES',
    'ALLOWED_ENDPOINT_INSTANCE_TYPES', 'MAX_ENDPOINT_INSTANCE_COUNT', 'TRIGGER_REPOSITORIES', 'TRIGGER_BRANCHES',
    'BUILD_STATE_MACHINE_PREFIX', 'REJECTED_BUILD_STATE_MACHINE_ARN', 'PIPELINE_ROLE_ARN', 'SNAPSHOT_SOURCE_FUNCTION_ARN', 'START_JOB_FUNCTION_ARN',
    'EVALUATE_STEP_FUNCTION_ARN', 'REGISTER_MODEL_FUNCTION_ARN', 'EVENT_BUS_NAME', 'BUILD_RUNS_LOG_GROUP_ARN',
    'AWS_ACCOUNT_ID', 'IMAGE_ACCOUNT_IDS', 'AWS_IMAGE_ACCOUNT_IDS', 'LOCAL_IMAGES',
  );
  return Object.freeze({
    artifactsBucket: env.ARTIFACTS_BUCKET,
    allowedInstanceTypes: env.ALLOWED_INSTANCE_TYPES,
    maxRuntimeSeconds: env.MAX_RUNTIME_SECONDS,
    maxInstanceCount: env.MAX_INSTANCE_COUNT,
    maxVolumeSizeInGB: env.MAX_VOLUME_SIZE_GB,
    selfApprovalRepositories: env.SELF_APPROVAL_REPOSITORIES,
    allowedEndpointInstanceTypes: env.ALLOWED_ENDPOINT_INSTANCE_TYPES,
    maxEndpointInstanceCount: env.MAX_ENDPOINT_INSTANCE_COUNT,
    images: { accountId: env.AWS_ACCOUNT_ID, imageAccountIds: env.IMAGE_ACCOUNT_IDS, awsImageAccountIds: env.AWS_IMAGE_ACCOUNT_IDS, localImages: env.LOCAL_IMAGES },
    repositories: everything ? ['*'] : env.TRIGGER_REPOSITORIES,
    branches: everything ? ['*'] : env.TRIGGER_BRANCHES,
    stateMachinePrefix: env.BUILD_STATE_MACHINE_PREFIX,
    rejectedStateMachineArn: env.REJECTED_BUILD_STATE_MACHINE_ARN,
    pipelineRoleArn: env.PIPELINE_ROLE_ARN,
    runLogGroupArn: env.BUILD_RUNS_LOG_GROUP_ARN,
    targets: {
      snapshotSourceFunctionArn: env.SNAPSHOT_SOURCE_FUNCTION_ARN,
      startJobFunctionArn: env.START_JOB_FUNCTION_ARN,
      evaluateStepFunctionArn: env.EVALUATE_STEP_FUNCTION_ARN,
      registerModelFunctionArn: env.REGISTER_MODEL_FUNCTION_ARN,
      eventBusName: env.EVENT_BUS_NAME,
    },
  });
}

/** Where on-source-push keeps a repository's triggers (shared/pipeline/triggers.ts). Throws {@link ConfigurationError} naming the variable. */
export function loadTriggerSettings(): TriggerSettings {
  const env = loadConfig('TRIGGER_TABLE', 'SCHEDULE_RULE_PREFIX', 'BUILD_FUNCTION_ARN', 'STAGE_SCHEDULES');
  return Object.freeze({ table: env.TRIGGER_TABLE, scheduleRulePrefix: env.SCHEDULE_RULE_PREFIX, buildFunctionArn: env.BUILD_FUNCTION_ARN, stageSchedules: Object.freeze({ ...env.STAGE_SCHEDULES }) });
}

/** What on-dataset-change needs (shared/pipeline/triggers.ts). Throws {@link ConfigurationError} naming the variable. */
export function loadDatasetTriggerSettings(): DatasetTriggerSettings {
  const env = loadConfig('TRIGGER_TABLE', 'ARTIFACTS_BUCKET', 'DATASET_DEBOUNCE_SECONDS', 'DATASET_BUILD_STATE_MACHINE_ARN');
  return Object.freeze({ table: env.TRIGGER_TABLE, artifactsBucket: env.ARTIFACTS_BUCKET, debounceSeconds: env.DATASET_DEBOUNCE_SECONDS, stateMachineArn: env.DATASET_BUILD_STATE_MACHINE_ARN });
}

/**
 * The stage's network and encryption settings (shared/isolation.ts), read from the environment.
 * Throws {@link ConfigurationError} naming the variable when one is malformed, or when only one of
 * VPC_SUBNETS and VPC_SECURITY_GROUP_IDS is set (SageMaker needs both).
 */
export function loadIsolation(): StageIsolation {
  const env = loadConfig('NETWORK_ISOLATION', 'VPC_SUBNETS', 'VPC_SECURITY_GROUP_IDS', 'VOLUME_KMS_KEY_ID', 'OUTPUT_KMS_KEY_ID');
  if ((env.VPC_SUBNETS.length === 0) !== (env.VPC_SECURITY_GROUP_IDS.length === 0)) {
    throw new ConfigurationError('invalid environment: VPC_SUBNETS and VPC_SECURITY_GROUP_IDS: set both (a VPC) or neither');
  }
  return Object.freeze({
    networkIsolation: env.NETWORK_ISOLATION,
    ...(env.VPC_SUBNETS.length > 0 ? { vpc: { Subnets: [...env.VPC_SUBNETS], SecurityGroupIds: [...env.VPC_SECURITY_GROUP_IDS] } } : {}),
    ...(env.VOLUME_KMS_KEY_ID ? { volumeKmsKeyId: env.VOLUME_KMS_KEY_ID } : {}),
    ...(env.OUTPUT_KMS_KEY_ID ? { outputKmsKeyId: env.OUTPUT_KMS_KEY_ID } : {}),
  });
}

/**
 * The stage's execution roles (shared/pipeline/tenancy.ts executionRoleArn), read from the
 * environment. Throws {@link ConfigurationError} naming the variable when one is malformed, or when
 * ROLE_REPOSITORIES lists repositories without REPOSITORY_ROLE_ARN_PREFIX.
 */
export function loadExecutionRoles(): ExecutionRoles {
  const env = loadConfig('SAGEMAKER_ROLE_ARN', 'ROLE_REPOSITORIES', 'REPOSITORY_ROLE_ARN_PREFIX');
  if (env.ROLE_REPOSITORIES.length === 0) return Object.freeze({ roleArn: env.SAGEMAKER_ROLE_ARN });
  if (!env.REPOSITORY_ROLE_ARN_PREFIX) throw new ConfigurationError('invalid environment: REPOSITORY_ROLE_ARN_PREFIX: is required with ROLE_REPOSITORIES (not set)');
  return Object.freeze({ roleArn: env.SAGEMAKER_ROLE_ARN, repositoryRoles: { arnPrefix: env.REPOSITORY_ROLE_ARN_PREFIX, repositories: [...env.ROLE_REPOSITORIES] } });
}

/**
 * Whether the SDK is pointed at a custom endpoint for `service` (AWS_ENDPOINT_URL_<SERVICE>, or
 * AWS_ENDPOINT_URL for all: the SDK's own endpoint settings), as an S3-compatible store or the
 * local runtime would be. Read once, where a client is built.
 */
export function hasCustomEndpoint(service: 'S3'): boolean {
  return Boolean(process.env[`AWS_ENDPOINT_URL_${service}`] ?? process.env.AWS_ENDPOINT_URL);
}
