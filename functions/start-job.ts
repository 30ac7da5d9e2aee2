import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig, loadExecutionRoles, loadIsolation } from '../shared/config';
import { logger } from '../shared/logger';
import { startJob } from '../shared/pipeline/jobs';
import { parseEvent } from '../shared/schemas/events';
import { startJobInputSchema } from '../shared/schemas/task-inputs';

/** Step Functions `lambda:invoke.waitForTaskToken` task of a Processing, Training, Tuning or Transform step: reuse a result, or start the SageMaker job and park the token. */
const env = loadConfig('MODEL_PACKAGE_GROUP_PREFIX', 'ARTIFACTS_BUCKET', 'MAX_RUNTIME_SECONDS', 'ALLOWED_INSTANCE_TYPES', 'MAX_INSTANCE_COUNT', 'MAX_VOLUME_SIZE_GB', 'JOB_TOKEN_TABLE', 'STEP_CACHE_TABLE');
const isolation = loadIsolation();
const roles = loadExecutionRoles();

export const handler = middy(async (event: unknown) => {
  const input = parseEvent(startJobInputSchema, event);
  const outcome = await startJob(
    input,
    {
      ...roles,
      stagePrefix: env.MODEL_PACKAGE_GROUP_PREFIX,
      artifactsBucket: env.ARTIFACTS_BUCKET,
      maxRuntimeSeconds: env.MAX_RUNTIME_SECONDS,
      allowedInstanceTypes: env.ALLOWED_INSTANCE_TYPES,
      maxInstanceCount: env.MAX_INSTANCE_COUNT,
      maxVolumeSizeInGB: env.MAX_VOLUME_SIZE_GB,
      isolation,
    },
    { tokens: env.JOB_TOKEN_TABLE, cache: env.STEP_CACHE_TABLE },
  );
  logger.info(outcome.outcome === 'started' ? 'job started, waiting for its state change' : `step result ${outcome.outcome}`, { step: input.step, ...outcome, execution: input.executionArn });
  return outcome;
}).use(injectLambdaContext(logger));
