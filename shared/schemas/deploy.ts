import * as z from './zod';

import { InvalidConfigError } from '../errors';
import { MODEL_PACKAGE_ARN } from '../naming';
import { issueDetails } from './issues';

/**
 * The model-deploy workflow's contract: mlops.yaml's `Deploy` section, the execution input that
 * on-model-package-change starts `statemachines/model-deploy.asl.yaml` with, the plan its first
 * task computes, and the inputs of its Lambda tasks. The state machine builds task inputs with
 * `Parameters`; the functions validate them before acting.
 */

/**
 * Each schema is built on first use and kept (`once`): a deploy function builds the one or two it
 * parses, not all of them, at cold start (README "Performance"). The exported schemas are z.lazy
 * handles on them.
 */
const built = new Map<string, unknown>();
function once<T>(key: string, make: () => T): T {
  if (!built.has(key)) built.set(key, make());
  return built.get(key) as T;
}

export const DEPLOY_STAGES = ['staging', 'prod'] as const;
export type DeployStage = (typeof DEPLOY_STAGES)[number];

/** SageMaker blue/green traffic shifting for prod (staging always replaces all at once). */
export const DEPLOY_STRATEGIES = ['CANARY', 'LINEAR', 'ALL_AT_ONCE'] as const;

const variantSettings = () =>
  once('variantSettings', () =>
    z.strictObject({
      /** Checked against the stage's allowed endpoint instance types. */
      InstanceType: z.string().check(z.minLength(1)),
      InitialInstanceCount: z._default(z.int().check(z.gte(1), z.lte(100)), 1),
    }),
  );

/** The largest smoke test body mlops.yaml may hold. */
export const MAX_SMOKE_BODY_BYTES = 5 * 1024 * 1024;

/** Invoked on every stage after it is InService; a failure stops the deploy before prod. */
const smokeTest = () =>
  once('smokeTest', () =>
    z.strictObject({
      ContentType: z._default(z.string().check(z.minLength(1)), 'text/csv'),
      Accept: z._default(z.string().check(z.minLength(1)), 'text/csv'),
      /**
       * Request body, e.g. raw CSV records one per line; up to 5 MiB (InvokeEndpoint takes about 6 MB:
       * https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html). The
       * deploy stores it in S3 and the plan carries its reference.
       */
      Body: z.string().check(z.minLength(1), z.maxLength(MAX_SMOKE_BODY_BYTES)),
      /** Response must have this many non-empty lines (default: as many as the body has). */
      ExpectedLines: z.optional(z.int().check(z.positive())),
      /** Every response line must parse as a number. */
      NumericResponse: z._default(z.boolean(), true),
      MaxLatencyMs: z._default(z.int().check(z.positive(), z.lte(60_000)), 2000),
    }),
  );

/** mlops.yaml `Deploy`: what the model repository may decide about its endpoints (never roles, VPCs, KMS keys or buckets). */
export const deployConfigSchema = z.lazy(() =>
  once('deployConfig', () =>
    z.strictObject({
      Staging: variantSettings(),
      Prod: z.extend(variantSettings(), {
        /** CANARY: 10 % then the rest after the bake; LINEAR: 33 % steps; ALL_AT_ONCE: one shift, then the bake. */
        Strategy: z._default(z.enum(DEPLOY_STRATEGIES), 'CANARY'),
      }),
      /** Data capture to the stage's bucket (s3://<bucket>/data-capture/<endpoint>/); the destination is not configurable. */
      DataCapture: z.optional(z.strictObject({ SamplingPercentage: z.int().check(z.gte(1), z.lte(100)) })),
      SmokeTest: smokeTest(),
    }),
  ),
);

export type DeployConfig = z.infer<typeof deployConfigSchema>;

/** Execution input of model-deploy (set by on-model-package-change or the CodePipeline action). */
/** A versioned model package ARN. */
export const modelPackageArnSchema = z.lazy(() => once('modelPackageArn', () => z.string().check(z.regex(MODEL_PACKAGE_ARN, 'must be a versioned model package ARN'))));

const deployRequest = () => once('deployRequest', () => z.strictObject({
  modelPackageArn: modelPackageArnSchema,
  /** deploy: an approval (staging → gate → prod); rollback: redeploy to `stages` without the gate. */
  mode: z.enum(['deploy', 'rollback']),
  stages: z.array(z.enum(DEPLOY_STAGES)).check(z.minLength(1)),
  /** Why, for people reading the execution (e.g. "approved", "rollback: v3 rejected"). */
  reason: z.string().check(z.maxLength(1024)),
}));

