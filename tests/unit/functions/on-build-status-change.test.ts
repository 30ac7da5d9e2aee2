import 'aws-sdk-client-mock-jest';

import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ExecutionStatus, GetExecutionHistoryCommand, HistoryEventType, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DescribeTrainingJobCommand, SageMakerClient, StopTrainingJobCommand, TrainingJobStatus } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';

import type { handler as onBuildStatusChangeHandler } from '../../../functions/on-build-status-change';
import { loadFixture, loadSample } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';
import { ANNOUNCEMENT_TABLE, type FakeTable, fakeTable, HistoryBuilder, newRun, PIPELINE_STATE_MACHINE_ARN, serveHistory, serveRuns, type TestRun, TOKEN_TABLE } from '../../helpers/step-tasks';

const sfn = mockClient(SFNClient);
const events = mockClient(EventBridgeClient);
const sqs = mockClient(SQSClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const sagemaker = mockClient(SageMakerClient);

const BUS = 'sluice-test';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/sluice-test-dead-letter';
const CAUSE = 'training job abalone-train-0a1b2c3d4e5f failed: AlgorithmError: out of memory';

let handler: typeof onBuildStatusChangeHandler;

function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' });
}

beforeAll(async () => {
  process.env.EVENT_BUS_NAME = BUS;
  process.env.BUILD_ANNOUNCEMENT_TABLE = ANNOUNCEMENT_TABLE;
  process.env.BUILD_STATE_MACHINE_PREFIX = 'sluice-test-build-';
  process.env.RECONCILE_MIN_AGE_SECONDS = '120';
  process.env.DEAD_LETTER_QUEUE_URL = QUEUE_URL;
  process.env.JOB_TOKEN_TABLE = TOKEN_TABLE;
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../../functions/on-build-status-change'));
});

let run: TestRun;
let announcements: FakeTable;
let tokens: FakeTable;

/** tests/fixtures/execution-status-change.json for `run`, with `detail` fields replaced. */
function statusChange(detail: Record<string, unknown> = {}): { detail: Record<string, unknown> } {
  const event = loadFixture<{ detail: Record<string, unknown>; resources: string[] }>('execution-status-change.json');
  Object.assign(event.detail, {
    executionArn: run.executionArn,
    name: run.build.executionName,
    input: JSON.stringify({ build: run.build, parameters: {}, steps: {}, reuse: {} }),
    error: 'SageMakerJobFailed',
    cause: CAUSE,
    ...detail,
  });
  event.resources = [run.executionArn];
  return event;
}

beforeEach(() => {
  sfn.reset();
  events.reset();
  sqs.reset();
  dynamo.reset();
  run = newRun();
  sagemaker.reset();
  announcements = fakeTable(dynamo, ANNOUNCEMENT_TABLE, 'announcement');
  tokens = fakeTable(dynamo, TOKEN_TABLE, 'jobName');
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  const history = new HistoryBuilder();
  history.add(HistoryEventType.ExecutionStarted, {}, 0);
  const entered = history.entered('Task', 'Train', {});
  const failed = history.add(HistoryEventType.TaskFailed, { taskFailedEventDetails: { resource: 'invoke.waitForTaskToken', resourceType: 'lambda', error: 'SageMakerJobFailed', cause: CAUSE } }, entered);
  history.add(HistoryEventType.ExecutionFailed, { executionFailedEventDetails: { error: 'SageMakerJobFailed', cause: CAUSE } }, failed);
  serveHistory(sfn, run.executionArn, history.events);
});

