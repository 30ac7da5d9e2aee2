import type {
  DescribeHyperParameterTuningJobCommandOutput,
  DescribeProcessingJobCommandOutput,
  DescribeTrainingJobCommandOutput,
  DescribeTransformJobCommandOutput,
} from '@aws-sdk/client-sagemaker';
import { HyperParameterTuningJobStatus, ProcessingJobStatus, TrainingJobStatus, TransformJobStatus } from '@aws-sdk/client-sagemaker';
import { ExecutionStatus } from '@aws-sdk/client-sfn';

import { isolateModel, isolateProcessingJob, isolateTrainingJob, isolateTransformJob, isolateTuningJob } from '../isolation';
import { deleteJobToken, getJobToken, type JobToken, listJobTokens, putJobToken } from '../aws/dynamodb';
import {
  createHyperParameterTuningJob,
  createModel,
  createProcessingJob,
  createTrainingJob,
  createTransformJob,
  describeHyperParameterTuningJob,
  describeModel,
  describeProcessingJob,
  describeTrainingJob,
  describeTransformJob,
  stopHyperParameterTuningJob,
  stopProcessingJob,
  stopTrainingJob,
  stopTransformJob,
} from '../aws/sagemaker';
import { completeTask, describeExecution, failTask } from '../aws/sfn';
import { SageMakerCapacityError, SageMakerInternalError, SageMakerJobFailedError, SageMakerJobStoppedError } from '../errors';
import { jobName, transformModelName, tuningJobName } from '../naming';
import type { JobResult, StartJobInput } from '../schemas/task-inputs';
import { cacheKey, codeHash, durationSeconds, findCachedResult, inputHashes, keyMaterial, outputHashes, readManifest, storeCachedResult } from './cache';
import { itemStepName } from './for-each';
import { lineageTags, type ResolvedJob, resolveJob, type StageSettings } from './job-requests';
import { loadPipeline, stepOf, valueContext } from './stored-pipeline';

/**
 * The event-driven wait. start-job creates a SageMaker job and parks the task token in a table;
 * SageMaker's state-change event (or, if that is lost, the reconciler) settles the token from
 * the job's described state. A step whose result can be reused — carried over from an earlier run,
 * or found in the cache — completes its task at once without a job. Everything here is idempotent:
 * the same job name, the same token record, and a settled token counts as done.
 */

export type JobKind = Exclude<JobToken['kind'], 'endpoint'>;

/** A job as far as the token bookkeeping cares. */
export type JobOutcome =
  | { state: 'running' }
  | { state: 'missing' }
  | { state: 'completed'; output: JobResult }
  | { state: 'failed'; error: string; cause: string };

/** The tables start-job uses. */
export interface JobTables {
  tokens: string;
  cache: string;
}

export type StartOutcome =
  | { outcome: 'started'; jobName: string; kind: JobKind }
  | { outcome: 'reused'; from: string | null | undefined }
  | { outcome: 'cached'; from: string | null | undefined; cacheKey: string };

/** Attempts of one step a run may make (retries and redrives each take a new job name). */
const MAX_ATTEMPTS = 100;

/** What the token bookkeeping does with one kind of SageMaker job: name it, read its status and outcome, stop it. */
interface JobKindOperations {
  /** The job's name for one attempt of a step of a run (shared/naming.ts). Pure. */
  name(stagePrefix: string, repository: string, step: string, executionArn: string, attempt: number): string;
  /** Its status now; undefined when there is no such job. Throws RetryableError on throttling. */
  status(name: string): Promise<string | undefined>;
  /** Its outcome now. Throws RetryableError on throttling. */
  outcome(name: string): Promise<JobOutcome>;
  /** Stops it; idempotent (a job no longer running is left alone). Throws RetryableError on throttling. */
  stop(name: string): Promise<void>;
  /** Its statuses: running, and ended without success (a new attempt takes a new name). */
  inProgress: string;
  endedUnsuccessfully: readonly string[];
}

