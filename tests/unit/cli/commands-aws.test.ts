import 'aws-sdk-client-mock-jest';

import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ListEndpointsCommand, ListModelPackageGroupsCommand, SageMakerClient, UpdateModelPackageCommand } from '@aws-sdk/client-sagemaker';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, type HistoryEvent, ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';

import { requestBuild } from '../../../cli/build-commands';
import { readRunLogs, runJobs } from '../../../cli/logs';
import { main } from '../../../cli/main';
import { getStatus, promote, setApproval } from '../../../cli/status';
import { namesFromOutputs, type Target } from '../../../cli/target';
import { jobName, tuningJobName } from '../../../shared/naming';

/**
 * The commands against a deployed stage: every call goes to the discovered account, region, bus and
 * names (stage prod in eu-west-1, account 111122223333) — nothing local.
 */

const sfn = mockClient(SFNClient);
const sageMaker = mockClient(SageMakerClient);
const events = mockClient(EventBridgeClient);
const logs = mockClient(CloudWatchLogsClient);
const cloudFormation = mockClient(CloudFormationClient);

const OUTPUTS = [
  { OutputKey: 'StageResourcePrefix', OutputValue: 'sluice-prod--' },
  { OutputKey: 'EventBusName', OutputValue: 'sluice-prod' },
  { OutputKey: 'ArtifactsBucketName', OutputValue: 'sluice-prod-artifacts' },
  { OutputKey: 'BuildStateMachinePrefix', OutputValue: 'sluice-prod-build-' },
  { OutputKey: 'ModelDeployStateMachineArn', OutputValue: 'arn:aws:states:eu-west-1:111122223333:stateMachine:sluice-prod-model-deploy' },
];

const PROD: Target = {
  kind: 'aws',
  stackName: 'sluice-prod',
  stage: 'prod',
  region: 'eu-west-1',
  accountId: '111122223333',
  partition: 'aws',
  names: namesFromOutputs('sluice-prod', OUTPUTS),
  clientConfig: { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } },
};

const MACHINE = 'sluice-prod-build-abalone-1a2b3c4d';
const RUN_ARN = `arn:aws:states:eu-west-1:111122223333:execution:${MACHINE}:abalone-0123456789ab-f00d42`;

beforeEach(() => {
  for (const mock of [sfn, sageMaker, events, logs, cloudFormation]) mock.reset();
});

/** A start-job task as Step Functions records it: the `waitForTaskToken` Lambda call with its payload. */
function scheduled(id: number, step: string): HistoryEvent {
  return {
    id,
    timestamp: new Date(Date.UTC(2026, 11, 4, 12, 0, id)),
    type: 'TaskScheduled',
    taskScheduledEventDetails: {
      resourceType: 'lambda',
      resource: 'invoke.waitForTaskToken',
      region: 'eu-west-1',
      parameters: JSON.stringify({ FunctionName: 'arn:aws:lambda:eu-west-1:111122223333:function:sluice-prod-startJob', Payload: { taskToken: 'token', step, executionArn: RUN_ARN, build: { repository: 'abalone', commit: '0123456789abcdef' } } }),
    },
  };
}

const HISTORY: HistoryEvent[] = [
  { id: 1, timestamp: new Date(Date.UTC(2026, 11, 4, 12, 0, 0)), type: 'ExecutionStarted' },
  { id: 2, timestamp: new Date(Date.UTC(2026, 11, 4, 12, 0, 1)), type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'Preprocess' } },
  scheduled(3, 'Preprocess'),
  { id: 4, timestamp: new Date(Date.UTC(2026, 11, 4, 12, 0, 9)), type: 'TaskStateExited', stateExitedEventDetails: { name: 'Preprocess', output: '{}' } },
  { id: 5, timestamp: new Date(Date.UTC(2026, 11, 4, 12, 0, 10)), type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'Train' } },
  scheduled(6, 'Train'),
  // A retry schedules the same step again: still one job step (its attempts share a name prefix).
  scheduled(7, 'Train'),
  // Evaluate is a plain Lambda task (no task token): no job.
  {
    id: 8,
    timestamp: new Date(Date.UTC(2026, 11, 4, 12, 0, 20)),
    type: 'TaskScheduled',
    taskScheduledEventDetails: { resourceType: 'lambda', resource: 'invoke', region: 'eu-west-1', parameters: JSON.stringify({ FunctionName: 'x', Payload: { step: 'Evaluate', build: { repository: 'abalone' } } }) },
  },
];

