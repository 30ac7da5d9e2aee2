import 'aws-sdk-client-mock-jest';

import {
  BranchDoesNotExistException,
  CodeCommitClient,
  CommitDoesNotExistException,
  CommitIdDoesNotExistException,
  FileDoesNotExistException,
  GetBlobCommand,
  GetBranchCommand,
  GetCommitCommand,
  GetFileCommand,
  GetFolderCommand,
  InvalidCommitIdException,
} from '@aws-sdk/client-codecommit';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  HistoryEventType,
  SFNClient,
  StartExecutionCommand,
  StateMachineAlreadyExists,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { isMap, parseDocument } from 'yaml';

import { InvalidInputError, RetryableError } from '../../../shared/errors';
import { analysePipeline } from '../../../shared/pipeline/graph';
import { stepOf } from '../../../shared/pipeline/stored-pipeline';
import { type BuildSettings, capRejectionCause, MAX_REJECTION_CAUSE_BYTES, type RejectedBuildInput, startModelBuild, startRequestedBuild, stepsFrom } from '../../../shared/pipeline/start-build';
import { buildExecutionName, buildKeyPrefix, pipelineStateMachineName, requestedBuildExecutionName, sourceSnapshotPrefix } from '../../../shared/naming';
import { DETAIL_TYPES, type ModelBuildRequested, modelBuildRequestedSchema, parseEvent, type RepositoryStateChange, repositoryStateChangeSchema } from '../../../shared/schemas/events';
import type { PipelineConfig } from '../../../shared/schemas/mlops-v2';
import { parseMlopsConfig } from '../../../shared/schemas/parse-mlops-config';
import { type PipelineRunInput, pipelineRunInputSchema, type StepResult } from '../../../shared/schemas/task-inputs';
import { ACCOUNT, BUCKET, commitOutput, EXAMPLE_CONFIG_TEXT, exampleConfig, loadSample, REGION, TEST_POLICY } from '../../helpers/fixtures';
import { compile, loadPipeline, pipelineText, TEST_TARGETS } from '../../helpers/pipelines';
import { commitId, fakeS3, type FakeS3, HistoryBuilder, newRun, preprocessResult, serveHistory, type TestRun, trainResult } from '../../helpers/step-tasks';

const codecommit = mockClient(CodeCommitClient);
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);

/** The real push sample: myRepo, branch myBranch, commit 26a8f2EXAMPLE. */
const PUSH_SAMPLE = 'codecommit-reference-updated-push.json';
const REPOSITORY = 'myRepo';
const BRANCH = 'myBranch';
const COMMIT = '26a8f2EXAMPLE';
const EXECUTION_NAME = buildExecutionName(REPOSITORY, COMMIT);
const PREFIX = buildKeyPrefix(REPOSITORY, EXECUTION_NAME);
const PIPELINE_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/sluice-test-pipeline`;
const RUN_LOG_GROUP_ARN = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/vendedlogs/states/sluice-test-builds:*`;
const REJECTED_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:sluice-test-build-rejected`;

const SETTINGS: BuildSettings = {
  artifactsBucket: BUCKET,
  repositories: ['myRepo', 'MyDemoRepo', 'abalone'],
  branches: ['myBranch'],
  allowedInstanceTypes: [...TEST_POLICY.allowedInstanceTypes],
  maxRuntimeSeconds: TEST_POLICY.maxRuntimeSeconds,
  maxInstanceCount: TEST_POLICY.maxInstanceCount,
  maxVolumeSizeInGB: TEST_POLICY.maxVolumeSizeInGB,
  selfApprovalRepositories: [],
  stateMachinePrefix: 'sluice-test-build-',
  pipelineRoleArn: PIPELINE_ROLE_ARN,
  runLogGroupArn: RUN_LOG_GROUP_ARN,
  rejectedStateMachineArn: REJECTED_ARN,
  targets: TEST_TARGETS,
};

/** A real sample event, parsed as on-source-push parses it (cloned by loadSample). */
function sample(name = PUSH_SAMPLE): RepositoryStateChange {
  return parseEvent(repositoryStateChangeSchema, loadSample(name));
}

/** A `Model Build Requested` detail as the CLI publishes it, parsed as on-source-push parses it. */
function request(detail: Record<string, unknown>): ModelBuildRequested['detail'] {
  const event = {
    version: '0',
    id: '6f87d04b-9f74-4f04-a780-7acf4b0a9b38',
    'detail-type': DETAIL_TYPES.modelBuildRequested,
    source: 'sluice',
    account: ACCOUNT,
    time: '2026-11-23T10:00:00Z',
    region: REGION,
    resources: [],
    detail: { repository: 'abalone', requestId: 'run-0001', ...detail },
  };
  return parseEvent(modelBuildRequestedSchema, event).detail;
}

/** `text` (mlops.yaml) with one edit (undefined deletes the path). */
function yamlWith(text: string, path: string[], value: unknown): string {
  const document = parseDocument(text);
  if (value === undefined) document.deleteIn(path);
  else document.setIn(path, value);
  return document.toString();
}

/**
 * `text` without the model package group names its registrations give (`abalone`): each test
 * repository then registers into its own default group, whatever its name.
 */
function withOwnGroups(text: string): string {
  const document = parseDocument(text);
  if (document.errors.length > 0 || !isMap(document.contents)) return text;
  const register = document.get('Register');
  if (isMap(register)) register.delete('ModelPackageGroupName');
  const steps = document.get('Steps');
  if (isMap(steps)) for (const item of steps.items) if (isMap(item.value)) item.value.delete('ModelPackageGroupName');
  return document.toString();
}

/** examples/abalone/mlops.yaml as repository myRepo holds it: registering into its own group. */
const PUSHED_CONFIG_TEXT = withOwnGroups(EXAMPLE_CONFIG_TEXT);

/** PUSHED_CONFIG_TEXT as on-source-push reads it. */
function pushedConfig(): PipelineConfig {
  return parseMlopsConfig(PUSHED_CONFIG_TEXT, SETTINGS, REPOSITORY);
}

/** The tree id GetCommit gives `commit` unless a test says otherwise: every commit its own files. */
function treeOf(commit: string): string {
  return commitId(`tree of ${commit}`);
}

/** Where the run of a commit of `repository` with tree `tree` finds its source snapshot. */
function snapshotAt(repository: string, tree: string, key: string): string {
  return `s3://${BUCKET}/${sourceSnapshotPrefix(repository, tree)}${key}`;
}

/**
 * Serves `mlopsYaml` at any commit, each commit with its own tree (treeOf), and the head of main.
 * (The tree's files are the run's to read: its Source snapshot state.)
 */
function mockRepository(mlopsYaml = PUSHED_CONFIG_TEXT): void {
  codecommit.on(GetFileCommand, { filePath: 'mlops.yaml' }).resolves({ fileContent: new TextEncoder().encode(withOwnGroups(mlopsYaml)), filePath: 'mlops.yaml' });
  codecommit.on(GetCommitCommand).callsFake(async (input: { commitId?: string }) => commitOutput(input.commitId ?? '', treeOf(input.commitId ?? '')));
  codecommit.on(GetBranchCommand).resolves({ branch: { branchName: 'main', commitId: commitId('head of main') } });
}

