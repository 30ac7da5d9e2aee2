import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';

import { classifyAwsError, RetryableError } from '../errors';

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