describe('on-build-status-change handler', () => {
  it('publishes Model Build Failed on the bus named by EVENT_BUS_NAME, with the failing step', async () => {
    await expect(handler(statusChange(), lambdaContext())).resolves.toEqual({ action: 'published', step: 'Train' });

    const entry = events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(entry).toMatchObject({ EventBusName: BUS, Source: 'sluice', DetailType: 'Model Build Failed' });
    expect(JSON.parse(entry.Detail!)).toMatchObject({ repository: 'abalone', commit: run.build.commit, executionArn: run.executionArn, step: 'Train', error: 'SageMakerJobFailed', cause: CAUSE });
  });

  it('stops the run\'s training job still in progress (the other branch of a failed Parallel), from the table named by JOB_TOKEN_TABLE', async () => {
    const job = 'abalone-train-logistic-0a1b2c3d4e5f';
    tokens.items.set(job, { jobName: job, kind: 'training', taskToken: 't', executionArn: run.executionArn, step: 'train-logistic', createdAt: 1, expiresAt: 2 });
    sagemaker.on(DescribeTrainingJobCommand, { TrainingJobName: job }).resolves({ TrainingJobName: job, TrainingJobStatus: TrainingJobStatus.IN_PROGRESS });
    sagemaker.on(StopTrainingJobCommand).resolves({});

    await handler(statusChange(), lambdaContext());

    expect(sagemaker).toHaveReceivedCommandWith(StopTrainingJobCommand, { TrainingJobName: job });
  });

  it('ignores a run that succeeded', async () => {
    await expect(handler(statusChange({ status: 'SUCCEEDED', error: null, cause: null }), lambdaContext())).resolves.toMatchObject({ action: 'ignored' });

    expect(events).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedCommand(GetExecutionHistoryCommand);
  });

  it('parks an event without an executionArn in the dead-letter queue, naming the field, and resolves', async () => {
    const event = statusChange();
    delete event.detail.executionArn;

    await expect(handler(event, lambdaContext())).resolves.toMatchObject({ rejected: true });

    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: QUEUE_URL, MessageBody: expect.stringContaining('detail.executionArn') });
    expect(events).not.toHaveReceivedAnyCommand();
  });

  it('parks an event of another detail-type in the dead-letter queue', async () => {
    await expect(handler(loadFixture('processing-job-state-change.json'), lambdaContext())).resolves.toMatchObject({ rejected: true });

    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, { MessageBody: expect.stringContaining('detail-type') });
  });

  it('rejects with RetryableError when the history read is throttled, leaving the retry to Lambda', async () => {
    sfn.on(GetExecutionHistoryCommand).rejects(throttling());

    await expect(handler(statusChange(), lambdaContext())).rejects.toMatchObject({ name: 'RetryableError' });
    expect(sqs).not.toHaveReceivedAnyCommand();
  });

  it('publishes a status event delivered twice once, recording it in BUILD_ANNOUNCEMENT_TABLE', async () => {
    await handler(statusChange(), lambdaContext());

    await expect(handler(statusChange(), lambdaContext())).resolves.toMatchObject({ action: 'already-announced' });

    expect(events).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect([...announcements.items.keys()]).toEqual([`${run.executionArn}#0`]);
  });

  describe('on its schedule', () => {
    const stoppedAgo = (seconds: number) => new Date(Date.now() - seconds * 1000);

    it('announces a failed run of BUILD_STATE_MACHINE_PREFIX whose status event was lost, and reports the counts', async () => {
      serveRuns(sfn, [PIPELINE_STATE_MACHINE_ARN], [
        {
          executionArn: run.executionArn,
          stateMachineArn: PIPELINE_STATE_MACHINE_ARN,
          name: run.build.executionName,
          status: ExecutionStatus.FAILED,
          startDate: stoppedAgo(3600),
          stopDate: stoppedAgo(600),
          input: JSON.stringify({ build: run.build, parameters: {}, steps: {}, reuse: {} }),
          error: 'SageMakerJobFailed',
          cause: CAUSE,
        },
      ]);

      await expect(handler(loadSample('scheduled-event.json'), lambdaContext())).resolves.toEqual({ checked: 1, announced: 1 });

      const entry = events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
      expect(JSON.parse(entry.Detail!)).toMatchObject({ executionArn: run.executionArn, step: 'Train', error: 'SageMakerJobFailed', cause: CAUSE });
    });

    it('leaves a run that stopped less than RECONCILE_MIN_AGE_SECONDS ago to the event path', async () => {
      serveRuns(sfn, [PIPELINE_STATE_MACHINE_ARN], [
        { executionArn: run.executionArn, stateMachineArn: PIPELINE_STATE_MACHINE_ARN, name: run.build.executionName, status: ExecutionStatus.FAILED, startDate: stoppedAgo(600), stopDate: stoppedAgo(60) },
      ]);

      await expect(handler(loadSample('scheduled-event.json'), lambdaContext())).resolves.toEqual({ checked: 0, announced: 0 });

      expect(events).not.toHaveReceivedAnyCommand();
    });

    it('parks a Scheduled Event from another source in the dead-letter queue, listing nothing', async () => {
      const event = { ...loadSample('scheduled-event.json'), source: 'sluice' };

      await expect(handler(event, lambdaContext())).resolves.toMatchObject({ rejected: true });

      expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: QUEUE_URL, MessageBody: expect.stringContaining('source') });
      expect(sfn).not.toHaveReceivedCommand(ListStateMachinesCommand);
    });

    it('rejects with RetryableError when the listing is throttled, leaving the retry to Lambda', async () => {
      sfn.on(ListStateMachinesCommand).rejects(throttling());

      await expect(handler(loadSample('scheduled-event.json'), lambdaContext())).rejects.toMatchObject({ name: 'RetryableError' });
      expect(sqs).not.toHaveReceivedAnyCommand();
    });
  });
});
