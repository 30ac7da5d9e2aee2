import { DeleteRuleCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand, RuleState, type Target } from '@aws-sdk/client-eventbridge';

import { classifyAwsError, isAwsError, RetryableError } from '../errors';

// Pure: a function that never calls this adapter does not bundle its client.
const client = /* @__PURE__ */ new EventBridgeClient({});

/**
 * Publishes one Sluice event (`source: sluice`) on the service's bus. Checks FailedEntryCount:
 * a rejected entry throws RetryableError naming the entry's error. Not idempotent (EventBridge
 * delivers each call); consumers must tolerate duplicates.
 */
export async function publishEvent(eventBusName: string, detailType: string, detail: unknown, resources: string[] = []): Promise<void> {
  let failed: { ErrorCode?: string; ErrorMessage?: string } | undefined;
  try {
    const output = await client.send(
      new PutEventsCommand({ Entries: [{ EventBusName: eventBusName, Source: 'sluice', DetailType: detailType, Detail: JSON.stringify(detail), Resources: resources }] }),
    );
    if ((output.FailedEntryCount ?? 0) > 0) failed = output.Entries?.find((entry) => entry.ErrorCode) ?? {};
  } catch (error) {
    throw classifyAwsError(error, `EventBridge PutEvents ${detailType}`);
  }
  if (failed) throw new RetryableError(`EventBridge PutEvents ${detailType}: entry rejected: ${failed.ErrorCode ?? 'unknown'}: ${failed.ErrorMessage ?? ''}`);
}

/**
 * Creates or updates a schedule rule on the default bus (schedules run only there) and sets its one
 * target. Idempotent: the same call leaves the same rule. Throws RetryableError on throttling or a
 * rejected target.
 */
export async function putScheduleRule(name: string, scheduleExpression: string, description: string, target: Target): Promise<void> {
  let failed: { ErrorCode?: string; ErrorMessage?: string } | undefined;
  try {
    await client.send(new PutRuleCommand({ Name: name, ScheduleExpression: scheduleExpression, State: RuleState.ENABLED, Description: description.slice(0, 512) }));
    const output = await client.send(new PutTargetsCommand({ Rule: name, Targets: [target] }));
    if ((output.FailedEntryCount ?? 0) > 0) failed = output.FailedEntries?.[0] ?? {};
  } catch (error) {
    throw classifyAwsError(error, `EventBridge PutRule/PutTargets ${name}`);
  }
  if (failed) throw new RetryableError(`EventBridge PutTargets ${name}: target rejected: ${failed.ErrorCode ?? 'unknown'}: ${failed.ErrorMessage ?? ''}`);
}

/**
 * Removes a rule of the default bus and its targets `targetIds`. Idempotent: a rule that does not
 * exist is already removed. Throws RetryableError on throttling.
 */
export async function deleteRule(name: string, targetIds: string[]): Promise<void> {
  try {
    await client.send(new RemoveTargetsCommand({ Rule: name, Ids: targetIds }));
    await client.send(new DeleteRuleCommand({ Name: name }));
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFoundException')) return;
    throw classifyAwsError(error, `EventBridge DeleteRule ${name}`);
  }
}
