import { CodeCommitClient, FileDoesNotExistException, FileTooLargeException, GetBlobCommand, GetFileCommand, GetFolderCommand } from '@aws-sdk/client-codecommit';
import { HeadObjectCommand, NotFound, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { parseDocument } from 'yaml';

import { type BuildExecutionInput, type BuildSettings, startModelBuild } from '../../../shared/pipeline/start-build';
import { RetryableError } from '../../../shared/errors';
import { buildExecutionName } from '../../../shared/naming';
import { parseEvent, type RepositoryStateChange, repositoryStateChangeSchema } from '../../../shared/schemas/events';
import { buildContextSchema } from '../../../shared/schemas/task-inputs';
import { BUCKET, EXAMPLE_CONFIG_TEXT, exampleConfig, loadSample, STATE_MACHINE_ARN, TEST_POLICY } from '../../helpers/fixtures';

const codecommit = mockClient(CodeCommitClient);
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);

/** The real push sample: myRepo, branch myBranch, commit 26a8f2EXAMPLE. */
const PUSH_SAMPLE = 'codecommit-reference-updated-push.json';
const REPOSITORY = 'myRepo';
const BRANCH = 'myBranch';
const COMMIT = '26a8f2EXAMPLE';
const EXECUTION_NAME = buildExecutionName(REPOSITORY, COMMIT);
const EXECUTION_ARN = `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${EXECUTION_NAME}`;
const PREFIX = `builds/${EXECUTION_NAME}/`;

const SETTINGS: BuildSettings = {
  stateMachineArn: STATE_MACHINE_ARN,
  artifactsBucket: BUCKET,
  maxSourceBytes: 1_000_000,
  repositories: ['myRepo', 'MyDemoRepo'],
  branches: ['myBranch'],
  allowedInstanceTypes: [...TEST_POLICY.allowedInstanceTypes],
  maxRuntimeSeconds: TEST_POLICY.maxRuntimeSeconds,
};

const TRAIN_PY = 'import xgboost\n';

/** A real sample event, parsed as on-source-push parses it (cloned by loadSample). */
function sample(name = PUSH_SAMPLE): RepositoryStateChange {
  return parseEvent(repositoryStateChangeSchema, loadSample(name));
}

/** examples/abalone/mlops.yaml with one edit (undefined deletes the path). */
function exampleWith(path: string[], value: unknown): string {
  const document = parseDocument(EXAMPLE_CONFIG_TEXT);
  if (value === undefined) document.deleteIn(path);
  else document.setIn(path, value);
  return document.toString();
}

/** Serves `mlopsYaml` and a two-file tree (mlops.yaml, train.py) at any commit. */
function mockRepository(mlopsYaml = EXAMPLE_CONFIG_TEXT): void {
  codecommit.on(GetFileCommand, { filePath: 'mlops.yaml' }).resolves({ fileContent: new TextEncoder().encode(mlopsYaml), filePath: 'mlops.yaml' });
  codecommit.on(GetFolderCommand, { folderPath: '/' }).resolves({
    folderPath: '/',
    files: [
      { absolutePath: 'mlops.yaml', relativePath: 'mlops.yaml', blobId: 'blob-mlops', fileMode: 'NORMAL' },
      { absolutePath: 'train.py', relativePath: 'train.py', blobId: 'blob-train', fileMode: 'NORMAL' },
    ],
  });
  codecommit.on(GetBlobCommand, { blobId: 'blob-mlops' }).resolves({ content: new TextEncoder().encode(mlopsYaml) });
  codecommit.on(GetBlobCommand, { blobId: 'blob-train' }).resolves({ content: new TextEncoder().encode(TRAIN_PY) });
}

/** S3 and Step Functions that remember what was written and started, as the real services would; `log` records the order. */
function mockServices(): { written: Set<string>; started: Set<string>; log: string[] } {
  const written = new Set<string>();
  const started = new Set<string>();
  const log: string[] = [];
  s3.on(HeadObjectCommand).callsFake(async (input: { Key?: string }) => {
    if (!written.has(input.Key ?? '')) throw new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } });
    return {};
  });
  s3.on(PutObjectCommand).callsFake(async (input: { Key?: string }) => {
    written.add(input.Key ?? '');
    log.push(`put ${input.Key}`);
    return {};
  });
  sfn.on(StartExecutionCommand).callsFake(async (input: { stateMachineArn?: string; name?: string }) => {
    const arn = `${(input.stateMachineArn ?? '').replace(':stateMachine:', ':execution:')}:${input.name}`;
    if (started.has(input.name ?? '')) throw new ExecutionAlreadyExists({ message: `Execution Already Exists: '${arn}'`, $metadata: {} });
    started.add(input.name ?? '');
    log.push(`start ${input.name}`);
    return { executionArn: arn, startDate: new Date() };
  });
  return { written, started, log };
}

