import { CloudWatchLogsClient, FilterLogEventsCommand, type FilterLogEventsCommandInput } from '@aws-sdk/client-cloudwatch-logs';

import { LOCAL_REGION } from './context';
import { LOCAL_CREDENTIALS } from './runtime';

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
