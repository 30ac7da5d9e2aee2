import 'aws-sdk-client-mock-jest';

import { CodeCommitClient, CommitDoesNotExistException, CommitIdDoesNotExistException, GetBlobCommand, GetCommitCommand, GetFileCommand, GetFolderCommand } from '@aws-sdk/client-codecommit';
import { CodePipelineClient, PutJobFailureResultCommand, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateStateMachineCommand, DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';

import type { handler as codePipelineActionHandler } from '../../../functions/codepipeline-action';
import { DEPLOY_STATE_MACHINE_ARN } from '../../helpers/deploy';
import { buildExecutionName, buildKeyPrefix, sourceSnapshotPrefix } from '../../../shared/naming';
import { commitOutput, EXAMPLE_CONFIG_TEXT_OWN_GROUP, loadSample } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';
import { commitId, fakeS3 } from '../../helpers/step-tasks';

/** functions/codepipeline-action with the real `CodePipeline.job` event from the AWS docs. */

const codePipeline = mockClient(CodePipelineClient);
const sfn = mockClient(SFNClient);
const events = mockClient(EventBridgeClient);
const codecommit = mockClient(CodeCommitClient);
const s3 = mockClient(S3Client);

const JOB_ID = '11111111-abcd-1111-abcd-111111abcdef';
const PACKAGE = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/sluice-test-abalone/3';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:sluice-test-model-deploy:sluice-test-abalone-v3-0a1b2c3d';

interface PipelineEvent {
  'CodePipeline.job': { data: { actionConfiguration: { configuration: { UserParameters?: string } }; continuationToken?: string } };
}

function jobEvent(userParameters: string | undefined, continuationToken?: string): PipelineEvent {
  const event = loadSample<PipelineEvent>('codepipeline-job-event.json');
  event['CodePipeline.job'].data.actionConfiguration.configuration.UserParameters = userParameters;
  // The documented sample carries a continuation token; a first invocation has none.
  if (continuationToken) event['CodePipeline.job'].data.continuationToken = continuationToken;
  else delete event['CodePipeline.job'].data.continuationToken;
  return event;
}

let handler: typeof codePipelineActionHandler;

beforeAll(async () => {
  // The snapshot's limit is snapshot-source's to read: the build action starts without it.
  delete process.env.MAX_SOURCE_BYTES;
  Object.assign(process.env, {
    MODEL_DEPLOY_STATE_MACHINE_ARN: DEPLOY_STATE_MACHINE_ARN,
    EVENT_BUS_NAME: 'sluice-test',
    BUILD_RUNS_LOG_GROUP_ARN: 'arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/sluice-test-builds:*',
    AWS_ACCOUNT_ID: '123456789012',
    AWS_IMAGE_ACCOUNT_IDS: '763104351884',
    ARTIFACTS_BUCKET: 'sluice-test-artifacts',
    ALLOWED_INSTANCE_TYPES: 'ml.m5.xlarge',
    MAX_RUNTIME_SECONDS: '3600',
    MAX_INSTANCE_COUNT: '4',
    MAX_VOLUME_SIZE_GB: '512',
    ALLOWED_ENDPOINT_INSTANCE_TYPES: 'ml.t2.medium,ml.m5.large',
    MAX_ENDPOINT_INSTANCE_COUNT: '4',
    // The stage's push filters: a pipeline's build action ignores them.
    TRIGGER_REPOSITORIES: 'abalone',
    TRIGGER_BRANCHES: 'main',
    BUILD_STATE_MACHINE_PREFIX: 'sluice-test-build-',
    REJECTED_BUILD_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:sluice-test-build-rejected',
    PIPELINE_ROLE_ARN: 'arn:aws:iam::123456789012:role/sluice-test-pipeline',
    SNAPSHOT_SOURCE_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-snapshot-source',
    START_JOB_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-start-job',
    EVALUATE_STEP_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-evaluate-step',
    REGISTER_MODEL_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-register-model',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  ({ handler } = await import('../../../functions/codepipeline-action'));
});

beforeEach(() => {
  codePipeline.reset();
  sfn.reset();
  events.reset();
  codecommit.reset();
  s3.reset();
  codePipeline.on(PutJobSuccessResultCommand).resolves({});
  codePipeline.on(PutJobFailureResultCommand).resolves({});
});

/** The pipeline's source revision a build action names, and its tree. */
const REVISION = commitId('pipeline source revision');
const REVISION_TREE = commitId('tree of the pipeline source revision');

/** What a build action reads and writes: the revision's mlops.yaml and tree id, S3, and the pipeline's state machine. */
function serveBuild(): void {
  codecommit.on(GetFileCommand).resolves({ fileContent: new TextEncoder().encode(EXAMPLE_CONFIG_TEXT_OWN_GROUP) });
  codecommit.on(GetCommitCommand, { commitId: REVISION }).resolves(commitOutput(REVISION, REVISION_TREE));
  fakeS3(s3);
  sfn.on(CreateStateMachineCommand).callsFake(async (input: { name?: string }) => ({ stateMachineArn: `arn:aws:states:us-east-1:123456789012:stateMachine:${input.name}`, creationDate: new Date() }));
  sfn.on(StartExecutionCommand).callsFake(async (input: { stateMachineArn?: string; name?: string }) => ({ executionArn: `${input.stateMachineArn!.replace(':stateMachine:', ':execution:')}:${input.name}`, startDate: new Date() }));
}

describe('codepipeline-action', () => {
  it('starts a deploy on the first call and answers success with the execution as continuation token', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });

    await handler(jobEvent(JSON.stringify({ action: 'deploy', modelPackageArn: PACKAGE })), lambdaContext());

    const started = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(started.stateMachineArn).toBe(DEPLOY_STATE_MACHINE_ARN);
    expect(JSON.parse(started.input!)).toEqual({ modelPackageArn: PACKAGE, mode: 'deploy', stages: ['staging', 'prod'], reason: `CodePipeline job ${JOB_ID}` });
    expect(codePipeline).toHaveReceivedCommandWith(PutJobSuccessResultCommand, { jobId: JOB_ID, continuationToken: expect.stringContaining(':execution:sluice-test-model-deploy:') });
  });

  it('builds a commit of any repository and branch, answering with the build run as continuation token', async () => {
    serveBuild();

    await handler(jobEvent(JSON.stringify({ action: 'build', repository: 'churn', branch: 'release', commit: REVISION })), lambdaContext());

    const started = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(started).toMatchObject({ stateMachineArn: expect.stringContaining(':stateMachine:sluice-test-build-churn-'), name: buildExecutionName('churn', REVISION) });
    expect(codePipeline).toHaveReceivedCommandWith(PutJobSuccessResultCommand, { jobId: JOB_ID, continuationToken: `${started.stateMachineArn!.replace(':stateMachine:', ':execution:')}:${started.name}` });
  });

  it('builds without reading the tree, writing only pipeline.json: the run snapshots its own source', async () => {
    serveBuild();

    await handler(jobEvent(JSON.stringify({ action: 'build', repository: 'churn', branch: 'release', commit: REVISION })), lambdaContext());

    expect(codecommit).not.toHaveReceivedCommand(GetFolderCommand);
    expect(codecommit).not.toHaveReceivedCommand(GetBlobCommand);
    expect(s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input.Key)).toEqual([`${buildKeyPrefix('churn', buildExecutionName('churn', REVISION))}pipeline.json`]);
    expect(sfn.commandCalls(CreateStateMachineCommand)[0]!.args[0].input.definition).toContain('"Resource":"arn:aws:lambda:us-east-1:123456789012:function:sluice-test-snapshot-source"');
  });

  it('gives the build run the snapshot of the revision\'s tree, read with GetCommit', async () => {
    serveBuild();

    await handler(jobEvent(JSON.stringify({ action: 'build', repository: 'churn', branch: 'release', commit: REVISION })), lambdaContext());

    expect(codecommit).toHaveReceivedCommandWith(GetCommitCommand, { repositoryName: 'churn', commitId: REVISION });
    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!) as { build: { sourceUri: string } };
    expect(input.build.sourceUri).toBe(`s3://sluice-test-artifacts/${sourceSnapshotPrefix('churn', REVISION_TREE)}source.tar.gz`);
  });

  it('answers JobFailed naming the commit when GetCommit does not know it, writing and starting nothing', async () => {
    serveBuild();
    codecommit.on(GetCommitCommand, { commitId: REVISION }).rejects(new CommitIdDoesNotExistException({ message: `Commit ${REVISION} does not exist.`, $metadata: {} }));

    await handler(jobEvent(JSON.stringify({ action: 'build', repository: 'churn', branch: 'release', commit: REVISION })), lambdaContext());

    expect(codePipeline).toHaveReceivedCommandWith(PutJobFailureResultCommand, { jobId: JOB_ID, failureDetails: expect.objectContaining({ type: 'JobFailed', message: `InvalidInput: commit: ${REVISION} does not exist in churn` }) });
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(s3).not.toHaveReceivedAnyCommand();
  });

  it('answers JobFailed naming the commit when the repository does not have it, starting nothing', async () => {
    const commit = commitId('a revision of another repository');
    codecommit.on(GetFileCommand).rejects(new CommitDoesNotExistException({ message: `Could not find commit ${commit}`, $metadata: {} }));

    await handler(jobEvent(JSON.stringify({ action: 'build', repository: 'churn', branch: 'release', commit })), lambdaContext());

    expect(codePipeline).toHaveReceivedCommandWith(PutJobFailureResultCommand, { jobId: JOB_ID, failureDetails: expect.objectContaining({ type: 'JobFailed', message: `InvalidInput: commit: ${commit} does not exist in churn` }) });
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('answers success with the same token while the run is still going', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: EXECUTION, status: 'RUNNING', startDate: new Date(), stateMachineArn: DEPLOY_STATE_MACHINE_ARN });

    await handler(jobEvent(undefined, EXECUTION), lambdaContext());

    expect(codePipeline).toHaveReceivedCommandWith(PutJobSuccessResultCommand, { jobId: JOB_ID, continuationToken: EXECUTION });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('answers plain success once the run succeeded', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: EXECUTION, status: 'SUCCEEDED', startDate: new Date(), stateMachineArn: DEPLOY_STATE_MACHINE_ARN });

    await handler(jobEvent(undefined, EXECUTION), lambdaContext());

    const call = codePipeline.commandCalls(PutJobSuccessResultCommand)[0]!.args[0].input;
    expect(call).toEqual({ jobId: JOB_ID });
  });

  it('answers JobFailed with the error and cause of a failed run', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: EXECUTION, status: 'FAILED', error: 'SmokeTestFailed', cause: 'line 1 is not a number', startDate: new Date(), stateMachineArn: DEPLOY_STATE_MACHINE_ARN });

    await handler(jobEvent(undefined, EXECUTION), lambdaContext());

    expect(codePipeline).toHaveReceivedCommandWith(PutJobFailureResultCommand, { jobId: JOB_ID, failureDetails: { type: 'JobFailed', message: 'FAILED: SmokeTestFailed: line 1 is not a number' } });
  });

  it('answers ConfigurationError naming the problem for invalid UserParameters, starting nothing', async () => {
    await handler(jobEvent('some-input-such-as-a-URL'), lambdaContext());

    const failure = codePipeline.commandCalls(PutJobFailureResultCommand)[0]!.args[0].input.failureDetails!;
    expect(failure.type).toBe('ConfigurationError');
    expect(failure.message).toMatch(/^UserParameters/);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('publishes Model Promotion Approved for a promote action and succeeds at once', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });

    await handler(jobEvent(JSON.stringify({ action: 'promote', modelPackageArn: PACKAGE })), lambdaContext());

    const entry = events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(entry).toMatchObject({ EventBusName: 'sluice-test', Source: 'sluice', DetailType: 'Model Promotion Approved' });
    expect(JSON.parse(entry.Detail!)).toEqual({ modelPackageArn: PACKAGE, approvedBy: `CodePipeline job ${JOB_ID}` });
    expect(codePipeline.commandCalls(PutJobSuccessResultCommand)[0]!.args[0].input).toEqual({ jobId: JOB_ID });
  });
});
