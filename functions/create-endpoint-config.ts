import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig, loadIsolation } from '../shared/config';
import { createStageEndpointConfig } from '../shared/deploy/resources';
import { logger } from '../shared/logger';
import { stageTaskInputSchema } from '../shared/schemas/deploy';
import { parseEvent } from '../shared/schemas/events';

/** Step Functions task: the stage's endpoint config (instance type and count, data capture). */
const env = loadConfig('ARTIFACTS_BUCKET');
const isolation = loadIsolation();

export const handler = middy(async (event: unknown) => {
  const input = parseEvent(stageTaskInputSchema, event);
  const config = await createStageEndpointConfig(input, env.ARTIFACTS_BUCKET, isolation);
  logger.info('endpoint config ready', { ...config, stage: input.stage.stage, execution: input.executionArn });
  return config;
}).use(injectLambdaContext(logger));
