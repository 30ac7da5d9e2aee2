import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { readGateMetric } from '../shared/pipeline/metric';
import { logger } from '../shared/logger';
import { parseEvent } from '../shared/schemas/events';
import { readMetricInputSchema } from '../shared/schemas/task-inputs';

/** Step Functions task: read the quality gate's metric from evaluation.json for the Choice state. */
export const handler = middy(async (event: unknown) => {
  const reading = await readGateMetric(parseEvent(readMetricInputSchema, event));
  logger.info('quality gate metric read', { ...reading });
  return reading;
}).use(injectLambdaContext(logger));
