import { type JsonOperations } from '../http/aws-json';
import { JobRunner, type JobsDependencies } from './job-runner';
import { ProcessingJobs } from './processing-jobs';
import { TrainingJobs } from './training-jobs';

export { RESTART_MESSAGE, type JobsDependencies } from './job-runner';
export { DETAIL_TYPE_PROCESSING } from './processing-jobs';
export { DETAIL_TYPE_TRAINING } from './training-jobs';

/**
 * Processing and training jobs, run as sandboxed local processes under SageMaker's container
 * contracts: the operations of both kinds (processing-jobs.ts, training-jobs.ts) over one shared
 * lifecycle (job-runner.ts). Jobs run after Create returns; their records are durable, their
 * processes are not: a job cut short by a restart runs again from the beginning (see `recover`).
 */
export class JobController {
  private readonly runner: JobRunner;
  private readonly processing: ProcessingJobs;
  private readonly training: TrainingJobs;

  constructor(deps: JobsDependencies) {
    this.runner = new JobRunner(deps);
    this.processing = new ProcessingJobs(deps, this.runner);
    this.training = new TrainingJobs(deps, this.runner);
  }

  /** The operations this module serves. */
  operations(): JsonOperations {
    return { ...this.processing.operations(), ...this.training.operations() };
  }

  /** Whether `arn` names a job this service knows (for AddTags/ListTags). */
  hasResource(arn: string): boolean {
    const match = /:(processing|training)-job\/([^/]+)$/.exec(arn);
    if (!match) return false;
    return (match[1] === 'processing' ? this.processing : this.training).has(match[2]!);
  }

  /**
   * Boot: a job the previous runtime left InProgress has lost its process (the supervisor has
   * killed what was left of it) and runs again from the beginning under the same name; one left
   * Stopping ends Stopped. Either way it ends with its state-change event.
   */
  async recover(): Promise<void> {
    await this.processing.recover();
    await this.training.recover();
  }

  /** Stops every job's container with the shutdown grace; the records stay InProgress for the next boot. */
  async shutdown(): Promise<void> {
    await this.runner.shutdown();
  }
}
