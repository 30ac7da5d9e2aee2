import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import type { DescribeTrainingJobResponse } from '@aws-sdk/client-sagemaker';

import type { ServiceContext } from '../context';
import type { RoleCredentials, Wire } from './types';

/**
 * SageMaker's container contracts, locally: `/opt/ml` is a directory per job or endpoint variant,
 * and the environment a container would see (the training toolkit's `SM_*` variables, AWS settings
 * pointing at the local runtime) is built here.
 */

/** The one host SageMaker runs a single-instance job on. */
export const CURRENT_HOST = 'algo-1';

/** `/opt/ml` at a path boundary, wherever it appears in a value (`--out=/opt/ml/x`, `a:/opt/ml/y`). */
const OPT_ML = /\/opt\/ml(?=$|[/\s:;,'"=])/g;

/** The variables a host command needs to start at all; the host's other variables stay out, as they would of a container. */
const HOST_VARIABLES = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'TZ', 'SystemRoot'];

/** Rewrites every `/opt/ml` path in `value` to the job's directory. */
export function rewriteValue(value: string, jobDirectory: string): string {
  return value.replace(OPT_ML, jobDirectory);
}

/** A container path (e.g. a LocalPath) as a host path under the job directory. */
export function rewritePath(path: string, jobDirectory: string): string {
  return rewriteValue(path, jobDirectory);
}

/** Rewrites `/opt/ml` in every value of an environment. */
export function rewriteEnvironment(environment: Record<string, string>, jobDirectory: string): Record<string, string> {
  return Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, rewriteValue(value, jobDirectory)]));
}

/**
 * The host variables a command needs, plus AWS settings that point SDKs inside the job at the
 * local runtime, so a job never reaches a real AWS account by accident: the credentials of the
 * job's role session when it has one (as a SageMaker container holds its execution role's),
 * placeholder keys otherwise.
 */
export function hostEnvironment(ctx: ServiceContext, credentials?: RoleCredentials): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of HOST_VARIABLES) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return {
    ...env,
    AWS_REGION: ctx.region,
    AWS_DEFAULT_REGION: ctx.region,
    AWS_ENDPOINT_URL: ctx.endpoint,
    ...(credentials
      ? { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_SESSION_TOKEN: credentials.sessionToken }
      : { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' }),
  };
}

/** Where the training contract puts things, under the job's /opt/ml directory. */
export interface TrainingPaths {
  input: string;
  config: string;
  data: string;
  model: string;
  output: string;
  outputData: string;
  code: string;
}

export function trainingPaths(dir: string): TrainingPaths {
  return {
    input: join(dir, 'input'),
    config: join(dir, 'input', 'config'),
    data: join(dir, 'input', 'data'),
    model: join(dir, 'model'),
    output: join(dir, 'output'),
    outputData: join(dir, 'output', 'data'),
    code: join(dir, 'code'),
  };
}

/** The variables the SageMaker training toolkit sets (sagemaker-training's `SM_*`), plus TRAINING_JOB_NAME/ARN. */
export function trainingEnvironment(job: Wire<DescribeTrainingJobResponse>, paths: TrainingPaths, hyperParameters: Record<string, string>, inputDataConfig: object, resourceConfig: object): Record<string, string> {
  const channels = (job.InputDataConfig ?? []).map((channel) => channel.ChannelName!);
  // The toolkit hands user scripts the hyperparameters JSON-decoded where possible, without its own sagemaker_* keys.
  const decoded = Object.fromEntries(
    Object.entries(hyperParameters)
      .filter(([key]) => !key.startsWith('sagemaker_'))
      .map(([key, value]) => [key, decodeHyperParameter(value)]),
  );
  const env: Record<string, string> = {
    TRAINING_JOB_NAME: job.TrainingJobName!,
    TRAINING_JOB_ARN: job.TrainingJobArn!,
    SM_MODEL_DIR: paths.model,
    SM_INPUT_DIR: paths.input,
    SM_INPUT_CONFIG_DIR: paths.config,
    SM_OUTPUT_DIR: paths.output,
    SM_OUTPUT_DATA_DIR: paths.outputData,
    SM_CHANNELS: JSON.stringify(channels),
    SM_HPS: JSON.stringify(decoded),
    SM_INPUT_DATA_CONFIG: JSON.stringify(inputDataConfig),
    SM_RESOURCE_CONFIG: JSON.stringify(resourceConfig),
    SM_CURRENT_HOST: CURRENT_HOST,
    SM_HOSTS: JSON.stringify([CURRENT_HOST]),
    SM_NUM_CPUS: String(availableParallelism()),
    SM_NUM_GPUS: '0',
  };
  for (const channel of channels) env[`SM_CHANNEL_${channel.toUpperCase()}`] = join(paths.data, channel);
  for (const [key, value] of Object.entries(hyperParameters)) {
    if (!key.startsWith('sagemaker_')) env[`SM_HP_${key.toUpperCase()}`] = value;
  }
  const program = hyperParameters.sagemaker_program;
  if (program !== undefined) env.SM_USER_ENTRY_POINT = String(decodeHyperParameter(program));
  const submit = hyperParameters.sagemaker_submit_directory;
  if (submit !== undefined) env.SM_MODULE_DIR = String(decodeHyperParameter(submit));
  return env;
}

function decodeHyperParameter(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
