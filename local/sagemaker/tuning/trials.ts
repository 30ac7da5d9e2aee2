import { createHash } from 'node:crypto';

import {
  type DescribeHyperParameterTuningJobResponse,
  type HyperParameterTrainingJobSummary,
  HyperParameterTuningJobObjectiveType,
  ObjectiveStatus,
  TrainingJobStatus,
} from '@aws-sdk/client-sagemaker';

import type { TrainingDescribe } from '../training-jobs';
import type { Wire } from '../types';
import { bestTrial, type TrialRecord } from './search';
import type { HyperParameters } from './space';

/**
 * The training jobs of a local tuning job as the tuning job keeps them, and what Describe and the
 * List operations derive from them: the status and objective counters, the best training job and
 * each job's HyperParameterTrainingJobSummary. Pure.
 */

export type TuningDescribe = Wire<DescribeHyperParameterTuningJobResponse>;
export type TrialSummary = Wire<HyperParameterTrainingJobSummary>;

/** One training job the tuning job launched. */
export interface Trial {
  /** `<tuning job name>-<NNN>-<8 hex>`. */
  name: string;
  /** 1-based launch order. */
  index: number;
  /** The tuned hyperparameters only (TunedHyperParameters). */
  tuned: HyperParameters;
  creationTime: number;
  /** Set once the training job ended and the tuning job took note of it. */
  ended?: { status: string; endTime?: number; failureReason?: string };
  /** The objective's final value; absent while it runs, or when the job failed or never printed it. */
  objective?: number;
  /** The objective's values in the order the job printed them (one per epoch), for early stopping. */
  curve?: number[];
  /** Stopped by the tuning job's early stopping (its objective then still counts). */
  stoppedEarly?: boolean;
}

/** How many failed training jobs without one success fail the tuning job (SageMaker: "No training job succeeded after 5 attempts."). */
export const FAILED_ATTEMPTS_LIMIT = 5;

/**
 * SageMaker's name for the `index`-th training job of a tuning job: the tuning job's name, the
 * 3-digit index and 8 hex digits. AWS draws the hex at random; locally it is a hash of the tuning
 * job's ARN, creation time and index, so a re-derived name is the same name.
 */
export function trialName(tuningJobName: string, tuningJobArn: string, creationTime: number, index: number): string {
  const suffix = createHash('sha256').update(`${tuningJobArn}\u0000${creationTime}\u0000${index}`).digest('hex').slice(0, 8);
  return `${tuningJobName}-${String(index).padStart(3, '0')}-${suffix}`;
}

/** The objective's final value in a training job's FinalMetricDataList, if it printed one. */
export function finalObjective(job: TrainingDescribe, metricName: string): number | undefined {
  const value = job.FinalMetricDataList?.find((metric) => metric.MetricName === metricName)?.Value;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Whether the trial's objective was evaluated: it ended Completed (or stopped early) with the metric. */
export function objectiveSucceeded(trial: Trial): boolean {
  if (!trial.ended || trial.objective === undefined) return false;
  return trial.ended.status === TrainingJobStatus.COMPLETED || (trial.ended.status === TrainingJobStatus.STOPPED && trial.stoppedEarly === true);
}

/** ObjectiveStatus of one trial. */
export function objectiveStatus(trial: Trial): ObjectiveStatus {
  if (!trial.ended) return ObjectiveStatus.Pending;
  return objectiveSucceeded(trial) ? ObjectiveStatus.Succeeded : ObjectiveStatus.Failed;
}

/** The trials as the search sees them: running ones pending, ended ones with their objective or failed. */
export function searchHistory(trials: readonly Trial[]): TrialRecord[] {
  return trials.map((trial) => {
    if (!trial.ended) return { hyperParameters: trial.tuned };
    return objectiveSucceeded(trial) ? { hyperParameters: trial.tuned, objective: trial.objective } : { hyperParameters: trial.tuned, failed: true };
  });
}

/** TrainingJobStatusCounters: a failed training job counts as NonRetryableError (the local runtime does not retry trials). */
export function trainingJobStatusCounters(trials: readonly Trial[]): NonNullable<TuningDescribe['TrainingJobStatusCounters']> {
  const count = (status: string) => trials.filter((trial) => trial.ended?.status === status).length;
  return {
    Completed: count(TrainingJobStatus.COMPLETED),
    InProgress: trials.filter((trial) => !trial.ended).length,
    RetryableError: 0,
    NonRetryableError: count(TrainingJobStatus.FAILED),
    Stopped: count(TrainingJobStatus.STOPPED),
  };
}

export function objectiveStatusCounters(trials: readonly Trial[]): NonNullable<TuningDescribe['ObjectiveStatusCounters']> {
  const count = (status: ObjectiveStatus) => trials.filter((trial) => objectiveStatus(trial) === status).length;
  return { Succeeded: count(ObjectiveStatus.Succeeded), Pending: count(ObjectiveStatus.Pending), Failed: count(ObjectiveStatus.Failed) };
}

/** The trial with the best evaluated objective (ties: the earliest), or undefined. */
export function bestOf(trials: readonly Trial[], objectiveType: string): Trial | undefined {
  const evaluated = trials.filter(objectiveSucceeded).map((trial) => ({ trial, hyperParameters: trial.tuned, objective: trial.objective }));
  const type = objectiveType === HyperParameterTuningJobObjectiveType.MAXIMIZE ? 'Maximize' : 'Minimize';
  return bestTrial(evaluated, type)?.trial;
}

/** Whether SageMaker's failure rule holds: FAILED_ATTEMPTS_LIMIT (or the whole budget, if smaller) training jobs ended and none succeeded. */
export function noTrialSucceeded(trials: readonly Trial[], maxNumberOfTrainingJobs: number): boolean {
  if (trials.some(objectiveSucceeded)) return false;
  return trials.filter((trial) => trial.ended).length >= Math.min(FAILED_ATTEMPTS_LIMIT, maxNumberOfTrainingJobs);
}

export function noTrialSucceededReason(trials: readonly Trial[]): string {
  const attempts = trials.filter((trial) => trial.ended).length;
  return `No training job succeeded after ${attempts} attempts. Please take a look at the training job failures to get more details.`;
}

/**
 * A trial's HyperParameterTrainingJobSummary: its training job's record (`job`, when it exists)
 * for status and times, the tuning job's note of it for the objective.
 */
export function trialSummary(trial: Trial, tuningJobName: string, job: TrainingDescribe | undefined, objective: { Type?: string; MetricName?: string }, trainingJobArn: string): TrialSummary {
  const status = job?.TrainingJobStatus ?? trial.ended?.status ?? TrainingJobStatus.IN_PROGRESS;
  const failureReason = job?.FailureReason ?? trial.ended?.failureReason;
  return {
    TrainingJobName: trial.name,
    TrainingJobArn: job?.TrainingJobArn ?? trainingJobArn,
    TuningJobName: tuningJobName,
    CreationTime: job?.CreationTime ?? trial.creationTime,
    TrainingStartTime: job?.TrainingStartTime,
    TrainingEndTime: job?.TrainingEndTime ?? trial.ended?.endTime,
    TrainingJobStatus: status as TrainingJobStatus,
    TunedHyperParameters: trial.tuned,
    ...(failureReason ? { FailureReason: failureReason } : {}),
    ...(objectiveSucceeded(trial)
      ? { FinalHyperParameterTuningJobObjectiveMetric: { ...(objective.Type ? { Type: objective.Type as HyperParameterTuningJobObjectiveType } : {}), MetricName: objective.MetricName, Value: trial.objective } }
      : {}),
    ObjectiveStatus: objectiveStatus(trial),
  };
}
