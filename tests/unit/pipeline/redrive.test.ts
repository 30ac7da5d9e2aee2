/**
 * Path test of a compiled pipeline under RedriveExecution: tests/fixtures/pipelines/fork-join.yaml
 * (Prepare → {TrainXgb → EvaluateXgb | TrainLinear → EvaluateLinear} → Gate → Register) compiled by
 * shared/pipeline/compile.ts and run by the local Step Functions service (aws-local-stepfunctions
 * underneath, task tokens as on AWS), with the task functions faked in-process. A job of one
 * parallel branch fails; after RedriveExecution the run goes on from that step only: the other
 * branch and everything before the Parallel are not run again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { StateMachineSpec } from '../../../local/cloudformation/template';
import { createStepFunctionsService, type StepFunctionsService } from '../../../local/stepfunctions/service';
import { compilePipeline } from '../../../shared/pipeline/compile';
import { analysePipeline } from '../../../shared/pipeline/graph';
import { serviceContext } from '../../helpers/service-context';
import { fakeFunctionArn } from '../../helpers/asl';
import { loadPipeline, TEST_TARGETS } from '../../helpers/pipelines';

type Json = Record<string, unknown>;

const TARGETS = { ...TEST_TARGETS, snapshotSourceFunctionArn: fakeFunctionArn('SnapshotSourceLambdaFunction') };
const MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:sluice-test-build-fork-join-0a1b2c3d';

/** The job step results the fake start-job sends back (one per step). */
function jobResult(step: string): Json {
  if (step.startsWith('Train')) return { Type: 'Training', TrainingJobName: `job-${step}`, ModelArtifacts: `s3://bucket/${step}/model.tar.gz`, FinalMetrics: {}, OutputHashes: {}, CachedFrom: null, ReusedFrom: null };
  return { Type: 'Processing', ProcessingJobName: `job-${step}`, Outputs: { train: `s3://bucket/${step}/train/`, test: `s3://bucket/${step}/test/`, evaluation: `s3://bucket/${step}/evaluation/` }, OutputHashes: {}, CachedFrom: null, ReusedFrom: null };
}

let dataDir: string;
let service: StepFunctionsService;
/** Steps whose job should fail (once each) with the given error. */
let failing: Map<string, string>;
/** Every job step started, in order. */
let started: string[];

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-redrive-'));
  failing = new Map();
  started = [];
  const pipeline = loadPipeline('fork-join');
  const { definition } = compilePipeline(pipeline, analysePipeline(pipeline).graph, TARGETS);
  const spec: StateMachineSpec = { logicalId: 'ForkJoin', name: 'sluice-test-build-fork-join-0a1b2c3d', arn: MACHINE_ARN, definition, roleArn: 'arn:aws:iam::123456789012:role/pipeline' };
  service = createStepFunctionsService(serviceContext(dataDir), {
    stateMachines: [spec],
    invokeLambda: async (functionArn, payload) => {
      const input = payload as Json;
      const step = input.step as string;
      if (functionArn === TARGETS.startJobFunctionArn) {
        started.push(step);
        // SageMaker's event settles the token a moment later, as on-job-state-change would; a failing job
        // takes longer, so the other branch has finished when it fails (else Step Functions aborts it).
        const error = failing.get(step);
        failing.delete(step);
        setTimeout(() => {
          const settle = error
            ? service.operations.SendTaskFailure!({ taskToken: input.taskToken, error, cause: `job of ${step} failed: ClientError: No S3 objects found` })
            : service.operations.SendTaskSuccess!({ taskToken: input.taskToken, output: JSON.stringify(jobResult(step)) });
          void settle;
        }, error ? 100 : 1);
        return { started: step };
      }
      if (functionArn === TARGETS.evaluateStepFunctionArn) return { Type: 'Condition', Outcome: true, Values: [] };
      if (functionArn === TARGETS.registerModelFunctionArn) return { Type: 'RegisterModel', ModelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1', ModelPackageGroupName: 'g', ModelApprovalStatus: 'PendingManualApproval', CachedFrom: null };
      return {}; // Source snapshot
    },
    putEvents: async (entries) => ({ FailedEntryCount: 0, Entries: entries.map((_entry, index) => ({ EventId: `event-${index}` })) }),
  });
});

afterEach(async () => {
  await service?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function ended(executionArn: string, redriveCount = 0): Promise<Json> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const described = (await service.operations.DescribeExecution!({ executionArn })) as Json;
    if (described.status !== 'RUNNING' && described.redriveCount === redriveCount) return described;
    if (Date.now() > deadline) throw new Error(`execution still ${String(described.status)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const input = { build: { repository: 'fork-join', branch: 'main', commit: 'c0ffee', taskTimeoutSeconds: 3600 }, parameters: { InstanceType: 'ml.m5.large', MaxMse: 6, Rounds: 50 }, steps: {}, reuse: {} };

describe('a compiled pipeline redriven after a failed step', () => {
  it('fails at the failed job step, naming its error, while the other branch finished', async () => {
    failing.set('EvaluateLinear', 'SageMakerJobFailed');
    const { executionArn } = (await service.operations.StartExecution!({ stateMachineArn: MACHINE_ARN, name: 'run-1', input: JSON.stringify(input) })) as { executionArn: string };

    const run = await ended(executionArn);

    expect(run).toMatchObject({ status: 'FAILED', error: 'SageMakerJobFailed', redriveStatus: 'REDRIVABLE' });
    expect(started.sort()).toEqual(['EvaluateLinear', 'EvaluateXgb', 'Prepare', 'TrainLinear', 'TrainXgb']);
  });

  it('reruns only the failed step and what follows it, and ends with every step\'s result', async () => {
    failing.set('EvaluateLinear', 'SageMakerJobFailed');
    const { executionArn } = (await service.operations.StartExecution!({ stateMachineArn: MACHINE_ARN, name: 'run-2', input: JSON.stringify(input) })) as { executionArn: string };
    await ended(executionArn);
    started = [];

    await service.operations.RedriveExecution!({ executionArn });
    const run = await ended(executionArn, 1);

    expect(run.status).toBe('SUCCEEDED');
    expect(started).toEqual(['EvaluateLinear']);
    const output = JSON.parse(run.output as string) as Json;
    expect(Object.keys(output).sort()).toEqual(['EvaluateLinear', 'EvaluateXgb', 'Gate', 'Prepare', 'Register', 'TrainLinear', 'TrainXgb']);
  });
});
