import { CloudWatchLogsClient, FilterLogEventsCommand, type FilterLogEventsCommandInput } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeProcessingJobCommand, DescribeTrainingJobCommand, DescribeTransformJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DescribeExecutionCommand, ExecutionStatus, type HistoryEvent, HistoryEventType, SFNClient } from '@aws-sdk/client-sfn';

import { jobName, tuningJobName } from '../shared/naming';
import { itemStepName } from '../shared/pipeline/for-each';

import { executionArnOf } from './build-commands';
import { CliError } from './errors';
import { executionHistory, stepsOf } from './status';
import type { Target } from './target';

/**
 * `sluice logs <job | endpoint>`: a SageMaker job's or endpoint's output lines, read where SageMaker
 * puts them (CloudWatch Logs: `/aws/sagemaker/TrainingJobs` and `/aws/sagemaker/ProcessingJobs`,
 * streams `<job>/algo-1-<epoch>`; `/aws/sagemaker/Endpoints/<endpoint>`), through the Logs API — the
 * same calls against the local runtime and AWS.
 */

/** The log groups of SageMaker's jobs; a job's streams are `<job>/…`. */
const JOB_LOG_GROUPS = ['/aws/sagemaker/TrainingJobs', '/aws/sagemaker/ProcessingJobs', '/aws/sagemaker/TransformJobs'];

/** Where a name's lines may be: each job log group with the job's stream prefix, and the endpoint's group. */
export function logPlaces(name: string): { logGroupName: string; logStreamNamePrefix?: string }[] {
  return [...JOB_LOG_GROUPS.map((logGroupName) => ({ logGroupName, logStreamNamePrefix: `${name}/` })), { logGroupName: `/aws/sagemaker/Endpoints/${name}` }];
}

export interface LogLine {
  timestamp: number;
  stream: string;
  message: string;
}

/** Every line of `input`'s group (all pages); [] when the group does not exist. */
async function linesOf(client: CloudWatchLogsClient, input: FilterLogEventsCommandInput): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await client.send(new FilterLogEventsCommand({ ...input, nextToken }));
      for (const event of page.events ?? []) lines.push({ timestamp: event.timestamp ?? 0, stream: event.logStreamName ?? '', message: event.message ?? '' });
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return [];
    throw error;
  }
  return lines;
}

/**
 * The output lines of the job or endpoint `name`, oldest first. Throws, saying where it looked, when
 * there are none (a name that never ran, or nothing printed yet).
 */
export async function readLogs(target: Target, name: string): Promise<LogLine[]> {
  const client = new CloudWatchLogsClient(target.clientConfig);
  try {
    for (const place of logPlaces(name)) {
      const lines = await linesOf(client, place);
      if (lines.length > 0) return lines.sort((a, b) => a.timestamp - b.timestamp);
    }
    throw new Error(`no log lines for "${name}" in ${logPlaces(name).map((place) => place.logGroupName).join(', ')}: give a job or endpoint name (see "sluice lineage" or "sluice status")`);
  } finally {
    client.destroy();
  }
}

/** Whether job `name` still runs (InProgress or Stopping); undefined when no job has that name. */
async function jobRuns(sageMaker: SageMakerClient, name: string): Promise<boolean | undefined> {
  for (const describe of [
    async () => (await sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name }))).TrainingJobStatus,
    async () => (await sageMaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: name }))).ProcessingJobStatus,
    async () => (await sageMaker.send(new DescribeTransformJobCommand({ TransformJobName: name }))).TransformJobStatus,
  ]) {
    try {
      const status = await describe();
      return status === 'InProgress' || status === 'Stopping';
    } catch (error) {
      if (!/ResourceNotFound|ValidationException/.test((error as Error).name)) throw error;
    }
  }
  return undefined;
}

/**
 * Follows job `name`'s lines: hands each new line to `print` as it arrives (polling the Logs API every
 * `intervalMs`), and returns once the job has ended and its last lines are printed. Throws when no
 * job has that name.
 */
