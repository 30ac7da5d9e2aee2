import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig } from '../shared/config';
import { finishStage } from '../shared/deploy/finish';
import { logger } from '../shared/logger';
import { stageTaskInputSchema } from '../shared/schemas/deploy';
import { parseEvent } from '../shared/schemas/events';

/** Step Functions task: record the live version, delete old configs and models, hand the endpoint on. */
const env = loadConfig('DEPLOYMENT_TABLE', 'KEEP_VERSIONS');

export const handler = middy(async (event: unknown) => {
  const input = parseEvent(stageTaskInputSchema, event);
  const result = await finishStage(input, { deploymentTable: env.DEPLOYMENT_TABLE, keepVersions: env.KEEP_VERSIONS });
  logger.info('stage finished', { endpointName: result.endpointName, version: result.live.version, deleted: result.deleted, lock: result.lock, execution: input.executionArn });
  return { endpointName: result.endpointName, live: result.live, deleted: result.deleted, lock: result.lock };
}).use(injectLambdaContext(logger));
