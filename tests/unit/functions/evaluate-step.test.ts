import 'aws-sdk-client-mock-jest';

import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

import type { handler as evaluateStepHandler } from '../../../functions/evaluate-step';
import { exampleConfig } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';
import { evaluateResult, evaluationReport, fakeS3, type FakeS3, newRun, stepInput, stepsBefore, storePipeline, type TestRun } from '../../helpers/step-tasks';

const s3 = mockClient(S3Client);

let handler: typeof evaluateStepHandler;

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../../functions/evaluate-step'));
});

let store: FakeS3;
let run: TestRun;

/** The task input the compiled pipeline's `<step>` state builds (`Parameters`), after Evaluate reported `mse`. */
function taskInput(step: 'QualityGate' | 'QualityGateFailed', mse = 4.2): Record<string, unknown> {
  store.put(`${evaluateResult(run).Outputs.evaluation}evaluation.json`, evaluationReport(mse));
  return { ...stepInput(run, step, { steps: stepsBefore(step, run) }) };
}

beforeEach(() => {
  s3.reset();
  store = fakeS3(s3);
  run = newRun();
  storePipeline(store, run, exampleConfig());
});

describe('evaluate-step handler', () => {
  it('returns a Condition step\'s outcome and the values it compared, for the Choice state', async () => {
    await expect(handler(taskInput('QualityGate', 4.2), lambdaContext())).resolves.toEqual({
      Type: 'Condition',
      Outcome: true,
      Values: [{ expression: 'Evaluate/Report:regression_metrics.mse.value', value: 4.2 }],
    });
  });

  it('returns a Fail step\'s error name and message, for its Fail state', async () => {
    await expect(handler(taskInput('QualityGateFailed', 9.1), lambdaContext())).resolves.toEqual({
      Type: 'Fail',
      Error: 'QualityGateFailed',
      Cause: 'quality gate not met: regression_metrics.mse.value = 9.1, required <= 6',
    });
  });

  it('accepts an input without `reuse` (it defaults to none)', async () => {
    const input = taskInput('QualityGate');
    delete input.reuse;

    await expect(handler(input, lambdaContext())).resolves.toMatchObject({ Type: 'Condition' });
  });

  it('rejects an invalid task input with InvalidInput naming the field, reading nothing', async () => {
    const input = { ...taskInput('QualityGate'), executionArn: 'not-an-arn' };
    s3.resetHistory();

    await expect(handler(input, lambdaContext())).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('executionArn') });
    expect(s3.calls()).toHaveLength(0);
  });

  it('fails with MetricNotFound when the report lacks the value, so the run fails at this step', async () => {
    const input = taskInput('QualityGate');
    store.put(`${evaluateResult(run).Outputs.evaluation}evaluation.json`, JSON.stringify({ regression_metrics: {} }));

    await expect(handler(input, lambdaContext())).rejects.toMatchObject({ name: 'MetricNotFound', message: expect.stringContaining('Steps.QualityGate.Condition.Left') });
  });
});
