import { randomBytes } from 'node:crypto';

/**
 * Where SageMaker puts a container's output in CloudWatch Logs, named as AWS names it: jobs in
 * `/aws/sagemaker/TrainingJobs` and `/aws/sagemaker/ProcessingJobs`, stream
 * `<job name>/algo-<instance number>-<epoch seconds the container started>`; endpoints in
 * `/aws/sagemaker/Endpoints/<endpoint name>`, stream `<variant name>/<instance id>`.
 */

/** The instance of a one-instance job, as AWS numbers them (algo-1, algo-2, …). */
const JOB_HOST = 'algo-1';

const JOB_LOG_GROUPS = { processing: '/aws/sagemaker/ProcessingJobs', training: '/aws/sagemaker/TrainingJobs', transform: '/aws/sagemaker/TransformJobs' } as const;

export function jobLogGroup(kind: keyof typeof JOB_LOG_GROUPS): string {
  return JOB_LOG_GROUPS[kind];
}

export function jobLogStream(jobName: string, startedAtMs: number): string {
  return `${jobName}/${JOB_HOST}-${Math.floor(startedAtMs / 1000)}`;
}

/**
 * A transform job's container stream: `<job name>/<instance id>-<epoch seconds it started>`; the
 * runtime's own account of each object goes to the same name plus `/data-log`, as on AWS.
 */
export function transformLogStream(jobName: string, startedAtMs: number): string {
  return `${jobName}/${instanceId()}-${Math.floor(startedAtMs / 1000)}`;
}

export function endpointLogGroup(endpointName: string): string {
  return `/aws/sagemaker/Endpoints/${endpointName}`;
}

/** A fresh stream per variant container: the local stand-in for an EC2 instance id (`i-` + 17 hex digits). */
export function endpointLogStream(variantName: string): string {
  return `${variantName}/${instanceId()}`;
}

function instanceId(): string {
  return `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
}