describe('runJobs (the jobs a run started, from its history)', () => {
  it('lists each job step once, named as start-job names its job in the stage', () => {
    expect(runJobs(HISTORY, RUN_ARN, 'sluice-prod')).toEqual([
      { step: 'Preprocess', jobName: jobName('sluice-prod', 'abalone', 'Preprocess', RUN_ARN), tuningJobName: tuningJobName('sluice-prod', 'abalone', 'Preprocess', RUN_ARN) },
      { step: 'Train', jobName: jobName('sluice-prod', 'abalone', 'Train', RUN_ARN), tuningJobName: tuningJobName('sluice-prod', 'abalone', 'Train', RUN_ARN) },
    ]);
    expect(runJobs(HISTORY, RUN_ARN, 'sluice-prod')[1]!.jobName).toMatch(/^sluice-prod--abalone-train-[0-9a-f]{12}$/);
  });
});

describe('sluice logs <run> --step against AWS', () => {
  it("reads only that step's job, every attempt, from the SageMaker job log groups, and tags lines with the step", async () => {
    const train = jobName('sluice-prod', 'abalone', 'Train', RUN_ARN);
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: RUN_ARN, status: 'SUCCEEDED', stateMachineArn: 'x', startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: HISTORY });
    logs.on(FilterLogEventsCommand).resolves({ events: [] });
    logs.on(FilterLogEventsCommand, { logGroupName: '/aws/sagemaker/TrainingJobs', logStreamNamePrefix: train }).resolves({
      events: [
        { timestamp: 2, logStreamName: `${train}-2/algo-1-1764849601`, message: 'epoch 1 (attempt 2)' },
        { timestamp: 1, logStreamName: `${train}/algo-1-1764849600`, message: 'epoch 1' },
      ],
    });

    const result = await readRunLogs(PROD, `${MACHINE}/abalone-0123456789ab-f00d42`, 'Train');

    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, { executionArn: RUN_ARN });
    expect(logs).toHaveReceivedCommandTimes(FilterLogEventsCommand, 4);
    expect(logs).toHaveReceivedCommandWith(FilterLogEventsCommand, { logGroupName: '/aws/sagemaker/ProcessingJobs', logStreamNamePrefix: train });
    expect(logs).toHaveReceivedCommandWith(FilterLogEventsCommand, { logGroupName: '/aws/sagemaker/TransformJobs', logStreamNamePrefix: train });
    expect(result.lines.map((line) => [line.step, line.message])).toEqual([
      ['Train', 'epoch 1'],
      ['Train', 'epoch 1 (attempt 2)'],
    ]);
  });

  it("reads a Tuning step's training jobs, which SageMaker names after its tuning job", async () => {
    const tuning = tuningJobName('sluice-prod', 'abalone', 'Train', RUN_ARN);
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: RUN_ARN, status: 'SUCCEEDED', stateMachineArn: 'x', startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: HISTORY });
    logs.on(FilterLogEventsCommand).resolves({ events: [] });
    logs.on(FilterLogEventsCommand, { logGroupName: '/aws/sagemaker/TrainingJobs', logStreamNamePrefix: `${tuning}-` }).resolves({
      events: [
        { timestamp: 2, logStreamName: `${tuning}-002-0a1b2c3d/algo-1-1764849601`, message: 'validation-rmse:2.3' },
        { timestamp: 1, logStreamName: `${tuning}-001-4e5f6a7b/algo-1-1764849600`, message: 'validation-rmse:2.4' },
      ],
    });

    const result = await readRunLogs(PROD, RUN_ARN, 'Train');

    expect(result.lines.map((line) => [line.step, line.stream.split('/')[0], line.message])).toEqual([
      ['Train', `${tuning}-001-4e5f6a7b`, 'validation-rmse:2.4'],
      ['Train', `${tuning}-002-0a1b2c3d`, 'validation-rmse:2.3'],
    ]);
  });

  it('names the run\'s job steps when --step names none of them', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: RUN_ARN, status: 'SUCCEEDED', stateMachineArn: 'x', startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: HISTORY });

    await expect(readRunLogs(PROD, RUN_ARN, 'Evaluate')).rejects.toThrow(`run ${RUN_ARN} started no job for step "Evaluate": its job steps are Preprocess, Train`);
  });
});

