import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { reconcileJobs } from '../shared/pipeline/jobs';
import { loadConfig } from '../shared/config';
import { reconcileEndpointDeploys } from '../shared/deploy/endpoint';
import { logger } from '../shared/logger';

/** Scheduled: settle tokens whose job or endpoint deploy ended but whose state-change event never arrived. */
const env = loadConfig('JOB_TOKEN_TABLE', 'STEP_CACHE_TABLE', 'RECONCILE_MIN_AGE_SECONDS');

export const handler = middy(async () => {
  const report = await reconcileJobs({ tokens: env.JOB_TOKEN_TABLE, cache: env.STEP_CACHE_TABLE }, env.RECONCILE_MIN_AGE_SECONDS);
  const endpoints = await reconcileEndpointDeploys(env.JOB_TOKEN_TABLE, env.RECONCILE_MIN_AGE_SECONDS);
  logger.info('reconciled outstanding jobs and endpoint deploys', { ...report, endpoints });
  return { ...report, endpoints };
}).use(injectLambdaContext(logger));
