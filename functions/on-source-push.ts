import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadBuildSettings, loadConfig, loadTriggerSettings } from '../shared/config';
import { logger } from '../shared/logger';
import { rejectInvalidInput } from '../shared/middleware/reject-invalid-input';
import { startModelBuild, startRequestedBuild } from '../shared/pipeline/start-build';
import { DETAIL_TYPES, modelBuildRequestedSchema, parseEvent, repositoryStateChangeSchema } from '../shared/schemas/events';

/**
 * EventBridge `CodeCommit Repository State Change` (a push) or `Model Build Requested` (a run
 * started by hand, on a schedule or by a dataset change) → compile the commit's pipeline and start
 * its run; a push also keeps the branch's schedule and dataset triggers.
 */
const settings = { ...loadBuildSettings(), triggers: loadTriggerSettings() };
const env = loadConfig('DEAD_LETTER_QUEUE_URL');

export const handler = middy(async (event: unknown) => {
  if ((event as { 'detail-type'?: unknown } | null)?.['detail-type'] === DETAIL_TYPES.modelBuildRequested) {
    const request = parseEvent(modelBuildRequestedSchema, event);
    const outcome = await startRequestedBuild(request.detail, settings);
    logger.info('build request handled', { repository: request.detail.repository, requestId: request.detail.requestId, outcome });
    return outcome;
  }
  const push = parseEvent(repositoryStateChangeSchema, event);
  const outcome = await startModelBuild(push, settings);
  logger.info('source push handled', { repository: push.detail.repositoryName, commit: push.detail.commitId, outcome });
  return outcome;
})
  .use(injectLambdaContext(logger))
  .use(rejectInvalidInput({ queueUrl: env.DEAD_LETTER_QUEUE_URL, source: 'on-source-push', logger }));
