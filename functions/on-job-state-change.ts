import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { settleJob } from '../shared/pipeline/jobs';
import { loadConfig } from '../shared/config';
import { logger } from '../shared/logger';
import { rejectInvalidInput } from '../shared/middleware/reject-invalid-input';
import { parseJobStateChange } from '../shared/schemas/events';

/** EventBridge `SageMaker Training/Processing/HyperParameter Tuning/Transform Job State Change` → settle the task token waiting on that job. */
const env = loadConfig('JOB_TOKEN_TABLE', 'STEP_CACHE_TABLE', 'DEAD_LETTER_QUEUE_URL');

/** Statuses after which a job never changes again; other events are only progress. */
const TERMINAL = new Set(['Completed', 'Failed', 'Stopped']);

export const handler = middy(async (event: unknown) => {
  const change = parseJobStateChange(event);
  if (!TERMINAL.has(change.status)) return { jobName: change.jobName, result: 'ignored' };
  const result = await settleJob({ tokens: env.JOB_TOKEN_TABLE, cache: env.STEP_CACHE_TABLE }, change.jobName, change.kind);
  logger.info('job state change handled', { ...change, result });
  return { jobName: change.jobName, result };
})
  .use(injectLambdaContext(logger))
  .use(rejectInvalidInput({ queueUrl: env.DEAD_LETTER_QUEUE_URL, source: 'on-job-state-change', logger }));
