import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { loadConfig, loadDatasetTriggerSettings } from '../shared/config';
import { logger } from '../shared/logger';
import { rejectInvalidInput } from '../shared/middleware/reject-invalid-input';
import { requestDatasetBuilds } from '../shared/pipeline/triggers';
import { objectCreatedSchema, parseEvent } from '../shared/schemas/events';

/**
 * S3 `Object Created` under `datasets/<name>/` in the artifacts bucket → one debounced build of
 * every repository branch whose pipeline reads that dataset.
 */
const settings = loadDatasetTriggerSettings();
const env = loadConfig('DEAD_LETTER_QUEUE_URL');

export const handler = middy(async (event: unknown) => {
  const created = parseEvent(objectCreatedSchema, event);
  const outcome = await requestDatasetBuilds({ eventId: created.id, time: created.time, bucket: created.detail.bucket.name, key: created.detail.object.key }, settings);
  logger.info('dataset change handled', { key: created.detail.object.key, outcome });
  return outcome;
})
  .use(injectLambdaContext(logger))
  .use(rejectInvalidInput({ queueUrl: env.DEAD_LETTER_QUEUE_URL, source: 'on-dataset-change', logger }));
