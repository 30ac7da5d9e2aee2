import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig } from '../shared/config';
import { waitForPromotion } from '../shared/deploy/promotion';
import { logger } from '../shared/logger';
import { promotionWaitInputSchema } from '../shared/schemas/deploy';
import { parseEvent } from '../shared/schemas/events';

/** Step Functions `lambda:invoke.waitForTaskToken` task (the prod gate): park the token until a promotion. */
const env = loadConfig('DEPLOYMENT_TABLE');

export const handler = middy(async (event: unknown) => {
  const input = parseEvent(promotionWaitInputSchema, event);
  const result = await waitForPromotion(env.DEPLOYMENT_TABLE, input);
  logger.info('waiting for promotion to prod', { ...result, timeoutSeconds: input.plan.gate.timeoutSeconds, execution: input.executionArn });
  return result;
}).use(injectLambdaContext(logger));
