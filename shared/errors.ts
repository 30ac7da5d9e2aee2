/**
 * Named errors. Their `name` is the contract with the state machines' `Retry`/`Catch`
 * `ErrorEquals` and with SendTaskFailure: `tests/unit/error-contract.test.ts` checks that every
 * custom name in `statemachines/*.asl.yaml` is defined here and every name here is used there.
 *
 * Retryable errors (the caller should try again later) extend {@link RetryableError};
 * everything else is terminal (trying again with the same input fails the same way).
 */

/** Base class: a Sluice error whose `name` is stable and part of the public contract. */
export abstract class SluiceError extends Error {
  /** True when the same call may succeed later (throttling, a race, a dependency not ready). */
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A transient failure of a dependency (throttling, 5xx, timeout). Retry with backoff. */
export class RetryableError extends SluiceError {
  override readonly name: string = 'RetryableError';
  readonly retryable = true;
}

/** Input that can never succeed: an event, task input or request that fails validation. */
export class InvalidInputError extends SluiceError {
  override readonly name: string = 'InvalidInput';
  readonly retryable = false;
}

/** The model repository's `mlops.yaml` is missing a required part or breaks a rule. */
export class InvalidConfigError extends SluiceError {
  override readonly name: string = 'InvalidConfig';
  readonly retryable = false;
}

/** The commit's source tree is larger than the stage allows to snapshot. */
export class SourceTooLargeError extends SluiceError {
  override readonly name: string = 'SourceTooLarge';
  readonly retryable = false;
}

/** A SageMaker job this run waited on ended `Failed`; the message carries its FailureReason. */
export class SageMakerJobFailedError extends SluiceError {
  override readonly name: string = 'SageMakerJobFailed';
  readonly retryable = false;
}

/** A SageMaker job ended Failed for lack of capacity (FailureReason `CapacityError: …`); a step's RetryPolicies may retry it. */
export class SageMakerCapacityError extends SluiceError {
  override readonly name: string = 'SageMakerCapacityError';
  readonly retryable = false;
}

/** A SageMaker job ended Failed with an internal error of SageMaker's (FailureReason `InternalServerError: …`). */
export class SageMakerInternalError extends SluiceError {
  override readonly name: string = 'SageMakerInternalError';
  readonly retryable = false;
}

/** SageMaker refused to create a job: an account limit (ResourceLimitExceeded), e.g. too many running jobs of a type. */
export class SageMakerResourceLimitError extends SluiceError {
  override readonly name: string = 'SageMakerResourceLimit';
  readonly retryable = false;
}

/** A SageMaker job this run waited on ended `Stopped` (someone or something stopped it). */
export class SageMakerJobStoppedError extends SluiceError {
  override readonly name: string = 'SageMakerJobStopped';
  readonly retryable = false;
}

/** The metric the quality gate reads is absent from evaluation.json or is not a number. */
export class MetricNotFoundError extends SluiceError {
  override readonly name: string = 'MetricNotFound';
  readonly retryable = false;
}

/** A pipeline's Fail step was reached: the default error name of Fail steps (a step may name its own). */
export class PipelineFailedError extends SluiceError {
  override readonly name: string = 'PipelineFailed';
  readonly retryable = false;
}

/** The evaluated model did not meet a Version 1 file's quality gate (its Fail step's error). */
export class QualityGateFailedError extends SluiceError {
  override readonly name: string = 'QualityGateFailed';
  readonly retryable = false;
}

/** A newer deploy of the same endpoint took this run's place in the queue (or was already queued ahead of it). */
export class DeploySupersededError extends SluiceError {
  override readonly name: string = 'DeploySuperseded';
  readonly retryable = false;
}

/** The endpoint ended Failed, OutOfService or UpdateRollbackFailed; the message carries its FailureReason. */
export class EndpointDeployFailedError extends SluiceError {
  override readonly name: string = 'EndpointDeployFailed';
  readonly retryable = false;
}

/** SageMaker rolled this run's endpoint update back (an alarm fired, or the new fleet never became healthy). */
export class DeployRolledBackError extends SluiceError {
  override readonly name: string = 'DeployRolledBack';
  readonly retryable = false;
}

/** The endpoint answered the smoke test wrongly (status, ModelError, line count, non-numeric line, latency). */
export class SmokeTestFailedError extends SluiceError {
  override readonly name: string = 'SmokeTestFailed';
  readonly retryable = false;
}

/** The smoke test body stored for this deploy is gone or is not the one planned (size or SHA-256 differ). */
export class SmokeTestBodyChangedError extends SluiceError {
  override readonly name: string = 'SmokeTestBodyChanged';
  readonly retryable = false;
}

/** A deploy was requested for a model package version that is no longer Approved. */
export class ModelPackageNotApprovedError extends SluiceError {
  override readonly name: string = 'ModelPackageNotApproved';
  readonly retryable = false;
}

/** A rollback found no other Approved version of the model package group to return to. */
export class NoApprovedVersionError extends SluiceError {
  override readonly name: string = 'NoApprovedVersion';
  readonly retryable = false;
}

/**
 * Every error name Sluice raises, and how it reaches the state machines:
 * - `retry`: thrown by a task; every Lambda task's Retry lists it;
 * - `task`: thrown by a task or sent with SendTaskFailure; ends in the Catch / failure path;
 * - `input`: set in the execution input by on-source-push (`failure.Error`), failing the run at once
 *   (statemachines/build-rejected.asl.yaml);
 * - `fail-step`: the error name of a pipeline's Fail step that Sluice itself writes (the default, and
 *   Version 1's quality gate); a Fail step may name its own.
 */
export const ERROR_NAMES = {
  RetryableError: 'retry',
  InvalidInput: 'task',
  SageMakerJobFailed: 'task',
  SageMakerJobStopped: 'task',
  SageMakerCapacityError: 'task',
  SageMakerInternalError: 'task',
  SageMakerResourceLimit: 'task',
  MetricNotFound: 'task',
  InvalidConfig: 'input',
  SourceTooLarge: 'task',
  QualityGateFailed: 'fail-step',
  PipelineFailed: 'fail-step',
  // model-deploy
  DeploySuperseded: 'task',
  EndpointDeployFailed: 'task',
  DeployRolledBack: 'task',
  SmokeTestFailed: 'task',
  SmokeTestBodyChanged: 'task',
  ModelPackageNotApproved: 'task',
  NoApprovedVersion: 'task',
} as const satisfies Record<string, 'retry' | 'task' | 'input' | 'fail-step'>;

export type ErrorName = keyof typeof ERROR_NAMES;

/** Names of AWS SDK errors that mean "slow down or try again". */
const TRANSIENT_AWS_ERRORS = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'KmsThrottlingException',
  'RequestThrottled',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalFailure',
  'InternalServerException',
  'SlowDown',
  'TimeoutError',
  'RequestTimeout',
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNREFUSED',
]);

/**
 * Wraps an AWS SDK failure: transient ones (throttling, 5xx, network) become {@link RetryableError}
 * so the state machine's Retry and Lambda's async retries handle them; others are returned as-is.
 */
export function classifyAwsError(error: unknown, context: string): unknown {
  if (!(error instanceof Error)) return error;
  const { $fault: fault, $retryable: retryable, $metadata: metadata, code } = error as {
    $fault?: string;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
    code?: string;
  };
  const transient =
    TRANSIENT_AWS_ERRORS.has(error.name) ||
    (code !== undefined && TRANSIENT_AWS_ERRORS.has(code)) ||
    fault === 'server' ||
    retryable !== undefined ||
    metadata?.httpStatusCode === 429;
  if (transient) {
    return new RetryableError(`${context}: ${error.name}: ${error.message}`, { cause: error });
  }
  return error;
}

/** True for an AWS SDK error with one of the given names (the SDK's exception `name`). */
export function isAwsError(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}
