import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { startJob } from '../shared/pipeline/jobs';
import { loadConfig } from '../shared/config';
import { logger } from '../shared/logger';
import { parseEvent } from '../shared/schemas/events';
import { startJobInputSchema } from '../shared/schemas/task-inputs';

/** Step Functions `lambda:invoke.waitForTaskToken` task: create the step's SageMaker job and park the token. */
const env = loadConfig('SAGEMAKER_ROLE_ARN', 'ARTIFACTS_BUCKET', 'MAX_RUNTIME_SECONDS', 'JOB_TOKEN_TABLE');

export const handler = middy(async (event: unknown) => {
  const input = parseEvent(startJobInputSchema, event);
  const job = await startJob(
    input,
    { roleArn: env.SAGEMAKER_ROLE_ARN, artifactsBucket: env.ARTIFACTS_BUCKET, maxRuntimeSeconds: env.MAX_RUNTIME_SECONDS },
    env.JOB_TOKEN_TABLE,
  );
  logger.info('job started, waiting for its state change', { step: input.step, ...job, execution: input.executionArn });
  return job;
}).use(injectLambdaContext(logger));
