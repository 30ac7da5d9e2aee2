import { ProcessingJobStatus, TrainingJobStatus } from '@aws-sdk/client-sagemaker';

import { listJobTokens } from '../aws/dynamodb';
import { describeProcessingJob, describeTrainingJob, stopProcessingJob, stopTrainingJob } from '../aws/sagemaker';

/**
 * The SageMaker jobs of a build run that ended (FAILED, TIMED_OUT, ABORTED) while they still ran —
 * the other branch of a failed Parallel, or every job of a stopped run — are stopped, so no orphaned
 * job keeps billing. A run's jobs in flight are the job tokens it parked (JobTokenTable holds only
 * in-flight jobs); each is described before it is stopped, so a job that already ended is left alone.
 * Their Stopped events then find a task token the ended run no longer takes, which settling treats as
 * done. Idempotent: a job stopped already (Stopping, Stopped) is not stopped again.
 * Throws RetryableError on throttling.
 */
export async function stopRunJobs(executionArn: string, tokenTable: string): Promise<{ stopped: string[] }> {
  const tokens = (await listJobTokens(tokenTable)).filter((token) => token.executionArn === executionArn);
  const stopped: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'training') {
      const job = await describeTrainingJob(token.jobName);
      if (job?.TrainingJobStatus !== TrainingJobStatus.IN_PROGRESS) continue;
      await stopTrainingJob(token.jobName);
    } else if (token.kind === 'processing') {
      const job = await describeProcessingJob(token.jobName);
      if (job?.ProcessingJobStatus !== ProcessingJobStatus.IN_PROGRESS) continue;
      await stopProcessingJob(token.jobName);
    } else {
      continue;
    }
    stopped.push(token.jobName);
  }
  return { stopped };
}
