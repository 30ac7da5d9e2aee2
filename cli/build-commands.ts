import { randomUUID } from 'node:crypto';

import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, RedriveExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';

import { DETAIL_TYPES, EVENT_SOURCES } from '../shared/schemas/events';

import type { Target } from './target';

/**
 * `sluice run` and `sluice retry`: start a build by hand (`Model Build Requested` on the service bus,
 * which on-source-push turns into a run) and redrive a failed run from its failed step
 * (RedriveExecution: the steps that succeeded are not run again).
 */

/** What `sluice run` asks for: Model Build Requested's detail (shared/schemas/events.ts). */
export interface BuildRequest {
  repository: string;
  branch?: string;
  commit?: string;
  parameters?: Record<string, string | number | boolean>;
  fromStep?: string;
  sourceExecutionArn?: string;
}

/**
 * `Name=value` pairs as parameter overrides: a value that reads as a JSON number or boolean is one,
 * anything else is text (the pipeline's Parameters then check the type). Throws naming a pair without `=`.
 */
export function parseParameters(pairs: readonly string[]): Record<string, string | number | boolean> {
  const parameters: Record<string, string | number | boolean> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--param ${pair}: expected Name=value`);
    const text = pair.slice(at + 1);
    const parsed: unknown = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false)$/.test(text) ? JSON.parse(text) : text;
    parameters[pair.slice(0, at)] = parsed as string | number | boolean;
  }
  return parameters;
}

/** Publishes Model Build Requested on the stage's bus; returns its request id (the run's name is derived from it). */
export async function requestBuild(target: Target, request: BuildRequest, requestId: string = randomUUID()): Promise<string> {
  const client = new EventBridgeClient(target.clientConfig);
  try {
    const detail = { branch: 'main', ...request, requestId };
    const result = await client.send(new PutEventsCommand({ Entries: [{ EventBusName: target.names.eventBusName, Source: EVENT_SOURCES.sluice, DetailType: DETAIL_TYPES.modelBuildRequested, Detail: JSON.stringify(detail) }] }));
    if (result.FailedEntryCount) throw new Error(`build request not accepted: ${result.Entries?.[0]?.ErrorCode}: ${result.Entries?.[0]?.ErrorMessage}`);
    return requestId;
  } finally {
    client.destroy();
  }
}

/** A run as `sluice status` prints it (`<state machine>/<execution>`, in the target's account and region), or its execution ARN, as an ARN. */
export function executionArnOf(reference: string, target: Pick<Target, 'partition' | 'region' | 'accountId'>): string {
  if (reference.startsWith('arn:')) return reference;
  const match = /^([A-Za-z0-9_-]{1,80})\/([A-Za-z0-9_-]{1,80})$/.exec(reference);
  if (!match) throw new Error(`"${reference}" is not a run: give its execution ARN or <state machine>/<execution> as "sluice status" shows it`);
  return `arn:${target.partition}:states:${target.region}:${target.accountId}:execution:${match[1]}:${match[2]}`;
}

/**
 * Redrives a failed, timed-out or aborted run from where it stopped; returns its ARN and the redrive
 * count it will carry. Throws with Step Functions' answer when the run cannot be redriven (it
 * succeeded, is still running, or is too old).
 */
export async function retryRun(target: Target, reference: string): Promise<{ executionArn: string; redriveCount: number }> {
  const executionArn = executionArnOf(reference, target);
  const client = new SFNClient(target.clientConfig);
  try {
    const before = await client.send(new DescribeExecutionCommand({ executionArn }));
    await client.send(new RedriveExecutionCommand({ executionArn, clientToken: `sluice-retry-${before.redriveCount ?? 0}` }));
    return { executionArn, redriveCount: (before.redriveCount ?? 0) + 1 };
  } finally {
    client.destroy();
  }
}
