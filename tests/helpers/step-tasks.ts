import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, NoSuchKey, NotFound, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionRedriveFilter,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type HistoryEventType,
  ListExecutionsCommand,
  type ListExecutionsCommandInput,
  ListStateMachinesCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
// @smithy/core ships with every SDK v3 client; its serde entry holds what @smithy/util-stream used to export.
import { sdkStreamMixin } from '@smithy/core/serde';
import type { AwsClientStub } from 'aws-sdk-client-mock';

import { NO_ISOLATION } from '../../shared/isolation';
import type { SourceManifest } from '../../shared/pipeline/cache';
import type { StageSettings } from '../../shared/pipeline/job-requests';
import { buildExecutionName, jobName, pipelineStateMachineName, repositoryKey, sourceSnapshotPrefix } from '../../shared/naming';
import type { PipelineConfig } from '../../shared/schemas/mlops-v2';
import type { BuildContext, ProcessingResult, StartJobInput, StepResult, StepTaskInput, TrainingResult } from '../../shared/schemas/task-inputs';
import { ACCOUNT, BUCKET, REGION, ROLE_ARN, TEST_POLICY } from './fixtures';

/**
 * Fixtures for the runtime of a compiled pipeline (start-job, evaluate-step, register-model, the
 * job bookkeeping and the cache): runs of the abalone repository, their step results as the
 * functions record them, the source manifest, and an S3 bucket faked at the Command level.
 */

/** What the test stage decides for every job (start-job's environment). */
export const STAGE: StageSettings = {
  stagePrefix: 'sluice-test',
  roleArn: ROLE_ARN,
  artifactsBucket: BUCKET,
  maxRuntimeSeconds: TEST_POLICY.maxRuntimeSeconds,
  allowedInstanceTypes: [...TEST_POLICY.allowedInstanceTypes],
  maxInstanceCount: TEST_POLICY.maxInstanceCount,
  maxVolumeSizeInGB: TEST_POLICY.maxVolumeSizeInGB,
  isolation: NO_ISOLATION,
};

export const TOKEN_TABLE = 'sluice-test-job-tokens';
export const CACHE_TABLE = 'sluice-test-step-cache';
export const ANNOUNCEMENT_TABLE = 'sluice-test-build-announcements';
export const TABLES = { tokens: TOKEN_TABLE, cache: CACHE_TABLE } as const;

/** The compiled abalone pipeline's state machine on the test stage. */
export const PIPELINE_STATE_MACHINE = pipelineStateMachineName('sluice-test-build-', 'abalone', '1a2b3c4d');
export const PIPELINE_STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${PIPELINE_STATE_MACHINE}`;

export const TASK_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAeMc1xG0Vn7-test-token';

/** One build run: its context, execution ARN and S3 prefix (`s3://<bucket>/builds/<repository key>/<execution>/`; its source snapshot lives by tree, elsewhere). */
export interface TestRun {
  build: BuildContext;
  executionArn: string;
  prefix: string;
}

let runs = 0;

/** A 40-hex commit id, different for every `seed`. */
export function commitId(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}

/**
 * A new push of the abalone repository: its own commit (and tree), execution and S3 prefix. Every test takes
 * a new run, so the functions' per-URI caches of pipeline.json and the source manifest (module
 * scope, as in a warm Lambda) never carry one test's pipeline into another.
 */
