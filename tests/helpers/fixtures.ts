import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { GetCommitOutput } from '@aws-sdk/client-codecommit';

import { sourceSnapshotPrefix } from '../../shared/naming';
import type { PipelineConfig } from '../../shared/schemas/mlops-v2';
import { parseMlopsConfig } from '../../shared/schemas/parse-mlops-config';
import type { BuildContext } from '../../shared/schemas/task-inputs';

/** Repository root, for reading real files (samples, examples, state machines). */
export const ROOT = join(__dirname, '..', '..');

/** A real AWS sample event from events/samples/, deep-cloned so tests can mutate it. */
export function loadSample<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(join(ROOT, 'events', 'samples', name), 'utf8')) as T;
}

/** A test-only fixture from tests/fixtures/, deep-cloned. */
export function loadFixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(join(ROOT, 'tests', 'fixtures', name), 'utf8')) as T;
}

/** The stage policy the tests use: the example's instance type is allowed. */
export const TEST_POLICY = {
  allowedInstanceTypes: ['ml.m5.xlarge', 'ml.m5.large'],
  maxRuntimeSeconds: 7200,
  maxInstanceCount: 4,
  maxVolumeSizeInGB: 512,
  selfApprovalRepositories: [],
} as const;

/** The repository the tests' mlops.yaml files belong to (the default model package group's namespace). */
export const TEST_REPOSITORY = 'abalone';

export const EXAMPLE_CONFIG_TEXT = readFileSync(join(ROOT, 'examples', 'abalone', 'mlops.yaml'), 'utf8');

/** The example as any repository may hold it: without `ModelPackageGroupName: abalone`, it registers into the repository's own group. */
export const EXAMPLE_CONFIG_TEXT_OWN_GROUP = EXAMPLE_CONFIG_TEXT.replace(/^ {2}ModelPackageGroupName: abalone\n/m, '');

/** examples/abalone/mlops.yaml, parsed and validated (read as Version 2; a fresh object each call). */
export function exampleConfig(): PipelineConfig {
  return parseMlopsConfig(EXAMPLE_CONFIG_TEXT, { ...TEST_POLICY, allowedInstanceTypes: [...TEST_POLICY.allowedInstanceTypes] }, TEST_REPOSITORY);
}

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const BUCKET = 'sluice-test-artifacts';
export const STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:sluice-test-model-build`;
export const EXECUTION_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:execution:sluice-test-model-build:abalone-0123456789abcdef0123456789abcdef01234567-a1b2c3`;
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/sluice-test-sagemaker`;
export const COMMIT = '0123456789abcdef0123456789abcdef01234567';
/** The tree of COMMIT (git's hash of its files), as GetCommit returns it. */
export const COMMIT_TREE = '7c2e9a41d05b3f86e1a4c0d92b7f5e38a6c1d0e9';

/** GetCommit's output for `commitId` with tree `treeId`, shaped as CodeCommit returns it. */
export function commitOutput(commitId: string, treeId: string, message = 'Tune the learning rate\n'): GetCommitOutput {
  const person = { name: 'Mary Major', email: 'mary_major@example.com', date: '1484167798 -0800' };
  return { commit: { commitId, treeId, parents: ['7aa87a031c8b1f2d0c5e9a6b4d3f2e1a0b9c8d7e'], message, author: person, committer: person, additionalData: '' } };
}

/** The execution input's `build` for a push of COMMIT to abalone/main (its source snapshot under COMMIT_TREE). */
export function buildContext(overrides: Partial<BuildContext> = {}): BuildContext {
  const source = `s3://${BUCKET}/${sourceSnapshotPrefix('abalone', COMMIT_TREE)}`;
  return {
    repository: 'abalone',
    branch: 'main',
    commit: COMMIT,
    executionName: 'abalone-0123456789abcdef0123456789abcdef01234567-a1b2c3',
    sourceUri: `${source}source.tar.gz`,
    sourcePrefix: `${source}source/`,
    sourceManifestUri: `${source}source-manifest.json`,
    pipelineUri: `s3://${BUCKET}/builds/abalone-0123456789abcdef0123456789abcdef01234567-a1b2c3/pipeline.json`,
    taskTimeoutSeconds: 10800,
    ...overrides,
  };
}