/** The input of the one StartExecution sent. */
function executionInput(): BuildExecutionInput {
  const calls = sfn.commandCalls(StartExecutionCommand);
  expect(calls).toHaveLength(1);
  return JSON.parse(calls[0]?.args[0].input.input ?? 'null') as BuildExecutionInput;
}

function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' });
}

let services: ReturnType<typeof mockServices>;

beforeEach(() => {
  codecommit.reset();
  s3.reset();
  sfn.reset();
  mockRepository();
  services = mockServices();
});

describe('startModelBuild: events that do not build', () => {
  it('ignores a deleted branch', async () => {
    await expect(startModelBuild(sample('codecommit-reference-deleted.json'), SETTINGS)).resolves.toEqual({
      action: 'ignored',
      reason: 'event referenceDeleted does not build',
    });
  });

  it('ignores a tag', async () => {
    await expect(startModelBuild(sample('codecommit-tag-created.json'), SETTINGS)).resolves.toEqual({
      action: 'ignored',
      reason: 'reference type tag does not build',
    });
  });

  it('ignores a repository the stage is not configured to build', async () => {
    await expect(startModelBuild(sample(), { ...SETTINGS, repositories: ['abalone', 'churn-*'] })).resolves.toEqual({
      action: 'ignored',
      reason: 'repository myRepo is not configured to build',
    });
  });

  it('ignores a branch the stage is not configured to build', async () => {
    await expect(startModelBuild(sample(), { ...SETTINGS, branches: ['main', 'release/*'] })).resolves.toEqual({
      action: 'ignored',
      reason: 'branch myBranch is not configured to build',
    });
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
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('snapshots nothing and starts nothing for a commit without mlops.yaml', async () => {
    codecommit.on(GetFileCommand).rejects(new FileDoesNotExistException({ message: 'The specified file does not exist.', $metadata: {} }));

    await startModelBuild(sample(), SETTINGS);

    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
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

  it('starts one execution under the deterministic name for repository + commit', async () => {
    await startModelBuild(sample(), SETTINGS);

    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: STATE_MACHINE_ARN, name: buildExecutionName('myRepo', '26a8f2EXAMPLE') });
  });

  it('reports the execution as started, with a valid config', async () => {
    await expect(startModelBuild(sample(), SETTINGS)).resolves.toEqual({ action: 'started', executionArn: EXECUTION_ARN, configValid: true });
  });

  it('passes the build context in the execution input', async () => {
    await startModelBuild(sample(), SETTINGS);

    expect(executionInput().build).toEqual({
      repository: REPOSITORY,
      branch: BRANCH,
      commit: COMMIT,
      executionName: EXECUTION_NAME,
      sourceUri: `s3://${BUCKET}/${PREFIX}source.tar.gz`,
      sourcePrefix: `s3://${BUCKET}/${PREFIX}source/`,
      taskTimeoutSeconds: TEST_POLICY.maxRuntimeSeconds + 3600,
    });
  });

  it('passes a build context the state machine tasks accept', async () => {
    await startModelBuild(sample(), SETTINGS);

    expect(buildContextSchema.safeParse(executionInput().build).success).toBe(true);
  });

  it('passes the parsed mlops.yaml, with defaults applied, and no failure', async () => {
    await startModelBuild(sample(), SETTINGS);

    const input = executionInput();
    expect(input.config).toEqual(exampleConfig());
    expect(input.failure).toBeNull();
  });

  it('writes the source snapshot, unpacked files and archive, under the execution prefix', async () => {
    await startModelBuild(sample(), SETTINGS);

    expect([...services.written].sort()).toEqual([`${PREFIX}source.tar.gz`, `${PREFIX}source/mlops.yaml`, `${PREFIX}source/train.py`]);
  });

  it('starts the execution only after the snapshot is complete', async () => {
    await startModelBuild(sample(), SETTINGS);

    expect(services.log.at(-1)).toBe(`start ${EXECUTION_NAME}`);
    expect(services.log).toContain(`put ${PREFIX}source.tar.gz`);
  });

  it('builds a newly created branch (the referenceCreated sample)', async () => {
    const outcome = await startModelBuild(sample('codecommit-reference-created.json'), SETTINGS);

    expect(outcome).toMatchObject({ action: 'started' });
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { name: buildExecutionName('MyDemoRepo', '3e5983DESTINATION') });
  });
});

describe('startModelBuild: a repeated event', () => {
  it('reports already-started with the same execution ARN', async () => {
    await startModelBuild(sample(), SETTINGS);

    await expect(startModelBuild(sample(), SETTINGS)).resolves.toEqual({ action: 'already-started', executionArn: EXECUTION_ARN, configValid: true });
  });

  it('starts nothing new and rewrites no snapshot', async () => {
    await startModelBuild(sample(), SETTINGS);
    const logAfterFirst = [...services.log];

    await startModelBuild(sample(), SETTINGS);

    expect(services.log).toEqual(logAfterFirst);
    expect(services.started.size).toBe(1);
    expect(codecommit).toHaveReceivedCommandTimes(GetFolderCommand, 1);
  });

  it('names the build after the commit, so a push of the same commit to another branch is the same build', async () => {
    const other = sample();
    other.detail.referenceName = 'myOtherBranch';
    other.detail.referenceFullName = 'refs/heads/myOtherBranch';
    await startModelBuild(sample(), SETTINGS);

    await expect(startModelBuild(other, { ...SETTINGS, branches: ['my*'] })).resolves.toMatchObject({ action: 'already-started', executionArn: EXECUTION_ARN });
  });
});

describe('startModelBuild: an invalid mlops.yaml', () => {
  it('still starts the execution, carrying failure InvalidConfig and no config', async () => {
    mockRepository(exampleWith(['Train', 'ResourceConfig'], undefined));

    await expect(startModelBuild(sample(), SETTINGS)).resolves.toEqual({ action: 'started', executionArn: EXECUTION_ARN, configValid: false });
    const input = executionInput();
    expect(input.failure?.Error).toBe('InvalidConfig');
    expect(input.config).toBeNull();
  });

  it('names the file and the missing field in the Cause', async () => {
    mockRepository(exampleWith(['Train', 'ResourceConfig'], undefined));

    await startModelBuild(sample(), SETTINGS);

    expect(executionInput().failure?.Cause).toBe('mlops.yaml: Train.ResourceConfig: is required');
  });

  it('names the field of an instance type the stage does not allow', async () => {
    mockRepository(exampleWith(['Train', 'ResourceConfig', 'InstanceType'], 'ml.p4d.24xlarge'));

    await startModelBuild(sample(), SETTINGS);

    expect(executionInput().failure).toEqual({
      Error: 'InvalidConfig',
      Cause: expect.stringMatching(/^mlops\.yaml: .*Train\.ResourceConfig\.InstanceType: instance type "ml\.p4d\.24xlarge" is not allowed/),
    });
  });

  it('reports a file that is not YAML at all as InvalidConfig', async () => {
    mockRepository('Version: 1\nTrain: [unclosed\n');

    await startModelBuild(sample(), SETTINGS);

    expect(executionInput().failure).toEqual({ Error: 'InvalidConfig', Cause: expect.stringContaining('mlops.yaml: not valid YAML') });
  });

  it('passes the build context all the same, so the failure event can say which build failed', async () => {
    mockRepository(exampleWith(['Train', 'ResourceConfig'], undefined));

    await startModelBuild(sample(), SETTINGS);

    expect(executionInput().build).toMatchObject({ repository: REPOSITORY, branch: BRANCH, commit: COMMIT, executionName: EXECUTION_NAME });
  });

  it('does not snapshot the source of a build that cannot run', async () => {
    mockRepository(exampleWith(['Train', 'ResourceConfig'], undefined));

    await startModelBuild(sample(), SETTINGS);

    expect(codecommit).not.toHaveReceivedCommand(GetFolderCommand);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });
});

describe('startModelBuild: an oversized source tree', () => {
  const tooSmall = { ...SETTINGS, maxSourceBytes: 10 };

  it('still starts the execution, carrying failure SourceTooLarge and no config', async () => {
    await expect(startModelBuild(sample(), tooSmall)).resolves.toEqual({ action: 'started', executionArn: EXECUTION_ARN, configValid: false });
    const input = executionInput();
    expect(input.failure).toEqual({ Error: 'SourceTooLarge', Cause: expect.stringContaining('exceeds the stage limit of 10 bytes') });
    expect(input.config).toBeNull();
  });

  it('writes no partial snapshot', async () => {
    await startModelBuild(sample(), tooSmall);

    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('fails the build with SourceTooLarge when one file is larger than CodeCommit serves (a committed data set)', async () => {
    codecommit.on(GetBlobCommand, { blobId: 'blob-train' }).rejects(
      new FileTooLargeException({ message: 'The specified file exceeds the file size limit for CodeCommit.', $metadata: {} }),
    );

    await expect(startModelBuild(sample(), SETTINGS)).resolves.toMatchObject({ action: 'started', configValid: false });
    expect(executionInput().failure).toEqual({ Error: 'SourceTooLarge', Cause: expect.stringContaining('train.py') });
  });
});

describe('startModelBuild: throttling', () => {
  it('throws RetryableError when reading mlops.yaml is throttled, starting nothing', async () => {
    codecommit.on(GetFileCommand).rejects(throttling());

    await expect(startModelBuild(sample(), SETTINGS)).rejects.toThrow(RetryableError);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('throws RetryableError, rather than failing the build, when the snapshot is throttled', async () => {
    codecommit.on(GetBlobCommand).rejects(throttling());

    await expect(startModelBuild(sample(), SETTINGS)).rejects.toThrow(RetryableError);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('throws RetryableError when StartExecution is throttled', async () => {
    sfn.on(StartExecutionCommand).rejects(throttling());

    await expect(startModelBuild(sample(), SETTINGS)).rejects.toThrow(RetryableError);
  });
});