export async function followJobLogs(target: Target, name: string, print: (line: LogLine) => void, intervalMs = 1000): Promise<void> {
  const logs = new CloudWatchLogsClient(target.clientConfig);
  const sageMaker = new SageMakerClient(target.clientConfig);
  const seen = new Set<string>();
  const printNew = async () => {
    for (const place of logPlaces(name).slice(0, 2)) {
      for (const line of (await linesOf(logs, place)).sort((a, b) => a.timestamp - b.timestamp)) {
        const key = `${line.stream}\u0000${line.timestamp}\u0000${line.message}`;
        if (seen.has(key)) continue;
        seen.add(key);
        print(line);
      }
    }
  };
  try {
    if ((await jobRuns(sageMaker, name)) === undefined) throw new Error(`no training or processing job named "${name}": --follow follows jobs (see "sluice lineage" or "sluice status")`);
    for (;;) {
      const running = await jobRuns(sageMaker, name);
      await printNew();
      if (!running) return;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  } finally {
    logs.destroy();
    sageMaker.destroy();
  }
}

/** Whether a `sluice logs` argument names a run (an execution ARN or `<state machine>/<execution>`) rather than a job or endpoint. */
export function isRunReference(reference: string): boolean {
  return /^arn:[^:]+:states:/.test(reference) || (!reference.startsWith('arn:') && reference.includes('/'));
}

/** A job step of a run: its name and the name start-job gives its first attempt (later attempts add `-<n>`). */
export interface RunJob {
  /** The job's step: `<step>`, or `<ForEach>-<index>-<inner step>` for one item of a ForEach. */
  step: string;
  jobName: string;
  /** The name start-job gives the step's tuning job, were it a Tuning step (its training jobs' logs are under it). */
  tuningJobName: string;
  /** For one item of a ForEach: the inner step's own name (`--step <inner step>` selects every item's job). */
  innerStep?: string;
}

/**
 * The job steps a run scheduled, in order, from its history: each `waitForTaskToken` task's payload
 * (TaskScheduled parameters) names the step and the build's repository, and start-job names the job
 * from them and the run (shared/naming.ts jobName), so the run's jobs are found without listing
 * SageMaker. Inside a ForEach, the payload's item makes each item's job its own step
 * (`<ForEach>-<index>-<inner step>`). A step scheduled again (a retry, a redrive) is listed once. Pure.
 */
export function runJobs(history: readonly HistoryEvent[], executionArn: string, stagePrefix: string): RunJob[] {
  const jobs: RunJob[] = [];
  for (const event of history) {
    if (event.type !== HistoryEventType.TaskScheduled || !event.taskScheduledEventDetails?.parameters) continue;
    let payload: { taskToken?: unknown; step?: unknown; build?: { repository?: unknown }; item?: { forEach?: unknown; index?: unknown } } | undefined;
    try {
      payload = (JSON.parse(event.taskScheduledEventDetails.parameters) as { Payload?: typeof payload }).Payload;
    } catch {
      continue; // truncated parameters (over 256 KiB): not a start-job payload we can read
    }
    if (typeof payload?.taskToken !== 'string' || typeof payload.step !== 'string' || typeof payload.build?.repository !== 'string') continue;
    const item = typeof payload.item?.forEach === 'string' && typeof payload.item.index === 'number' ? { forEach: payload.item.forEach, index: payload.item.index } : undefined;
    const step = itemStepName(payload.step, item);
    if (jobs.some((job) => job.step === step)) continue;
    jobs.push({
      step,
      jobName: jobName(stagePrefix, payload.build.repository, step, executionArn),
      tuningJobName: tuningJobName(stagePrefix, payload.build.repository, step, executionArn),
      ...(item ? { innerStep: payload.step } : {}),
    });
  }
  return jobs;
}

export interface RunLogLine extends LogLine {
  step: string;
}

/** The lines of one run job, every attempt (streams `<job>/…` and `<job>-<attempt>/…` in the job groups; a tuning job's training jobs), oldest first. */
async function jobLines(logs: CloudWatchLogsClient, job: RunJob): Promise<RunLogLine[]> {
  const lines: RunLogLine[] = [];
  const places = [
    // The step's own job, every attempt (`<job>/…`, `<job>-<attempt>/…`).
    ...JOB_LOG_GROUPS.map((logGroupName) => ({ logGroupName, logStreamNamePrefix: job.jobName })),
    // A Tuning step's training jobs, `<tuning job>-<NNN>-<hex>`: SageMaker names them after it.
    { logGroupName: '/aws/sagemaker/TrainingJobs', logStreamNamePrefix: `${job.tuningJobName}-` },
  ];
  for (const place of places) {
    for (const line of await linesOf(logs, place)) lines.push({ ...line, step: job.step });
  }
  return lines;
}

/** The run's job steps, narrowed to `step` when given; throws naming the run's job steps when `step` is none of them. */
function selectJobs(jobs: RunJob[], step: string | undefined, executionArn: string): RunJob[] {
  if (step === undefined) return jobs;
  const chosen = jobs.filter((job) => job.step === step || job.innerStep === step);
  if (chosen.length === 0) {
    throw new CliError('StepNotFound', `run ${executionArn} started no job for step "${step}"${jobs.length > 0 ? `: its job steps are ${jobs.map((job) => job.step).join(', ')}` : ' (no job step has started yet)'}`);
  }
  return chosen;
}

export interface RunLogs {
  executionArn: string;
  status: string;
  /** The job steps looked at, with where their result came from when no job ran (cache or an earlier run). */
  jobs: (RunJob & { cachedFrom?: string; reusedFrom?: string })[];
  lines: RunLogLine[];
}

/**
 * `sluice logs <run> [--step <name>]`: the output lines of the jobs a run started (or of one step's
 * job), each tagged with its step, oldest first. Throws CliError StepNotFound for a step that
 * started no job; a step served from the cache has no lines (its `jobs` entry says where from).
 */
export async function readRunLogs(target: Target, reference: string, step?: string): Promise<RunLogs> {
  const executionArn = executionArnOf(reference, target);
  const sfn = new SFNClient(target.clientConfig);
  const logs = new CloudWatchLogsClient(target.clientConfig);
  try {
    const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const history = await executionHistory(sfn, executionArn);
    const provenance = new Map(stepsOf(history).map((entry) => [entry.name, entry]));
    const jobs = selectJobs(runJobs(history, executionArn, target.names.stagePrefix), step, executionArn);
    const lines: RunLogLine[] = [];
    for (const job of jobs) lines.push(...(await jobLines(logs, job)));
    return {
      executionArn,
      status: status ?? 'UNKNOWN',
      jobs: jobs.map((job) => {
        const entry = provenance.get(job.step);
        return { ...job, ...(entry?.cachedFrom ? { cachedFrom: entry.cachedFrom } : {}), ...(entry?.reusedFrom ? { reusedFrom: entry.reusedFrom } : {}) };
      }),
      lines: lines.sort((a, b) => a.timestamp - b.timestamp),
    };
  } finally {
    sfn.destroy();
    logs.destroy();
  }
}

/**
 * `sluice logs <run> --follow`: hands each new line of the run's jobs (or of `step`'s) to `print` as
 * it arrives, polling every `intervalMs`, including jobs the run starts later; returns the run's
 * final status once it has ended and its jobs' last lines are printed. A step that has not started
 * yet is waited for while the run runs.
 */
export async function followRunLogs(target: Target, reference: string, step: string | undefined, print: (line: RunLogLine) => void, intervalMs = 1000): Promise<string> {
  const executionArn = executionArnOf(reference, target);
  const sfn = new SFNClient(target.clientConfig);
  const logs = new CloudWatchLogsClient(target.clientConfig);
  const seen = new Set<string>();
  try {
    for (;;) {
      const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      const running = status === ExecutionStatus.RUNNING;
      const all = runJobs(await executionHistory(sfn, executionArn), executionArn, target.names.stagePrefix);
      const jobs = running && step !== undefined && !all.some((job) => job.step === step || job.innerStep === step) ? [] : selectJobs(all, step, executionArn);
      const fresh: RunLogLine[] = [];
      for (const job of jobs) {
        for (const line of await jobLines(logs, job)) {
          const key = `${line.stream}\u0000${line.timestamp}\u0000${line.message}`;
          if (seen.has(key)) continue;
          seen.add(key);
          fresh.push(line);
        }
      }
      for (const line of fresh.sort((a, b) => a.timestamp - b.timestamp)) print(line);
      if (!running) return status ?? 'UNKNOWN';
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  } finally {
    sfn.destroy();
    logs.destroy();
  }
}
