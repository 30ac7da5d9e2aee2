import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig } from '../shared/config';
import { promote } from '../shared/deploy/promotion';
import { logger } from '../shared/logger';
import { rejectInvalidInput } from '../shared/middleware/reject-invalid-input';
import { modelPromotionApprovedSchema, parseEvent } from '../shared/schemas/events';

/** EventBridge `Model Promotion Approved` (source sluice) → resume the run waiting at the prod gate. */
const env = loadConfig('DEPLOYMENT_TABLE', 'DEAD_LETTER_QUEUE_URL');

export const handler = middy(async (event: unknown) => {
  const { detail } = parseEvent(modelPromotionApprovedSchema, event);
  const result = await promote(env.DEPLOYMENT_TABLE, detail.modelPackageArn, detail.approvedBy ?? 'unknown');
  logger.info('promotion handled', { modelPackageArn: detail.modelPackageArn, approvedBy: detail.approvedBy, result });
  return { modelPackageArn: detail.modelPackageArn, result };
})
  .use(injectLambdaContext(logger))
  .use(rejectInvalidInput({ queueUrl: env.DEAD_LETTER_QUEUE_URL, source: 'on-promotion', logger }));
