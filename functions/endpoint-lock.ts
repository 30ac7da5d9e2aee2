import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig } from '../shared/config';
import { acquireEndpointLock, releaseEndpointLock } from '../shared/deploy/lock';
import { logger } from '../shared/logger';
import { endpointLockInputSchema } from '../shared/schemas/deploy';
import { parseEvent } from '../shared/schemas/events';

/**
 * Step Functions task: `acquire` (lambda:invoke.waitForTaskToken; the token is completed at once
 * or when the endpoint is handed over) and `release` (plain lambda:invoke).
 */
const env = loadConfig('DEPLOYMENT_TABLE');

export const handler = middy(async (event: unknown) => {
  const input = parseEvent(endpointLockInputSchema, event);
  const result = input.action === 'acquire' ? await acquireEndpointLock(env.DEPLOYMENT_TABLE, input) : await releaseEndpointLock(env.DEPLOYMENT_TABLE, input);
  logger.info('endpoint lock', { action: input.action, endpointName: input.endpointName, result, execution: input.executionArn });
  return { endpointName: input.endpointName, action: input.action, result };
}).use(injectLambdaContext(logger));
