import { CloudWatchClient, PutMetricAlarmCommand, type PutMetricAlarmCommandInput } from '@aws-sdk/client-cloudwatch';

import { classifyAwsError } from '../errors';

// Pure: a function that never calls this adapter does not bundle its client.
const client = /* @__PURE__ */ new CloudWatchClient({});

/**
 * Creates or updates a metric alarm (PutMetricAlarm replaces an alarm of the same name, so this
 * is idempotent). Throws RetryableError on throttling.
 */
export async function putMetricAlarm(input: PutMetricAlarmCommandInput): Promise<void> {
  try {
    await client.send(new PutMetricAlarmCommand(input));
  } catch (error) {
    throw classifyAwsError(error, `CloudWatch PutMetricAlarm ${input.AlarmName}`);
  }
}
