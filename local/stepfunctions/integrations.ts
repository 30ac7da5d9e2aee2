import { randomUUID } from 'node:crypto';

import { AwsServiceError } from '../http/aws-json';
import type { JsonValue } from './definition';

/**
 * Task resources, resolved by ARN the way Step Functions resolves them, and called through the
 * functions the runtime gives the service. Errors are named as Step Functions names them, so a
 * definition's Retry/Catch `ErrorEquals` behave as on AWS.
 */

/** What the runtime lets Task states call. */
export interface IntegrationTargets {
  /** Synchronous Lambda invoke; rejects with an Error named after the function's errorType for function errors. */
  invokeLambda(functionArnOrName: string, payload: unknown): Promise<unknown>;
  /** EventBridge PutEvents (Detail as a JSON string). */
  putEvents(entries: Record<string, unknown>[]): Promise<{ FailedEntryCount: number; Entries: Record<string, unknown>[] }>;
  /** Any other AWS API: service as in the ARN (`sagemaker`), action as its API operation name (`CreateTrainingJob`). */
  callService?(service: string, action: string, parameters: Record<string, unknown>): Promise<unknown>;
}

/** A Task resource ARN, classified. */
export interface ResolvedResource {
  kind: 'lambda-invoke' | 'lambda-function' | 'put-events' | 'service';
  /** As history events name it: `lambda`, `events`, `aws-sdk:sagemaker`, `sagemaker`. */
  resourceType: string;
  /** As history events name it: `invoke.waitForTaskToken`, `putEvents`, `describeTrainingJob`, or the function ARN. */
  resource: string;
  waitForTaskToken: boolean;
  /** For `service`: the ARN's service and action (camelCase, as written). */
  service?: string;
  action?: string;
  /** For `service`: the prefix of error names (`SageMaker`, `S3`, `DynamoDb`). */
  errorPrefix?: string;
}

/**
 * An error the execution cannot catch or retry (Step Functions' States.Runtime): the library reads
 * `isCatchable`/`isRetryable` from the thrown error.
 */
export class StatesRuntimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'States.Runtime';
  }

  get isCatchable(): boolean {
    return false;
  }

  get isRetryable(): boolean {
    return false;
  }
}

/** A task failure as Retry/Catch see it: `name` is the Error, `message` the Cause. */
export class TaskFailure extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

/** How Step Functions spells services in error names (S3.NoSuchKey, DynamoDb.ConditionalCheckFailedException). */
const ERROR_PREFIXES: Record<string, string> = {
  sagemaker: 'SageMaker',
  s3: 'S3',
  dynamodb: 'DynamoDb',
  lambda: 'Lambda',
  eventbridge: 'EventBridge',
  events: 'EventBridge',
  sqs: 'Sqs',
  sns: 'Sns',
  sfn: 'Sfn',
  states: 'Sfn',
  codecommit: 'CodeCommit',
  cloudwatch: 'CloudWatch',
};

function errorPrefix(service: string): string {
  return ERROR_PREFIXES[service.toLowerCase()] ?? `${service.charAt(0).toUpperCase()}${service.slice(1)}`;
}

const LAMBDA_FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?$/;
const SERVICE_ARN = /^arn:aws[a-z-]*:states:::(aws-sdk:)?([a-z0-9-]+):([A-Za-z0-9]+)(\.(waitForTaskToken|sync(:2)?))?$/;

/** Classifies a Task's Resource. Throws StatesRuntimeError for what the local runtime cannot run (activities, `.sync`). */
export function resolveResource(arn: string): ResolvedResource {
  if (LAMBDA_FUNCTION_ARN.test(arn)) return { kind: 'lambda-function', resourceType: 'lambda', resource: arn, waitForTaskToken: false };
  const match = SERVICE_ARN.exec(arn);
  if (!match) throw new StatesRuntimeError(`Task resource ${arn} is not supported by the local runtime`);
  const [, sdk, service = '', action = '', suffix, pattern] = match;
  if (pattern?.startsWith('sync')) throw new StatesRuntimeError(`Task resource ${arn}: the .sync integration pattern is not supported by the local runtime`);
  const waitForTaskToken = pattern === 'waitForTaskToken';
  const resource = `${action}${suffix ?? ''}`;
  if (!sdk && service === 'lambda' && action === 'invoke') return { kind: 'lambda-invoke', resourceType: 'lambda', resource, waitForTaskToken };
  if (!sdk && service === 'events' && action === 'putEvents') return { kind: 'put-events', resourceType: 'events', resource, waitForTaskToken };
  return { kind: 'service', resourceType: sdk ? `aws-sdk:${service}` : service, resource, waitForTaskToken, service, action, errorPrefix: errorPrefix(service) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as it crosses a JSON API: undefined fields dropped, undefined itself null. */
export function toJson(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value ?? null));
}

/**
 * The Step Functions error for a failed Lambda call. A function error keeps the function's
 * errorType as the name and a Lambda-style error payload as the cause; a failure of the Lambda
 * service itself (an AwsServiceError from the runtime, e.g. ResourceNotFoundException) becomes
 * `Lambda.<Code>`, and anything that is not an Error `Lambda.ServiceException`.
 */
