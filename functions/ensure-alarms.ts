import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig } from '../shared/config';
import { ensureStageAlarms } from '../shared/deploy/resources';
import { logger } from '../shared/logger';
import { stageTaskInputSchema } from '../shared/schemas/deploy';
import { parseEvent } from '../shared/schemas/events';

/** Step Functions task (prod): the CloudWatch alarms that roll a blue/green update back. */
const env = loadConfig('MODEL_LATENCY_THRESHOLD_MS');

export const handler = middy(async (event: unknown) => {
  const input = parseEvent(stageTaskInputSchema, event);
  const alarms = await ensureStageAlarms(input.stage, env.MODEL_LATENCY_THRESHOLD_MS);
  logger.info('rollback alarms ready', { ...alarms, execution: input.executionArn });
  return alarms;
}).use(injectLambdaContext(logger));