const KINDS: Readonly<Record<JobKind, JobKindOperations>> = {
  processing: {
    name: jobName,
    status: async (name) => (await describeProcessingJob(name))?.ProcessingJobStatus,
    outcome: async (name) => processingOutcome(await describeProcessingJob(name)),
    stop: stopProcessingJob,
    inProgress: ProcessingJobStatus.IN_PROGRESS,
    endedUnsuccessfully: [ProcessingJobStatus.FAILED, ProcessingJobStatus.STOPPED],
  },
  training: {
    name: jobName,
    status: async (name) => (await describeTrainingJob(name))?.TrainingJobStatus,
    outcome: async (name) => trainingOutcome(await describeTrainingJob(name)),
    stop: stopTrainingJob,
    inProgress: TrainingJobStatus.IN_PROGRESS,
    endedUnsuccessfully: [TrainingJobStatus.FAILED, TrainingJobStatus.STOPPED],
  },
  tuning: {
    name: tuningJobName,
    status: async (name) => (await describeHyperParameterTuningJob(name))?.HyperParameterTuningJobStatus,
    outcome: describeTuningOutcome,
    stop: stopHyperParameterTuningJob,
    inProgress: HyperParameterTuningJobStatus.IN_PROGRESS,
    endedUnsuccessfully: [HyperParameterTuningJobStatus.FAILED, HyperParameterTuningJobStatus.STOPPED],
  },
  transform: {
    name: jobName,
    status: async (name) => (await describeTransformJob(name))?.TransformJobStatus,
    outcome: async (name) => transformOutcome(await describeTransformJob(name)),
    stop: stopTransformJob,
    inProgress: TransformJobStatus.IN_PROGRESS,
    endedUnsuccessfully: [TransformJobStatus.FAILED, TransformJobStatus.STOPPED],
  },
};

/**
 * The job name this task attempt uses: the first attempt whose job does not exist yet or has not
 * ended Failed/Stopped. A repeated invocation finds the job its first invocation created; a retry
 * (RetryPolicies) or a redrive after a failed job moves on to a new one. Throws RetryableError on throttling.
 */
async function currentJobName(input: StartJobInput, kind: JobKind, stage: Pick<StageSettings, 'stagePrefix'>): Promise<{ name: string; attempt: number }> {
  const operations = KINDS[kind];
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const name = operations.name(stage.stagePrefix, input.build.repository, itemStepName(input.step, input.item), input.executionArn, attempt);
    const status = await operations.status(name);
    if (status === undefined || !operations.endedUnsuccessfully.includes(status)) return { name, attempt };
  }
  throw new SageMakerJobFailedError(`step ${input.step} ended unsuccessfully ${MAX_ATTEMPTS} times in ${input.executionArn}`);
}

/**
 * Creates the SageMaker job of a resolved step under the stage's isolation; a Transform step's model
 * first (described before it is created). Idempotent: what already exists counts as created.
 * Throws RetryableError on throttling, SageMakerResourceLimitError when SageMaker refuses the job.
 */
async function createJob(job: ResolvedJob, name: string, attempt: number, input: StartJobInput, stage: StageSettings): Promise<void> {
  const step = itemStepName(input.step, input.item);
  const tags = lineageTags(input.build, input.executionArn, step);
  switch (job.kind) {
    case 'processing':
      return createProcessingJob(isolateProcessingJob({ ...job.request, ProcessingJobName: name, Tags: tags }, stage.isolation));
    case 'training':
      return createTrainingJob(isolateTrainingJob({ ...job.request, TrainingJobName: name, Tags: tags }, stage.isolation));
    case 'tuning':
      return createHyperParameterTuningJob(isolateTuningJob({ ...job.request, HyperParameterTuningJobName: name, Tags: tags }, stage.isolation));
    case 'transform': {
      const modelName = transformModelName(stage.stagePrefix, input.build.repository, step, input.executionArn, attempt);
      if (!(await describeModel(modelName))) await createModel(isolateModel({ ...job.model, ModelName: modelName, Tags: tags }, stage.isolation));
      return createTransformJob(isolateTransformJob({ ...job.request, TransformJobName: name, ModelName: modelName, Tags: tags }, stage.isolation));
    }
  }
}

/**
 * Runs a job step: reuses a carried-over result, else a cached one (Cache), else starts the job and
 * records its token. The token is recorded before the job is created, so the job's completion
 * event always finds it; when the job already exists (a repeated task) the new token replaces the
 * old one and, if the job has already ended, is settled at once.
 * Throws InvalidConfigError / MetricNotFoundError for what the run cannot resolve, RetryableError on
 * throttling, SageMakerResourceLimitError when SageMaker refuses the job. Idempotent.
 */