export function newRun(overrides: Partial<BuildContext> = {}): TestRun {
  runs += 1;
  const repository = overrides.repository ?? 'abalone';
  const commit = overrides.commit ?? commitId(`test run ${runs}`);
  const executionName = overrides.executionName ?? buildExecutionName(repository, commit);
  const prefix = `s3://${BUCKET}/builds/${repositoryKey(repository)}/${executionName}/`;
  const source = `s3://${BUCKET}/${sourceSnapshotPrefix(repository, commitId(`tree of ${commit}`))}`;
  return {
    build: {
      repository,
      branch: 'main',
      commit,
      executionName,
      sourceUri: `${source}source.tar.gz`,
      sourcePrefix: `${source}source/`,
      sourceManifestUri: `${source}source-manifest.json`,
      pipelineUri: `${prefix}pipeline.json`,
      taskTimeoutSeconds: TEST_POLICY.maxRuntimeSeconds + 3600,
      ...overrides,
    },
    executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:${PIPELINE_STATE_MACHINE}:${executionName}`,
    prefix,
  };
}

/** A content hash as the functions record it (64 hex), different for every `seed`. */
export function hashOf(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

/** What the abalone Preprocess step leaves in `$.steps` when its job completed in `run`. */
export function preprocessResult(run: TestRun, hashSeed = 'preprocess v1'): ProcessingResult {
  const name = jobName(STAGE.stagePrefix, run.build.repository, 'Preprocess', run.executionArn);
  return {
    Type: 'Processing',
    ProcessingJobName: name,
    ProcessingJobArn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:processing-job/${name}`,
    Outputs: { train: `${run.prefix}Preprocess/train/`, validation: `${run.prefix}Preprocess/validation/`, test: `${run.prefix}Preprocess/test/` },
    OutputHashes: { train: hashOf(`${hashSeed} train`), validation: hashOf(`${hashSeed} validation`), test: hashOf(`${hashSeed} test`) },
    StartTime: '2026-11-23T09:50:00.000Z',
    EndTime: '2026-11-23T09:52:30.000Z',
    DurationSeconds: 150,
    CachedFrom: null,
    ReusedFrom: null,
  };
}

/** What the abalone Train step leaves in `$.steps`. */
export function trainResult(run: TestRun, hashSeed = 'model v1'): TrainingResult {
  const name = jobName(STAGE.stagePrefix, run.build.repository, 'Train', run.executionArn);
  return {
    Type: 'Training',
    TrainingJobName: name,
    TrainingJobArn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:training-job/${name}`,
    ModelArtifacts: `${run.prefix}Train/${name}/output/model.tar.gz`,
    ModelArtifactsHash: hashOf(hashSeed),
    FinalMetrics: { 'train:rmse': 1.9, 'validation:rmse': 2.1 },
    TrainingTimeSeconds: 300,
    BillableTimeSeconds: 300,
    StartTime: '2026-11-23T09:53:00.000Z',
    EndTime: '2026-11-23T09:58:00.000Z',
    CachedFrom: null,
    ReusedFrom: null,
  };
}

/** What the abalone Evaluate step leaves in `$.steps`. */
export function evaluateResult(run: TestRun, hashSeed = 'evaluation v1'): ProcessingResult {
  const name = jobName(STAGE.stagePrefix, run.build.repository, 'Evaluate', run.executionArn);
  return {
    Type: 'Processing',
    ProcessingJobName: name,
    ProcessingJobArn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:processing-job/${name}`,
    Outputs: { evaluation: `${run.prefix}Evaluate/evaluation/` },
    OutputHashes: { evaluation: hashOf(`${hashSeed} evaluation`) },
    StartTime: '2026-11-23T09:59:00.000Z',
    EndTime: '2026-11-23T10:00:00.000Z',
    DurationSeconds: 60,
    CachedFrom: null,
    ReusedFrom: null,
  };
}

/** The abalone steps that have run before `step` (in pipeline order), as `$.steps` holds them. */
export function stepsBefore(step: 'Preprocess' | 'Train' | 'Evaluate' | 'QualityGate' | 'Register' | 'QualityGateFailed', run: TestRun): Record<string, StepResult> {
  const all: [string, () => StepResult][] = [
    ['Preprocess', () => preprocessResult(run)],
    ['Train', () => trainResult(run)],
    ['Evaluate', () => evaluateResult(run)],
  ];
  const order = ['Preprocess', 'Train', 'Evaluate', 'QualityGate', 'Register', 'QualityGateFailed'];
  return Object.fromEntries(all.filter(([name]) => order.indexOf(name) < order.indexOf(step)).map(([name, result]) => [name, result()]));
}

/** The task input a compiled pipeline gives a step's function. */
export function stepInput(run: TestRun, step: string, fields: Partial<StepTaskInput> = {}): StepTaskInput {
  return { step, executionArn: run.executionArn, build: run.build, parameters: {}, steps: {}, reuse: {}, ...fields };
}

