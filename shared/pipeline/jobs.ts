import type { DescribeProcessingJobCommandOutput, DescribeTrainingJobCommandOutput } from '@aws-sdk/client-sagemaker';
import { ProcessingJobStatus, TrainingJobStatus } from '@aws-sdk/client-sagemaker';

import { deleteJobToken, getJobToken, type JobToken, listJobTokens, putJobToken } from '../aws/dynamodb';
import { createProcessingJob, createTrainingJob, describeProcessingJob, describeTrainingJob } from '../aws/sagemaker';
import { completeTask, failTask } from '../aws/sfn';
import { SageMakerJobFailedError, SageMakerJobStoppedError } from '../errors';
import type { ProcessingResult, StartJobInput, TrainingResult } from '../schemas/task-inputs';
import { processingJobRequest, type StageSettings, trainingJobRequest } from './job-requests';

/**
 * The event-driven wait. start-job creates a SageMaker job and parks the task token in a table;
 * SageMaker's state-change event (or, if that is lost, the reconciler) settles the token from
 * the job's described state. Everything here is idempotent: the same job name, the same token
 * record, and a settled token counts as done.
 */

export type JobKind = Exclude<JobToken['kind'], 'endpoint'>;

/** A job as far as the token bookkeeping cares. */
export type JobOutcome =
  | { state: 'running' }
  | { state: 'missing' }
  | { state: 'completed'; output: ProcessingResult | TrainingResult }
  | { state: 'failed'; error: string; cause: string };

/**
 * Starts the step's job and records its token. The token is recorded before the job is created,
 * so the job's completion event always finds it. When the job already exists (a retried task),
 * the new token replaces the old one and, if the job has already ended, is settled at once.
 * Throws InvalidConfigError for unresolvable inputs, RetryableError on throttling. Idempotent.
 */
export async function startJob(input: StartJobInput, stage: StageSettings, tokenTable: string, now = new Date()): Promise<{ jobName: string; kind: JobKind }> {
  const step = input.step;
  const training = step === 'train' ? trainingJobRequest(input, stage) : undefined;
  const processing = step === 'train' ? undefined : processingJobRequest({ ...input, step }, stage);
  const name = training?.TrainingJobName ?? processing?.ProcessingJobName ?? '';
  const kind: JobKind = training ? 'training' : 'processing';
  const createdAt = Math.floor(now.getTime() / 1000);
  await putJobToken(tokenTable, {
    jobName: name,
    kind,
    taskToken: input.taskToken,
    executionArn: input.executionArn,
    step: input.step,
    createdAt,
    expiresAt: createdAt + input.build.taskTimeoutSeconds + 86_400,
  });
  if (training) await createTrainingJob(training);
  if (processing) await createProcessingJob(processing);
  // A job that already existed may have ended already; its events are long gone.
  await settleJob(tokenTable, name, kind);
  return { jobName: name, kind };
}

function iso(date: Date | undefined): string | undefined {
  return date ? date.toISOString() : undefined;
}

/** Reads a processing job's outcome from its description. Pure. */
export function processingOutcome(job: DescribeProcessingJobCommandOutput | undefined): JobOutcome {
  if (!job) return { state: 'missing' };
  const name = job.ProcessingJobName ?? 'unknown';
  switch (job.ProcessingJobStatus) {
    case ProcessingJobStatus.COMPLETED: {
      const start = job.ProcessingStartTime;
      const end = job.ProcessingEndTime;
      return {
        state: 'completed',
        output: {
          jobName: name,
          jobArn: job.ProcessingJobArn,
          status: 'Completed',
          outputs: Object.fromEntries((job.ProcessingOutputConfig?.Outputs ?? []).map((o) => [o.OutputName ?? '', o.S3Output?.S3Uri ?? ''])),
          startTime: iso(start),
          endTime: iso(end),
          durationSeconds: start && end ? Math.round((end.getTime() - start.getTime()) / 1000) : undefined,
        },
      };
    }
    case ProcessingJobStatus.FAILED:
      return { state: 'failed', error: new SageMakerJobFailedError('').name, cause: `processing job ${name} failed: ${job.FailureReason ?? 'no FailureReason given'}` };
    case ProcessingJobStatus.STOPPED:
      return { state: 'failed', error: new SageMakerJobStoppedError('').name, cause: `processing job ${name} was stopped${job.FailureReason ? `: ${job.FailureReason}` : ''}` };
    default:
      return { state: 'running' };
  }
}