export async function startJob(input: StartJobInput, stage: StageSettings, tables: JobTables, now = new Date()): Promise<StartOutcome> {
  const reused = Object.hasOwn(input.reuse, input.step) ? input.reuse[input.step] : undefined;
  if (reused) {
    await completeTask(input.taskToken, reused);
    return { outcome: 'reused', from: 'ReusedFrom' in reused ? reused.ReusedFrom : undefined };
  }
  const pipeline = await loadPipeline(input.build.pipelineUri);
  const spec = stepOf(pipeline, input.step, ['Processing', 'Training', 'Tuning', 'Transform'] as const);
  const job = await resolveJob(input.step, spec, input.build, valueContext(pipeline, input), stage);

  let cache: JobToken['cache'];
  if (spec.Cache) {
    const code = codeHash(await readManifest(input.build.sourceManifestUri), spec.Cache.Paths, `Steps.${input.step}.Cache.Paths`);
    const key = cacheKey(input.build.repository, keyMaterial(job, await inputHashes(job.inputs), code));
    const maxAge = durationSeconds(spec.Cache.ExpireAfter);
    const cached = await findCachedResult(tables.cache, key, maxAge, now);
    if (cached) {
      await completeTask(input.taskToken, cached);
      return { outcome: 'cached', from: cached.CachedFrom, cacheKey: key };
    }
    cache = { key, maxAgeSeconds: maxAge };
  }

  const kind: JobKind = job.kind;
  const { name, attempt } = await currentJobName(input, kind, stage);
  const createdAt = Math.floor(now.getTime() / 1000);
  await putJobToken(tables.tokens, {
    jobName: name,
    kind,
    taskToken: input.taskToken,
    executionArn: input.executionArn,
    step: itemStepName(input.step, input.item),
    createdAt,
    expiresAt: createdAt + input.build.taskTimeoutSeconds + 86_400,
    ...(cache ? { cache } : {}),
  });
  try {
    await createJob(job, name, attempt, input, stage);
  } catch (error) {
    // No job will ever settle this token: the task fails with the error instead.
    await deleteJobToken(tables.tokens, name, input.taskToken);
    throw error;
  }
  // A job that already existed may have ended already; its events are long gone.
  await settleJob(tables, name, kind, now);
  return { outcome: 'started', jobName: name, kind };
}

function iso(date: Date | undefined): string | undefined {
  return date ? date.toISOString() : undefined;
}

/** The error a failed job's FailureReason stands for: capacity and internal errors are named so RetryPolicies can retry them. */
function failureError(reason: string | undefined): string {
  if (reason?.startsWith('CapacityError')) return new SageMakerCapacityError('').name;
  if (reason?.startsWith('InternalServerError') || reason?.startsWith('InternalFailure')) return new SageMakerInternalError('').name;
  return new SageMakerJobFailedError('').name;
}

/** A job that ended Failed: the error its FailureReason stands for, and a cause naming the job and the reason. */
function failedOutcome(what: string, name: string, reason: string | undefined, detail = ''): JobOutcome {
  return { state: 'failed', error: failureError(reason), cause: `${what} ${name} failed: ${reason ?? 'no FailureReason given'}${detail}` };
}

