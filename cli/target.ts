import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { CloudFormationClient, type CloudFormationClientConfig, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { parse as parseYaml } from 'yaml';

import { stageResourcePrefix } from '../shared/naming';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION, ROOT, STAGE as LOCAL_STAGE } from '../local/context';
import { LOCAL_ARTIFACTS_BUCKET } from '../local/seed';

import { CliError } from './errors';

/**
 * Where the CLI talks to and with what: a deployed stack on AWS (the standard credential chain,
 * profile and region; names from the CloudFormation stack's Outputs) or the local runtime (its
 * endpoint, local credentials, the local stage's names). Every command takes a Target and builds
 * its clients from `clientConfig`; nothing else in cli/ knows which side it is on.
 */

/** The names of one deployed stage, as its stack's Outputs give them (serverless.yml `Outputs:`). */
export interface StageNames {
  /** `<service>-<stage>`: the bus of the stage. */
  eventBusName: string;
  artifactsBucket: string;
  /** `<service>-<stage>-build-`: every compiled pipeline's state machine starts with it. */
  buildStateMachinePrefix: string;
  /** `<service>-<stage>-model-deploy`. */
  deployStateMachineName: string;
  /** `<service>-<stage>`: what shared/naming.ts takes as `stagePrefix` (job names, model package groups). */
  stagePrefix: string;
  /** `<service>-<stage>--`: the start of every SageMaker resource name of the stage. */
  resourcePrefix: string;
}

export interface Target {
  kind: 'aws' | 'local';
  /** `sluice-<stage>`. */
  stackName: string;
  stage: string;
  region: string;
  accountId: string;
  partition: string;
  /** The local runtime's URL; undefined on AWS (the SDK's own endpoints). */
  endpoint?: string;
  names: StageNames;
  /** What every SDK client of a command is built with. */
  clientConfig: {
    region: string;
    endpoint?: string;
    credentials: NonNullable<CloudFormationClientConfig['credentials']>;
  };
}

/** The flags every command takes to choose its target. */
export interface TargetFlags {
  endpoint?: string;
  'data-dir'?: string;
  stage?: string;
  region?: string;
  profile?: string;
}

/** parseArgs options for TargetFlags (spread into each command's options). */
export const TARGET_OPTIONS = {
  endpoint: { type: 'string' },
  'data-dir': { type: 'string' },
  stage: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
} as const;

export const DEFAULT_STAGE = 'dev';

/** The service name, from serverless.yml `service:` (the stack is `<service>-<stage>`). */
export const SERVICE = (() => {
  const service = (parseYaml(readFileSync(join(ROOT, 'serverless.yml'), 'utf8')) as { service?: unknown }).service;
  if (typeof service !== 'string' || service === '') throw new Error('serverless.yml: service must name the service');
  return service;
})();

/** A stage's names as serverless.yml makes them (`${self:service}-${sls:stage}…`); the local stage's come from here. */
export function conventionalNames(service: string, stage: string, artifactsBucket: string): StageNames {
  const stagePrefix = `${service}-${stage}`;
  return {
    eventBusName: stagePrefix,
    artifactsBucket,
    buildStateMachinePrefix: `${stagePrefix}-build-`,
    deployStateMachineName: `${stagePrefix}-model-deploy`,
    stagePrefix,
    resourcePrefix: stageResourcePrefix(stagePrefix),
  };
}

/** The local runtime at `endpoint`: local credentials, region, account and the local stage's names. */
export function localTarget(endpoint: string): Target {
  return {
    kind: 'local',
    stackName: `${SERVICE}-${LOCAL_STAGE}`,
    stage: LOCAL_STAGE,
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    partition: 'aws',
    endpoint,
    names: conventionalNames(SERVICE, LOCAL_STAGE, LOCAL_ARTIFACTS_BUCKET),
    clientConfig: { region: LOCAL_REGION, endpoint, credentials: LOCAL_CREDENTIALS },
  };
}

/**
 * The local runtime's endpoint when one is named: `--endpoint`, then the SDKs' own AWS_ENDPOINT_URL,
 * then SLUICE_ENDPOINT, then (unless `--stage`, `--profile` or `--region` ask for AWS) the runtime
 * recorded in `<data dir>/runtime.json`. Undefined means AWS.
 */
export function localEndpoint(flags: TargetFlags, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = flags.endpoint ?? env.AWS_ENDPOINT_URL;
  if (explicit) return explicit;
  if (flags.stage !== undefined || flags.profile !== undefined || flags.region !== undefined) return undefined;
  if (env.SLUICE_ENDPOINT) return env.SLUICE_ENDPOINT;
  const file = join(resolve(flags['data-dir'] ?? '.sluice'), 'runtime.json');
  if (!existsSync(file)) return undefined;
  const recorded = (JSON.parse(readFileSync(file, 'utf8')) as { endpoint?: unknown }).endpoint;
  if (typeof recorded !== 'string') throw new CliError('BadRuntimeRecord', `${file} names no endpoint: start the runtime again with "npm start" (or "sluice up"), or pass --endpoint`);
  return recorded;
}

/**
 * The region for AWS, as AWS tools choose it: `--region`, AWS_REGION, AWS_DEFAULT_REGION, then the
 * profile's `region` in the shared config file (read by the SDK itself). Throws CliError NoRegion.
 */
export async function awsRegion(flags: Pick<TargetFlags, 'region' | 'profile'>, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const given = flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (given) return given;
  const probe = new CloudFormationClient(flags.profile ? { profile: flags.profile } : {});
  try {
    return await probe.config.region();
  } catch {
    throw new CliError('NoRegion', `no AWS region: pass --region, set AWS_REGION, or set one for the profile with "aws configure${flags.profile ? ` --profile ${flags.profile}` : ''}"; for the local runtime, pass --endpoint <url> / set AWS_ENDPOINT_URL (start it with "npm start")`);
  } finally {
    probe.destroy();
  }
}

