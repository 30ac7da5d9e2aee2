import { HyperParameterTuningJobObjectiveType } from '@aws-sdk/client-sagemaker';

/**
 * SageMaker's early stopping for tuning jobs (TrainingJobEarlyStoppingType Auto), as "Stop Training
 * Jobs Early" (docs.aws.amazon.com/sagemaker/latest/dg/automatic-model-tuning-early-stopping.html)
 * describes it — a median stopping rule: after each epoch, take the objective's running average of
 * every previous training job up to that epoch, and the median of those averages; if the current
 * job's value at that epoch is worse (higher when minimising, lower when maximising), stop it.
 * The guide gives no minimum number of previous jobs; locally the rule applies once at least one
 * previous job reached the epoch. Pure: the caller feeds per-epoch objective values read from logs.
 */

/** What the rule looks at. */
export interface EarlyStoppingInput {
  objectiveType: 'Minimize' | 'Maximize';
  /** The running job's objective values, one per epoch so far (the last is the current epoch). */
  current: readonly number[];
  /** Per-epoch objective values of the tuning job's previous training jobs. */
  previous: readonly (readonly number[])[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** True when the running job should be stopped now. False while it has no epoch or no previous job reached its epoch. */
export function shouldStopEarly({ objectiveType, current, previous }: EarlyStoppingInput): boolean {
  const epoch = current.length;
  if (epoch === 0) return false;
  const averages = previous
    .filter((values) => values.length >= epoch)
    .map((values) => values.slice(0, epoch).reduce((sum, v) => sum + v, 0) / epoch);
  if (averages.length === 0) return false;
  const threshold = median(averages);
  const value = current[epoch - 1] as number;
  return objectiveType === HyperParameterTuningJobObjectiveType.MAXIMIZE ? value < threshold : value > threshold;
}
