import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ProcessingJobStatus } from '@aws-sdk/client-sagemaker';

import type { ServiceContext } from '../context';
import { AwsServiceError } from '../http/aws-json';
import type { JsonStore } from '../store/json-store';
import { nameKey, tagMap } from './common';
import { jobLogGroup, jobLogStream } from './log-streams';
import type { ProcessExit } from './process';
import type { ContainerLaunch } from './sandbox';
import { type ContainerSupervisor, type RunningContainer, SHUTDOWN_GRACE_SECONDS } from './supervisor';
import type { TagStore } from './tags';
import type { ResolvedImage, SageMakerServiceOptions } from './types';

/**
 * What processing and training jobs share: the background run of a job, its MaxRuntimeInSeconds
 * timer, stop requests, running its container through the supervisor, and how a failed or
 * timed-out job is reported. Each job gets `<dataDir>/jobs/<name>/`, shaped like the container's
 * /opt/ml; the sandbox makes it the container's literal /opt/ml.
 */

export type JobKind = 'processing' | 'training' | 'transform';

/** A job's durable record: what Describe answers. */
export interface JobRecord<D> {
  describe: D;
}

/** What a running job's controller knows; only in memory. */
export interface RunningJob {
  child?: RunningContainer;
  stopReason?: 'stop' | 'timeout';
  timers: NodeJS.Timeout[];
}

/**
 * A job whose runtime went away while it ran (a stop, a crash, SIGKILL) runs again from the
 * beginning under the same name when the runtime is back, as SageMaker replaces a failed instance:
 * the supervisor has killed whatever the previous process left, the job directory is rebuilt, and
 * the job ends (and publishes its state-change event) as any job does. This is its status message.
 */
export const RESTART_MESSAGE = 'Restarting the job from the beginning: the local runtime restarted while it ran';
export const DEFAULT_MAX_RUNTIME_SECONDS = 86_400;
/** Statuses of a job whose container may still be running (the same strings for both kinds). */
export const ACTIVE_STATUSES: readonly string[] = [ProcessingJobStatus.IN_PROGRESS, ProcessingJobStatus.STOPPING];
const FAILURE_REASON_LIMIT = 1024;
const LOG_FOLDERS: Record<JobKind, string> = { processing: 'ProcessingJobs', training: 'TrainingJobs', transform: 'TransformJobs' };

/** What the jobs work with. */
export interface JobsDependencies {
  ctx: ServiceContext;
  options: SageMakerServiceOptions;
  tags: TagStore;
  containers: ContainerSupervisor;
}

/** A failure with a SageMaker-style FailureReason (ClientError: …, AlgorithmError: …). */
export class JobFailure extends Error {
  override readonly name = 'JobFailure';
}

