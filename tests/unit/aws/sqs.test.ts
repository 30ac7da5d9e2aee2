import { KmsThrottled, QueueDoesNotExist, RequestThrottled, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

import { sendToDeadLetterQueue } from '../../../shared/aws/sqs';
import { RetryableError } from '../../../shared/errors';

const sqs = mockClient(SQSClient);

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/sluice-test-dlq';

beforeEach(() => {
  sqs.reset();
});

describe('sendToDeadLetterQueue', () => {
  it('sends the source, reason and input as the JSON message body', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    const input = { detail: { repositoryName: 42 } };

    await sendToDeadLetterQueue(QUEUE_URL, 'on-source-push', 'detail.repositoryName: expected string', input);

    const sent = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(sent?.QueueUrl).toBe(QUEUE_URL);
    expect(JSON.parse(sent?.MessageBody ?? '')).toEqual({ source: 'on-source-push', reason: 'detail.repositoryName: expected string', input });
  });

  it('tags the message with its source as a message attribute', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });

    await sendToDeadLetterQueue(QUEUE_URL, 'on-source-push', 'reason', {});

    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, { MessageAttributes: { source: { DataType: 'String', StringValue: 'on-source-push' } } });
  });

  it('throws RetryableError when SQS throttles (RequestThrottled, as the SQS client names it)', async () => {
    sqs.on(SendMessageCommand).rejects(new RequestThrottled({ message: 'Request is throttled.', $metadata: { httpStatusCode: 403 } }));

    await expect(sendToDeadLetterQueue(QUEUE_URL, 'on-source-push', 'reason', {})).rejects.toThrow(RetryableError);
  });

  it('throws RetryableError when KMS throttles the encrypted queue', async () => {
    sqs.on(SendMessageCommand).rejects(new KmsThrottled({ message: 'Request was denied due to request throttling.', $metadata: { httpStatusCode: 400 } }));

    await expect(sendToDeadLetterQueue(QUEUE_URL, 'on-source-push', 'reason', {})).rejects.toThrow(RetryableError);
  });

  it('throws RetryableError on a server fault', async () => {
    sqs.on(SendMessageCommand).rejects(Object.assign(new Error('Internal error'), { name: 'InternalError', $fault: 'server' }));

    await expect(sendToDeadLetterQueue(QUEUE_URL, 'on-source-push', 'reason', {})).rejects.toThrow(RetryableError);
  });

  it('passes a missing queue through unchanged, as terminal', async () => {
    const missing = new QueueDoesNotExist({ message: 'The specified queue does not exist.', $metadata: {} });
    sqs.on(SendMessageCommand).rejects(missing);

    await expect(sendToDeadLetterQueue(QUEUE_URL, 'on-source-push', 'reason', {})).rejects.toBe(missing);
  });
});
