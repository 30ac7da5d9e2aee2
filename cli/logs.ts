import { CloudWatchLogsClient, FilterLogEventsCommand, type FilterLogEventsCommandInput } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeProcessingJobCommand, DescribeTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';

import { LOCAL_REGION } from '../local/context';
import { LOCAL_CREDENTIALS } from '../local/runtime';

/**
 * `sluice logs <job | endpoint>`: a SageMaker job's or endpoint's output lines, read where SageMaker
 * puts them (CloudWatch Logs: `/aws/sagemaker/TrainingJobs` and `/aws/sagemaker/ProcessingJobs`,
 * streams `<job>/algo-1-<epoch>`; `/aws/sagemaker/Endpoints/<endpoint>`), through the Logs API — the
 * same calls against the local runtime and AWS.
 */

/** Where a name's lines may be: each job log group with the job's stream prefix, and the endpoint's group. */
export function logPlaces(name: string): { logGroupName: string; logStreamNamePrefix?: string }[] {
  return [
    { logGroupName: '/aws/sagemaker/TrainingJobs', logStreamNamePrefix: `${name}/` },
    { logGroupName: '/aws/sagemaker/ProcessingJobs', logStreamNamePrefix: `${name}/` },
    { logGroupName: `/aws/sagemaker/Endpoints/${name}` },
  ];
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
export async function readLogs(endpoint: string | undefined, name: string): Promise<LogLine[]> {
  const client = new CloudWatchLogsClient({ region: LOCAL_REGION, ...(endpoint ? { endpoint, credentials: LOCAL_CREDENTIALS } : {}) });
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
export async function followJobLogs(endpoint: string | undefined, name: string, print: (line: LogLine) => void, intervalMs = 1000): Promise<void> {
  const common = { region: LOCAL_REGION, ...(endpoint ? { endpoint, credentials: LOCAL_CREDENTIALS } : {}) };
  const logs = new CloudWatchLogsClient(common);
  const sageMaker = new SageMakerClient(common);
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
