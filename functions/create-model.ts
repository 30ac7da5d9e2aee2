import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadExecutionRoles, loadIsolation } from '../shared/config';
import { createStageModel } from '../shared/deploy/resources';
import { logger } from '../shared/logger';
import { stageTaskInputSchema } from '../shared/schemas/deploy';
import { parseEvent } from '../shared/schemas/events';

/** Step Functions task: the stage's SageMaker model from the model package version. */
const roles = loadExecutionRoles();
const isolation = loadIsolation();

export const handler = middy(async (event: unknown) => {
  const input = parseEvent(stageTaskInputSchema, event);
  const model = await createStageModel(input, roles, isolation);
  logger.info('model ready', { ...model, stage: input.stage.stage, execution: input.executionArn });
  return model;
}).use(injectLambdaContext(logger));
