/** Counting what ran at once, from the times SageMaker's Describe/List calls give. */

/** The most intervals that hold at one instant (an interval ends before another that starts at the same time). */
export function mostAtOnce(intervals: { start: number; end: number }[]): number {
  const edges = intervals.flatMap(({ start, end }) => [{ at: start, delta: 1 }, { at: end, delta: -1 }]).sort((a, b) => a.at - b.at || a.delta - b.delta);
  let running = 0;
  let most = 0;
  for (const edge of edges) {
    running += edge.delta;
    most = Math.max(most, running);
  }
  return most;
}

/**
 * The span in which a trial holds one of its tuning job's MaxParallelTrainingJobs slots: from its
 * creation (the tuner creates a trial when a slot frees) to its end. Creation, not TrainingStartTime:
 * two trials created together always share a moment, however slowly their processes start.
 */
export function trialSlot(summary: { CreationTime?: Date; TrainingEndTime?: Date }): { start: number; end: number } {
  return { start: summary.CreationTime!.getTime(), end: summary.TrainingEndTime!.getTime() };
}