/** start-job's input: a job step's task with its token. */
export function startJobInput(run: TestRun, step: string, fields: Partial<StartJobInput> = {}): StartJobInput {
  return { ...stepInput(run, step), taskToken: TASK_TOKEN, ...fields };
}

/** The abalone example's tree, as the source manifest lists it (path, mode, git blob id). */
export function sourceManifest(): SourceManifest {
  const paths = [
    'Dockerfile',
    'README.md',
    'container.js',
    'contract.js',
    'data/README.md',
    'data/abalone.csv',
    'evaluate.js',
    'features.js',
    'mlops.yaml',
    'model.js',
    'preprocess.js',
    'serve.js',
    'train.js',
  ];
  return { files: paths.map((path) => ({ path, mode: 'NORMAL', blobId: commitId(`blob of ${path} v1`) })) };
}

/** A copy of `manifest` with the file at `path` changed (a new blob id), or added when missing. */
export function withChangedFile(manifest: SourceManifest, path: string): SourceManifest {
  const changed = { path, mode: 'NORMAL', blobId: commitId(`blob of ${path} v2`) };
  const exists = manifest.files.some((file) => file.path === path);
  return { files: exists ? manifest.files.map((file) => (file.path === path ? changed : file)) : [...manifest.files, changed] };
}

/** A GetObject body as the SDK returns it. */
export function body(text: string) {
  return sdkStreamMixin(Readable.from([Buffer.from(text, 'utf8')]));
}

/** S3's ETag of a single-part upload: the quoted MD5 of the content. */
export function etagOf(content: string): string {
  return `"${createHash('md5').update(content).digest('hex')}"`;
}

/** An S3 bucket faked at the Command level: what is put can be got, headed and listed, as on S3. */
export interface FakeS3 {
  /** Writes an object at an s3:// URI. */
  put(uri: string, content: string): void;
  /** Removes an object. */
  remove(uri: string): void;
  /** The text of an object, or undefined. */
  text(uri: string): string | undefined;
  /** Every URI written, sorted. */
  uris(): string[];
}

function split(uri: string): [string, string] {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!match) throw new Error(`not an s3:// URI: ${uri}`);
  return [match[1]!, match[2]!];
}

/**
 * Serves GetObject, HeadObject, ListObjectsV2 and PutObject from memory on a mocked S3 client
 * (call after each `s3.reset()`): missing objects are NoSuchKey / NotFound, listings are sorted
 * by key with S3's ETags and sizes.
 */
export function fakeS3(s3: AwsClientStub<S3Client>): FakeS3 {
  const objects = new Map<string, string>();
  const at = (bucket: string | undefined, key: string | undefined) => `s3://${bucket}/${key}`;
  s3.on(GetObjectCommand).callsFake((input: { Bucket?: string; Key?: string }) => {
    const content = objects.get(at(input.Bucket, input.Key));
    if (content === undefined) throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } });
    return { Body: body(content), ContentLength: Buffer.byteLength(content), ETag: etagOf(content) };
  });
  s3.on(HeadObjectCommand).callsFake((input: { Bucket?: string; Key?: string }) => {
    const content = objects.get(at(input.Bucket, input.Key));
    if (content === undefined) throw new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } });
    return { ContentLength: Buffer.byteLength(content), ETag: etagOf(content) };
  });
  s3.on(PutObjectCommand).callsFake((input: { Bucket?: string; Key?: string; Body?: unknown }) => {
    const content = typeof input.Body === 'string' ? input.Body : Buffer.from(input.Body as Uint8Array).toString('utf8');
    objects.set(at(input.Bucket, input.Key), content);
    return { ETag: etagOf(content) };
  });
  s3.on(ListObjectsV2Command).callsFake((input: { Bucket?: string; Prefix?: string }) => {
    const prefix = at(input.Bucket, input.Prefix ?? '');
    const contents = [...objects.entries()]
      .filter(([uri]) => uri.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([uri, content]) => ({
        Key: split(uri)[1],
        ETag: etagOf(content),
        Size: Buffer.byteLength(content),
        LastModified: new Date('2026-11-23T10:00:00Z'),
        StorageClass: 'STANDARD' as const,
      }));
    return { Name: input.Bucket, Prefix: input.Prefix, KeyCount: contents.length, IsTruncated: false, Contents: contents };
  });
  return {
    put: (uri, content) => void objects.set(uri, content),
    remove: (uri) => void objects.delete(uri),
    text: (uri) => objects.get(uri),
    uris: () => [...objects.keys()].sort(),
  };
}

