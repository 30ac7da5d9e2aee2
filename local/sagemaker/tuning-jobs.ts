import { join } from 'node:path';

import {
  HyperParameterTuningJobObjectiveType,
  HyperParameterTuningJobSortByOptions,
  HyperParameterTuningJobStatus,
  SortOrder,
  TrainingJobEarlyStoppingType,
  TrainingJobSortByOptions,
  TrainingJobStatus,
} from '@aws-sdk/client-sagemaker';

import type { ServiceContext } from '../context';
import { AwsServiceError, epochSeconds, type JsonOperations } from '../http/aws-json';
import { JsonStore } from '../store/json-store';
import { eventDetail, listPage, nameKey, optionalObject, publishSageMakerEvent, readListQuery, readTags, resourceArn, validationError } from './common';
import { acceptStop, ACTIVE_STATUSES } from './job-runner';
import type { TagStore } from './tags';
import type { TrainingDescribe } from './training-jobs';
import { shouldStopEarly } from './tuning/early-stopping';
import { createTuningSearch, type TuningSearch } from './tuning/search';
import {
  bestOf,
  finalObjective,
  noTrialSucceeded,
  noTrialSucceededReason,
  objectiveStatusCounters,
  searchHistory,
  trainingJobStatusCounters,
  type Trial,
  trialName,
  trialSummary,
  type TuningDescribe,
} from './tuning/trials';

/**
 * Hyperparameter tuning jobs, locally: CreateHyperParameterTuningJob, Describe, List, Stop and
 * ListTrainingJobsForHyperParameterTuningJob over an engine that launches the tuning job's
 * training jobs through the training jobs' own CreateTrainingJob path (so each has its record,
 * events and logs), at most MaxParallelTrainingJobs at once and MaxNumberOfTrainingJobs in all,
 * each proposal asked of the search (tuning/search.ts) with every trial so far, so a Bayesian
 * search is sequential. Records are durable; a tuning job InProgress when the runtime stopped
 * carries on after a restart (its interrupted training jobs rerun as any training job does).
 */

/** EventBridge detail-type of the tuning job events (source aws.sagemaker). */
export const DETAIL_TYPE_TUNING = 'SageMaker HyperParameter Tuning Job State Change';

/** HyperParameterTuningJobName: 1–32 characters (the API's pattern). */
const TUNING_NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$/;
const TERMINAL: readonly string[] = [HyperParameterTuningJobStatus.COMPLETED, HyperParameterTuningJobStatus.FAILED, HyperParameterTuningJobStatus.STOPPED];

/** What the tuning jobs need of the training jobs (TrainingJobs provides it; unit tests a fake). */
export interface TrialLauncher {
  /** Throws the ValidationException CreateTrainingJob would answer; creates nothing. */
  validate(request: Record<string, unknown>): void;
  /** CreateTrainingJob for a training job of the tuning job `tuningJobArn`; its end comes back through trainingEnded. */
  createForTuningJob(request: Record<string, unknown>, tuningJobArn: string): void;
  /** StopTrainingJob. */
  stop(name: string): void;
  /** The training job's record. */
  find(name: string): TrainingDescribe | undefined;
}

export interface TuningDependencies {
  ctx: ServiceContext;
  tags: TagStore;
  /** True once the runtime is shutting down: nothing more is launched or recorded. */
  shuttingDown(): boolean;
}

/** A tuning job's durable record: what Describe shows (counters and best job are derived) and its training jobs. */
interface TuningRecord {
  describe: TuningDescribe;
  trials: Trial[];
  /** Why no more training jobs are launched before the budget is spent. */
  halted?: 'no-success' | 'target-reached' | 'max-runtime';
}