interface Services {
  store: FakeS3;
  /** State machines created, by name: their definition. */
  machines: Map<string, string>;
  /** Executions started, `<state machine ARN>:<name>`, with what S3 held when each started. */
  started: Map<string, string[]>;
}

/** S3 and Step Functions that remember what was written, created and started, as the real services would. */
function mockServices(): Services {
  const store = fakeS3(s3);
  const machines = new Map<string, string>();
  const started = new Map<string, string[]>();
  sfn.on(CreateStateMachineCommand).callsFake(async (input: { name?: string; definition?: string }) => {
    const known = machines.get(input.name ?? '');
    // Step Functions: the same name with another definition is a conflict; the same definition is idempotent.
    if (known !== undefined && known !== input.definition) throw new StateMachineAlreadyExists({ message: `State Machine Already Exists: '${input.name}'`, $metadata: {} });
    machines.set(input.name ?? '', input.definition ?? '');
    return { stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${input.name}`, creationDate: new Date() };
  });
  sfn.on(StartExecutionCommand).callsFake(async (input: { stateMachineArn?: string; name?: string }) => {
    const arn = `${(input.stateMachineArn ?? '').replace(':stateMachine:', ':execution:')}:${input.name}`;
    if (started.has(arn)) throw new ExecutionAlreadyExists({ message: `Execution Already Exists: '${arn}'`, $metadata: {} });
    started.set(arn, store.uris());
    return { executionArn: arn, startDate: new Date() };
  });
  return { store, machines, started };
}

/** The one StartExecution sent: its state machine and input. */
function startedExecution<T = PipelineRunInput>(): { stateMachineArn: string; name: string; input: T } {
  const calls = sfn.commandCalls(StartExecutionCommand);
  expect(calls).toHaveLength(1);
  const sent = calls[0]!.args[0].input;
  return { stateMachineArn: sent.stateMachineArn!, name: sent.name!, input: JSON.parse(sent.input ?? 'null') as T };
}

/** The names of the state machines CreateStateMachine was asked for. */
function createdNames(): string[] {
  return sfn.commandCalls(CreateStateMachineCommand).map((call) => call.args[0].input.name!);
}

function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' });
}

let services: Services;

beforeEach(() => {
  codecommit.reset();
  s3.reset();
  sfn.reset();
  mockRepository();
  services = mockServices();
});

describe('startModelBuild: events that do not build', () => {
  it('ignores a deleted branch', async () => {
    await expect(startModelBuild(sample('codecommit-reference-deleted.json'), SETTINGS)).resolves.toEqual({ action: 'ignored', reason: 'event referenceDeleted does not build' });
  });

  it('ignores a tag', async () => {
    await expect(startModelBuild(sample('codecommit-tag-created.json'), SETTINGS)).resolves.toEqual({ action: 'ignored', reason: 'reference type tag does not build' });
  });

  it('ignores a repository the stage is not configured to build', async () => {
    await expect(startModelBuild(sample(), { ...SETTINGS, repositories: ['abalone', 'churn-*'] })).resolves.toEqual({ action: 'ignored', reason: 'repository myRepo is not configured to build' });
  });

  it('ignores a branch the stage is not configured to build', async () => {
    await expect(startModelBuild(sample(), { ...SETTINGS, branches: ['main', 'release/*'] })).resolves.toEqual({ action: 'ignored', reason: 'branch myBranch is not configured to build' });
  });

  it('ignores a commit without mlops.yaml at its root: not a model repository', async () => {
    codecommit.on(GetFileCommand).rejects(new FileDoesNotExistException({ message: 'The specified file does not exist.', $metadata: {} }));

    await expect(startModelBuild(sample(), SETTINGS)).resolves.toEqual({ action: 'ignored', reason: `myRepo@${COMMIT} has no mlops.yaml at its root` });
  });

  it.each([
    ['a deleted branch', 'codecommit-reference-deleted.json'],
    ['a tag', 'codecommit-tag-created.json'],
  ])('reads nothing and starts nothing for %s', async (_what, name) => {
    await startModelBuild(sample(name), SETTINGS);

    expect(codecommit.calls()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('writes nothing, creates no state machine and starts nothing for a commit without mlops.yaml', async () => {
    codecommit.on(GetFileCommand).rejects(new FileDoesNotExistException({ message: 'The specified file does not exist.', $metadata: {} }));

    await startModelBuild(sample(), SETTINGS);

    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('builds a repository matched by a wildcard pattern', async () => {
    await expect(startModelBuild(sample(), { ...SETTINGS, repositories: ['my*'], branches: ['*'] })).resolves.toMatchObject({ action: 'started' });
  });
});

describe('startModelBuild: a push to a configured branch', () => {
  it('reads mlops.yaml at the pushed commit', async () => {
    await startModelBuild(sample(), SETTINGS);

    expect(codecommit).toHaveReceivedCommandWith(GetFileCommand, { repositoryName: REPOSITORY, commitSpecifier: COMMIT, filePath: 'mlops.yaml' });
  });

  it('creates the pipeline\'s state machine from the compiled definition, with the pipeline role and the repository tag', async () => {
    await startModelBuild(sample(), SETTINGS);

    expect(sfn).toHaveReceivedCommandTimes(CreateStateMachineCommand, 1);
    const created = sfn.commandCalls(CreateStateMachineCommand)[0]!.args[0].input;
    expect(created).toMatchObject({ name: expect.stringMatching(/^sluice-test-build-myRepo-[0-9a-f]{8}$/), roleArn: PIPELINE_ROLE_ARN, type: 'STANDARD', tags: [{ key: 'sluice:repository', value: REPOSITORY }] });
    expect(JSON.parse(created.definition!)).toEqual(compile(pushedConfig()).definition);
  });

  // https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html
  it('creates it logging errors without execution data to the stage\'s build-runs log group (cw-logs.html)', async () => {
    await startModelBuild(sample(), SETTINGS);

    expect(sfn).toHaveReceivedCommandWith(CreateStateMachineCommand, {
      loggingConfiguration: { level: 'ERROR', includeExecutionData: false, destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: RUN_LOG_GROUP_ARN } }] },
    });
  });

  it('names the state machine the same whatever the logging: logging is not part of the definition', async () => {
    await startModelBuild(sample(), SETTINGS);
    const before = createdNames();
    sfn.resetHistory();
    await startRequestedBuild(request({ repository: REPOSITORY, branch: 'myBranch', commit: COMMIT, requestId: 'another-log-group' }), { ...SETTINGS, runLogGroupArn: RUN_LOG_GROUP_ARN.replace('sluice-test-builds', 'elsewhere') });

    expect(createdNames()).toEqual(before);
  });

  it('starts one execution of that state machine under the deterministic name for repository + commit', async () => {
    await startModelBuild(sample(), SETTINGS);

    const execution = startedExecution();
    expect(execution.stateMachineArn).toBe(`arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${createdNames()[0]}`);
    expect(execution.name).toBe(EXECUTION_NAME);
  });

  it('reports the execution as started, with a valid config and its state machine', async () => {
    const outcome = await startModelBuild(sample(), SETTINGS);

    const stateMachineArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${createdNames()[0]}`;
    expect(outcome).toEqual({ action: 'started', executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${EXECUTION_NAME}`, configValid: true, stateMachineArn });
  });

  it('passes the build context, the parameters, no results and nothing carried over as the execution input', async () => {
    await startModelBuild(sample(), SETTINGS);

    const source = (key: string) => snapshotAt(REPOSITORY, treeOf(COMMIT), key);
    expect(startedExecution().input).toEqual({
      build: {
        repository: REPOSITORY,
        branch: BRANCH,
        commit: COMMIT,
        executionName: EXECUTION_NAME,
        sourceUri: source('source.tar.gz'),
        sourcePrefix: source('source/'),
        sourceManifestUri: source('source-manifest.json'),
        pipelineUri: `s3://${BUCKET}/${PREFIX}pipeline.json`,
        taskTimeoutSeconds: TEST_POLICY.maxRuntimeSeconds + 3600,
      },
      parameters: {},
      steps: {},
      reuse: {},
    });
  });

  it('passes an input the compiled pipeline\'s tasks accept', async () => {
    await startModelBuild(sample(), SETTINGS);

    expect(pipelineRunInputSchema.safeParse(startedExecution().input).success).toBe(true);
  });

  it('keeps the pipeline out of the execution input, in pipeline.json under the build prefix', async () => {
    await startModelBuild(sample(), SETTINGS);

    expect(JSON.parse(services.store.text(`s3://${BUCKET}/${PREFIX}pipeline.json`)!)).toEqual(pushedConfig());
    expect(JSON.stringify(startedExecution().input)).not.toContain('AlgorithmSpecification');
  });

  it('reads the commit\'s tree id from the repository', async () => {
    await startModelBuild(sample(), SETTINGS);

    expect(codecommit).toHaveReceivedCommandWith(GetCommitCommand, { repositoryName: REPOSITORY, commitId: COMMIT });
  });

  it('reads only mlops.yaml and the commit from the repository and writes only pipeline.json: the run snapshots the source in its first state', async () => {
    await startModelBuild(sample(), SETTINGS);

    expect(codecommit).not.toHaveReceivedCommand(GetFolderCommand);
    expect(codecommit).not.toHaveReceivedCommand(GetBlobCommand);
    expect(services.store.uris()).toEqual([`s3://${BUCKET}/${PREFIX}pipeline.json`]);
  });

  it('starts the execution only once pipeline.json is written', async () => {
    await startModelBuild(sample(), SETTINGS);

    const [written] = [...services.started.values()];
    expect(written).toEqual([`s3://${BUCKET}/${PREFIX}pipeline.json`]);
  });

  it('starts a run whose first state after the announcement is the source snapshot, given the build', async () => {
    await startModelBuild(sample(), SETTINGS);

    const definition = JSON.parse([...services.machines.values()][0]!) as { States: Record<string, { Next?: string; Resource?: string }> };
    expect(definition.States['Build started']?.Next).toBe('Source snapshot');
    expect(definition.States['Source snapshot']).toMatchObject({ Resource: TEST_TARGETS.snapshotSourceFunctionArn, Parameters: { 'build.$': '$.build' } });
  });

  it('builds a newly created branch (the referenceCreated sample)', async () => {
    const outcome = await startModelBuild(sample('codecommit-reference-created.json'), SETTINGS);

    expect(outcome).toMatchObject({ action: 'started' });
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { name: buildExecutionName('MyDemoRepo', '3e5983DESTINATION') });
  });

  it('passes the pipeline\'s parameter defaults', async () => {
    mockRepository(pipelineText('fork-join'));

    await startModelBuild(sample(), SETTINGS);

    expect(startedExecution().input.parameters).toEqual({ InstanceType: 'ml.m5.large', MaxMse: 6, Rounds: 50 });
  });
});