/** A stack ARN's partition, region and account: `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>`. */
export function parseStackArn(arn: string): { partition: string; region: string; accountId: string } {
  const match = /^arn:(aws[a-z-]*):cloudformation:([a-z0-9-]+):(\d{12}):stack\//.exec(arn);
  if (!match) throw new CliError('BadStack', `unexpected stack ARN "${arn}"`);
  return { partition: match[1]!, region: match[2]!, accountId: match[3]! };
}

/** The stack outputs the CLI reads (serverless.yml `Outputs:`). */
export const STACK_OUTPUTS = ['EventBusName', 'ArtifactsBucketName', 'BuildStateMachinePrefix', 'ModelDeployStateMachineArn', 'StageResourcePrefix'] as const;

/** The names from a stack's Outputs; throws naming the outputs missing (a stack deployed before they existed). */
export function namesFromOutputs(stackName: string, outputs: readonly Output[]): StageNames {
  const value = (key: string) => outputs.find((output) => output.OutputKey === key)?.OutputValue;
  const missing = STACK_OUTPUTS.filter((key) => !value(key));
  if (missing.length > 0) throw new CliError('StackOutputsMissing', `stack ${stackName} has no output ${missing.join(', ')}: deploy this version of Sluice to it ("npx serverless deploy --stage <stage>")`);
  const resourcePrefix = value('StageResourcePrefix')!;
  if (!resourcePrefix.endsWith('--')) throw new CliError('BadStack', `stack ${stackName}: StageResourcePrefix "${resourcePrefix}" does not end with "--"`);
  return {
    eventBusName: value('EventBusName')!,
    artifactsBucket: value('ArtifactsBucketName')!,
    buildStateMachinePrefix: value('BuildStateMachinePrefix')!,
    deployStateMachineName: value('ModelDeployStateMachineArn')!.split(':').at(-1)!,
    stagePrefix: resourcePrefix.slice(0, -2),
    resourcePrefix,
  };
}

/** Whether an SDK error means no credentials could be found (the provider chain ran dry). */
function isMissingCredentials(error: unknown): boolean {
  const { name, message } = error as Error;
  return name === 'CredentialsProviderError' || /could not load credentials/i.test(message ?? '');
}

/** Whether an SDK error means the credentials were found but refused (expired, wrong, or not allowed). */
function isRefusedCredentials(error: unknown): boolean {
  return /^(ExpiredToken|InvalidClientTokenId|UnrecognizedClient|SignatureDoesNotMatch|AccessDenied)/.test((error as Error).name ?? '');
}

/**
 * The deployed stage `stage` on AWS: finds credentials and region as the AWS CLI does, then reads
 * stack `<service>-<stage>` (DescribeStacks) for its names, account and region. Throws CliError
 * NoCredentials, NoRegion, StackNotFound or StackOutputsMissing, each saying what to do next.
 */
export async function awsTarget(flags: Pick<TargetFlags, 'stage' | 'region' | 'profile'>, env: NodeJS.ProcessEnv = process.env): Promise<Target> {
  const stage = flags.stage ?? DEFAULT_STAGE;
  const stackName = `${SERVICE}-${stage}`;
  const region = await awsRegion(flags, env);
  const credentials = fromNodeProviderChain(flags.profile ? { profile: flags.profile } : {});
  const cloudFormation = new CloudFormationClient({ region, credentials });
  try {
    const stack = (await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
    if (!stack?.StackId) throw new CliError('StackNotFound', notFound(stackName, region));
    const arn = parseStackArn(stack.StackId);
    return {
      kind: 'aws',
      stackName,
      stage,
      region: arn.region,
      accountId: arn.accountId,
      partition: arn.partition,
      names: namesFromOutputs(stackName, stack.Outputs ?? []),
      clientConfig: { region: arn.region, credentials },
    };
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (isMissingCredentials(error)) {
      throw new CliError('NoCredentials', `no AWS credentials found${flags.profile || env.AWS_PROFILE ? ` for profile ${flags.profile ?? env.AWS_PROFILE}` : ''}: run "aws configure" (or "aws sso login"), set AWS_PROFILE, or, for the local runtime, pass --endpoint <url> / set AWS_ENDPOINT_URL (start it with "npm start")`, error);
    }
    if (isRefusedCredentials(error)) throw new CliError('CredentialsRefused', `AWS refused the credentials (${(error as Error).name}: ${(error as Error).message}): refresh them ("aws sso login", or a new session) or choose another --profile`, error);
    if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message)) throw new CliError('StackNotFound', notFound(stackName, region), error);
    throw error;
  } finally {
    cloudFormation.destroy();
  }
}

function notFound(stackName: string, region: string): string {
  return `stack ${stackName} not found in ${region}: name the deployed stage with --stage <stage> (default ${DEFAULT_STAGE}) and its region with --region, or deploy it with "npx serverless deploy --stage <stage>"`;
}

/**
 * The target of a command: the local runtime when an endpoint is named (localEndpoint), else the
 * deployed stage on AWS (awsTarget) — as AWS tools choose: an explicit endpoint wins.
 */
export async function resolveTarget(flags: TargetFlags, env: NodeJS.ProcessEnv = process.env): Promise<Target> {
  const endpoint = localEndpoint(flags, env);
  return endpoint ? localTarget(endpoint) : awsTarget(flags, env);
}
