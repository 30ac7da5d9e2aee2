import 'aws-sdk-client-mock-jest';

import { Readable } from 'node:stream';

import { GetObjectCommand, NoSuchKey, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
// @smithy/core ships with every SDK v3 client; its serde entry holds what @smithy/util-stream used to export.
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';

import { readGateMetric, readPath, reportUri } from '../../../shared/pipeline/metric';
import { MetricNotFoundError, RetryableError } from '../../../shared/errors';
import type { ReadMetricInput } from '../../../shared/schemas/task-inputs';
import { BUCKET, buildContext, exampleConfig } from '../../helpers/fixtures';

const s3 = mockClient(S3Client);

const EVALUATION_PREFIX = `builds/${buildContext().executionName}/evaluate/evaluation/`;
const REPORT_URI = `s3://${BUCKET}/${EVALUATION_PREFIX}evaluation.json`;

function metricInput(evaluationOutput = `s3://${BUCKET}/${EVALUATION_PREFIX}`): ReadMetricInput {
  return {
    config: exampleConfig(),
    jobs: { evaluate: { jobName: 'abalone-evaluate-0123456789ab', status: 'Completed', outputs: { evaluation: evaluationOutput } } },
  };
}

/** What SageMaker's abalone evaluate.py writes. */
function report(mse: unknown = 4.2): string {
  return JSON.stringify({ regression_metrics: { mse: { value: mse, standard_deviation: 1.3 } } });
}

function body(text: string) {
  return sdkStreamMixin(Readable.from([Buffer.from(text, 'utf8')]));
}

beforeEach(() => {
  s3.reset();
});

describe('readGateMetric', () => {
  it('returns the metric with the gate\'s operator and threshold for the Choice state', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(report(4.2)) });

    await expect(readGateMetric(metricInput())).resolves.toEqual({
      metric: 'regression_metrics.mse.value',
      value: 4.2,
      operator: '<=',
      threshold: 6,
      reportUri: REPORT_URI,
      description: 'regression_metrics.mse.value = 4.2 (gate: <= 6)',
    });
  });

  it('reads the Report file inside the evaluate step\'s output', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(report()) });

    await readGateMetric(metricInput());

    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: BUCKET, Key: `${EVALUATION_PREFIX}evaluation.json` });
  });

  it('fails with MetricNotFound when evaluation.json does not exist', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));

    await expect(readGateMetric(metricInput())).rejects.toThrow(MetricNotFoundError);
  });

  it('fails with MetricNotFound naming the path when the metric is absent from the report', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(JSON.stringify({ regression_metrics: { rmse: { value: 2 } } })) });

    await expect(readGateMetric(metricInput())).rejects.toMatchObject({ name: 'MetricNotFound', message: expect.stringContaining('regression_metrics.mse.value') });
  });

  it.each([
    ['a numeric string', '4.2'],
    ['null', null],
    ['an object', { value: 4.2 }],
  ])('fails with MetricNotFound when the metric is %s', async (_label, value) => {
    s3.on(GetObjectCommand).resolves({ Body: body(report(value)) });

    await expect(readGateMetric(metricInput())).rejects.toMatchObject({ name: 'MetricNotFound', message: expect.stringContaining('not a number') });
  });

  it('fails with MetricNotFound when the report is not JSON', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body('mse: 4.2') });

    await expect(readGateMetric(metricInput())).rejects.toMatchObject({ name: 'MetricNotFound', message: expect.stringContaining('not valid JSON') });
  });

  it('rejects with RetryableError when S3 throttles', async () => {
    s3.on(GetObjectCommand).rejects(new S3ServiceException({ name: 'SlowDown', $fault: 'server', message: 'Please reduce your request rate.', $metadata: {} }));

    await expect(readGateMetric(metricInput())).rejects.toThrow(RetryableError);
  });
});

describe('reportUri', () => {
  it('joins the output URI and the report file with one slash when the output has no trailing slash', () => {
    expect(reportUri(metricInput(`s3://${BUCKET}/${EVALUATION_PREFIX.slice(0, -1)}`))).toBe(REPORT_URI);
  });

  it('fails with MetricNotFound when the evaluate job has no output named in Report', () => {
    const input = metricInput();
    input.config.Evaluate.Report = 'metrics/evaluation.json';

    expect(() => reportUri(input)).toThrow(expect.objectContaining({ name: 'MetricNotFound', message: expect.stringContaining('"metrics"') }));
  });

  it('fails with MetricNotFound when Report names an Object.prototype member rather than an output', () => {
    const input = metricInput();
    input.config.Evaluate.Report = 'constructor/evaluation.json';

    expect(() => reportUri(input)).toThrow(MetricNotFoundError);
  });
});

describe('readPath', () => {
  it('follows a dotted path through nested objects', () => {
    expect(readPath({ a: { b: { c: 3 } } }, 'a.b.c')).toBe(3);
  });

  it('returns undefined when a segment is missing', () => {
    expect(readPath({ a: { b: 1 } }, 'a.x.c')).toBeUndefined();
  });

  it('returns undefined for inherited members rather than own keys', () => {
    expect(readPath({ a: {} }, 'a.constructor')).toBeUndefined();
  });
});
