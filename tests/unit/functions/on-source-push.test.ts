import { CodeCommitClient, CommitDoesNotExistException, CommitIdDoesNotExistException, GetBlobCommand, GetBranchCommand, GetCommitCommand, GetFileCommand, GetFolderCommand } from '@aws-sdk/client-codecommit';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateStateMachineCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteRuleCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand, ResourceNotFoundException } from '@aws-sdk/client-eventbridge';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

import type { handler as onSourcePushHandler } from '../../../functions/on-source-push';
import { RetryableError } from '../../../shared/errors';
import { buildExecutionName, buildKeyPrefix, requestedBuildExecutionName, sourceSnapshotPrefix } from '../../../shared/naming';
import { ACCOUNT, BUCKET, commitOutput, EXAMPLE_CONFIG_TEXT_OWN_GROUP, loadSample, REGION } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';
import { pipelineText } from '../../helpers/pipelines';
import { commitId, fakeS3 } from '../../helpers/step-tasks';

const codecommit = mockClient(CodeCommitClient);
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);
const events = mockClient(EventBridgeClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const TRIGGER_TABLE = 'sluice-test-triggers';
const BUILD_FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:sluice-test-onSourcePush`;

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/sluice-test-dlq';
const PIPELINE_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/sluice-test-pipeline`;
const REJECTED_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:sluice-test-build-rejected`;
const HEAD = commitId('head of main');
/** The tree every commit holds here (GetCommit's treeId). */
const TREE = commitId('the tree of every commit');
const SNAPSHOT_SOURCE_FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:sluice-test-snapshot-source`;

let handler: typeof onSourcePushHandler;

beforeAll(async () => {
  // The snapshot's limit is snapshot-source's to read: on-source-push starts without it.
  delete process.env.MAX_SOURCE_BYTES;
  Object.assign(process.env, {
    ARTIFACTS_BUCKET: BUCKET,
    ALLOWED_INSTANCE_TYPES: 'ml.m5.xlarge,ml.m5.large',
    MAX_RUNTIME_SECONDS: '7200',
    MAX_INSTANCE_COUNT: '4',
    MAX_VOLUME_SIZE_GB: '512',
    ALLOWED_ENDPOINT_INSTANCE_TYPES: 'ml.t2.medium,ml.m5.large',
    MAX_ENDPOINT_INSTANCE_COUNT: '4',
    // The real samples push to myRepo / MyDemoRepo on branch myBranch.
    TRIGGER_REPOSITORIES: 'myRepo,MyDemoRepo,abalone',
    TRIGGER_BRANCHES: 'main,my*',
    BUILD_STATE_MACHINE_PREFIX: 'sluice-test-build-',
    REJECTED_BUILD_STATE_MACHINE_ARN: REJECTED_ARN,
    PIPELINE_ROLE_ARN,
    SNAPSHOT_SOURCE_FUNCTION_ARN,
    START_JOB_FUNCTION_ARN: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:sluice-test-start-job`,
    EVALUATE_STEP_FUNCTION_ARN: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:sluice-test-evaluate-step`,
    REGISTER_MODEL_FUNCTION_ARN: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:sluice-test-register-model`,
    EVENT_BUS_NAME: 'sluice-test',
    BUILD_RUNS_LOG_GROUP_ARN: 'arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/sluice-test-builds:*',
    AWS_ACCOUNT_ID: '123456789012',
    AWS_IMAGE_ACCOUNT_IDS: '763104351884',
    DEAD_LETTER_QUEUE_URL: QUEUE_URL,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    TRIGGER_TABLE,
    SCHEDULE_RULE_PREFIX: 'sluice-test--schedule-',
    BUILD_FUNCTION_ARN,
    STAGE_SCHEDULES: JSON.stringify({ 'MyDemo*': 'cron(0 6 ? * MON-FRI *)' }),
  });
  ({ handler } = await import('../../../functions/on-source-push'));
});

/** Serves `mlopsYaml` at any commit, each commit's tree (TREE) and the head of main: all on-source-push reads of a repository. */
function serveRepository(mlopsYaml: string): void {
  codecommit.on(GetFileCommand).resolves({ fileContent: new TextEncoder().encode(mlopsYaml) });
  codecommit.on(GetCommitCommand).callsFake(async (input: { commitId?: string }) => commitOutput(input.commitId ?? '', TREE));
  codecommit.on(GetBranchCommand).resolves({ branch: { branchName: 'main', commitId: HEAD } });
}

beforeEach(() => {
  codecommit.reset();
  s3.reset();
  sfn.reset();
  sqs.reset();
  events.reset();
  dynamo.reset();
  events.on(PutTargetsCommand).resolves({ FailedEntryCount: 0, FailedEntries: [] });
  dynamo.on(GetCommand).resolves({});
  serveRepository(EXAMPLE_CONFIG_TEXT_OWN_GROUP);
  fakeS3(s3);
  sfn.on(CreateStateMachineCommand).callsFake(async (input: { name?: string }) => ({ stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${input.name}`, creationDate: new Date() }));
  sfn.on(StartExecutionCommand).callsFake(async (input: { stateMachineArn?: string; name?: string }) => ({
    executionArn: `${(input.stateMachineArn ?? '').replace(':stateMachine:', ':execution:')}:${input.name}`,
    startDate: new Date(),
  }));
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
});

