import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { registerModel } from '../shared/pipeline/register';
import { loadConfig } from '../shared/config';
import { logger } from '../shared/logger';
import { parseEvent } from '../shared/schemas/events';
import { registerModelInputSchema } from '../shared/schemas/task-inputs';

/** Step Functions task: register the evaluated model as a new model package version. */
const env = loadConfig('MODEL_PACKAGE_GROUP_PREFIX');

export const handler = middy(async (event: unknown) => {
  const registration = await registerModel(parseEvent(registerModelInputSchema, event), env.MODEL_PACKAGE_GROUP_PREFIX);
  logger.info('model package registered', { ...registration });
  return registration;
}).use(injectLambdaContext(logger));
