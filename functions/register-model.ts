import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig } from '../shared/config';
import { logger } from '../shared/logger';
import { registerModel } from '../shared/pipeline/register';
import { parseEvent } from '../shared/schemas/events';
import { stepTaskInputSchema } from '../shared/schemas/task-inputs';

/** Step Functions task of a RegisterModel step: a new model package version (or an identical earlier one, when cached). */
const env = loadConfig('MODEL_PACKAGE_GROUP_PREFIX', 'STEP_CACHE_TABLE', 'SELF_APPROVAL_REPOSITORIES');

export const handler = middy(async (event: unknown) => {
  const input = parseEvent(stepTaskInputSchema, event);
  const registration = await registerModel(input, { groupPrefix: env.MODEL_PACKAGE_GROUP_PREFIX, cacheTable: env.STEP_CACHE_TABLE, selfApprovalRepositories: env.SELF_APPROVAL_REPOSITORIES });
  logger.info('model package registered', { step: input.step, ...registration });
  return registration;
}).use(injectLambdaContext(logger));
