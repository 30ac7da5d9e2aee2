import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DescribeProcessingJobCommand, ListProcessingJobsCommand, ProcessingJobStatus, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { ListExecutionsCommand, ListStateMachinesCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';

import { createRepository, EXAMPLE_DIR, pushDirectory } from '../../local/seed';
import type { EventBridgeEvent } from '../../local/eventbridge/service';
import { eventually, type RuntimeProcess, runtimeEvents, startRuntime } from '../helpers/runtime-process';

/**
 * A run stopped by hand (StopExecution) stops the SageMaker job it was waiting on: on-build-status-change
 * sees the run ABORTED and stops its in-flight jobs (shared/pipeline/jobs.ts stopRunJobs), and announces
 * Model Build Failed. Stopping an execution does not stop the jobs it started
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html), hence the listener.
 */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const REPOSITORY = 'stop-me';
const IMAGE = 'sleep.local/sleep:latest';

/** One Processing step that sleeps for two minutes: a non-ECR image the local stage runs from Local.Images. */
const MLOPS_YAML = `Version: 2
Steps:
  nap:
    Type: Processing
    AppSpecification: { ImageUri: ${IMAGE} }
    ProcessingResources: { ClusterConfig: { InstanceType: ml.m5.large } }
Local:
  Images:
    ${IMAGE}:
      Command: [sh, -c, 'sleep 120']
`;

let dataDir: string;
let runtime: RuntimeProcess;
let sfn: SFNClient;
let sageMaker: SageMakerClient;

async function runningJobName(): Promise<string | undefined> {
  const jobs = (await sageMaker.send(new ListProcessingJobsCommand({ StatusEquals: ProcessingJobStatus.IN_PROGRESS }))).ProcessingJobSummaries ?? [];
  return jobs[0]?.ProcessingJobName;
}

async function runArn(): Promise<string | undefined> {
  const machines = ((await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []).filter((machine) => machine.name?.includes(REPOSITORY));
  for (const machine of machines) {
    const [execution] = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn, statusFilter: 'RUNNING' }))).executions ?? [];
    if (execution?.executionArn) return execution.executionArn;
  }
  return undefined;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-stop-'));
  runtime = await startRuntime({ dataDir });
  const options = { endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS };
  sfn = new SFNClient(options);
  sageMaker = new SageMakerClient(options);
}, 120_000);

afterAll(async () => {
  sfn?.destroy();
  sageMaker?.destroy();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('a build run stopped by hand on the local runtime', () => {
  it('stops its InProgress SageMaker job within 15 s and announces Model Build Failed with status ABORTED', async () => {
    await createRepository(runtime.endpoint, REPOSITORY);
    const commit = await pushDirectory(runtime.endpoint, REPOSITORY, EXAMPLE_DIR, { changes: { 'mlops.yaml': MLOPS_YAML } });
    const jobName = await eventually(runtime, runningJobName, 'InProgress processing job', 20_000);
    const executionArn = await eventually(runtime, runArn, 'RUNNING build run', 5_000);

    await sfn.send(new StopExecutionCommand({ executionArn, cause: 'stopped by the e2e test' }));

    const status = await eventually(runtime, async () => {
      const job = await sageMaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: jobName }));
      return job.ProcessingJobStatus === ProcessingJobStatus.IN_PROGRESS || job.ProcessingJobStatus === ProcessingJobStatus.STOPPING ? undefined : job.ProcessingJobStatus;
    }, `end of ${jobName}`, 15_000);
    expect(status).toBe(ProcessingJobStatus.STOPPED);
    const failed = await eventually(runtime, 
      () => runtimeEvents(dataDir).find((event: EventBridgeEvent) => event['detail-type'] === 'Model Build Failed' && (event.detail as { commit?: string }).commit === commit),
      'Model Build Failed',
      10_000,
    );
    expect(failed.detail).toMatchObject({ repository: REPOSITORY, executionArn, status: 'ABORTED', error: 'Aborted' });
  }, 90_000);
});
