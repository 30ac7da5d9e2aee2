import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig } from '../shared/config';
import { handleModelPackageChange } from '../shared/deploy/package-change';
import { logger } from '../shared/logger';
import { rejectInvalidInput } from '../shared/middleware/reject-invalid-input';
import { modelPackageStateChangeSchema, parseEvent } from '../shared/schemas/events';

/** EventBridge `SageMaker Model Package State Change` → start a deploy (Approved) or a rollback (Rejected while live). */
const env = loadConfig('MODEL_DEPLOY_STATE_MACHINE_ARN', 'DEPLOYMENT_TABLE', 'EVENT_BUS_NAME', 'MODEL_PACKAGE_GROUP_PREFIX', 'DEAD_LETTER_QUEUE_URL');

export const handler = middy(async (event: unknown) => {
  const change = parseEvent(modelPackageStateChangeSchema, event);
  const outcome = await handleModelPackageChange(change, {
    stateMachineArn: env.MODEL_DEPLOY_STATE_MACHINE_ARN,
    deploymentTable: env.DEPLOYMENT_TABLE,
    eventBusName: env.EVENT_BUS_NAME,
    groupPrefix: env.MODEL_PACKAGE_GROUP_PREFIX,
  });
  logger.info('model package change handled', { modelPackageArn: change.detail.ModelPackageArn, status: change.detail.ModelApprovalStatus, outcome });
  return outcome;
})
  .use(injectLambdaContext(logger))
  .use(rejectInvalidInput({ queueUrl: env.DEAD_LETTER_QUEUE_URL, source: 'on-model-package-change', logger }));