/** A `Model Build Requested` event as `sluice run` publishes it. */
function buildRequest(detail: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: '6f87d04b-9f74-4f04-a780-7acf4b0a9b38',
    'detail-type': 'Model Build Requested',
    source: 'sluice',
    account: ACCOUNT,
    time: '2026-11-23T10:00:00Z',
    region: REGION,
    resources: [],
    detail: { repository: 'abalone', requestId: 'run-0001', ...detail },
  };
}

/** The one message sent to the dead-letter queue, decoded. */
function deadLetter(): { source: string; reason: string; input: unknown } {
  const calls = sqs.commandCalls(SendMessageCommand);
  expect(calls).toHaveLength(1);
  expect(calls[0]?.args[0].input.QueueUrl).toBe(QUEUE_URL);
  return JSON.parse(calls[0]?.args[0].input.MessageBody ?? 'null') as { source: string; reason: string; input: unknown };
}

function executionInput(): { build: { taskTimeoutSeconds: number; sourceUri: string; commit: string }; parameters: Record<string, unknown>; failure?: { Error: string; Cause: string } } {
  return JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? 'null');
}

describe('on-source-push handler: a push', () => {
  it('compiles the pipeline and starts one model build for a push to a configured branch', async () => {
    const outcome = await handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext());

    expect(outcome).toMatchObject({ action: 'started', configValid: true });
    expect(sfn).toHaveReceivedCommandWith(CreateStateMachineCommand, { name: expect.stringMatching(/^sluice-test-build-myRepo-[0-9a-f]{8}$/), roleArn: PIPELINE_ROLE_ARN });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: expect.stringContaining(':stateMachine:sluice-test-build-myRepo-'), name: buildExecutionName('myRepo', '26a8f2EXAMPLE') });
  });

  it('compiles a pipeline whose tasks call the functions named in the environment', async () => {
    await handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext());

    const definition = sfn.commandCalls(CreateStateMachineCommand)[0]!.args[0].input.definition!;
    expect(definition).toContain(`"Resource":"${SNAPSHOT_SOURCE_FUNCTION_ARN}"`);
    expect(definition).toContain(`"FunctionName":"arn:aws:lambda:${REGION}:${ACCOUNT}:function:sluice-test-start-job"`);
    expect(definition).toContain(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:sluice-test-evaluate-step`);
    expect(definition).toContain(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:sluice-test-register-model`);
  });

  it('reads the pushed commit\'s tree id, no tree, and writes only pipeline.json: the run snapshots its own source', async () => {
    await handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext());

    expect(codecommit).toHaveReceivedCommandWith(GetCommitCommand, { repositoryName: 'myRepo', commitId: '26a8f2EXAMPLE' });
    expect(codecommit).not.toHaveReceivedCommand(GetFolderCommand);
    expect(codecommit).not.toHaveReceivedCommand(GetBlobCommand);
    expect(s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input.Key)).toEqual([`${buildKeyPrefix('myRepo', buildExecutionName('myRepo', '26a8f2EXAMPLE'))}pipeline.json`]);
  });

  it('starts a build for a newly created branch', async () => {
    await handler(loadSample('codecommit-reference-created.json'), lambdaContext());

    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { name: buildExecutionName('MyDemoRepo', '3e5983DESTINATION') });
  });

  it('applies the stage limits from the environment to the execution input', async () => {
    await handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext());

    const input = executionInput();
    expect(input.build.taskTimeoutSeconds).toBe(7200 + 3600);
    expect(input.build.sourceUri).toMatch(new RegExp(`^s3://${BUCKET}/builds/`));
  });

  it('places the run\'s source snapshot in ARTIFACTS_BUCKET under the commit\'s tree, its pipeline under the execution', async () => {
    await handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext());

    expect(executionInput().build).toMatchObject({
      sourceUri: `s3://${BUCKET}/${sourceSnapshotPrefix('myRepo', TREE)}source.tar.gz`,
      pipelineUri: `s3://${BUCKET}/${buildKeyPrefix('myRepo', buildExecutionName('myRepo', '26a8f2EXAMPLE'))}pipeline.json`,
    });
  });

  it('dead-letters a pushed commit GetCommit does not know, naming the commit, and starts nothing', async () => {
    codecommit.on(GetCommitCommand).rejects(new CommitIdDoesNotExistException({ message: 'Commit 26a8f2EXAMPLE does not exist.', $metadata: {} }));

    await expect(handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext())).resolves.toMatchObject({ rejected: true });

    expect(deadLetter().reason).toBe('commit: 26a8f2EXAMPLE does not exist in myRepo');
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(s3).not.toHaveReceivedAnyCommand();
  });

  it('starts the rejected-build state machine for an invalid mlops.yaml', async () => {
    serveRepository('Version: 2\nSteps: {}\n');

    await expect(handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext())).resolves.toMatchObject({ action: 'started', configValid: false, stateMachineArn: REJECTED_ARN });
    expect(executionInput().failure).toEqual({ Error: 'InvalidConfig', Cause: expect.stringContaining('Steps') });
  });

  it.each([
    ['a deleted branch', 'codecommit-reference-deleted.json'],
    ['a tag', 'codecommit-tag-created.json'],
  ])('ignores %s without starting anything or dead-lettering it', async (_what, sample) => {
    await expect(handler(loadSample(sample), lambdaContext())).resolves.toMatchObject({ action: 'ignored' });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('ignores a push to a branch that is not configured', async () => {
    const event = loadSample<{ detail: Record<string, unknown> }>('codecommit-reference-updated-push.json');
    event.detail.referenceName = 'experiment';
    event.detail.referenceFullName = 'refs/heads/experiment';

    await expect(handler(event, lambdaContext())).resolves.toEqual({ action: 'ignored', reason: 'branch experiment is not configured to build' });
  });

  describe('a malformed event (detail.repositoryName missing)', () => {
    function malformed(): Record<string, unknown> {
      const event = loadSample<{ detail: Record<string, unknown> }>('codecommit-reference-updated-push.json');
      delete event.detail.repositoryName;
      return event;
    }

    it('resolves instead of throwing, so Lambda does not retry it', async () => {
      await expect(handler(malformed(), lambdaContext())).resolves.toMatchObject({ rejected: true });
    });

    it('sends it to the dead-letter queue with a reason naming detail.repositoryName', async () => {
      const event = malformed();

      await handler(event, lambdaContext());

      const message = deadLetter();
      expect(message.source).toBe('on-source-push');
      expect(message.reason).toContain('detail.repositoryName');
      expect(message.input).toEqual(event);
    });

    it('reads nothing and starts nothing', async () => {
      await handler(malformed(), lambdaContext());

      expect(codecommit.calls()).toHaveLength(0);
      expect(sfn.calls()).toHaveLength(0);
    });
  });

  it('dead-letters an event of another detail-type, naming detail-type', async () => {
    await handler(loadSample('sagemaker-training-job-state-change.json'), lambdaContext());

    expect(deadLetter().reason).toContain('detail-type');
  });

  it('dead-letters a commit id that is not one, naming detail.commitId', async () => {
    const event = loadSample<{ detail: Record<string, unknown> }>('codecommit-reference-updated-push.json');
    event.detail.commitId = '26a8f2; rm -rf /';

    await handler(event, lambdaContext());

    expect(deadLetter().reason).toContain('detail.commitId');
  });

  it('throws RetryableError when CodeCommit throttles, without dead-lettering the event', async () => {
    codecommit.on(GetFileCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' }));

    await expect(handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext())).rejects.toThrow(RetryableError);
    expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
  });
});

