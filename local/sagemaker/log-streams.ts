import { randomBytes } from 'node:crypto';

/**
 * Where SageMaker puts a container's output in CloudWatch Logs, named as AWS names it: jobs in
 * `/aws/sagemaker/TrainingJobs` and `/aws/sagemaker/ProcessingJobs`, stream
 * `<job name>/algo-<instance number>-<epoch seconds the container started>`; endpoints in
 * `/aws/sagemaker/Endpoints/<endpoint name>`, stream `<variant name>/<instance id>`.
 */

/** The instance of a one-instance job, as AWS numbers them (algo-1, algo-2, …). */
const JOB_HOST = 'algo-1';

export function jobLogGroup(kind: 'processing' | 'training'): string {
  return kind === 'processing' ? '/aws/sagemaker/ProcessingJobs' : '/aws/sagemaker/TrainingJobs';
}

export function jobLogStream(jobName: string, startedAtMs: number): string {
  return `${jobName}/${JOB_HOST}-${Math.floor(startedAtMs / 1000)}`;
}

export function endpointLogGroup(endpointName: string): string {
  return `/aws/sagemaker/Endpoints/${endpointName}`;
}

/** A fresh stream per variant container: the local stand-in for an EC2 instance id (`i-` + 17 hex digits). */
export function endpointLogStream(variantName: string): string {
  return `${variantName}/i-${randomBytes(9).toString('hex').slice(0, 17)}`;
}