/** A job that ended Stopped (SageMakerJobStopped), with the reason when there is one. */
function stoppedOutcome(what: string, name: string, reason: string | undefined, detail = ''): JobOutcome {
  return { state: 'failed', error: new SageMakerJobStoppedError('').name, cause: `${what} ${name} was stopped${reason ? `: ${reason}` : ''}${detail}` };
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
          Type: 'Processing',
          ProcessingJobName: name,
          ProcessingJobArn: job.ProcessingJobArn,
          Outputs: Object.fromEntries((job.ProcessingOutputConfig?.Outputs ?? []).map((o) => [o.OutputName ?? '', o.S3Output?.S3Uri ?? ''])),
          OutputHashes: {},
          StartTime: iso(start),
          EndTime: iso(end),
          DurationSeconds: start && end ? Math.round((end.getTime() - start.getTime()) / 1000) : undefined,
          CachedFrom: null,
          ReusedFrom: null,
        },
      };
    }
    case ProcessingJobStatus.FAILED:
      return failedOutcome('processing job', name, job.FailureReason);
    case ProcessingJobStatus.STOPPED:
      return stoppedOutcome('processing job', name, job.FailureReason);
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
          Type: 'Training',
          TrainingJobName: name,
          TrainingJobArn: job.TrainingJobArn,
          ModelArtifacts: job.ModelArtifacts.S3ModelArtifacts,
          FinalMetrics: Object.fromEntries((job.FinalMetricDataList ?? []).filter((m) => m.MetricName !== undefined && Number.isFinite(m.Value)).map((m) => [m.MetricName!, m.Value!])),
          TrainingTimeSeconds: job.TrainingTimeInSeconds,
          BillableTimeSeconds: job.BillableTimeInSeconds,
          StartTime: iso(job.TrainingStartTime),
          EndTime: iso(job.TrainingEndTime),
          CachedFrom: null,
          ReusedFrom: null,
        },
      };
    case TrainingJobStatus.FAILED:
      return failedOutcome('training job', name, job.FailureReason);
    case TrainingJobStatus.STOPPED:
      return stoppedOutcome('training job', name, job.FailureReason);
    default:
      return { state: 'running' };
  }
}

/**
 * Reads a tuning job's outcome from its description and its best training job's (whose model
 * artifacts the result names). A tuning job that completed without a best training job, or whose
 * best job has no model artifacts or objective value, fails the step. Pure.
 */
export function tuningOutcome(job: DescribeHyperParameterTuningJobCommandOutput | undefined, best: DescribeTrainingJobCommandOutput | undefined): JobOutcome {
  if (!job) return { state: 'missing' };
  const name = job.HyperParameterTuningJobName ?? 'unknown';
  const counters = job.TrainingJobStatusCounters;
  const counts = { Completed: counters?.Completed ?? 0, Failed: (counters?.RetryableError ?? 0) + (counters?.NonRetryableError ?? 0), Stopped: counters?.Stopped ?? 0 };
  const trials = `${counts.Completed} completed, ${counts.Failed} failed, ${counts.Stopped} stopped training jobs`;
  const failed = (cause: string): JobOutcome => ({ state: 'failed', error: new SageMakerJobFailedError('').name, cause });
  switch (job.HyperParameterTuningJobStatus) {
    case HyperParameterTuningJobStatus.COMPLETED: {
      const summary = job.BestTrainingJob;
      if (!summary?.TrainingJobName) return failed(`tuning job ${name} completed without a BestTrainingJob (${trials})`);
      const artifacts = best?.ModelArtifacts?.S3ModelArtifacts;
      if (!artifacts) return failed(`tuning job ${name}: its best training job ${summary.TrainingJobName} has no ModelArtifacts.S3ModelArtifacts`);
      const objective = summary.FinalHyperParameterTuningJobObjectiveMetric;
      if (objective?.Value === undefined || !Number.isFinite(objective.Value)) return failed(`tuning job ${name}: its best training job ${summary.TrainingJobName} has no final objective value`);
      return {
        state: 'completed',
        output: {
          Type: 'Tuning',
          HyperParameterTuningJobName: name,
          HyperParameterTuningJobArn: job.HyperParameterTuningJobArn,
          BestTrainingJob: {
            TrainingJobName: summary.TrainingJobName,
            TrainingJobArn: summary.TrainingJobArn,
            ModelArtifacts: artifacts,
            ObjectiveMetricName: objective.MetricName ?? job.HyperParameterTuningJobConfig?.HyperParameterTuningJobObjective?.MetricName ?? '',
            FinalObjectiveValue: objective.Value,
            TunedHyperParameters: summary.TunedHyperParameters ?? {},
          },
          TrainingJobCounts: counts,
          StartTime: iso(job.CreationTime),
          EndTime: iso(job.HyperParameterTuningEndTime),
          CachedFrom: null,
          ReusedFrom: null,
        },
      };
    }
    case HyperParameterTuningJobStatus.FAILED:
      return failedOutcome('tuning job', name, job.FailureReason, ` (${trials})`);
    case HyperParameterTuningJobStatus.STOPPED:
      return stoppedOutcome('tuning job', name, undefined, ` (${trials})`);
    default:
      return { state: 'running' };
  }
}