describe('on-source-push handler: Model Build Requested', () => {
  beforeEach(() => {
    serveRepository(pipelineText('fork-join'));
  });

  it('builds the branch head under the request\'s execution name, with its parameter overrides', async () => {
    await expect(handler(buildRequest({ parameters: { Rounds: 80 } }), lambdaContext())).resolves.toMatchObject({ action: 'started', configValid: true });

    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { name: requestedBuildExecutionName('abalone', HEAD, 'run-0001') });
    expect(executionInput().parameters).toEqual({ InstanceType: 'ml.m5.large', MaxMse: 6, Rounds: 80 });
    expect(codecommit).toHaveReceivedCommandWith(GetCommitCommand, { repositoryName: 'abalone', commitId: HEAD });
  });

  it('fails the run visibly, naming Parameters.<name>, for an override of the wrong type', async () => {
    await handler(buildRequest({ parameters: { MaxMse: 'low' } }), lambdaContext());

    expect(executionInput().failure).toEqual({ Error: 'InvalidConfig', Cause: 'Parameters.MaxMse: must be a Float, got "low"' });
  });

  it('ignores a repository the stage does not build', async () => {
    await expect(handler(buildRequest({ repository: 'churn' }), lambdaContext())).resolves.toEqual({ action: 'ignored', reason: 'repository churn is not configured to build' });
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('dead-letters a request with fromStep but no sourceExecutionArn, naming detail.fromStep', async () => {
    await expect(handler(buildRequest({ fromStep: 'Gate' }), lambdaContext())).resolves.toMatchObject({ rejected: true });

    expect(deadLetter().reason).toContain('detail.fromStep: fromStep and sourceExecutionArn go together');
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('dead-letters a request for a commit the repository does not have, naming the commit, and starts nothing', async () => {
    const commit = commitId('a commit of another repository');
    codecommit.on(GetFileCommand).rejects(new CommitDoesNotExistException({ message: `Could not find commit ${commit}`, $metadata: {} }));

    await expect(handler(buildRequest({ commit }), lambdaContext())).resolves.toMatchObject({ rejected: true });

    expect(deadLetter().reason).toBe(`commit: ${commit} does not exist in abalone`);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('dead-letters a request id that cannot name a run, naming detail.requestId', async () => {
    await handler(buildRequest({ requestId: 'run 1; drop' }), lambdaContext());

    expect(deadLetter().reason).toContain('detail.requestId');
  });
});

describe('on-source-push handler: a push keeps the branch\'s triggers', () => {
  /** The example pipeline with a Triggers section. */
  const withTriggers = (triggers: string) => `${EXAMPLE_CONFIG_TEXT_OWN_GROUP}\nTriggers:\n${triggers}\n`;

  it('puts the schedule rule mlops.yaml asks for, targeting this function with a Model Build Requested of the branch per firing', async () => {
    serveRepository(withTriggers('  Schedule: rate(1 day)'));

    await handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext());

    const rule = events.commandCalls(PutRuleCommand)[0]!.args[0].input;
    expect(rule).toMatchObject({ ScheduleExpression: 'rate(1 day)', State: 'ENABLED', Name: expect.stringMatching(/^sluice-test--schedule-myRepo-[0-9a-f]{8}$/) });
    const target = events.commandCalls(PutTargetsCommand)[0]!.args[0].input;
    expect(target.Rule).toBe(rule.Name);
    expect(target.Targets).toEqual([expect.objectContaining({ Id: 'build', Arn: BUILD_FUNCTION_ARN })]);
    const template = target.Targets![0]!.InputTransformer!.InputTemplate!;
    // Rendered with a firing's values, the input is a Model Build Requested on-source-push accepts.
    const rendered = JSON.parse(template.replace(/<id>/g, 'a1b2').replace(/<time>/g, '2026-12-04T06:00:00Z').replace(/<account>/g, ACCOUNT).replace(/<region>/g, REGION).replace(/<aws\.events\.rule-arn>/g, 'arn'));
    expect(rendered).toMatchObject({ 'detail-type': 'Model Build Requested', source: 'sluice', detail: { repository: 'myRepo', branch: 'myBranch', requestId: 'schedule-a1b2' } });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('removes the rule when the branch asks for no schedule', async () => {
    events.on(RemoveTargetsCommand).rejects(new ResourceNotFoundException({ message: 'Rule does not exist', $metadata: {} }));

    await handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext());

    expect(events).toHaveReceivedCommandWith(RemoveTargetsCommand, { Rule: expect.stringMatching(/^sluice-test--schedule-myRepo-/), Ids: ['build'] });
    expect(events).not.toHaveReceivedCommand(PutRuleCommand);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('records the datasets the pipeline reads and forgets those it no longer reads', async () => {
    dynamo.on(GetCommand).resolves({ Item: { pk: 'repository#myRepo', sk: 'myBranch', datasets: ['old-data', 'abalone'] } });

    await handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext());

    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { TableName: TRIGGER_TABLE, Key: { pk: 'dataset#old-data', sk: 'myRepo/myBranch' } });
    expect(dynamo).toHaveReceivedCommandTimes(DeleteCommand, 1);
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, { TableName: TRIGGER_TABLE, Item: expect.objectContaining({ pk: 'dataset#abalone', sk: 'myRepo/myBranch', repository: 'myRepo', branch: 'myBranch', paths: ['abalone/'] }) });
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, { TableName: TRIGGER_TABLE, Item: expect.objectContaining({ pk: 'repository#myRepo', sk: 'myBranch', datasets: ['abalone'] }) });
  });

  it('records no dataset when Triggers.DataArrival is false', async () => {
    serveRepository(withTriggers('  DataArrival: false'));

    await handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext());

    expect(dynamo.commandCalls(PutCommand).map((call) => call.args[0].input.Item?.pk)).toEqual(['repository#myRepo']);
  });

  it('fails the run visibly, naming Triggers.Schedule, for a schedule EventBridge would refuse, and keeps the old triggers', async () => {
    serveRepository(withTriggers('  Schedule: cron(0 6 * * * *)'));

    const outcome = await handler(loadSample('codecommit-reference-updated-push.json'), lambdaContext());

    expect(outcome).toMatchObject({ action: 'started', configValid: false });
    expect(executionInput().failure?.Cause).toContain('Triggers.Schedule');
    expect(executionInput().failure?.Cause).toContain('exactly one of Day-of-month and Day-of-week');
    expect(events).not.toHaveReceivedCommand(PutRuleCommand);
    expect(events).not.toHaveReceivedCommand(DeleteRuleCommand);
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
  });

  it('lets the stage\'s schedules setting win over the file\'s', async () => {
    serveRepository(withTriggers('  Schedule: rate(1 day)'));
    const push = loadSample('codecommit-reference-updated-push.json') as { detail: Record<string, unknown> };
    push.detail.repositoryName = 'MyDemoRepo';

    await handler(push, lambdaContext());

    expect(events).toHaveReceivedCommandWith(PutRuleCommand, { ScheduleExpression: 'cron(0 6 ? * MON-FRI *)' });
  });
});
