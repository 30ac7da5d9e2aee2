import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { startModelBuild } from '../shared/pipeline/start-build';
import { loadConfig } from '../shared/config';
import { logger } from '../shared/logger';
import { rejectInvalidInput } from '../shared/middleware/reject-invalid-input';
import { parseEvent, repositoryStateChangeSchema } from '../shared/schemas/events';

/** EventBridge `CodeCommit Repository State Change` → start the model-build run for the pushed commit. */
const env = loadConfig(
  'MODEL_BUILD_STATE_MACHINE_ARN', 'ARTIFACTS_BUCKET', 'ALLOWED_INSTANCE_TYPES', 'MAX_RUNTIME_SECONDS',
  'MAX_SOURCE_BYTES', 'TRIGGER_REPOSITORIES', 'TRIGGER_BRANCHES', 'DEAD_LETTER_QUEUE_URL',
);

export const handler = middy(async (event: unknown) => {
  const push = parseEvent(repositoryStateChangeSchema, event);
  const outcome = await startModelBuild(push, {
    stateMachineArn: env.MODEL_BUILD_STATE_MACHINE_ARN,
    artifactsBucket: env.ARTIFACTS_BUCKET,
    allowedInstanceTypes: env.ALLOWED_INSTANCE_TYPES,
    maxRuntimeSeconds: env.MAX_RUNTIME_SECONDS,
    maxSourceBytes: env.MAX_SOURCE_BYTES,
    repositories: env.TRIGGER_REPOSITORIES,
    branches: env.TRIGGER_BRANCHES,
  });
  logger.info('source push handled', { repository: push.detail.repositoryName, commit: push.detail.commitId, outcome });
  return outcome;
})
  .use(injectLambdaContext(logger))
  .use(rejectInvalidInput({ queueUrl: env.DEAD_LETTER_QUEUE_URL, source: 'on-source-push', logger }));
