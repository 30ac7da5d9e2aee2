import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig } from '../shared/config';
import { logger } from '../shared/logger';
import { rejectInvalidInput } from '../shared/middleware/reject-invalid-input';
import { announceBuildEnd } from '../shared/pipeline/run-status';
import { executionStatusChangeSchema, parseEvent } from '../shared/schemas/events';

/** EventBridge `Step Functions Execution Status Change` of a build run → `Model Build Failed` with the failing step. */
const env = loadConfig('EVENT_BUS_NAME', 'DEAD_LETTER_QUEUE_URL');

export const handler = middy(async (event: unknown) => {
  const change = parseEvent(executionStatusChangeSchema, event);
  const outcome = await announceBuildEnd(change.detail, env.EVENT_BUS_NAME);
  logger.info('build status change handled', { executionArn: change.detail.executionArn, status: change.detail.status, outcome });
  return outcome;
})
  .use(injectLambdaContext(logger))
  .use(rejectInvalidInput({ queueUrl: env.DEAD_LETTER_QUEUE_URL, source: 'on-build-status-change', logger }));