export const deployRequestSchema = z.lazy(deployRequest);

export type DeployRequest = z.infer<typeof deployRequestSchema>;

/** One stage of a plan: every name is deterministic, so each step is idempotent. */
const stagePlan = () => once('stagePlan', () => z.strictObject({
  stage: z.enum(DEPLOY_STAGES),
  endpointName: z.string().check(z.minLength(1), z.maxLength(63)),
  modelName: z.string().check(z.minLength(1), z.maxLength(63)),
  endpointConfigName: z.string().check(z.minLength(1), z.maxLength(63)),
  instanceType: z.string().check(z.minLength(1)),
  instanceCount: z.int().check(z.gte(1)),
  /** Prod follows the config; staging and rollbacks use ALL_AT_ONCE. */
  strategy: z.enum(DEPLOY_STRATEGIES),
  /** Bake time after each traffic shift (seconds; the stage's setting, 300 by default). */
  bakeSeconds: z.int().check(z.gte(0)),
  /** CloudWatch alarms that roll an update back (prod only; empty for staging). */
  alarmNames: z.array(z.string()),
  dataCaptureSamplingPercentage: z.optional(z.int().check(z.gte(1), z.lte(100))),
}));

export const stagePlanSchema = z.lazy(stagePlan);

export type StagePlan = z.infer<typeof stagePlanSchema>;

/**
 * Where prepare-deploy stored the smoke test's body (`s3://<artifacts bucket>/deploys/<group>/v<version>/smoke-body`),
 * its size and SHA-256: the body itself (up to 5 MiB) never travels through the state machine, whose
 * payloads are limited to 256 KiB (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html).
 */
const storedBody = () =>
  once('storedBody', () =>
    z.strictObject({
      uri: z.string().check(z.regex(/^s3:\/\/[^/]+\/deploys\/.+$/, 'must be an s3:// URI under deploys/')),
      /** UTF-8 bytes (mlops.yaml caps the body in characters). */
      bytes: z.int().check(z.positive()),
      sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256')),
    }),
  );

/** The smoke test as the plan carries it: mlops.yaml's settings, the stored body, and the line count expected. */
const smokeTestPlan = () =>
  once('smokeTestPlan', () =>
    z.strictObject({
      ContentType: z.string().check(z.minLength(1)),
      Accept: z.string().check(z.minLength(1)),
      Body: storedBody(),
      /** mlops.yaml's ExpectedLines, or the body's non-empty lines, counted at prepare time. */
      ExpectedLines: z.int().check(z.gte(0)),
      NumericResponse: z.boolean(),
      MaxLatencyMs: z.int().check(z.positive(), z.lte(60_000)),
    }),
  );

export type SmokeTestPlan = z.infer<ReturnType<typeof smokeTestPlan>>;

/** What prepare-deploy returns as `$.plan`: the version, its lineage, and each stage to deploy. */
const deployPlan = () => once('deployPlan', () => z.strictObject({
  mode: z.enum(['deploy', 'rollback']),
  modelPackageArn: z.string().check(z.startsWith('arn:')),
  modelPackageGroupName: z.string().check(z.minLength(1)),
  version: z.int().check(z.positive()),
  /** From the version's lineage metadata; "unknown" when it was registered outside Sluice. */
  repository: z.string().check(z.minLength(1)),
  commit: z.string().check(z.minLength(1)),
  /** Present when this run deploys to the stage. */
  staging: z.optional(stagePlan()),
  prod: z.optional(stagePlan()),
  /** manual: the run waits for a promotion (sluice promote / Model Promotion Approved / CodePipeline); auto: it goes on. */
  gate: z.strictObject({ mode: z.enum(['manual', 'auto']), timeoutSeconds: z.int().check(z.positive()) }),
  smokeTest: smokeTestPlan(),
}));

export const deployPlanSchema = z.lazy(deployPlan);

export type DeployPlan = z.infer<typeof deployPlanSchema>;

/** Input of every per-stage task (create-model, create-endpoint-config, ensure-alarms, smoke-test, finish-stage). */
const stageTaskInput = () =>
  once('stageTaskInput', () =>
    z.strictObject({
      executionArn: z.string().check(z.startsWith('arn:')),
      plan: deployPlan(),
      stage: stagePlan(),
    }),
  );

