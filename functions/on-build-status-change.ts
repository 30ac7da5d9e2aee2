import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig } from '../shared/config';
import { logger } from '../shared/logger';
import { rejectInvalidInput } from '../shared/middleware/reject-invalid-input';
import { announceBuildEnd, reconcileBuildEnds } from '../shared/pipeline/run-status';
import { stopRunJobs } from '../shared/pipeline/jobs';
import { DETAIL_TYPES, executionStatusChangeSchema, parseEvent, scheduledEventSchema } from '../shared/schemas/events';

/**
 * EventBridge `Step Functions Execution Status Change` of a build run → its jobs still running are
 * stopped, and `Model Build Failed` names the failing step; on its schedule, the same for failed runs
 * whose status event never arrived.
 */
const env = loadConfig('EVENT_BUS_NAME', 'BUILD_ANNOUNCEMENT_TABLE', 'BUILD_STATE_MACHINE_PREFIX', 'RECONCILE_MIN_AGE_SECONDS', 'DEAD_LETTER_QUEUE_URL', 'JOB_TOKEN_TABLE');
const to = { eventBusName: env.EVENT_BUS_NAME, announcementTable: env.BUILD_ANNOUNCEMENT_TABLE };

export const handler = middy(async (event: unknown) => {
  if ((event as { 'detail-type'?: unknown } | null)?.['detail-type'] === DETAIL_TYPES.scheduledEvent) {
    parseEvent(scheduledEventSchema, event);
    const report = await reconcileBuildEnds(to, env.BUILD_STATE_MACHINE_PREFIX, env.RECONCILE_MIN_AGE_SECONDS);
    logger.info('reconciled build ends', { ...report });
    return report;
  }
  const change = parseEvent(executionStatusChangeSchema, event);
  // Every status this rule delivers is an end (FAILED, TIMED_OUT, ABORTED): nothing of the run may keep billing.
  const { stopped } = await stopRunJobs(change.detail.executionArn, env.JOB_TOKEN_TABLE);
  const outcome = await announceBuildEnd(change.detail, to);
  logger.info('build status change handled', { executionArn: change.detail.executionArn, status: change.detail.status, outcome, stoppedJobs: stopped });
  return outcome;
})
  .use(injectLambdaContext(logger))
  .use(rejectInvalidInput({ queueUrl: env.DEAD_LETTER_QUEUE_URL, source: 'on-build-status-change', logger }));