describe('startModelBuild: where the source snapshot lives', () => {
  /** The build context of the one run a push of `commit` (to myRepo, or `repository`) started. */
  async function buildOf(commit: string, repository = REPOSITORY): Promise<PipelineRunInput['build']> {
    sfn.resetHistory();
    const event = sample();
    event.detail.commitId = commit;
    event.detail.repositoryName = repository;
    await startModelBuild(event, SETTINGS);
    return startedExecution().input.build;
  }

  /** Serves `tree` as the tree of each of `commits`. */
  function sameTree(tree: string, ...commits: string[]): void {
    for (const commit of commits) codecommit.on(GetCommitCommand, { commitId: commit }).resolves(commitOutput(commit, tree));
  }

  it('puts the snapshot under the commit\'s tree, and the pipeline under the run\'s execution', async () => {
    const build = await buildOf(COMMIT);

    expect(build).toMatchObject({
      sourceUri: snapshotAt(REPOSITORY, treeOf(COMMIT), 'source.tar.gz'),
      sourcePrefix: snapshotAt(REPOSITORY, treeOf(COMMIT), 'source/'),
      sourceManifestUri: snapshotAt(REPOSITORY, treeOf(COMMIT), 'source-manifest.json'),
      pipelineUri: `s3://${BUCKET}/${PREFIX}pipeline.json`,
    });
  });

  it('gives two commits with the same tree the same snapshot, and each its own pipeline.json', async () => {
    const revert = commitId('revert of the revert');
    const tree = commitId('the tree both commits hold');
    sameTree(tree, COMMIT, revert);

    const first = await buildOf(COMMIT);
    const second = await buildOf(revert);

    expect({ sourceUri: second.sourceUri, sourcePrefix: second.sourcePrefix, sourceManifestUri: second.sourceManifestUri }).toEqual({
      sourceUri: first.sourceUri,
      sourcePrefix: first.sourcePrefix,
      sourceManifestUri: first.sourceManifestUri,
    });
    expect(first.sourceUri).toBe(snapshotAt(REPOSITORY, tree, 'source.tar.gz'));
    expect(second.pipelineUri).not.toBe(first.pipelineUri);
    expect(second.pipelineUri).toBe(`s3://${BUCKET}/${buildKeyPrefix(REPOSITORY, buildExecutionName(REPOSITORY, revert))}pipeline.json`);
  });

  it('gives commits with different trees different snapshots', async () => {
    const next = commitId('a change to train.py');

    const first = await buildOf(COMMIT);
    const second = await buildOf(next);

    expect(second.sourceUri).not.toBe(first.sourceUri);
  });

  it('never shares a snapshot between repositories holding the same tree', async () => {
    const fork = commitId('the same files in a fork');
    const tree = commitId('a tree two repositories hold');
    sameTree(tree, COMMIT, fork);

    const mine = await buildOf(COMMIT, 'myRepo');
    const theirs = await buildOf(fork, 'MyDemoRepo');

    expect(theirs.sourceUri).not.toBe(mine.sourceUri);
  });

  it('rejects with InvalidInput naming the commit when GetCommit does not know it, writing, creating and starting nothing', async () => {
    codecommit.on(GetCommitCommand).rejects(new CommitIdDoesNotExistException({ message: `Commit ${COMMIT} does not exist.`, $metadata: {} }));

    const started = startModelBuild(sample(), SETTINGS);

    await expect(started).rejects.toThrow(InvalidInputError);
    await expect(started).rejects.toThrow(`commit: ${COMMIT} does not exist in ${REPOSITORY}`);
    expect(s3).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedAnyCommand();
  });
});

