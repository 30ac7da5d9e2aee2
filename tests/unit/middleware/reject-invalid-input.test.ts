import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

import { InvalidInputError, RetryableError } from '../../../shared/errors';
import { rejectInvalidInput } from '../../../shared/middleware/reject-invalid-input';
import { lambdaContext } from '../../helpers/lambda-context';

const sqs = mockClient(SQSClient);

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/sluice-test-dlq';
const EVENT = { 'detail-type': 'CodeCommit Repository State Change', detail: { repositoryName: 42 } };

/** A handler wrapped in the middleware, with a logger and dead-letter sender to observe. */
function wrap(body: (event: unknown) => Promise<unknown>) {
  const logger = { error: jest.fn() };
  const deadLetter = jest.fn().mockResolvedValue(undefined);
  const handler = middy(body).use(rejectInvalidInput({ queueUrl: QUEUE_URL, source: 'on-source-push', logger, deadLetter }));
  return { handler, logger, deadLetter };
}

async function throwsInvalidInput(): Promise<never> {
  throw new InvalidInputError('invalid input: detail.repositoryName: expected string, received number');
}

beforeEach(() => {
  sqs.reset();
});

describe('rejectInvalidInput', () => {
  it('ends the invocation successfully when the handler rejects its input', async () => {
    const { handler } = wrap(throwsInvalidInput);

    await expect(handler(EVENT, lambdaContext())).resolves.toEqual({
      rejected: true,
      reason: 'invalid input: detail.repositoryName: expected string, received number',
    });
  });

  it('parks the rejected event in the dead-letter queue with the source and reason', async () => {
    const { handler, deadLetter } = wrap(throwsInvalidInput);

    await handler(EVENT, lambdaContext());

    expect(deadLetter).toHaveBeenCalledTimes(1);
    expect(deadLetter).toHaveBeenCalledWith(QUEUE_URL, 'on-source-push', 'invalid input: detail.repositoryName: expected string, received number', EVENT);
  });

  it('logs the rejection once, with the reason', async () => {
    const { handler, logger } = wrap(throwsInvalidInput);

    await handler(EVENT, lambdaContext());

    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error).toHaveBeenCalledWith('rejected invalid input', {
      reason: 'invalid input: detail.repositoryName: expected string, received number',
      source: 'on-source-push',
    });
  });

  it('lets a RetryableError propagate, untouched, so Lambda retries it', async () => {
    const throttled = new RetryableError('CodeCommit GetFile: ThrottlingException: Rate exceeded');
    const { handler } = wrap(async () => {
      throw throttled;
    });

    await expect(handler(EVENT, lambdaContext())).rejects.toBe(throttled);
  });

  it('neither logs nor dead-letters an error that is not InvalidInput', async () => {
    const { handler, logger, deadLetter } = wrap(async () => {
      throw new Error('boom');
    });

    await expect(handler(EVENT, lambdaContext())).rejects.toThrow('boom');
    expect(logger.error).not.toHaveBeenCalled();
    expect(deadLetter).not.toHaveBeenCalled();
  });

  it('fails the invocation when the dead-letter queue cannot take the event, so it is not lost', async () => {
    const { handler, deadLetter } = wrap(throwsInvalidInput);
    deadLetter.mockRejectedValue(new RetryableError('SQS SendMessage (dead letter): RequestThrottled'));

    await expect(handler(EVENT, lambdaContext())).rejects.toThrow(RetryableError);
  });

  it('returns the handler response untouched when nothing fails', async () => {
    const { handler, deadLetter } = wrap(async () => ({ action: 'started' }));

    await expect(handler(EVENT, lambdaContext())).resolves.toEqual({ action: 'started' });
    expect(deadLetter).not.toHaveBeenCalled();
  });

  it('sends to SQS by default', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    const handler = middy(throwsInvalidInput).use(rejectInvalidInput({ queueUrl: QUEUE_URL, source: 'on-source-push', logger: { error: jest.fn() } }));

    await handler(EVENT, lambdaContext());

    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: QUEUE_URL });
  });

  it('refuses to be configured without a queue URL', () => {
    expect(() => rejectInvalidInput({ queueUrl: '', source: 'on-source-push', logger: { error: jest.fn() } })).toThrow('queueUrl is required');
  });
});
