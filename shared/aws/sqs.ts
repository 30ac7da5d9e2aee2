import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

import { classifyAwsError } from '../errors';

const client = new SQSClient({});

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
    throw classifyAwsError(error, 'SQS SendMessage (dead letter)');
  }
}