/** Stores the run's pipeline.json (what start-build writes before the run starts). */
export function storePipeline(store: FakeS3, run: TestRun, pipeline: PipelineConfig): void {
  store.put(run.build.pipelineUri, JSON.stringify(pipeline));
}

/** Stores the run's source-manifest.json. */
export function storeManifest(store: FakeS3, run: TestRun, manifest: SourceManifest = sourceManifest()): void {
  store.put(run.build.sourceManifestUri, JSON.stringify(manifest));
}

/** The raw abalone data set under `datasets/abalone/` of the stage bucket (`version` changes its content). */
export function storeDataset(store: FakeS3, version = 1): void {
  store.put(`s3://${BUCKET}/datasets/abalone/abalone.csv`, `M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\nF,0.53,0.42,0.135,0.677,0.2565,0.1415,0.21,${9 + version}\n`);
}

/** What SageMaker's abalone evaluate step writes: regression_metrics.mse.value = `mse`. */
export function evaluationReport(mse: unknown = 4.2): string {
  return JSON.stringify({ regression_metrics: { mse: { value: mse, standard_deviation: 1.3 } } });
}

/** A DynamoDB table faked at the Command level: its items by key. */
export interface FakeTable {
  items: Map<string, Record<string, unknown>>;
}

/**
 * Serves GetCommand, PutCommand, DeleteCommand and ScanCommand of `tableName` from memory on a
 * mocked DynamoDB document client (call after each `dynamo.reset()`), as the job token, step
 * cache and build announcement tables behave. A put conditional on `attribute_not_exists(<key>)`
 * fails with ConditionalCheckFailedException when the item exists; a delete conditional on
 * `taskToken = :token`, when the item holds another token.
 */
export function fakeTable(dynamo: AwsClientStub<DynamoDBDocumentClient>, tableName: string, keyName: string): FakeTable {
  const items = new Map<string, Record<string, unknown>>();
  dynamo.on(GetCommand, { TableName: tableName }).callsFake((input: { Key?: Record<string, unknown> }) => {
    const item = items.get(String(input.Key?.[keyName]));
    return item ? { Item: structuredClone(item) } : {};
  });
  dynamo.on(PutCommand, { TableName: tableName }).callsFake((input: { Item?: Record<string, unknown>; ConditionExpression?: string }) => {
    const key = String(input.Item?.[keyName]);
    if (input.ConditionExpression === `attribute_not_exists(${keyName})` && items.has(key)) throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    items.set(key, structuredClone(input.Item ?? {}));
    return {};
  });
  dynamo.on(DeleteCommand, { TableName: tableName }).callsFake((input: { Key?: Record<string, unknown>; ExpressionAttributeValues?: Record<string, unknown> }) => {
    const key = String(input.Key?.[keyName]);
    const token = input.ExpressionAttributeValues?.[':token'];
    const item = items.get(key);
    if (item && token !== undefined && item.taskToken !== token) throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    items.delete(key);
    return {};
  });
  dynamo.on(ScanCommand, { TableName: tableName }).callsFake(() => ({ Items: [...items.values()].map((item) => structuredClone(item)), Count: items.size }));
  return { items };
}

/**
 * A Step Functions execution history as GetExecutionHistory returns it: ids in order, each event's
 * previousEventId naming the event it follows in its own thread (a Parallel's branches interleave).
 */
export class HistoryBuilder {
  readonly events: HistoryEvent[] = [];
  private readonly start = new Date('2026-11-23T09:45:00Z').getTime();

  /** Appends an event after `previous` (default: the last event) and returns its id. */
  add(type: HistoryEventType, details: Partial<HistoryEvent> = {}, previous = this.events.length): number {
    const id = this.events.length + 1;
    this.events.push({ id, previousEventId: previous, timestamp: new Date(this.start + id * 1000), type, ...details });
    return id;
  }

