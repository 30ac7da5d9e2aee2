import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig } from '../shared/config';
import { onEndpointStateChange } from '../shared/deploy/endpoint';
import { logger } from '../shared/logger';
import { rejectInvalidInput } from '../shared/middleware/reject-invalid-input';
import { endpointStateChangeSchema, parseEvent } from '../shared/schemas/events';

/** EventBridge `SageMaker Endpoint State Change` → take the next step of the deploy waiting on that endpoint. */
const env = loadConfig('JOB_TOKEN_TABLE', 'DEAD_LETTER_QUEUE_URL');

export const handler = middy(async (event: unknown) => {
  const { detail } = parseEvent(endpointStateChangeSchema, event);
  const result = await onEndpointStateChange(env.JOB_TOKEN_TABLE, detail.EndpointName, detail.EndpointStatus);
  logger.info('endpoint state change handled', { endpointName: detail.EndpointName, status: detail.EndpointStatus, result });
  return { endpointName: detail.EndpointName, result };
})
  .use(injectLambdaContext(logger))
  .use(rejectInvalidInput({ queueUrl: env.DEAD_LETTER_QUEUE_URL, source: 'on-endpoint-state-change', logger }));
