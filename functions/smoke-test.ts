import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { runSmokeTest } from '../shared/deploy/smoke-test';
import { logger } from '../shared/logger';
import { stageTaskInputSchema } from '../shared/schemas/deploy';
import { parseEvent } from '../shared/schemas/events';

/** Step Functions task: InvokeEndpoint with mlops.yaml's SmokeTest body; SmokeTestFailed names what was wrong. */
export const handler = middy(async (event: unknown) => {
  const input = parseEvent(stageTaskInputSchema, event);
  const result = await runSmokeTest(input);
  logger.info('smoke test passed', { ...result, execution: input.executionArn });
  return result;
}).use(injectLambdaContext(logger));