export function lambdaFailure(error: unknown): TaskFailure {
  if (error instanceof AwsServiceError) return new TaskFailure(`Lambda.${error.code}`, error.message);
  if (!(error instanceof Error)) return new TaskFailure('Lambda.ServiceException', String(error));
  const trace = (error as { trace?: unknown }).trace;
  const payload: Record<string, unknown> = { errorType: error.name, errorMessage: error.message };
  if (Array.isArray(trace) && trace.length > 0) payload.trace = trace;
  return new TaskFailure(error.name, JSON.stringify(payload));
}

/** The error of a failed service call: `<Prefix>.<Code>` as Step Functions names SDK exceptions. */
function serviceFailure(prefix: string, error: unknown): TaskFailure {
  if (error instanceof AwsServiceError) return new TaskFailure(`${prefix}.${error.code}`, error.message);
  if (error instanceof Error && error.name !== 'Error') return new TaskFailure(`${prefix}.${error.name}`, error.message);
  return new TaskFailure(`${prefix}.SdkClientException`, error instanceof Error ? error.message : String(error));
}

/** lambda:invoke's result, shaped like the Lambda Invoke response Step Functions returns. */
function invokeResult(payload: JsonValue): JsonValue {
  const requestId = randomUUID();
  const headers = {
    'Content-Type': 'application/json',
    Date: new Date().toUTCString(),
    'X-Amz-Executed-Version': '$LATEST',
    'x-amzn-RequestId': requestId,
  };
  return {
    ExecutedVersion: '$LATEST',
    Payload: payload,
    SdkHttpMetadata: {
      AllHttpHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
      HttpHeaders: headers,
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
    StatusCode: 200,
  };
}

async function callLambda(targets: IntegrationTargets, functionName: string, payload: unknown): Promise<JsonValue> {
  try {
    return toJson(await targets.invokeLambda(functionName, payload));
  } catch (error) {
    throw lambdaFailure(error);
  }
}

async function putEvents(targets: IntegrationTargets, parameters: JsonValue): Promise<JsonValue> {
  if (!isRecord(parameters) || !Array.isArray(parameters.Entries)) throw new StatesRuntimeError('events:putEvents needs Parameters.Entries (an array)');
  // Step Functions takes Detail as JSON and serializes it for the PutEvents API.
  const entries = parameters.Entries.map((entry) => {
    if (!isRecord(entry)) return {};
    return entry.Detail === undefined || typeof entry.Detail === 'string' ? { ...entry } : { ...entry, Detail: JSON.stringify(entry.Detail) };
  });
  let result: { FailedEntryCount: number; Entries: Record<string, unknown>[] };
  try {
    result = await targets.putEvents(entries);
  } catch (error) {
    if (error instanceof AwsServiceError) throw new TaskFailure(`EventBridge.${error.code}`, error.message);
    throw new TaskFailure('EventBridge.EventBridgeException', error instanceof Error ? error.message : String(error));
  }
  if (result.FailedEntryCount > 0) {
    const failed = result.Entries.filter((entry) => entry.ErrorCode !== undefined);
    throw new TaskFailure('EventBridge.FailedEntry', `${result.FailedEntryCount} of ${entries.length} entries failed: ${JSON.stringify(failed)}`);
  }
  return toJson(result);
}

async function callService(targets: IntegrationTargets, resolved: ResolvedResource, parameters: JsonValue): Promise<JsonValue> {
  const service = resolved.service!;
  const action = resolved.action!;
  if (!targets.callService) throw new StatesRuntimeError(`Task resource ${resolved.resourceType}:${resolved.resource} needs a service integration the local runtime was not given`);
  const operation = `${action.charAt(0).toUpperCase()}${action.slice(1)}`;
  try {
    return toJson(await targets.callService(service, operation, isRecord(parameters) ? parameters : {}));
  } catch (error) {
    throw serviceFailure(resolved.errorPrefix!, error);
  }
}

/**
 * Calls a Task's resource with its resolved Parameters and returns the task result (before the
 * token wait of a `.waitForTaskToken` task). Throws TaskFailure named as Step Functions names it,
 * or StatesRuntimeError when the runtime cannot run the resource at all.
 */
export async function invokeResource(targets: IntegrationTargets, resolved: ResolvedResource, parameters: JsonValue): Promise<JsonValue> {
  switch (resolved.kind) {
    case 'lambda-function':
      // A bare function ARN: the state's input is the event, the function's result the task result.
      return callLambda(targets, resolved.resource, parameters);
    case 'lambda-invoke': {
      if (!isRecord(parameters) || typeof parameters.FunctionName !== 'string') throw new StatesRuntimeError('lambda:invoke needs Parameters.FunctionName (a string)');
      return invokeResult(await callLambda(targets, parameters.FunctionName, parameters.Payload ?? {}));
    }
    case 'put-events':
      return putEvents(targets, parameters);
    case 'service':
      return callService(targets, resolved, parameters);
  }
}
