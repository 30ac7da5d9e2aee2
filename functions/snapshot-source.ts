import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig } from '../shared/config';
import { logger } from '../shared/logger';
import { snapshotBuildSource } from '../shared/pipeline/source-snapshot';
import { parseEvent } from '../shared/schemas/events';
import { snapshotInputSchema } from '../shared/schemas/task-inputs';

/** Step Functions task, the first of every build run: copy the commit's tree to the build's prefix. */
const env = loadConfig('ARTIFACTS_BUCKET', 'MAX_SOURCE_BYTES');

export const handler = middy(async (event: unknown) => {
  const { build } = parseEvent(snapshotInputSchema, event);
  const snapshot = await snapshotBuildSource(build, env.ARTIFACTS_BUCKET, env.MAX_SOURCE_BYTES);
  logger.info('source snapshot taken', { repository: build.repository, commit: build.commit, ...snapshot });
  return snapshot;
}).use(injectLambdaContext(logger));