/** Reads a training job's outcome from its description. Pure. */
export function trainingOutcome(job: DescribeTrainingJobCommandOutput | undefined): JobOutcome {
  if (!job) return { state: 'missing' };
  const name = job.TrainingJobName ?? 'unknown';
  switch (job.TrainingJobStatus) {
    case TrainingJobStatus.COMPLETED:
      if (!job.ModelArtifacts?.S3ModelArtifacts) {
        return { state: 'failed', error: new SageMakerJobFailedError('').name, cause: `training job ${name} completed without ModelArtifacts.S3ModelArtifacts` };
      }
      return {
        state: 'completed',
        output: {
          jobName: name,
          jobArn: job.TrainingJobArn,
          status: 'Completed',
          modelArtifacts: job.ModelArtifacts.S3ModelArtifacts,
          finalMetrics: (job.FinalMetricDataList ?? []).map((m) => ({ MetricName: m.MetricName ?? '', Value: m.Value ?? Number.NaN })).filter((m) => Number.isFinite(m.Value)),
          trainingTimeSeconds: job.TrainingTimeInSeconds,
          billableTimeSeconds: job.BillableTimeInSeconds,
          startTime: iso(job.TrainingStartTime),
          endTime: iso(job.TrainingEndTime),
        },
      };
    case TrainingJobStatus.FAILED:
      return { state: 'failed', error: new SageMakerJobFailedError('').name, cause: `training job ${name} failed: ${job.FailureReason ?? 'no FailureReason given'}` };
    case TrainingJobStatus.STOPPED:
      return { state: 'failed', error: new SageMakerJobStoppedError('').name, cause: `training job ${name} was stopped${job.FailureReason ? `: ${job.FailureReason}` : ''}` };
    default:
      return { state: 'running' };
  }
}

async function describeOutcome(name: string, kind: JobKind): Promise<JobOutcome> {
  return kind === 'training' ? trainingOutcome(await describeTrainingJob(name)) : processingOutcome(await describeProcessingJob(name));
}

export type SettleResult = 'untracked' | 'running' | 'missing' | 'completed' | 'failed' | 'already-settled';

/**
 * Settles the token waiting on `jobName` if the job has ended: SendTaskSuccess with the job's
 * outputs, or SendTaskFailure with SageMakerJobFailed / SageMakerJobStopped and the reason.
 * The job is described rather than trusting an event, so duplicated or out-of-order events are
 * harmless. Returns what it found; "untracked" for jobs Sluice does not wait on.
 * Throws RetryableError on throttling. Idempotent.
 */
export async function settleJob(tokenTable: string, jobName: string, kind: JobKind): Promise<SettleResult> {
  const token = await getJobToken(tokenTable, jobName);
  if (!token) return 'untracked';
  if (token.kind === 'endpoint') return 'untracked';
  const outcome = await describeOutcome(jobName, token.kind ?? kind);
  if (outcome.state === 'running' || outcome.state === 'missing') return outcome.state;
  const delivered =
    outcome.state === 'completed'
      ? await completeTask(token.taskToken, outcome.output)
      : await failTask(token.taskToken, outcome.error, outcome.cause);
  await deleteJobToken(tokenTable, jobName, token.taskToken);
  if (!delivered) return 'already-settled';
  return outcome.state;
}

export interface ReconcileReport {
  checked: number;
  settled: number;
  running: number;
  abandoned: number;
}

/**
 * The safety net for lost events: settles every outstanding token whose job has ended. Tokens
 * younger than `minAgeSeconds` are left to the event path. A token whose job never came to exist
 * (its creation failed and the task already failed) is failed and removed once older than
 * `abandonAfterSeconds`. Throws RetryableError on throttling; safe to run concurrently.
 */
export async function reconcileJobs(tokenTable: string, minAgeSeconds: number, now = new Date(), abandonAfterSeconds = 3600): Promise<ReconcileReport> {
  const report: ReconcileReport = { checked: 0, settled: 0, running: 0, abandoned: 0 };
  const nowSeconds = Math.floor(now.getTime() / 1000);
  for (const token of await listJobTokens(tokenTable)) {
    // Endpoint deploys are reconciled by shared/deploy/endpoint.ts.
    if (token.kind === 'endpoint') continue;
    const age = nowSeconds - token.createdAt;
    if (age < minAgeSeconds) continue;
    report.checked += 1;
    const result = await settleJob(tokenTable, token.jobName, token.kind);
    if (result === 'completed' || result === 'failed' || result === 'already-settled') report.settled += 1;
    else if (result === 'running') report.running += 1;
    else if (result === 'missing' && age >= abandonAfterSeconds) {
      await failTask(token.taskToken, new SageMakerJobFailedError('').name, `job ${token.jobName} does not exist ${age} s after its task started`);
      await deleteJobToken(tokenTable, token.jobName, token.taskToken);
      report.abandoned += 1;
    }
  }
  return report;
}
