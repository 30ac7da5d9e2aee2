import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { logger } from '../shared/logger';
import { evaluateStep } from '../shared/pipeline/evaluate-step';
import { parseEvent } from '../shared/schemas/events';
import { stepTaskInputSchema } from '../shared/schemas/task-inputs';

/** Step Functions task of a Condition step (its outcome), a Fail step (its error and message) or a ForEach step (its items). */
export const handler = middy(async (event: unknown) => {
  const input = parseEvent(stepTaskInputSchema, event);
  const result = await evaluateStep(input);
  logger.info('step evaluated', { step: input.step, execution: input.executionArn, result });
  return result;
}).use(injectLambdaContext(logger));