describe('status, approve, promote and run against AWS', () => {
  it("lists only the stage's state machines, model package groups and endpoints", async () => {
    sfn.on(ListStateMachinesCommand).resolves({
      stateMachines: [
        { name: MACHINE, stateMachineArn: `arn:aws:states:eu-west-1:111122223333:stateMachine:${MACHINE}`, type: 'STANDARD', creationDate: new Date() },
        { name: 'sluice-dev-build-abalone-1a2b3c4d', stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:sluice-dev-build-abalone-1a2b3c4d', type: 'STANDARD', creationDate: new Date() },
        { name: 'someone-elses-machine', stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:someone-elses-machine', type: 'STANDARD', creationDate: new Date() },
      ],
    });
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sageMaker.on(ListModelPackageGroupsCommand).resolves({ ModelPackageGroupSummaryList: [{ ModelPackageGroupName: 'sluice-prod-other--x', ModelPackageGroupArn: 'a', CreationTime: new Date(), ModelPackageGroupStatus: 'Completed' }] });
    sageMaker.on(ListEndpointsCommand).resolves({ Endpoints: [] });

    const status = await getStatus(PROD);

    expect(sfn).toHaveReceivedCommandTimes(ListExecutionsCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: `arn:aws:states:eu-west-1:111122223333:stateMachine:${MACHINE}` });
    expect(sageMaker).toHaveReceivedCommandWith(ListModelPackageGroupsCommand, { NameContains: 'sluice-prod--' });
    expect(sageMaker).toHaveReceivedCommandWith(ListEndpointsCommand, { NameContains: 'sluice-prod--' });
    expect(status.modelVersions).toEqual([]);
  });

  it("approves a <group>/<version> as a model package ARN in the stage's account and region", async () => {
    sageMaker.on(UpdateModelPackageCommand).resolves({ ModelPackageArn: 'x' });

    await setApproval(PROD, 'sluice-prod--abalone/4', 'Approved');

    expect(sageMaker).toHaveReceivedCommandWith(UpdateModelPackageCommand, { ModelPackageArn: 'arn:aws:sagemaker:eu-west-1:111122223333:model-package/sluice-prod--abalone/4', ModelApprovalStatus: 'Approved' });
  });

  it("promotes and requests builds on the stage's bus", async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });

    await promote(PROD, 'sluice-prod--abalone/4');
    await requestBuild(PROD, { repository: 'abalone', parameters: { Rounds: 5 } }, 'req-1');

    expect(events).toHaveReceivedNthCommandWith(1, PutEventsCommand, { Entries: [expect.objectContaining({ EventBusName: 'sluice-prod', DetailType: 'Model Promotion Approved' })] });
    expect(events).toHaveReceivedNthCommandWith(2, PutEventsCommand, {
      Entries: [expect.objectContaining({ EventBusName: 'sluice-prod', DetailType: 'Model Build Requested', Detail: JSON.stringify({ branch: 'main', repository: 'abalone', parameters: { Rounds: 5 }, requestId: 'req-1' }) })],
    });
  });
});

