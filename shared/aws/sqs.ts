import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

import { classifyAwsError, isAwsError, RetryableError } from '../errors';

// Pure: a function that never calls this adapter does not bundle its client.
const client = /* @__PURE__ */ new SQSClient({});

/** SQS names its throttling errors itself; the shared classifier does not know these names. */
const SQS_THROTTLING_ERRORS = ['RequestThrottled', 'KmsThrottled'];

/**
 * Parks a rejected input in the dead-letter queue with the reason, so nothing is lost and nothing
 * is retried. Throws RetryableError when SQS throttles (the caller's own retry then applies).
 */
export async function sendToDeadLetterQueue(queueUrl: string, source: string, reason: string, input: unknown): Promise<void> {
  try {
    await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify({ source, reason, input }),
        MessageAttributes: { source: { DataType: 'String', StringValue: source } },
      }),
    );
  } catch (error) {
    if (isAwsError(error, ...SQS_THROTTLING_ERRORS)) throw new RetryableError(`SQS SendMessage (dead letter): ${(error as Error).name}: ${(error as Error).message}`, { cause: error });
    throw classifyAwsError(error, 'SQS SendMessage (dead letter)');
  }
}
