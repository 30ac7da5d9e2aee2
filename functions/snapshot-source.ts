import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';

import { loadConfig } from '../shared/config';
import { logger } from '../shared/logger';
import { snapshotBuildSource } from '../shared/pipeline/source-snapshot';
import { parseEvent } from '../shared/schemas/events';
import { snapshotInputSchema } from '../shared/schemas/task-inputs';

/** Step Functions task, the first of every build run: copy the commit's tree to the build's prefix. */
const env = loadConfig('ARTIFACTS_BUCKET', 'MAX_SOURCE_BYTES');

export const handler = middy(async (event: unknown, context: Context) => {
  const { build } = parseEvent(snapshotInputSchema, event);
  // Stops with SourceTooLarge before Lambda's timeout would fail the task without a reason.
  const snapshot = await snapshotBuildSource(build, env.ARTIFACTS_BUCKET, { maxBytes: env.MAX_SOURCE_BYTES, remainingMs: () => context.getRemainingTimeInMillis() });
  logger.info('source snapshot taken', { repository: build.repository, commit: build.commit, ...snapshot });
  return snapshot;
}).use(injectLambdaContext(logger));
