import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig } from '../shared/config';
import { startEndpointDeploy } from '../shared/deploy/endpoint';
import { logger } from '../shared/logger';
import { stageTokenTaskInputSchema } from '../shared/schemas/deploy';
import { parseEvent } from '../shared/schemas/events';

/**
 * Step Functions `lambda:invoke.waitForTaskToken` task: park the token under the endpoint, then
 * create, update, recreate or wait for it. The token is completed here (already deployed), by
 * on-endpoint-state-change or by the reconciler.
 */
const env = loadConfig('JOB_TOKEN_TABLE');

export const handler = middy(async (event: unknown) => {
  const input = parseEvent(stageTokenTaskInputSchema, event);
  const outcome = await startEndpointDeploy(env.JOB_TOKEN_TABLE, input);
  logger.info('endpoint deploy started', { ...outcome, endpointConfigName: input.stage.endpointConfigName, execution: input.executionArn });
  return outcome;
}).use(injectLambdaContext(logger));
