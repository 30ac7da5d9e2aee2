import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';

import { sendToDeadLetterQueue } from '../aws/sqs';
import { InvalidInputError } from '../errors';

export interface RejectInvalidInputOptions {
  /** SQS queue that keeps rejected inputs with the reason. */
  queueUrl: string;
  /** Name of the function, recorded with each rejected input. */
  source: string;
  logger: Pick<Logger, 'error'>;
  /** Injectable for tests; defaults to SQS SendMessage. */
  deadLetter?: typeof sendToDeadLetterQueue;
}

/**
 * For asynchronously invoked functions: an input that fails validation (InvalidInputError) can
 * never succeed, so retrying it only repeats the error. This middleware logs it once, parks it in
 * the dead-letter queue with the reason, and ends the invocation. Every other error propagates,
 * so Lambda's bounded async retries and on-failure destination still apply to it.
 */
export function rejectInvalidInput(options: RejectInvalidInputOptions): MiddlewareObj {
  if (!options.queueUrl) throw new Error('rejectInvalidInput: queueUrl is required');
  const deadLetter = options.deadLetter ?? sendToDeadLetterQueue;
  return {
    onError: async (request) => {
      if (!(request.error instanceof InvalidInputError)) return;
      options.logger.error('rejected invalid input', { reason: request.error.message, source: options.source });
      await deadLetter(options.queueUrl, options.source, request.error.message, request.event);
      request.response = { rejected: true, reason: request.error.message };
      request.error = null;
    },
  };
}
