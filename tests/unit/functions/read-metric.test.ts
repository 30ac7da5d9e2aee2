import 'aws-sdk-client-mock-jest';

import { Readable } from 'node:stream';

import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
// @smithy/core ships with every SDK v3 client; its serde entry holds what @smithy/util-stream used to export.
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';

import type { handler as readMetricHandler } from '../../../functions/read-metric';
import { BUCKET, buildContext, exampleConfig } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';

const s3 = mockClient(S3Client);

const EVALUATION_URI = `s3://${BUCKET}/builds/${buildContext().executionName}/evaluate/evaluation/`;

let handler: typeof readMetricHandler;

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../../functions/read-metric'));
});

/** The task input the state machine's ReadMetric state builds. */
function taskInput(): Record<string, unknown> {
  return {
    config: exampleConfig(),
    jobs: { evaluate: { jobName: 'abalone-evaluate-0123456789ab', status: 'Completed', outputs: { evaluation: EVALUATION_URI } } },
  };
}

beforeEach(() => {
  s3.reset();
  s3.on(GetObjectCommand).resolves({ Body: sdkStreamMixin(Readable.from([Buffer.from(JSON.stringify({ regression_metrics: { mse: { value: 4.2 } } }))])) });
});

describe('read-metric handler', () => {
  it('returns the gate metric read from evaluation.json for the Choice state', async () => {
    await expect(handler(taskInput(), lambdaContext())).resolves.toMatchObject({
      metric: 'regression_metrics.mse.value',
      value: 4.2,
      operator: '<=',
      threshold: 6,
      reportUri: `${EVALUATION_URI}evaluation.json`,
    });
  });

  it('rejects with MetricNotFound when evaluation.json does not exist', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));

    await expect(handler(taskInput(), lambdaContext())).rejects.toMatchObject({ name: 'MetricNotFound' });
  });

  it('rejects an invalid task input with InvalidInput and reads nothing', async () => {
    const input = taskInput();
    delete input.jobs;

    await expect(handler(input, lambdaContext())).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('jobs') });

    expect(s3).not.toHaveReceivedAnyCommand();
  });
});