describe('main against a deployed stage', () => {
  let stdout: jest.SpyInstance;
  let stderr: jest.SpyInstance;
  const printed = (spy: jest.SpyInstance) => spy.mock.calls.map((call) => String(call[0])).join('');

  beforeEach(() => {
    stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });

  afterEach(() => {
    stdout.mockRestore();
    stderr.mockRestore();
  });

  const ENV = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };

  it('`sluice status --json --stage prod --region eu-west-1` discovers the stack, then lists its runs', async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: 'sluice-prod' }).resolves({
      Stacks: [{ StackName: 'sluice-prod', StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/sluice-prod/id', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: OUTPUTS }],
    });
    sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [{ name: MACHINE, stateMachineArn: `arn:aws:states:eu-west-1:111122223333:stateMachine:${MACHINE}`, type: 'STANDARD', creationDate: new Date() }] });
    sfn.on(ListExecutionsCommand).resolves({ executions: [{ executionArn: RUN_ARN, name: 'abalone-0123456789ab-f00d42', stateMachineArn: 'm', status: 'RUNNING', startDate: new Date() }] });
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: RUN_ARN, name: 'abalone-0123456789ab-f00d42', stateMachineArn: `arn:aws:states:eu-west-1:111122223333:stateMachine:${MACHINE}`, status: 'RUNNING', startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: HISTORY });
    sageMaker.on(ListModelPackageGroupsCommand).resolves({ ModelPackageGroupSummaryList: [] });
    sageMaker.on(ListEndpointsCommand).resolves({ Endpoints: [] });

    const code = await main(['status', '--json', '--stage', 'prod', '--region', 'eu-west-1'], ENV);

    expect(code).toBe(0);
    expect(cloudFormation).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'sluice-prod' });
    const status = JSON.parse(printed(stdout)) as { runs: { stateMachine: string; name: string; steps: { name: string; status: string }[] }[] };
    expect(status.runs).toEqual([expect.objectContaining({ stateMachine: MACHINE, name: 'abalone-0123456789ab-f00d42', steps: [expect.objectContaining({ name: 'Preprocess', status: 'succeeded' }), { name: 'Train', status: 'running' }] })]);
  });

  it('names the stage, stack, region and account it shows in text', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'sluice-prod', StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/sluice-prod/id', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: OUTPUTS }],
    });
    sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [] });
    sageMaker.on(ListModelPackageGroupsCommand).resolves({ ModelPackageGroupSummaryList: [] });
    sageMaker.on(ListEndpointsCommand).resolves({ Endpoints: [] });

    expect(await main(['status', '--stage', 'prod', '--region', 'eu-west-1'], ENV)).toBe(0);
    expect(printed(stdout)).toMatch(/^Stage prod \(sluice-prod in eu-west-1, account 111122223333\)\nRuns\n {2}\(none\)/);
  });

  it('exits 1 with the error on stderr, and as {"error": …} on stdout with --json', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id sluice-qa does not exist'), { name: 'ValidationError' }));

    const code = await main(['status', '--json', '--stage', 'qa', '--region', 'eu-west-1'], ENV);

    expect(code).toBe(1);
    expect(JSON.parse(printed(stdout))).toEqual({ error: { code: 'StackNotFound', message: expect.stringContaining('stack sluice-qa not found in eu-west-1') } });
    expect(printed(stderr)).toMatch(/^sluice: stack sluice-qa not found in eu-west-1: name the deployed stage with --stage/);
  });

  it('answers an unknown flag with BadArguments, before looking for any target', async () => {
    const code = await main(['status', '--bogus', '--json'], ENV);

    expect(code).toBe(1);
    expect(JSON.parse(printed(stdout))).toEqual({ error: { code: 'BadArguments', message: expect.stringContaining("Unknown option '--bogus'") } });
    expect(cloudFormation).not.toHaveReceivedCommand(DescribeStacksCommand);
  });

  it('says to start the runtime when the local endpoint does not answer', async () => {
    sfn.on(ListStateMachinesCommand).rejects(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }));

    const code = await main(['status'], { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });

    expect(code).toBe(1);
    expect(printed(stderr)).toContain('the local runtime at http://127.0.0.1:9 does not answer: start it with "npm start" (or "sluice up")');
  });
});