/** The shared lifecycle of jobs of both kinds, keyed by kind and name. */
export class JobRunner {
  private readonly running = new Map<string, RunningJob>();
  private readonly tasks = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly deps: JobsDependencies) {}

  /** Set once shutdown() began: nothing more is recorded, records stay InProgress for the next boot. */
  get shuttingDown(): boolean {
    return this.stopping;
  }

  /** Starts `run` in the background; its promise is kept so shutdown can wait for it. */
  launch(kind: JobKind, name: string, run: () => Promise<void>): void {
    const task: Promise<void> = run()
      .catch((error: unknown) => this.deps.ctx.log('sagemaker: job controller failed', { kind, name, error: (error as Error).message }))
      .finally(() => {
        this.tasks.delete(task);
        const key = runningKey(kind, name);
        for (const timer of this.running.get(key)?.timers ?? []) clearTimeout(timer);
        this.running.delete(key);
      });
    this.tasks.add(task);
  }

  /** Registers a running job and arms its MaxRuntimeInSeconds timer. */
  track(kind: JobKind, name: string, maxRuntimeSeconds = DEFAULT_MAX_RUNTIME_SECONDS): RunningJob {
    const state: RunningJob = { timers: [] };
    this.running.set(runningKey(kind, name), state);
    state.timers.push(setTimeout(() => this.requestStop(kind, name, 'timeout'), maxRuntimeSeconds * 1000));
    return state;
  }

  /** SIGTERM to the job's container now, SIGKILL after the stop grace (SageMaker's stop). A job not running is left alone. */
  requestStop(kind: JobKind, name: string, reason: 'stop' | 'timeout'): void {
    const state = this.running.get(runningKey(kind, name));
    if (!state || state.stopReason) return;
    state.stopReason = reason;
    void state.child?.stop();
  }

  /**
   * Runs the container (in the service's sandbox) to its end. Returns undefined when there is
   * nothing to record: the runtime is shutting down (the record stays InProgress for recover()).
   * A stop requested before the process started returns a synthetic exit and never starts it.
   * Throws JobFailure when the command could not be started at all.
   */
  async execute(kind: JobKind, name: string, state: RunningJob, container: ContainerLaunch & { onLine?: (line: string) => void }): Promise<ProcessExit | undefined> {
    if (this.stopping) return undefined;
    if (state.stopReason) return { code: null, signal: 'SIGTERM', stderrTail: '' };
    const logFile = join(this.deps.ctx.dataDir, 'logs', LOG_FOLDERS[kind], `${name}.log`);
    const group = jobLogGroup(kind);
    const stream = jobLogStream(name, Date.now());
    const child = this.deps.containers.launch(`${kind}-job.${nameKey(name)}`, {
      ...container,
      logFile,
      onLine: (line) => {
        this.deps.options.logs?.put(group, stream, line);
        container.onLine?.(line);
      },
    });
    state.child = child;
    const exit = await child.done;
    if (this.stopping) return undefined;
    if (exit.spawnError) throw new JobFailure(`ClientError: could not start ${container.command[0] ?? '(empty command)'}: ${exit.spawnError.message}`);
    return exit;
  }

  /** The local command for the job's image; JobFailure (ClientError) when it has none. */
  async resolve(imageUri: string, purpose: 'processing' | 'training', arn: string): Promise<ResolvedImage> {
    try {
      return await this.deps.options.resolveImage({ imageUri, purpose, tags: tagMap(this.deps.tags.get(arn)) });
    } catch (error) {
      throw new JobFailure(`ClientError: image ${imageUri} has no local command: ${(error as Error).message}`);
    }
  }

  /** The host directory that is the job's /opt/ml. */
  jobDirectory(name: string): string {
    return join(this.deps.ctx.dataDir, 'jobs', name);
  }

  /**
   * Shutdown: every job's container is stopped with the shutdown grace; the records stay
   * InProgress, so the next start() runs them again (RESTART_MESSAGE).
   */
  async shutdown(): Promise<void> {
    this.stopping = true;
    const graceMs = (this.deps.options.shutdownGraceSeconds ?? SHUTDOWN_GRACE_SECONDS) * 1000;
    for (const job of this.running.values()) void job.child?.stop(graceMs);
    await Promise.allSettled([...this.tasks]);
  }
}

function runningKey(kind: JobKind, name: string): string {
  return `${kind}:${nameKey(name)}`;
}

/** Applies `change` to the job's record, if it exists. */
export function updateJob<D>(store: JsonStore<JobRecord<D>>, name: string, change: (describe: D) => void): void {
  const record = store.get(nameKey(name));
  if (!record) return;
  change(record.describe);
  store.put(nameKey(name), record);
}

/**
 * What every Stop<Kind>Job answers before stopping anything (`status`: the job's, undefined when
 * there is no such job): ResourceNotFound for an unknown job, nothing to do (false) for one already
 * Stopping, ValidationException for any other status but InProgress. True: stop it now.
 */
export function acceptStop(kind: JobKind | 'tuning', name: string, status: string | undefined): boolean {
  if (status === undefined) throw new AwsServiceError('ResourceNotFound', `Could not find requested job with name ${name}`);
  if (status === ProcessingJobStatus.STOPPING) return false;
  if (status !== ProcessingJobStatus.IN_PROGRESS) throw new AwsServiceError('ValidationException', `The request was rejected because the ${kind} job is in status ${status}.`);
  return true;
}

export function jobExists(arn: string): AwsServiceError {
  return new AwsServiceError('ResourceInUse', `Job name must be unique within an AWS account and region, and a job with this name already exists (${arn})`);
}

export function maxRuntimeReason(seconds: number | undefined): string {
  return `MaxRuntimeExceeded: the job ran longer than StoppingCondition.MaxRuntimeInSeconds (${seconds ?? DEFAULT_MAX_RUNTIME_SECONDS} s) and was stopped`;
}

/**
 * FailureReason of a job whose container exited non-zero: the container's own account in
 * /opt/ml/output/failure when it wrote one, else the exit status and the tail of its stderr.
 */
export async function failureReason(dir: string, exit: ProcessExit, kind: JobKind): Promise<string> {
  const failureFile = join(dir, 'output', 'failure');
  if (existsSync(failureFile)) {
    const text = (await readFile(failureFile, 'utf8')).trim();
    if (text) return `AlgorithmError: ${text.slice(0, FAILURE_REASON_LIMIT)}`;
  }
  const status = exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal ?? 'unknown'}`;
  const tail = exit.stderrTail.trim();
  return `AlgorithmError: the ${kind} container exited with ${status}${tail ? `. stderr (last ${Buffer.byteLength(tail)} bytes):\n${tail}` : ''}`;
}
