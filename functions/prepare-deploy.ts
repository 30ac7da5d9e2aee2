import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig } from '../shared/config';
import { prepareDeploy } from '../shared/deploy/plan';
import { logger } from '../shared/logger';
import { prepareDeployInputSchema } from '../shared/schemas/deploy';
import { parseEvent } from '../shared/schemas/events';

/** Step Functions task (model-deploy's first state): the DeployPlan every later state reads as `$.plan`. */
const env = loadConfig('ARTIFACTS_BUCKET', 'ALLOWED_ENDPOINT_INSTANCE_TYPES', 'MAX_ENDPOINT_INSTANCE_COUNT', 'PROD_GATE', 'PROD_GATE_TIMEOUT_SECONDS', 'BAKE_SECONDS');

export const handler = middy(async (event: unknown) => {
  const input = parseEvent(prepareDeployInputSchema, event);
  const plan = await prepareDeploy(input, {
    artifactsBucket: env.ARTIFACTS_BUCKET,
    allowedEndpointInstanceTypes: env.ALLOWED_ENDPOINT_INSTANCE_TYPES,
    maxEndpointInstanceCount: env.MAX_ENDPOINT_INSTANCE_COUNT,
    prodGate: env.PROD_GATE,
    prodGateTimeoutSeconds: env.PROD_GATE_TIMEOUT_SECONDS,
    bakeSeconds: env.BAKE_SECONDS,
  });
  logger.info('deploy planned', { modelPackageArn: plan.modelPackageArn, mode: plan.mode, stages: input.request.stages, execution: input.executionArn });
  return plan;
}).use(injectLambdaContext(logger));
