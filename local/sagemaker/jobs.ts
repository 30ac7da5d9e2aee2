import { type JsonOperations } from '../http/aws-json';
import { JobRunner, type JobsDependencies } from './job-runner';
import { ProcessingJobs } from './processing-jobs';
import { TrainingJobs } from './training-jobs';
import { type ModelLookup, TransformJobs } from './transform-jobs';
import { TuningJobs } from './tuning-jobs';

export { RESTART_MESSAGE, type JobsDependencies } from './job-runner';
export { DETAIL_TYPE_PROCESSING } from './processing-jobs';
export { DETAIL_TYPE_TRAINING } from './training-jobs';
export { DETAIL_TYPE_TRANSFORM, type ModelLookup } from './transform-jobs';
export { DETAIL_TYPE_TUNING } from './tuning-jobs';

/**
 * Processing, training and batch transform jobs, run as sandboxed local processes under
 * SageMaker's container contracts: the operations of each kind (processing-jobs.ts,
 * training-jobs.ts, transform-jobs.ts) over one shared lifecycle (job-runner.ts). Jobs run after Create returns; their records are durable, their
 * processes are not: a job cut short by a restart runs again from the beginning (see `recover`).
 * Hyperparameter tuning jobs (tuning-jobs.ts) launch training jobs and hear of their metrics and ends.
 */
export class JobController {
  private readonly runner: JobRunner;
  private readonly processing: ProcessingJobs;
  private readonly training: TrainingJobs;
  private readonly transform: TransformJobs;
  private readonly tuning: TuningJobs;

  /** `model`: the models transform jobs run (the hosting controller's records). */
  constructor(deps: JobsDependencies, model: ModelLookup) {
    this.runner = new JobRunner(deps);
    this.processing = new ProcessingJobs(deps, this.runner);
    this.training = new TrainingJobs(deps, this.runner, {
      metricReported: (job, metricName, value) => this.tuning.metricReported(job, metricName, value),
      trainingEnded: (job) => this.tuning.trainingEnded(job),
    });
    this.transform = new TransformJobs(deps, this.runner, model);
    this.tuning = new TuningJobs({ ctx: deps.ctx, tags: deps.tags, shuttingDown: () => this.runner.shuttingDown }, this.training);
  }

  /** The operations this module serves. */
  operations(): JsonOperations {
    return { ...this.processing.operations(), ...this.training.operations(), ...this.transform.operations(), ...this.tuning.operations() };
  }

  /** Whether `arn` names a job this service knows (for AddTags/ListTags). */
  hasResource(arn: string): boolean {
    const match = /:(processing|training|transform|hyper-parameter-tuning)-job\/([^/]+)$/.exec(arn);
    if (!match) return false;
    const kinds = { processing: this.processing, training: this.training, transform: this.transform, 'hyper-parameter-tuning': this.tuning };
    return kinds[match[1] as keyof typeof kinds].has(match[2]!);
  }

  /**
   * Boot: a job the previous runtime left InProgress has lost its process (the supervisor has
   * killed what was left of it) and runs again from the beginning under the same name; one left
   * Stopping ends Stopped. Either way it ends with its state-change event.
   */
  async recover(): Promise<void> {
    await this.processing.recover();
    await this.training.recover();
    await this.transform.recover();
    await this.tuning.recover();
  }

  /** Stops every job's container with the shutdown grace; the records stay InProgress for the next boot. */
  async shutdown(): Promise<void> {
    this.tuning.disarm();
    await this.runner.shutdown();
    await this.tuning.settled();
  }
}