export const stageTaskInputSchema = z.lazy(stageTaskInput);

export type StageTaskInput = z.infer<typeof stageTaskInputSchema>;

/** Input of the waitForTaskToken tasks: deploy-endpoint, endpoint-lock acquire, wait-for-promotion. */
export const stageTokenTaskInputSchema = z.lazy(() => once('stageTokenTaskInput', () => z.extend(stageTaskInput(), { taskToken: z.string().check(z.minLength(1)) })));

export type StageTokenTaskInput = z.infer<typeof stageTokenTaskInputSchema>;

/** Input of endpoint-lock. acquire waits (task token) for the endpoint; release hands it to the next queued run. */
export const endpointLockInputSchema = z.lazy(() =>
  once('endpointLockInput', () =>
    z.discriminatedUnion('action', [
      z.strictObject({ action: z.literal('acquire'), taskToken: z.string().check(z.minLength(1)), executionArn: z.string().check(z.startsWith('arn:')), endpointName: z.string().check(z.minLength(1)), version: z.int().check(z.positive()) }),
      z.strictObject({ action: z.literal('release'), executionArn: z.string().check(z.startsWith('arn:')), endpointName: z.string().check(z.minLength(1)) }),
    ]),
  ),
);

export type EndpointLockInput = z.infer<typeof endpointLockInputSchema>;

/** Input of prepare-deploy. */
export const prepareDeployInputSchema = z.lazy(() => once('prepareDeployInput', () => z.strictObject({ executionArn: z.string().check(z.startsWith('arn:')), request: deployRequest() })));

export type PrepareDeployInput = z.infer<typeof prepareDeployInputSchema>;

/** Input of wait-for-promotion (waitForTaskToken). */
export const promotionWaitInputSchema = z.lazy(() =>
  once('promotionWaitInput', () => z.strictObject({ executionArn: z.string().check(z.startsWith('arn:')), taskToken: z.string().check(z.minLength(1)), plan: deployPlan() })),
);

export type PromotionWaitInput = z.infer<typeof promotionWaitInputSchema>;

/** What the stage allows its endpoints. */
export interface EndpointPolicy {
  allowedEndpointInstanceTypes: readonly string[];
  maxEndpointInstanceCount: number;
}

/** The Deploy section's instance types and counts against the stage's endpoint policy. Pure. */
export function deployPolicyIssues(deploy: DeployConfig, policy: EndpointPolicy): string[] {
  const allowed = policy.allowedEndpointInstanceTypes;
  return (['Staging', 'Prod'] as const).flatMap((stage) => {
    const variant = deploy[stage];
    return [
      allowed.includes(variant.InstanceType) ? undefined : `Deploy.${stage}.InstanceType: instance type "${variant.InstanceType}" is not allowed for endpoints on this stage (allowed: ${allowed.join(', ')})`,
      variant.InitialInstanceCount <= policy.maxEndpointInstanceCount
        ? undefined
        : `Deploy.${stage}.InitialInstanceCount: ${variant.InitialInstanceCount} instances exceed this stage's maximum of ${policy.maxEndpointInstanceCount} per endpoint`,
    ].filter((issue): issue is string => issue !== undefined);
  });
}

/**
 * The `Deploy` section of a build's pipeline (its pipeline.json: mlops.yaml as the build read it),
 * checked again — the stage's endpoint policy may have changed since the build. Pure;
 * throws {@link InvalidConfigError} naming mlops.yaml, each field and the problem, including a
 * missing Deploy.
 */
export function readDeployConfig(pipeline: unknown, policy: EndpointPolicy): DeployConfig {
  const section = pipeline !== null && typeof pipeline === 'object' ? (pipeline as Record<string, unknown>).Deploy : undefined;
  if (section === undefined || section === null) throw new InvalidConfigError('mlops.yaml: Deploy: is required to deploy this model');
  const parsed = deployConfigSchema.safeParse(section, { reportInput: true });
  if (!parsed.success) throw new InvalidConfigError(`mlops.yaml: ${issueDetails(parsed.error.issues, ['Deploy']).join('; ')}`);
  const issues = deployPolicyIssues(parsed.data, policy);
  if (issues.length > 0) throw new InvalidConfigError(`mlops.yaml: ${issues.join('; ')}`);
  return parsed.data;
}