/** Describes a tuning job and, once it completed, its best training job; its outcome. Throws RetryableError on throttling. */
async function describeTuningOutcome(name: string): Promise<JobOutcome> {
  const job = await describeHyperParameterTuningJob(name);
  const bestName = job?.HyperParameterTuningJobStatus === HyperParameterTuningJobStatus.COMPLETED ? job.BestTrainingJob?.TrainingJobName : undefined;
  return tuningOutcome(job, bestName ? await describeTrainingJob(bestName) : undefined);
}

/** Reads a transform job's outcome from its description. Pure. */
export function transformOutcome(job: DescribeTransformJobCommandOutput | undefined): JobOutcome {
  if (!job) return { state: 'missing' };
  const name = job.TransformJobName ?? 'unknown';
  switch (job.TransformJobStatus) {
    case TransformJobStatus.COMPLETED: {
      const output = job.TransformOutput?.S3OutputPath;
      if (!output) return { state: 'failed', error: new SageMakerJobFailedError('').name, cause: `transform job ${name} completed without TransformOutput.S3OutputPath` };
      const start = job.TransformStartTime;
      const end = job.TransformEndTime;
      return {
        state: 'completed',
        output: {
          Type: 'Transform',
          TransformJobName: name,
          TransformJobArn: job.TransformJobArn,
          ModelName: job.ModelName ?? '',
          Output: output,
          StartTime: iso(start),
          EndTime: iso(end),
          DurationSeconds: start && end ? Math.round((end.getTime() - start.getTime()) / 1000) : undefined,
          CachedFrom: null,
          ReusedFrom: null,
        },
      };
    }
    case TransformJobStatus.FAILED:
      return failedOutcome('transform job', name, job.FailureReason);
    case TransformJobStatus.STOPPED:
      return stoppedOutcome('transform job', name, job.FailureReason);
    default:
      return { state: 'running' };
  }
}

export type SettleResult = 'untracked' | 'running' | 'missing' | 'completed' | 'failed' | 'already-settled';

/**
 * Settles the token waiting on `jobName` if the job has ended: SendTaskSuccess with the job's
 * outputs and their content hashes (and, for a cached step, records the result for later runs),
 * or SendTaskFailure with SageMakerJobFailed / SageMakerCapacityError / SageMakerInternalError /
 * SageMakerJobStopped and the reason. The job is described rather than trusting an event, so
 * duplicated or out-of-order events are harmless. Returns what it found; "untracked" for jobs
 * Sluice does not wait on. Throws RetryableError on throttling. Idempotent.
 */
export async function settleJob(tables: Pick<JobTables, 'tokens'> & Partial<Pick<JobTables, 'cache'>>, jobName: string, kind: JobKind, now = new Date()): Promise<SettleResult> {
  const token = await getJobToken(tables.tokens, jobName);
  if (!token) return 'untracked';
  if (token.kind === 'endpoint') return 'untracked';
  const outcome = await KINDS[token.kind ?? kind].outcome(jobName);
  if (outcome.state === 'running' || outcome.state === 'missing') return outcome.state;
  let delivered: boolean;
  if (outcome.state === 'completed') {
    const result = await outputHashes(outcome.output);
    if (token.cache && tables.cache) {
      // The result is as fresh as the job's end: its entry lives ExpireAfter from now.
      const createdAt = Math.floor(now.getTime() / 1000);
      const expiresAt = 'maxAgeSeconds' in token.cache ? createdAt + token.cache.maxAgeSeconds : token.cache.expiresAt;
      await storeCachedResult(tables.cache, { cacheKey: token.cache.key, result, executionArn: token.executionArn, step: token.step, createdAt, expiresAt });
    }
    delivered = await completeTask(token.taskToken, result);
  } else delivered = await failTask(token.taskToken, outcome.error, outcome.cause);
  await deleteJobToken(tables.tokens, jobName, token.taskToken);
  if (!delivered) return 'already-settled';
  return outcome.state;
}

/**
 * Stops `token`'s job when its run has ended: DescribeExecution says the run is no longer RUNNING.
 * A run Step Functions does not know is left alone (nothing says it ended). Returns whether it
 * stopped the job (stopping one that has just ended is no error: shared/aws/sagemaker.ts).
 * Throws RetryableError on throttling.
 */
