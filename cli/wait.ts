import { DescribeExecutionCommand, ExecutionStatus, ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';

import { shortHash } from '../shared/naming';

import { CliError } from './errors';
import { getRun, type RunStatus, type StepStatus } from './status';
import type { Target } from './target';

/**
 * Long waits with progress: `sluice run --wait` finds the run its request started, then (like
 * `sluice retry --wait`) reports each step as it changes until the run ends. Polls the Step
 * Functions API, as the AWS CLI's waiters do.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How one step reads in a progress line: `Train succeeded 2.4 s (cached from <run>)`. Pure. */
export function describeStep(step: StepStatus): string {
  const from = (arn: string) => arn.split(':').at(-1) ?? arn;
  return `${step.name} ${step.status}${step.durationSeconds === undefined ? '' : ` ${step.durationSeconds} s`}${step.cachedFrom ? ` (cached from ${from(step.cachedFrom)})` : ''}${step.reusedFrom ? ` (reused from ${from(step.reusedFrom)})` : ''}`;
}

/** The progress lines between two looks at a run: each step that appeared or changed, then the run's end. Pure. */
export function progressLines(before: RunStatus | undefined, now: RunStatus): string[] {
  const lines: string[] = [];
  for (const step of now.steps) {
    const earlier = before?.steps.find((candidate) => candidate.name === step.name);
    if (!earlier || earlier.status !== step.status) lines.push(`  ${describeStep(step)}`);
  }
  if (now.status !== ExecutionStatus.RUNNING && before?.status !== now.status) lines.push(`${now.stateMachine}/${now.name} ${now.status}${now.error ? `: ${now.error}: ${now.cause ?? ''}` : ''}`);
  return lines;
}

/** Polls run `executionArn` until it ends, handing each progress line to `say`; returns the run as it ended. */
export async function waitForRun(target: Target, executionArn: string, say: (line: string) => void, intervalMs = 1000): Promise<RunStatus> {
  let before: RunStatus | undefined;
  for (;;) {
    const now = await getRun(target, executionArn);
    for (const line of progressLines(before, now)) say(line);
    if (now.status !== ExecutionStatus.RUNNING) return now;
    before = now;
    await sleep(intervalMs);
  }
}

/**
 * The run a `Model Build Requested` started: among the stage's pipeline runs named `…-run-<hash>`
 * (shared/naming.ts requestedBuildExecutionName), the one whose hash is that of its repository,
 * commit (from its input) and `requestId`. Polls until it appears; throws CliError RunNotStarted
 * after `timeoutMs` (a repository the stage does not build, or a branch it lacks, starts nothing).
 */
export async function findRequestedRun(target: Target, repository: string, requestId: string, timeoutMs = 120_000, intervalMs = 1000): Promise<string> {
  const sfn = new SFNClient(target.clientConfig);
  const checked = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      let nextToken: string | undefined;
      do {
        const page = await sfn.send(new ListStateMachinesCommand({ nextToken }));
        for (const machine of page.stateMachines ?? []) {
          if (!machine.name?.startsWith(target.names.buildStateMachinePrefix)) continue;
          for (const execution of (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn, maxResults: 20 }))).executions ?? []) {
            const hash = /-run-([0-9a-f]{12})$/.exec(execution.name ?? '')?.[1];
            if (!hash || !execution.executionArn || checked.has(execution.executionArn)) continue;
            checked.add(execution.executionArn);
            const { input } = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
            const commit = (JSON.parse(input ?? '{}') as { build?: { commit?: unknown } }).build?.commit;
            if (typeof commit === 'string' && shortHash([repository, commit, requestId], 12) === hash) return execution.executionArn;
          }
        }
        nextToken = page.nextToken;
      } while (nextToken);
      if (Date.now() >= deadline) {
        throw new CliError(
          'RunNotStarted',
          `no run started for request ${requestId} within ${Math.round(timeoutMs / 1000)} s: check that the stage builds repository ${repository} (stage setting "repositories") and that the branch exists; the reason is in the logs of ${target.stackName}-onSourcePush ("aws logs tail /aws/lambda/${target.stackName}-onSourcePush")`,
        );
      }
      await sleep(intervalMs);
    }
  } finally {
    sfn.destroy();
  }
}