  /** `<Kind>StateEntered` of a state; returns its id. */
  entered(kind: 'Task' | 'Choice' | 'Parallel' | 'Fail' | 'Pass', name: string, input: unknown, previous?: number): number {
    return this.add(`${kind}StateEntered` as HistoryEventType, { stateEnteredEventDetails: { name, input: JSON.stringify(input) } }, previous);
  }

  /** `<Kind>StateExited` of a state; returns its id. */
  exited(kind: 'Task' | 'Choice' | 'Parallel' | 'Pass', name: string, output: unknown, previous?: number): number {
    return this.add(`${kind}StateExited` as HistoryEventType, { stateExitedEventDetails: { name, output: JSON.stringify(output) } }, previous);
  }
}

/**
 * Serves GetExecutionHistory of `executionArn` from `events` on a mocked Step Functions client,
 * honouring reverseOrder and paginating `pageSize` events at a time with nextToken.
 */
export function serveHistory(sfn: AwsClientStub<SFNClient>, executionArn: string, events: readonly HistoryEvent[], pageSize = 1000): void {
  sfn.on(GetExecutionHistoryCommand, { executionArn }).callsFake((input: { reverseOrder?: boolean; nextToken?: string }) => {
    const ordered = input.reverseOrder ? [...events].reverse() : [...events];
    const from = input.nextToken ? Number(input.nextToken.replace('page-', '')) : 0;
    const page = ordered.slice(from, from + pageSize);
    return { events: page, ...(from + pageSize < ordered.length ? { nextToken: `page-${from + pageSize}` } : {}) };
  });
}

/** One build run as Step Functions describes it, for {@link serveRuns}. */
export type ListedRun = Pick<DescribeExecutionCommandOutput, 'stopDate' | 'input' | 'error' | 'cause' | 'redriveCount' | 'redriveDate'> & {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: Date;
};

/**
 * Serves ListStateMachines, ListExecutions (statusFilter, redriveFilter, newest start first) and
 * DescribeExecution from `runs` on a mocked Step Functions client, `pageSize` items a page, as
 * Step Functions does. `machines`: the account's state machine ARNs, in listing order.
 */
export function serveRuns(sfn: AwsClientStub<SFNClient>, machines: readonly string[], runs: readonly ListedRun[], pageSize = 1000): void {
  const page = <T>(items: T[], nextToken: string | undefined) => {
    const from = nextToken ? Number(nextToken.replace('page-', '')) : 0;
    return { page: items.slice(from, from + pageSize), ...(from + pageSize < items.length ? { nextToken: `page-${from + pageSize}` } : {}) };
  };
  sfn.on(ListStateMachinesCommand).callsFake((input: { nextToken?: string }) => {
    const listed = page(machines.map((arn) => ({ stateMachineArn: arn, name: arn.split(':').pop(), type: 'STANDARD', creationDate: new Date('2026-11-01T00:00:00Z') })), input.nextToken);
    return { stateMachines: listed.page, nextToken: listed.nextToken };
  });
  sfn.on(ListExecutionsCommand).callsFake((input: ListExecutionsCommandInput) => {
    const matching = runs
      .filter((run) => run.stateMachineArn === input.stateMachineArn && (input.statusFilter === undefined || run.status === input.statusFilter))
      .filter((run) => input.redriveFilter === undefined || ((run.redriveCount ?? 0) > 0) === (input.redriveFilter === ExecutionRedriveFilter.REDRIVEN))
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime())
      .map(({ executionArn, stateMachineArn, name, status, startDate, stopDate, redriveCount, redriveDate }) => ({ executionArn, stateMachineArn, name, status, startDate, stopDate, redriveCount, redriveDate }));
    const listed = page(matching, input.nextToken);
    return { executions: listed.page, nextToken: listed.nextToken };
  });
  sfn.on(DescribeExecutionCommand).callsFake((input: { executionArn?: string }) => {
    const run = runs.find((candidate) => candidate.executionArn === input.executionArn);
    if (!run) throw Object.assign(new Error(`Execution Does Not Exist: '${input.executionArn}'`), { name: 'ExecutionDoesNotExist', $fault: 'client' });
    return structuredClone({ ...run, redriveCount: run.redriveCount ?? 0 });
  });
}