async function stopOrphanedJob(token: JobToken): Promise<boolean> {
  const run = await describeExecution(token.executionArn);
  if (!run || run.status === ExecutionStatus.RUNNING) return false;
  return stopTokenJob(token);
}

/** Stops the SageMaker job a token waits on; false for an endpoint token (no job). Idempotent (shared/aws/sagemaker.ts). */
async function stopTokenJob(token: JobToken): Promise<boolean> {
  // A token of a kind this code does not know (written by a newer version) has no job it can stop.
  const operations = token.kind === 'endpoint' ? undefined : KINDS[token.kind];
  if (!operations) return false;
  await operations.stop(token.jobName);
  return true;
}

/**
 * The SageMaker jobs of a build run that ended (FAILED, TIMED_OUT, ABORTED) while they still ran —
 * the other branch of a failed Parallel, or every job of a stopped run — are stopped, so no orphaned
 * job keeps billing (on-build-status-change; reconcileJobs is the safety net when that event is lost).
 * A run's jobs in flight are the job tokens it parked; each is described before it is stopped, so a
 * job that already ended, or is stopping, is left alone. Their Stopped events then find a task token
 * the ended run no longer takes, which settling treats as done. Idempotent. Throws RetryableError on throttling.
 */
export async function stopRunJobs(executionArn: string, tokenTable: string): Promise<{ stopped: string[] }> {
  const stopped: string[] = [];
  for (const token of await listJobTokens(tokenTable)) {
    if (token.executionArn !== executionArn || token.kind === 'endpoint') continue;
    // InProgress only: a job already Stopping needs no second stop.
    const operations = KINDS[token.kind] as JobKindOperations | undefined;
    if (!operations || (await operations.status(token.jobName)) !== operations.inProgress) continue;
    if (await stopTokenJob(token)) stopped.push(token.jobName);
  }
  return { stopped };
}

export interface ReconcileReport {
  checked: number;
  settled: number;
  running: number;
  abandoned: number;
  /** Jobs still running for a run that has ended (stopped, timed out, failed): stopped, their tokens removed. */
  stopped: number;
}

/**
 * The safety net for lost events: settles every outstanding token whose job has ended. Tokens
 * younger than `minAgeSeconds` are left to the event path. A token whose job never came to exist
 * (its creation failed and the task already failed) is failed and removed once older than
 * `abandonAfterSeconds`. A job still running for a run that is no longer RUNNING (its status event,
 * which on-build-status-change stops the run's jobs on, was lost) is stopped and its token removed:
 * the ended run takes no task result, and the job would bill until its MaxRuntimeInSeconds.
 * Throws RetryableError on throttling; safe to run concurrently.
 */
export async function reconcileJobs(tables: Pick<JobTables, 'tokens'> & Partial<Pick<JobTables, 'cache'>>, minAgeSeconds: number, now = new Date(), abandonAfterSeconds = 3600): Promise<ReconcileReport> {
  const report: ReconcileReport = { checked: 0, settled: 0, running: 0, abandoned: 0, stopped: 0 };
  const nowSeconds = Math.floor(now.getTime() / 1000);
  for (const token of await listJobTokens(tables.tokens)) {
    // Endpoint deploys are reconciled by shared/deploy/endpoint.ts.
    if (token.kind === 'endpoint') continue;
    const age = nowSeconds - token.createdAt;
    if (age < minAgeSeconds) continue;
    report.checked += 1;
    const result = await settleJob(tables, token.jobName, token.kind, now);
    if (result === 'completed' || result === 'failed' || result === 'already-settled') report.settled += 1;
    else if (result === 'running') {
      if (await stopOrphanedJob(token)) {
        await deleteJobToken(tables.tokens, token.jobName, token.taskToken);
        report.stopped += 1;
      } else report.running += 1;
    }
    else if (result === 'missing' && age >= abandonAfterSeconds) {
      await failTask(token.taskToken, new SageMakerJobFailedError('').name, `job ${token.jobName} does not exist ${age} s after its task started`);
      await deleteJobToken(tables.tokens, token.jobName, token.taskToken);
      report.abandoned += 1;
    }
  }
  return report;
}