/** HyperParameterTuningJobConfig.TuningJobCompletionCriteria.TargetObjectiveMetricValue, if set. */
function targetValue(describe: TuningDescribe): number | undefined {
  const value = describe.HyperParameterTuningJobConfig?.TuningJobCompletionCriteria?.TargetObjectiveMetricValue;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function requireTuningName(input: Record<string, unknown>): string {
  const value = input.HyperParameterTuningJobName;
  if (typeof value !== 'string' || value === '') throw validationError("1 validation error detected: Value at 'hyperParameterTuningJobName' failed to satisfy constraint: Member must not be null");
  if (!TUNING_NAME_PATTERN.test(value)) {
    throw validationError(`1 validation error detected: Value '${value}' at 'hyperParameterTuningJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31} (1 to 32 characters)`);
  }
  return value;
}

function notFound(name: string): AwsServiceError {
  return new AwsServiceError('ResourceNotFound', `Amazon SageMaker can't find a tuning job with name ${name}`);
}

export class TuningJobs {
  private readonly store: JsonStore<TuningRecord>;
  private readonly searches = new Map<string, TuningSearch>();
  /** Objective values of running training jobs, per training job (in memory: a rerun starts its curve again). */
  private readonly curves = new Map<string, number[]>();
  private publishing: Promise<void> = Promise.resolve();
  /** ResourceLimits.MaxRuntimeInSeconds timers, per tuning job. */
  private readonly deadlines = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly deps: TuningDependencies,
    private readonly launcher: TrialLauncher,
  ) {
    this.store = new JsonStore(join(deps.ctx.dataDir, 'tuning-jobs'));
  }

  /** The operations this module serves. */
  operations(): JsonOperations {
    return {
      CreateHyperParameterTuningJob: async (input) => this.create(input),
      DescribeHyperParameterTuningJob: async (input) => this.view(this.require(requireTuningName(input))),
      ListHyperParameterTuningJobs: async (input) => this.list(input),
      ListTrainingJobsForHyperParameterTuningJob: async (input) => this.listTrainingJobs(input),
      StopHyperParameterTuningJob: async (input) => this.stop(requireTuningName(input)),
    };
  }

  /** Whether a tuning job of this name exists. */
  has(name: string): boolean {
    return this.store.get(nameKey(name)) !== undefined;
  }

  /** Resolves once every event published so far was handed to the bus. */
  async settled(): Promise<void> {
    await this.publishing;
  }

  /** Runtime shutdown: no deadline fires any more; the records stay as they are for the next boot. */
  disarm(): void {
    for (const timer of this.deadlines.values()) clearTimeout(timer);
    this.deadlines.clear();
  }

  /**
   * Boot (after the training jobs recovered theirs): a tuning job left InProgress takes note of
   * training jobs that ended unnoticed, creates any it recorded but never created, and launches
   * the rest of its budget; one left Stopping ends Stopped once its training jobs have.
   */
  async recover(): Promise<void> {
    for (const { value } of this.store.list()) {
      const status = value.describe.HyperParameterTuningJobStatus ?? '';
      if (!ACTIVE_STATUSES.includes(status)) continue;
      const name = value.describe.HyperParameterTuningJobName!;
      const pending = value.trials.filter((trial) => !trial.ended);
      for (const trial of pending) this.curves.delete(nameKey(trial.name));
      // Recorded ones first, so they keep their place before any new proposal.
      for (const trial of pending.filter((t) => !this.launcher.find(t.name))) this.launchRecorded(name, trial);
      for (const trial of pending) {
        const job = this.launcher.find(trial.name);
        if (job && !ACTIVE_STATUSES.includes(job.TrainingJobStatus ?? '')) this.trainingEnded(job);
      }
      this.armDeadline(value);
      this.advance(name);
    }
    await this.settled();
  }

  /** A training job ended (TrainingObserver): a tuning job's trial is noted, the next ones launched, the tuning job ended when all are done. Idempotent; never throws. */
  trainingEnded(job: TrainingDescribe): void {
    this.guard('trainingEnded', job, () => this.noteEnd(job));
  }

  /**
   * A training job printed a metric value (TrainingObserver). With TrainingJobEarlyStoppingType
   * Auto, each value of the objective is one epoch of its curve, and the median stopping rule
   * (tuning/early-stopping.ts) against the curves of the tuning job's earlier training jobs may
   * stop it. Never throws (it runs in the training job's output handler).
   */
  metricReported(job: TrainingDescribe, metricName: string, value: number): void {
    this.guard('metricReported', job, () => this.noteMetric(job, metricName, value));
  }

  private guard(what: string, job: TrainingDescribe, action: () => void): void {
    try {
      action();
    } catch (error) {
      this.deps.ctx.log(`sagemaker: tuning job ${what} failed`, { trainingJob: job.TrainingJobName, error: (error as Error).message });
    }
  }

  private noteEnd(job: TrainingDescribe): void {
    const name = this.tuningJobOf(job);
    if (!name || this.deps.shuttingDown()) return;
    const record = this.store.get(nameKey(name));
    const trial = record?.trials.find((t) => nameKey(t.name) === nameKey(job.TrainingJobName ?? ''));
    if (!record || !trial || trial.ended) return;
    const objective = record.describe.HyperParameterTuningJobConfig?.HyperParameterTuningJobObjective;
    trial.ended = { status: job.TrainingJobStatus ?? TrainingJobStatus.FAILED, endTime: job.TrainingEndTime, failureReason: job.FailureReason };
    trial.objective = finalObjective(job, objective?.MetricName ?? '');
    const curve = this.curves.get(nameKey(trial.name));
    if (curve?.length) trial.curve = curve;
    this.curves.delete(nameKey(trial.name));
    const search = this.search(record);
    if (!record.halted && noTrialSucceeded(record.trials, search.maxNumberOfTrainingJobs)) record.halted = 'no-success';
    const target = targetValue(record.describe);
    const best = bestOf(record.trials, objective?.Type ?? '');
    if (!record.halted && target !== undefined && best?.objective !== undefined) {
      if (objective?.Type === HyperParameterTuningJobObjectiveType.MAXIMIZE ? best.objective >= target : best.objective <= target) record.halted = 'target-reached';
    }
    record.describe.LastModifiedTime = epochSeconds();
    this.store.put(nameKey(name), record);
    // SageMaker fails the tuning job once no training job succeeded after 5 attempts: the ones still running are stopped.
    if (record.halted === 'no-success') for (const running of record.trials.filter((t) => !t.ended)) this.stopTrial(running.name);
    this.advance(name);
  }

  private noteMetric(job: TrainingDescribe, metricName: string, value: number): void {
    const name = this.tuningJobOf(job);
    if (!name) return;
    const record = this.store.get(nameKey(name));
    const config = record?.describe.HyperParameterTuningJobConfig;
    if (!record || config?.TrainingJobEarlyStoppingType !== TrainingJobEarlyStoppingType.AUTO) return;
    if (metricName !== config.HyperParameterTuningJobObjective?.MetricName) return;
    const trial = record.trials.find((t) => nameKey(t.name) === nameKey(job.TrainingJobName ?? ''));
    if (!trial || trial.ended || trial.stoppedEarly) return;
    const curve = this.curves.get(nameKey(trial.name)) ?? [];
    curve.push(value);
    this.curves.set(nameKey(trial.name), curve);
    const previous = record.trials.filter((t) => t.ended && t.curve?.length).map((t) => t.curve!);
    const objectiveType = config.HyperParameterTuningJobObjective?.Type === HyperParameterTuningJobObjectiveType.MAXIMIZE ? 'Maximize' : 'Minimize';
    if (!shouldStopEarly({ objectiveType, current: curve, previous })) return;
    trial.stoppedEarly = true;
    this.store.put(nameKey(name), record);
    this.stopTrial(trial.name);
  }

  private create(input: Record<string, unknown>): { HyperParameterTuningJobArn: string } {
    const name = requireTuningName(input);
    const config = optionalObject<Record<string, unknown>>(input, 'HyperParameterTuningJobConfig');
    if (!config) throw validationError("1 validation error detected: Value at 'hyperParameterTuningJobConfig' failed to satisfy constraint: Member must not be null");
    for (const field of ['TrainingJobDefinitions', 'WarmStartConfig', 'Autotune']) {
      if (input[field] !== undefined && input[field] !== null) throw validationError(`${field} is not supported by the local runtime (one TrainingJobDefinition, no warm start, no Autotune)`);
    }
    const definition = optionalObject<Record<string, unknown>>(input, 'TrainingJobDefinition');
    if (!definition) throw validationError("1 validation error detected: Value at 'trainingJobDefinition' failed to satisfy constraint: Member must not be null");
    const search = createTuningSearch(config, { defaultSeed: name, parameterRanges: definition.HyperParameterRanges ?? undefined });
    const objective = optionalObject<{ MetricName?: unknown }>(config, 'HyperParameterTuningJobObjective');
    if (typeof objective?.MetricName !== 'string' || objective.MetricName === '') {
      throw validationError("Value at 'HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName' failed to satisfy constraint: Member must not be null (the local runtime needs an objective metric to pick the best training job)");
    }
    const algorithm = optionalObject<{ MetricDefinitions?: unknown }>(definition, 'AlgorithmSpecification');
    const metrics = Array.isArray(algorithm?.MetricDefinitions) ? (algorithm.MetricDefinitions as { Name?: unknown }[]) : [];
    if (!metrics.some((metric) => metric?.Name === objective.MetricName)) {
      // SageMaker's own wording.
      throw validationError(`A metric is required for this hyperparameter tuning job objective. Provide a metric in the metric definitions. (${objective.MetricName} is not among TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions)`);
    }
    if (!optionalObject(definition, 'StoppingCondition')) throw validationError("1 validation error detected: Value at 'trainingJobDefinition.stoppingCondition' failed to satisfy constraint: Member must not be null");
    const statics = optionalObject<Record<string, unknown>>(definition, 'StaticHyperParameters') ?? {};
    const tunedNames = search.space.dimensions.map((d) => d.name);
    const maxRuntime = (config.ResourceLimits as { MaxRuntimeInSeconds?: unknown } | undefined)?.MaxRuntimeInSeconds;
    if (maxRuntime !== undefined && maxRuntime !== null && (typeof maxRuntime !== 'number' || !Number.isInteger(maxRuntime) || maxRuntime < 120 || maxRuntime > 15_768_000)) {
      throw validationError(`Value '${String(maxRuntime)}' at 'HyperParameterTuningJobConfig.ResourceLimits.MaxRuntimeInSeconds' failed to satisfy constraint: Member must have value between 120 and 15768000`);
    }
    const both = tunedNames.find((tuned) => Object.hasOwn(statics, tuned));
    if (both) throw validationError(`Hyperparameter '${both}' is in both TrainingJobDefinition.StaticHyperParameters and HyperParameterTuningJobConfig.ParameterRanges; a tuned hyperparameter cannot also be static.`);
    const tags = readTags(input);
    const arn = resourceArn(this.deps.ctx, 'hyper-parameter-tuning-job', name);
    const now = epochSeconds();
    const describe: TuningDescribe = {
      HyperParameterTuningJobName: name,
      HyperParameterTuningJobArn: arn,
      HyperParameterTuningJobConfig: config as TuningDescribe['HyperParameterTuningJobConfig'],
      TrainingJobDefinition: definition as TuningDescribe['TrainingJobDefinition'],
      HyperParameterTuningJobStatus: HyperParameterTuningJobStatus.IN_PROGRESS,
      CreationTime: now,
      LastModifiedTime: now,
      TrainingJobStatusCounters: undefined,
      ObjectiveStatusCounters: undefined,
    };
    const record: TuningRecord = { describe, trials: [] };
    // Every training job's request is checked now, as CreateTrainingJob would check it, so a bad definition fails Create.
    this.launcher.validate(this.trainingRequest(record, { name: trialName(name, arn, now, 1), index: 1, tuned: search.next([])!, creationTime: now }, tags));
    if (this.store.get(nameKey(name))) throw new AwsServiceError('ResourceInUse', `Tuning job name must be unique within an AWS account and region, and a tuning job with this name already exists (${arn})`);
    this.store.put(nameKey(name), record);
    this.deps.tags.put(arn, tags);
    this.publish(name);
    this.armDeadline(record);
    this.advance(name);
    return { HyperParameterTuningJobArn: arn };
  }

  private stop(name: string): Record<string, never> {
    const record = this.store.get(nameKey(name));
    if (!acceptStop('tuning', name, record ? record.describe.HyperParameterTuningJobStatus : undefined)) return {};
    record!.describe.HyperParameterTuningJobStatus = HyperParameterTuningJobStatus.STOPPING;
    record!.describe.LastModifiedTime = epochSeconds();
    this.store.put(nameKey(name), record!);
    this.publish(name);
    for (const trial of record!.trials.filter((t) => !t.ended)) this.stopTrial(trial.name);
    this.advance(name);
    return {};
  }

  /** Launches what the budget and the parallel cap allow, then ends the tuning job if nothing is left to wait for. */
  private advance(name: string): void {
    if (this.deps.shuttingDown()) return;
    const record = this.store.get(nameKey(name));
    if (!record || TERMINAL.includes(record.describe.HyperParameterTuningJobStatus ?? '')) return;
    const search = this.search(record);
    const tags = this.deps.tags.get(record.describe.HyperParameterTuningJobArn!);
    while (record.describe.HyperParameterTuningJobStatus === HyperParameterTuningJobStatus.IN_PROGRESS && !record.halted) {
      if (record.trials.filter((t) => !t.ended).length >= search.maxParallelTrainingJobs) break;
      const tuned = search.next(searchHistory(record.trials));
      if (!tuned) break;
      const index = record.trials.length + 1;
      const now = epochSeconds();
      const trial: Trial = { name: trialName(record.describe.HyperParameterTuningJobName!, record.describe.HyperParameterTuningJobArn!, record.describe.CreationTime!, index), index, tuned, creationTime: now };
      record.trials.push(trial);
      // Recorded before it is created: after a crash in between, recover() creates it.
      this.store.put(nameKey(name), record);
      try {
        this.launcher.createForTuningJob(this.trainingRequest(record, trial, tags), record.describe.HyperParameterTuningJobArn!);
      } catch (error) {
        trial.ended = { status: TrainingJobStatus.FAILED, endTime: now, failureReason: `ClientError: ${(error as Error).message}` };
        this.store.put(nameKey(name), record);
      }
    }
    this.finishIfDone(record, search);
  }

  /** Creates a training job the tuning job recorded but never created (a crash in between). */
  private launchRecorded(name: string, trial: Trial): void {
    const record = this.store.get(nameKey(name))!;
    if (record.describe.HyperParameterTuningJobStatus !== HyperParameterTuningJobStatus.IN_PROGRESS) {
      record.trials.find((t) => t.name === trial.name)!.ended = { status: TrainingJobStatus.STOPPED, endTime: epochSeconds() };
      this.store.put(nameKey(name), record);
      return;
    }
    try {
      this.launcher.createForTuningJob(this.trainingRequest(record, trial, this.deps.tags.get(record.describe.HyperParameterTuningJobArn!)), record.describe.HyperParameterTuningJobArn!);
    } catch (error) {
      record.trials.find((t) => t.name === trial.name)!.ended = { status: TrainingJobStatus.FAILED, endTime: epochSeconds(), failureReason: `ClientError: ${(error as Error).message}` };
      this.store.put(nameKey(name), record);
    }
  }

  /**
   * ResourceLimits.MaxRuntimeInSeconds, counted from CreationTime (so a restart does not extend it):
   * when it passes, no more training jobs are launched, the running ones are stopped, and the
   * tuning job ends with the best one so far.
   */
  private armDeadline(record: TuningRecord): void {
    const limit = record.describe.HyperParameterTuningJobConfig?.ResourceLimits?.MaxRuntimeInSeconds;
    if (typeof limit !== 'number') return;
    const name = record.describe.HyperParameterTuningJobName!;
    const delay = Math.max(0, ((record.describe.CreationTime ?? 0) + limit) * 1000 - Date.now());
    const timer = setTimeout(() => {
      this.deadlines.delete(nameKey(name));
      const current = this.store.get(nameKey(name));
      if (!current || current.describe.HyperParameterTuningJobStatus !== HyperParameterTuningJobStatus.IN_PROGRESS || current.halted) return;
      current.halted = 'max-runtime';
      this.store.put(nameKey(name), current);
      for (const trial of current.trials.filter((t) => !t.ended)) this.stopTrial(trial.name);
      this.advance(name);
    }, delay);
    timer.unref();
    this.deadlines.set(nameKey(name), timer);
  }

  private finishIfDone(record: TuningRecord, search: TuningSearch): void {
    if (record.trials.some((t) => !t.ended)) return;
    const name = record.describe.HyperParameterTuningJobName!;
    let status: HyperParameterTuningJobStatus;
    let failureReason: string | undefined;
    if (record.describe.HyperParameterTuningJobStatus === HyperParameterTuningJobStatus.STOPPING) {
      status = HyperParameterTuningJobStatus.STOPPED;
    } else if (!record.halted && record.trials.length < search.maxNumberOfTrainingJobs) {
      return;
    } else if (record.halted === 'no-success' || !bestOf(record.trials, search.objectiveType)) {
      status = HyperParameterTuningJobStatus.FAILED;
      failureReason = noTrialSucceededReason(record.trials);
    } else {
      status = HyperParameterTuningJobStatus.COMPLETED;
    }
    clearTimeout(this.deadlines.get(nameKey(name)));
    this.deadlines.delete(nameKey(name));
    const now = epochSeconds();
    Object.assign(record.describe, {
      HyperParameterTuningJobStatus: status,
      HyperParameterTuningEndTime: now,
      LastModifiedTime: now,
      ConsumedResources: { RuntimeInSeconds: Math.max(0, Math.round(now - (record.describe.CreationTime ?? now))) },
      ...(failureReason ? { FailureReason: failureReason } : {}),
    });
    this.store.put(nameKey(name), record);
    this.publish(name);
  }

  /** The CreateTrainingJob request of one trial: the definition, StaticHyperParameters plus the tuned values, the tuning job's tags. */
  private trainingRequest(record: TuningRecord, trial: Trial, tags: { Key: string; Value: string }[]): Record<string, unknown> {
    const { StaticHyperParameters, HyperParameterRanges: _ranges, DefinitionName: _name, TuningObjective: _objective, HyperParameterTuningResourceConfig: _resources, ...definition } = (record.describe.TrainingJobDefinition ?? {}) as Record<string, unknown>;
    return {
      ...definition,
      TrainingJobName: trial.name,
      HyperParameters: { ...(StaticHyperParameters as Record<string, string> | undefined), ...trial.tuned },
      Tags: tags,
    };
  }

  private stopTrial(name: string): void {
    try {
      this.launcher.stop(name);
    } catch (error) {
      // Already ended: its end is (or will be) noted through trainingEnded.
      this.deps.ctx.log('sagemaker: could not stop a tuning job training job', { name, error: (error as Error).message });
    }
  }

  private tuningJobOf(job: TrainingDescribe): string | undefined {
    const arn = job.TuningJobArn;
    if (!arn) return undefined;
    return /:hyper-parameter-tuning-job\/([^/]+)$/.exec(arn)?.[1];
  }

  private search(record: TuningRecord): TuningSearch {
    const key = nameKey(record.describe.HyperParameterTuningJobName!);
    let search = this.searches.get(key);
    if (!search) {
      search = createTuningSearch(record.describe.HyperParameterTuningJobConfig, {
        defaultSeed: record.describe.HyperParameterTuningJobName!,
        parameterRanges: record.describe.TrainingJobDefinition?.HyperParameterRanges ?? undefined,
      });
      this.searches.set(key, search);
    }
    return search;
  }

  private require(name: string): TuningRecord {
    const record = this.store.get(nameKey(name));
    if (!record) throw notFound(name);
    return record;
  }

  /** DescribeHyperParameterTuningJob's answer: the record with its counters and best training job derived from the trials. */
  private view(record: TuningRecord): TuningDescribe {
    const { describe, trials } = record;
    const best = bestOf(trials, describe.HyperParameterTuningJobConfig?.HyperParameterTuningJobObjective?.Type ?? '');
    return {
      ...describe,
      TrainingJobStatusCounters: trainingJobStatusCounters(trials),
      ObjectiveStatusCounters: objectiveStatusCounters(trials),
      ...(best ? { BestTrainingJob: this.summary(record, best) } : {}),
    };
  }

  private summary(record: TuningRecord, trial: Trial) {
    const objective = record.describe.HyperParameterTuningJobConfig?.HyperParameterTuningJobObjective ?? {};
    return trialSummary(trial, record.describe.HyperParameterTuningJobName!, this.launcher.find(trial.name), objective, resourceArn(this.deps.ctx, 'training-job', trial.name));
  }

  /** Publishes the tuning job's state-change event with Describe's fields as they are now; events go out in order. */
  private publish(name: string): void {
    const view = this.view(this.store.get(nameKey(name))!);
    const detail = eventDetail(view, this.deps.tags.get(view.HyperParameterTuningJobArn!));
    this.publishing = this.publishing.then(() => publishSageMakerEvent(this.deps.ctx, DETAIL_TYPE_TUNING, view.HyperParameterTuningJobArn!, detail));
  }

  private list(input: Record<string, unknown>): unknown {
    const query = readListQuery(input);
    const sortBy = query.SortBy ?? HyperParameterTuningJobSortByOptions.Name;
    if (!(Object.values(HyperParameterTuningJobSortByOptions) as string[]).includes(sortBy)) {
      throw validationError(`Value '${sortBy}' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [Name, CreationTime, Status]`);
    }
    const records = this.store.list().map(({ value }) => value);
    const { page, NextToken } = listPage(
      records,
      ({ describe }) => ({ name: describe.HyperParameterTuningJobName!, status: describe.HyperParameterTuningJobStatus, creationTime: describe.CreationTime ?? 0, lastModifiedTime: describe.LastModifiedTime }),
      { ...query, SortBy: sortBy },
    );
    return {
      HyperParameterTuningJobSummaries: page.map((record) => {
        const { describe, trials } = record;
        return {
          HyperParameterTuningJobName: describe.HyperParameterTuningJobName,
          HyperParameterTuningJobArn: describe.HyperParameterTuningJobArn,
          HyperParameterTuningJobStatus: describe.HyperParameterTuningJobStatus,
          Strategy: describe.HyperParameterTuningJobConfig?.Strategy,
          CreationTime: describe.CreationTime,
          HyperParameterTuningEndTime: describe.HyperParameterTuningEndTime,
          LastModifiedTime: describe.LastModifiedTime,
          TrainingJobStatusCounters: trainingJobStatusCounters(trials),
          ObjectiveStatusCounters: objectiveStatusCounters(trials),
          ResourceLimits: describe.HyperParameterTuningJobConfig?.ResourceLimits,
        };
      }),
      NextToken,
    };
  }

  private listTrainingJobs(input: Record<string, unknown>): unknown {
    const record = this.require(requireTuningName(input));
    const query = readListQuery(input);
    const sortBy = query.SortBy ?? TrainingJobSortByOptions.Name;
    if (!(Object.values(TrainingJobSortByOptions) as string[]).includes(sortBy)) {
      throw validationError(`Value '${sortBy}' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [Name, CreationTime, Status, FinalObjectiveMetricValue]`);
    }
    const byObjective = sortBy === TrainingJobSortByOptions.FinalObjectiveMetricValue;
    let summaries = record.trials.map((trial) => this.summary(record, trial));
    // "If the value of this field is FinalObjectiveMetricValue, any training jobs that did not return an objective metric are not listed."
    if (byObjective) summaries = summaries.filter((s) => s.FinalHyperParameterTuningJobObjectiveMetric?.Value !== undefined);
    const { page, NextToken } = listPage(
      summaries,
      // Sorting by the objective reuses listPage's numeric CreationTime key with the objective value in it.
      (s) => ({ name: s.TrainingJobName!, status: s.TrainingJobStatus, creationTime: byObjective ? s.FinalHyperParameterTuningJobObjectiveMetric!.Value! : (s.CreationTime ?? 0) }),
      { MaxResults: query.MaxResults, NextToken: query.NextToken, StatusEquals: query.StatusEquals, SortBy: byObjective ? 'CreationTime' : sortBy, SortOrder: query.SortOrder ?? SortOrder.ASCENDING },
    );
    return { TrainingJobSummaries: page, NextToken };
  }
}