describe('startModelBuild: the pipeline\'s state machine', () => {
  const abaloneV2 = pipelineText('abalone-v2');

  async function machineFor(mlopsYaml: string, settings: BuildSettings = SETTINGS): Promise<string> {
    sfn.resetHistory();
    mockRepository(mlopsYaml);
    const event = sample();
    event.detail.commitId = commitId(mlopsYaml + settings.pipelineRoleArn);
    await startModelBuild(event, settings);
    return createdNames()[0]!;
  }

  it('has the same name for every commit of the same pipeline, and CreateStateMachine finds it', async () => {
    const first = await startModelBuild(sample(), SETTINGS);
    const later = sample();
    later.detail.commitId = 'b7d90fEXAMPLE';

    const second = await startModelBuild(later, SETTINGS);

    expect(new Set(createdNames()).size).toBe(1);
    expect(second).toMatchObject({ action: 'started', stateMachineArn: (first as { stateMachineArn: string }).stateMachineArn });
    expect(services.machines.size).toBe(1);
  });

  it('is named after the repository and the definition\'s hash', async () => {
    const name = await machineFor(abaloneV2);

    expect(name).toMatch(/^sluice-test-build-myRepo-[0-9a-f]{8}$/);
    expect(name).toBe(pipelineStateMachineName('sluice-test-build-', REPOSITORY, name.slice(-8)));
  });

  it('keeps its name when only a step\'s settings change: they live in pipeline.json', async () => {
    const before = await machineFor(abaloneV2);
    const after = await machineFor(yamlWith(abaloneV2, ['Steps', 'Train', 'HyperParameters', 'eta'], '0.3'));

    expect(after).toBe(before);
  });

  it('changes its name when the pipeline\'s shape changes (a step added)', async () => {
    const before = await machineFor(abaloneV2);
    const withReport = yamlWith(abaloneV2, ['Steps', 'Report'], {
      Type: 'Processing',
      AppSpecification: { ImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/sluice-abalone:latest' },
      ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.large' } },
      Inputs: { model: { From: 'Train/model' } },
    });

    expect(await machineFor(withReport)).not.toBe(before);
  });

  it('changes its name when a step\'s retry policy changes', async () => {
    const before = await machineFor(abaloneV2);
    const retried = yamlWith(abaloneV2, ['Steps', 'Train', 'RetryPolicies'], [{ ExceptionType: ['SageMaker.CAPACITY_ERROR'], MaxAttempts: 2 }]);

    expect(await machineFor(retried)).not.toBe(before);
  });

  it('changes its name with the pipeline role', async () => {
    const before = await machineFor(abaloneV2);

    expect(await machineFor(abaloneV2, { ...SETTINGS, pipelineRoleArn: `arn:aws:iam::${ACCOUNT}:role/sluice-test-pipeline-v2` })).not.toBe(before);
  });

  it('rejects with RetryableError when CreateStateMachine is throttled, starting nothing', async () => {
    sfn.on(CreateStateMachineCommand).rejects(throttling());

    await expect(startModelBuild(sample(), SETTINGS)).rejects.toThrow(RetryableError);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});

describe('startModelBuild: a repeated event', () => {
  it('reports already-started with the same execution ARN', async () => {
    const first = await startModelBuild(sample(), SETTINGS);

    await expect(startModelBuild(sample(), SETTINGS)).resolves.toEqual({ ...first, action: 'already-started' });
  });

  it('starts nothing new and rewrites only pipeline.json, with the same content', async () => {
    await startModelBuild(sample(), SETTINGS);
    const putsAfterFirst = s3.commandCalls(PutObjectCommand).length;
    const pipelineAfterFirst = services.store.text(`s3://${BUCKET}/${PREFIX}pipeline.json`);

    await startModelBuild(sample(), SETTINGS);

    expect(services.started.size).toBe(1);
    expect(s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input.Key).slice(putsAfterFirst)).toEqual([`${PREFIX}pipeline.json`]);
    expect(services.store.text(`s3://${BUCKET}/${PREFIX}pipeline.json`)).toBe(pipelineAfterFirst);
  });

  it('names the build after the commit, so a push of the same commit to another branch is the same build', async () => {
    const other = sample();
    other.detail.referenceName = 'myOtherBranch';
    other.detail.referenceFullName = 'refs/heads/myOtherBranch';
    const first = await startModelBuild(sample(), SETTINGS);

    await expect(startModelBuild(other, { ...SETTINGS, branches: ['my*'] })).resolves.toMatchObject({ action: 'already-started', executionArn: (first as { executionArn: string }).executionArn });
  });
});

describe('startModelBuild: an invalid mlops.yaml', () => {
  const withoutResourceConfig = () => yamlWith(PUSHED_CONFIG_TEXT, ['Train', 'ResourceConfig'], undefined);

  it('starts the rejected-build state machine instead, with failure InvalidConfig and the build context', async () => {
    mockRepository(withoutResourceConfig());

    await expect(startModelBuild(sample(), SETTINGS)).resolves.toEqual({
      action: 'started',
      executionArn: `${REJECTED_ARN.replace(':stateMachine:', ':execution:')}:${EXECUTION_NAME}`,
      configValid: false,
      stateMachineArn: REJECTED_ARN,
    });
    const execution = startedExecution<RejectedBuildInput>();
    expect(execution).toMatchObject({ stateMachineArn: REJECTED_ARN, name: EXECUTION_NAME });
    expect(execution.input.failure.Error).toBe('InvalidConfig');
    expect(execution.input.build).toMatchObject({ repository: REPOSITORY, branch: BRANCH, commit: COMMIT, executionName: EXECUTION_NAME });
  });

  it('names the file and the missing field in the Cause', async () => {
    mockRepository(withoutResourceConfig());

    await startModelBuild(sample(), SETTINGS);

    expect(startedExecution<RejectedBuildInput>().input.failure.Cause).toBe('mlops.yaml: Train.ResourceConfig: is required');
  });

  it('names the field of an instance type the stage does not allow', async () => {
    mockRepository(yamlWith(PUSHED_CONFIG_TEXT, ['Train', 'ResourceConfig', 'InstanceType'], 'ml.p4d.24xlarge'));

    await startModelBuild(sample(), SETTINGS);

    expect(startedExecution<RejectedBuildInput>().input.failure).toEqual({
      Error: 'InvalidConfig',
      Cause: expect.stringMatching(/^mlops\.yaml: .*Train\.ResourceConfig\.InstanceType: instance type "ml\.p4d\.24xlarge" is not allowed/),
    });
  });

  it('names the field of a Version 2 reference to an output no step produces', async () => {
    mockRepository(yamlWith(pipelineText('abalone-v2'), ['Steps', 'Train', 'Channels', 'train', 'From'], 'Preprocess/holdout'));

    await startModelBuild(sample(), SETTINGS);

    expect(startedExecution<RejectedBuildInput>().input.failure).toEqual({ Error: 'InvalidConfig', Cause: expect.stringContaining('Steps.Train.Channels.train.From') });
  });

  it('reports a file that is not YAML at all as InvalidConfig', async () => {
    mockRepository('Version: 1\nTrain: [unclosed\n');

    await startModelBuild(sample(), SETTINGS);

    expect(startedExecution<RejectedBuildInput>().input.failure).toEqual({ Error: 'InvalidConfig', Cause: expect.stringContaining('mlops.yaml: not valid YAML') });
  });

  it('caps a Cause longer than 32 KiB with a visible "(truncated", so the rejected run\'s input stays under Step Functions\' 256 KiB (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html)', async () => {
    // 100 steps (the most a file may have), each with an instance type of 1000 characters the stage does not allow.
    const steps = Array.from({ length: 100 }, (_, i) => `  step${i}:\n    Type: Processing\n    AppSpecification: { ImageUri: image }\n    ProcessingResources: { ClusterConfig: { InstanceType: ml.${'x'.repeat(1000)} } }\n`);
    mockRepository(`Version: 2\nSteps:\n${steps.join('')}`);

    await startModelBuild(sample(), SETTINGS);

    const { Cause } = startedExecution<RejectedBuildInput>().input.failure;
    expect(Buffer.byteLength(Cause)).toBeLessThanOrEqual(MAX_REJECTION_CAUSE_BYTES);
    expect(Cause).toMatch(/^mlops\.yaml: Steps\.step0\./);
    expect(Cause).toMatch(/ … \(truncated, \d+ bytes in all\)$/);
  });

  it('writes nothing and creates no state machine for a build that cannot run', async () => {
    mockRepository(withoutResourceConfig());

    await startModelBuild(sample(), SETTINGS);

    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(sfn).not.toHaveReceivedCommand(CreateStateMachineCommand);
  });

  it('reports already-started for a repeated event', async () => {
    mockRepository(withoutResourceConfig());
    await startModelBuild(sample(), SETTINGS);

    await expect(startModelBuild(sample(), SETTINGS)).resolves.toMatchObject({ action: 'already-started', configValid: false });
  });
});

describe('startModelBuild: throttling', () => {
  it('throws RetryableError when reading mlops.yaml is throttled, starting nothing', async () => {
    codecommit.on(GetFileCommand).rejects(throttling());

    await expect(startModelBuild(sample(), SETTINGS)).rejects.toThrow(RetryableError);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('throws RetryableError when reading the commit is throttled, writing and starting nothing', async () => {
    codecommit.on(GetCommitCommand).rejects(throttling());

    await expect(startModelBuild(sample(), SETTINGS)).rejects.toThrow(RetryableError);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('throws RetryableError when writing pipeline.json is throttled, starting nothing', async () => {
    s3.on(PutObjectCommand).rejects(Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $fault: 'server' }));

    await expect(startModelBuild(sample(), SETTINGS)).rejects.toThrow(RetryableError);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('throws RetryableError when StartExecution is throttled', async () => {
    sfn.on(StartExecutionCommand).rejects(throttling());

    await expect(startModelBuild(sample(), SETTINGS)).rejects.toThrow(RetryableError);
  });
});

describe('startRequestedBuild', () => {
  const HEAD = commitId('head of main');

  beforeEach(() => {
    mockRepository(pipelineText('fork-join'));
  });

  it('ignores a repository the stage does not build', async () => {
    await expect(startRequestedBuild(request({ repository: 'churn' }), SETTINGS)).resolves.toEqual({ action: 'ignored', reason: 'repository churn is not configured to build' });
    expect(codecommit.calls()).toHaveLength(0);
  });

  it('builds the head of the branch when the request names no commit', async () => {
    await startRequestedBuild(request({}), SETTINGS);

    expect(codecommit).toHaveReceivedCommandWith(GetBranchCommand, { repositoryName: 'abalone', branchName: 'main' });
    expect(startedExecution().input.build).toMatchObject({ repository: 'abalone', branch: 'main', commit: HEAD });
  });

  it('builds the commit the request names', async () => {
    const commit = commitId('an older commit');

    await startRequestedBuild(request({ commit }), SETTINGS);

    expect(codecommit).not.toHaveReceivedCommand(GetBranchCommand);
    expect(codecommit).toHaveReceivedCommandWith(GetFileCommand, { commitSpecifier: commit });
  });

  it('rejects with InvalidInput naming the commit when the repository does not have it, starting nothing', async () => {
    const commit = commitId('a commit of another repository');
    codecommit.on(GetFileCommand).rejects(new CommitDoesNotExistException({ message: `Could not find commit ${commit}`, $metadata: {} }));

    const started = startRequestedBuild(request({ commit }), SETTINGS);

    await expect(started).rejects.toThrow(InvalidInputError);
    await expect(started).rejects.toThrow(`commit: ${commit} does not exist in abalone`);
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(s3).not.toHaveReceivedAnyCommand();
  });

  it('rejects with InvalidInput an abbreviated commit id, which GetFile resolves but GetCommit does not take, starting nothing', async () => {
    const commit = commitId('an older commit').slice(0, 7);
    codecommit.on(GetCommitCommand).rejects(new InvalidCommitIdException({ message: 'The specified commit ID is not valid.', $metadata: {} }));

    const started = startRequestedBuild(request({ commit }), SETTINGS);

    await expect(started).rejects.toThrow(InvalidInputError);
    await expect(started).rejects.toThrow(`commit: ${commit} does not exist in abalone`);
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(s3).not.toHaveReceivedAnyCommand();
  });

  it('ignores a branch that does not exist', async () => {
    codecommit.on(GetBranchCommand).rejects(new BranchDoesNotExistException({ message: 'Branch does not exist', $metadata: {} }));

    await expect(startRequestedBuild(request({ branch: 'gone' }), SETTINGS)).resolves.toEqual({ action: 'ignored', reason: 'abalone has no branch gone' });
  });

  it('builds a branch the stage\'s push filter does not list: a run by hand chooses its branch', async () => {
    await expect(startRequestedBuild(request({ branch: 'experiment' }), SETTINGS)).resolves.toMatchObject({ action: 'started' });
  });

  it('names the run after the request, so a repeated request starts nothing new', async () => {
    const first = await startRequestedBuild(request({}), SETTINGS);

    const again = await startRequestedBuild(request({}), SETTINGS);

    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { name: requestedBuildExecutionName('abalone', HEAD, 'run-0001') });
    expect(again).toEqual({ ...first, action: 'already-started' });
    expect(services.started.size).toBe(1);
  });

  it('starts another run for another request of the same commit', async () => {
    await startRequestedBuild(request({}), SETTINGS);
    await startRequestedBuild(request({ requestId: 'run-0002' }), SETTINGS);

    expect(services.started.size).toBe(2);
  });

  it('applies the request\'s parameter overrides over the defaults', async () => {
    await startRequestedBuild(request({ parameters: { InstanceType: 'ml.m5.xlarge', Rounds: 80 } }), SETTINGS);

    expect(startedExecution().input.parameters).toEqual({ InstanceType: 'ml.m5.xlarge', MaxMse: 6, Rounds: 80 });
  });

  it.each([
    ['an unknown parameter', { Epochs: 3 }, 'Parameters.Epochs: no such parameter in mlops.yaml (parameters: InstanceType, MaxMse, Rounds)'],
    ['a value of the wrong type', { Rounds: '80' }, 'Parameters.Rounds: must be an Integer, got "80"'],
    ['a value outside EnumValues', { InstanceType: 'ml.p4d.24xlarge' }, 'Parameters.InstanceType: must be one of "ml.m5.large", "ml.m5.xlarge", got "ml.p4d.24xlarge"'],
  ])('rejects %s with InvalidConfig naming Parameters.<name>, through the rejected-build state machine', async (_what, parameters, cause) => {
    await expect(startRequestedBuild(request({ parameters }), SETTINGS)).resolves.toMatchObject({ action: 'started', configValid: false, stateMachineArn: REJECTED_ARN });

    expect(startedExecution<RejectedBuildInput>().input.failure).toEqual({ Error: 'InvalidConfig', Cause: cause });
    expect(sfn).not.toHaveReceivedCommand(CreateStateMachineCommand);
  });
});

describe('startRequestedBuild: from a step on (selective execution)', () => {
  const FORK_JOIN_DEFAULTS = { InstanceType: 'ml.m5.large', MaxMse: 6, Rounds: 50 };
  let source: TestRun;
  let sourceResults: Record<string, StepResult>;

  /** A history in which each task's TaskStateExited output holds the results so far, as the compiled machine records them. */
  function sourceHistory(order: string[], results: Record<string, StepResult>): HistoryBuilder {
    const history = new HistoryBuilder();
    const steps: Record<string, StepResult> = {};
    let previous = history.add(HistoryEventType.ExecutionStarted, {}, 0);
    for (const name of order) {
      const entered = history.entered('Task', name, { build: source.build, steps: { ...steps } }, previous);
      steps[name] = results[name]!;
      previous = history.exited('Task', name, { build: source.build, parameters: {}, steps: { ...steps }, reuse: {} }, entered);
    }
    return history;
  }

  interface SourceRun {
    /** The source run's repository (its input's build.repository). */
    repository?: string;
    /** The pipeline.json the source run ran (default: the abalone example, as this commit has it: PUSHED_CONFIG_TEXT). */
    pipeline?: PipelineConfig;
    /** The source run's parameters. */
    parameters?: Record<string, string | number | boolean>;
  }

  /** Serves the source run: its execution (input), its pipeline.json and a history that reached the steps of `order`. */
  function serveSource(order: string[], results: Record<string, StepResult> = sourceResults, { repository = 'abalone', pipeline = pushedConfig(), parameters = {} }: SourceRun = {}): void {
    services.store.put(source.build.pipelineUri, JSON.stringify(pipeline));
    sfn.on(DescribeExecutionCommand, { executionArn: source.executionArn }).resolves({
      executionArn: source.executionArn,
      stateMachineArn: source.executionArn.replace(':execution:', ':stateMachine:').replace(/:[^:]+$/, ''),
      name: source.build.executionName,
      status: 'FAILED',
      startDate: new Date('2026-11-22T10:00:00Z'),
      input: JSON.stringify({ build: { ...source.build, repository }, parameters, steps: {}, reuse: {} }),
    });
    serveHistory(sfn, source.executionArn, sourceHistory(order, results).events);
  }

  /** The abalone example with one edit. */
  function exampleWith(edit: (pipeline: PipelineConfig) => void): PipelineConfig {
    const pipeline = exampleConfig();
    edit(pipeline);
    return pipeline;
  }

  /** fork-join's results up to both evaluations (jobs named after their steps). */
  function forkJoinResults(): Record<string, StepResult> {
    const job = (step: string): StepResult => ({ ...preprocessResult(source), ProcessingJobName: `${step.toLowerCase()}-job`, Outputs: { evaluation: `${source.prefix}${step}/evaluation/` } });
    const model = (step: string): StepResult => ({ ...trainResult(source), TrainingJobName: `${step.toLowerCase()}-job` });
    return { Prepare: job('Prepare'), TrainXgb: model('TrainXgb'), EvaluateXgb: job('EvaluateXgb'), TrainLinear: model('TrainLinear'), EvaluateLinear: job('EvaluateLinear') };
  }

  /** The failure the one run started was rejected with. */
  const rejection = () => startedExecution<RejectedBuildInput>().input.failure;

  beforeEach(() => {
    source = newRun();
    sourceResults = { Preprocess: preprocessResult(source), Train: trainResult(source) };
  });

  it('carries over the results of the steps before fromStep from the source run, marked ReusedFrom it', async () => {
    serveSource(['Preprocess', 'Train']);

    await startRequestedBuild(request({ fromStep: 'Evaluate', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(startedExecution().input.reuse).toEqual({
      Preprocess: { ...preprocessResult(source), ReusedFrom: source.executionArn, CachedFrom: null },
      Train: { ...trainResult(source), ReusedFrom: source.executionArn, CachedFrom: null },
    });
    expect(startedExecution().input.steps).toEqual({});
  });

  it('carries over nothing from fromStep on', async () => {
    serveSource(['Preprocess', 'Train']);

    await startRequestedBuild(request({ fromStep: 'Train', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(Object.keys(startedExecution().input.reuse)).toEqual(['Preprocess']);
  });

  it('reads the source run\'s history oldest first', async () => {
    serveSource(['Preprocess', 'Train']);

    await startRequestedBuild(request({ fromStep: 'Evaluate', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, { executionArn: source.executionArn, reverseOrder: false });
  });

  it('reads the source run\'s pipeline.json where its execution input\'s build.pipelineUri points', async () => {
    serveSource(['Preprocess', 'Train']);

    await startRequestedBuild(request({ fromStep: 'Evaluate', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: BUCKET, Key: `${buildKeyPrefix(source.build.repository, source.build.executionName)}pipeline.json` });
  });

  it('keeps the run a carried-over result first came from', async () => {
    const original = newRun();
    serveSource(['Preprocess', 'Train'], { ...sourceResults, Preprocess: { ...preprocessResult(original), ReusedFrom: original.executionArn } });

    await startRequestedBuild(request({ fromStep: 'Evaluate', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(startedExecution().input.reuse.Preprocess).toMatchObject({ ReusedFrom: original.executionArn });
  });

  it('carries over a result the source run took from the cache, as reused from the source run', async () => {
    const cachedRun = newRun();
    serveSource(['Preprocess', 'Train'], { ...sourceResults, Train: { ...trainResult(cachedRun), CachedFrom: cachedRun.executionArn } });

    await startRequestedBuild(request({ fromStep: 'Evaluate', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(startedExecution().input.reuse.Train).toMatchObject({ TrainingJobName: trainResult(cachedRun).TrainingJobName, CachedFrom: null, ReusedFrom: source.executionArn });
  });

  it('carries over results recorded inside a Parallel\'s branches (fork-join, from EvaluateXgb)', async () => {
    mockRepository(pipelineText('fork-join'));
    serveSource(['Prepare', 'TrainXgb', 'TrainLinear', 'EvaluateLinear'], forkJoinResults(), { pipeline: loadPipeline('fork-join'), parameters: FORK_JOIN_DEFAULTS });

    await startRequestedBuild(request({ fromStep: 'EvaluateXgb', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(Object.keys(startedExecution().input.reuse).sort()).toEqual(['EvaluateLinear', 'Prepare', 'TrainLinear', 'TrainXgb']);
  });

  it('carries over a RegisterModel result as the source run recorded it, so the version is not registered again', async () => {
    const registered: StepResult = {
      Type: 'RegisterModel',
      ModelPackageArn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:model-package/sluice-test-abalone/4`,
      ModelPackageGroupName: 'sluice-test-abalone',
      ModelApprovalStatus: 'PendingManualApproval',
      CachedFrom: null,
    };
    const evaluated = { ...preprocessResult(source), ProcessingJobName: 'evaluate-job', Outputs: { evaluation: `${source.prefix}Evaluate/evaluation/` } };
    serveSource(['Preprocess', 'Train', 'Evaluate', 'Register'], { ...sourceResults, Evaluate: evaluated, Register: registered });

    // From the Fail step on: QualityGate decides again, and Register, if taken, returns the carried-over version.
    await startRequestedBuild(request({ fromStep: 'QualityGateFailed', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(startedExecution().input.reuse).toMatchObject({ Register: registered, Evaluate: { ReusedFrom: source.executionArn } });
  });

  it('carries over a ForEach as a whole, from its Map state\'s output (items and every item\'s results)', async () => {
    mockRepository(pipelineText('for-each'));
    const prepare: StepResult = { ...preprocessResult(source), ProcessingJobName: 'prepare-job', Outputs: { all: `${source.prefix}prepare/all/` } };
    const items = ['M', 'F', 'I'];
    const forEach: StepResult = {
      Type: 'ForEach',
      Items: items,
      Results: items.map((_sex, index) => ({ 'prep-one': { ...prepare, ProcessingJobName: `prep-${index}` }, 'train-one': { ...trainResult(source), TrainingJobName: `train-${index}` } })),
      CachedFrom: null,
      ReusedFrom: null,
    };
    serveSource(['prepare'], { prepare }, { pipeline: loadPipeline('for-each'), parameters: { Rounds: 20 } });
    const history = sourceHistory(['prepare'], { prepare });
    const state = (steps: Record<string, StepResult>) => ({ build: source.build, parameters: {}, steps, reuse: {} });
    // The ForEach's task leaves only its items; its Map state's output holds the items' results.
    const task = history.exited('Task', 'per-sex', state({ prepare, 'per-sex': { ...forEach, Results: undefined } as StepResult }));
    history.add(HistoryEventType.MapStateExited, { stateExitedEventDetails: { name: 'per-sex (each)', output: JSON.stringify(state({ prepare, 'per-sex': forEach })) } }, task);
    serveHistory(sfn, source.executionArn, history.events);

    await startRequestedBuild(request({ fromStep: 'compare', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(startedExecution().input.reuse['per-sex']).toEqual({ ...forEach, ReusedFrom: source.executionArn, CachedFrom: null });
  });

  it('carries over no ForEach whose Map did not finish in the source run: it runs again', async () => {
    mockRepository(pipelineText('for-each'));
    const prepare: StepResult = { ...preprocessResult(source), ProcessingJobName: 'prepare-job', Outputs: { all: `${source.prefix}prepare/all/` } };
    serveSource(['prepare'], { prepare }, { pipeline: loadPipeline('for-each'), parameters: { Rounds: 20 } });
    const history = sourceHistory(['prepare'], { prepare });
    history.exited('Task', 'per-sex', { build: source.build, parameters: {}, steps: { prepare, 'per-sex': { Type: 'ForEach', Items: ['M'], CachedFrom: null, ReusedFrom: null } }, reuse: {} });
    serveHistory(sfn, source.executionArn, history.events);

    await startRequestedBuild(request({ fromStep: 'compare', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(Object.keys(startedExecution().input.reuse)).toEqual(['prepare']);
  });

  it('carries over nothing for a step the source run did not reach, and starts the run: that step runs again', async () => {
    serveSource(['Preprocess']);

    await expect(startRequestedBuild(request({ fromStep: 'Evaluate', sourceExecutionArn: source.executionArn }), SETTINGS)).resolves.toMatchObject({ action: 'started', configValid: true });

    expect(Object.keys(startedExecution().input.reuse)).toEqual(['Preprocess']);
  });

  it('starts the run when a step the source run did not reach has changed: there is no result of it to carry over', async () => {
    serveSource(['Preprocess'], sourceResults, { pipeline: exampleWith((pipeline) => (stepOf(pipeline, 'Train', ['Training']).HyperParameters = { num_round: '10' })) });

    await expect(startRequestedBuild(request({ fromStep: 'Evaluate', sourceExecutionArn: source.executionArn }), SETTINGS)).resolves.toMatchObject({ action: 'started', configValid: true });

    expect(Object.keys(startedExecution().input.reuse)).toEqual(['Preprocess']);
  });

  it('refuses a carried-over step whose settings differ from the source run\'s with InvalidConfig naming Steps.<name>', async () => {
    serveSource(['Preprocess', 'Train'], sourceResults, { pipeline: exampleWith((pipeline) => (stepOf(pipeline, 'Train', ['Training']).HyperParameters = { num_round: '10' })) });

    await startRequestedBuild(request({ fromStep: 'Evaluate', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(rejection()).toEqual({ Error: 'InvalidConfig', Cause: `fromStep: Steps.Train differs from ${source.executionArn}'s; start from Train or an earlier step` });
    expect(sfn).not.toHaveReceivedCommand(CreateStateMachineCommand);
  });

  it('compares settings as canonical JSON: the same settings written in another key order are the same', async () => {
    const reordered = JSON.parse(JSON.stringify(exampleConfig(), (_key, value: unknown) => (value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).reverse()) : value))) as PipelineConfig;
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(exampleConfig()));
    serveSource(['Preprocess', 'Train'], sourceResults, { pipeline: reordered });

    await startRequestedBuild(request({ fromStep: 'Evaluate', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(Object.keys(startedExecution().input.reuse)).toEqual(['Preprocess', 'Train']);
  });

  it('refuses a carried-over step that reads a parameter whose value differs from the source run\'s, naming the step and the parameter', async () => {
    mockRepository(pipelineText('fork-join'));
    serveSource(['Prepare', 'TrainXgb', 'TrainLinear', 'EvaluateLinear'], forkJoinResults(), { pipeline: loadPipeline('fork-join'), parameters: FORK_JOIN_DEFAULTS });

    await startRequestedBuild(request({ fromStep: 'EvaluateXgb', sourceExecutionArn: source.executionArn, parameters: { Rounds: 80 } }), SETTINGS);

    expect(rejection()).toEqual({
      Error: 'InvalidConfig',
      Cause: `fromStep: Steps.TrainXgb reads Parameters.Rounds, which is 80 here and was 50 in ${source.executionArn}; start from TrainXgb or an earlier step`,
    });
  });

  it('carries over the steps that do not read a changed parameter', async () => {
    mockRepository(pipelineText('fork-join'));
    serveSource(['Prepare', 'TrainXgb', 'TrainLinear', 'EvaluateLinear'], forkJoinResults(), { pipeline: loadPipeline('fork-join'), parameters: FORK_JOIN_DEFAULTS });

    await startRequestedBuild(request({ fromStep: 'TrainXgb', sourceExecutionArn: source.executionArn, parameters: { Rounds: 80 } }), SETTINGS);

    expect({ parameters: startedExecution().input.parameters, reused: Object.keys(startedExecution().input.reuse).sort() }).toEqual({
      parameters: { ...FORK_JOIN_DEFAULTS, Rounds: 80 },
      reused: ['EvaluateLinear', 'Prepare', 'TrainLinear'],
    });
  });

  it('refuses a source run of another repository with InvalidConfig naming sourceExecutionArn', async () => {
    serveSource(['Preprocess', 'Train'], sourceResults, { repository: 'churn' });

    await startRequestedBuild(request({ fromStep: 'Evaluate', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(startedExecution<RejectedBuildInput>()).toMatchObject({
      stateMachineArn: REJECTED_ARN,
      input: { failure: { Error: 'InvalidConfig', Cause: `sourceExecutionArn: ${source.executionArn} is not a build of abalone` } },
    });
    expect(sfn).not.toHaveReceivedCommand(GetExecutionHistoryCommand);
  });

  it('refuses a source run that does not exist', async () => {
    sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: `Execution Does Not Exist: '${source.executionArn}'`, $metadata: {} }));

    await startRequestedBuild(request({ fromStep: 'Evaluate', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(rejection()).toEqual({ Error: 'InvalidConfig', Cause: `sourceExecutionArn: ${source.executionArn} is not a build of abalone` });
  });

  it('refuses a rejected build as the source with InvalidConfig naming sourceExecutionArn: it ran no pipeline', async () => {
    sfn.on(DescribeExecutionCommand, { executionArn: source.executionArn }).resolves({
      executionArn: source.executionArn,
      stateMachineArn: REJECTED_ARN,
      status: 'FAILED',
      startDate: new Date('2026-11-22T10:00:00Z'),
      input: JSON.stringify({ build: source.build, failure: { Error: 'InvalidConfig', Cause: 'mlops.yaml: Train.ResourceConfig: is required' } }),
    });

    await startRequestedBuild(request({ fromStep: 'Evaluate', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(rejection()).toEqual({ Error: 'InvalidConfig', Cause: expect.stringMatching(new RegExp(`^sourceExecutionArn: ${source.executionArn} ran no pipeline`)) });
  });

  it('refuses a fromStep the pipeline does not have, naming fromStep', async () => {
    await startRequestedBuild(request({ fromStep: 'Deploy', sourceExecutionArn: source.executionArn }), SETTINGS);

    expect(rejection()).toEqual({ Error: 'InvalidConfig', Cause: expect.stringMatching(/^fromStep: the pipeline has no step "Deploy"/) });
  });

  describe('an input above Step Functions\' 256 KiB', () => {
    /** A training result with enough metrics to push the run's input past 256 KiB. */
    const heavyTrain = () => ({ ...trainResult(source), FinalMetrics: Object.fromEntries(Array.from({ length: 6000 }, (_value, index) => [`validation:metric-${String(index).padStart(5, '0')}-of-a-long-name`, index / 7])) });

    it('fails the run through the rejected-build state machine with InvalidConfig naming the size', async () => {
      serveSource(['Preprocess', 'Train'], { ...sourceResults, Train: heavyTrain() });

      await expect(startRequestedBuild(request({ fromStep: 'Evaluate', sourceExecutionArn: source.executionArn }), SETTINGS)).resolves.toMatchObject({ action: 'started', configValid: false, stateMachineArn: REJECTED_ARN });

      expect(rejection()).toEqual({ Error: 'InvalidConfig', Cause: expect.stringMatching(/^the run's input is \d{6} bytes, above Step Functions' 262144: start from an earlier step$/) });
    });

    it('creates no state machine and writes no pipeline.json for it', async () => {
      serveSource(['Preprocess', 'Train'], { ...sourceResults, Train: heavyTrain() });

      await startRequestedBuild(request({ fromStep: 'Evaluate', sourceExecutionArn: source.executionArn }), SETTINGS);

      expect(sfn).not.toHaveReceivedCommand(CreateStateMachineCommand);
      expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    });
  });
});

describe('stepsFrom', () => {
  const { graph } = analysePipeline(loadPipeline('fork-join'));

  it('holds the step and everything waiting for it, including the Condition\'s branches', () => {
    expect([...stepsFrom(graph, 'TrainXgb')].sort()).toEqual(['EvaluateXgb', 'Gate', 'NotBetter', 'Register', 'TrainXgb']);
  });

  it('holds every step from the first one', () => {
    expect(stepsFrom(graph, 'Prepare').size).toBe(graph.order.length);
  });
});

describe('capRejectionCause', () => {
  it('leaves a Cause of up to 32 KiB as it is', () => {
    const cause = 'x'.repeat(MAX_REJECTION_CAUSE_BYTES);

    expect(capRejectionCause(cause)).toBe(cause);
  });

  it('cuts a longer one to 32 KiB of UTF-8 without splitting a character', () => {
    const capped = capRejectionCause('é'.repeat(MAX_REJECTION_CAUSE_BYTES));

    expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(MAX_REJECTION_CAUSE_BYTES);
    expect(capped).toMatch(/^é+ … \(truncated, 65536 bytes in all\)$/);
  });
});

describe('startModelBuild: steps given as ACK manifests', () => {
  const TRAINING_MANIFEST = [
    'apiVersion: sagemaker.services.k8s.aws/v1alpha1',
    'kind: TrainingJob',
    'metadata: { name: train }',
    'spec:',
    '  roleARN: arn:aws:iam::123456789012:role/cluster-role',
    '  algorithmSpecification: { trainingImage: 683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1, trainingInputMode: File }',
    '  hyperParameters: { num_round: "5" }',
    '  resourceConfig: { instanceCount: 1, instanceType: ml.m5.xlarge, volumeSizeInGB: 5 }',
    '  outputDataConfig: { s3OutputPath: s3://somebody-elses-bucket/out }',
    '  inputDataConfig:',
    '    - { channelName: train, contentType: text/csv, dataSource: { s3DataSource: { s3DataType: S3Prefix, s3URI: s3://somebody-elses-bucket/train } } }',
  ].join('\n');
  const withManifest = () => yamlWith(yamlWith(pipelineText('abalone-v2'), ['Steps', 'Train', 'Manifest'], 'k8s/train.yaml'), ['Steps', 'Train', 'AlgorithmSpecification'], undefined);

  it('reads the manifest at the pushed commit and runs the step it stands for, with the stage\'s outputs and the ignored fields as warnings', async () => {
    mockRepository(yamlWith(yamlWith(withManifest(), ['Steps', 'Train', 'HyperParameters'], undefined), ['Steps', 'Train', 'ResourceConfig'], undefined));
    codecommit.on(GetFileCommand, { filePath: 'k8s/train.yaml' }).resolves({ fileContent: new TextEncoder().encode(TRAINING_MANIFEST), filePath: 'k8s/train.yaml' });

    const outcome = await startModelBuild(sample(), SETTINGS);

    expect(codecommit).toHaveReceivedCommandWith(GetFileCommand, { repositoryName: REPOSITORY, commitSpecifier: COMMIT, filePath: 'k8s/train.yaml' });
    expect(outcome).toMatchObject({ action: 'started', configValid: true, warnings: [expect.stringContaining('spec.roleARN is ignored'), expect.stringContaining('spec.outputDataConfig.s3OutputPath is ignored')] });
    const stored = JSON.parse(services.store.text(`s3://${BUCKET}/${PREFIX}pipeline.json`)!) as PipelineConfig;
    expect(stored.Steps.Train).toMatchObject({ Type: 'Training', HyperParameters: { num_round: '5' }, ResourceConfig: { InstanceType: 'ml.m5.xlarge', VolumeSizeInGB: 5 } });
  });

  it('rejects the build, naming the step, when the commit has no such manifest', async () => {
    mockRepository(withManifest());
    codecommit.on(GetFileCommand, { filePath: 'k8s/train.yaml' }).rejects(new FileDoesNotExistException({ message: 'The specified file does not exist', $metadata: {} }));

    await startModelBuild(sample(), SETTINGS);

    expect(startedExecution<RejectedBuildInput>().input.failure).toEqual({ Error: 'InvalidConfig', Cause: 'mlops.yaml: Steps.Train.Manifest: k8s/train.yaml is not in this commit' });
  });
});
