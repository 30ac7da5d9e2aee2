import 'aws-sdk-client-mock-jest';

import { S3Client } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  DescribeModelPackageCommand,
  DescribeModelPackageGroupCommand,
  ListTagsCommand,
  ModelApprovalStatus,
  ModelPackageStatus,
  ResourceNotFound,
  SageMakerClient,
  SageMakerServiceException,
} from '@aws-sdk/client-sagemaker';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import { InvalidConfigError, InvalidInputError, RetryableError } from '../../../shared/errors';
import { registerModel, type RegisterSettings } from '../../../shared/pipeline/register';
import { stepOf } from '../../../shared/pipeline/stored-pipeline';
import type { PipelineConfig } from '../../../shared/schemas/mlops-v2';
import type { RegisterResult, StepTaskInput } from '../../../shared/schemas/task-inputs';
import { ACCOUNT, exampleConfig, REGION } from '../../helpers/fixtures';
import {
  CACHE_TABLE,
  evaluateResult,
  fakeS3,
  type FakeS3,
  fakeTable,
  type FakeTable,
  newRun,
  preprocessResult,
  stepInput,
  storePipeline,
  type TestRun,
  trainResult,
} from '../../helpers/step-tasks';

const sagemaker = mockClient(SageMakerClient);
const s3 = mockClient(S3Client);
const dynamo = mockClient(DynamoDBDocumentClient);

const SETTINGS: RegisterSettings = { groupPrefix: 'sluice-test', cacheTable: CACHE_TABLE, selfApprovalRepositories: [] };
const GROUP = 'sluice-test--abalone';
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/sluice-abalone:latest';
const NOW = new Date('2026-11-23T10:05:00Z');
const NOW_SECONDS = NOW.getTime() / 1000;

let store: FakeS3;
let cache: FakeTable;
let run: TestRun;
let versions: number;
/** Each version's approval status as DescribeModelPackage reports it, by ARN. */
let approvals: Map<string, string>;

/** The ARN of a model package group. */
function groupArn(group: string): string {
  return `arn:aws:sagemaker:${REGION}:${ACCOUNT}:model-package-group/${group}`;
}

/** Each existing group's sluice:repository tag, by group ARN (absent: no tag). */
let owners: Map<string, string>;

/** The package ARN of `version` in `group`. */
function packageArn(version: number, group = GROUP): string {
  return `arn:aws:sagemaker:${REGION}:${ACCOUNT}:model-package/${group}/${version}`;
}

/** A run of `pipeline` (stored as its pipeline.json) that has reached its RegisterModel step. */
function runOf(pipeline: PipelineConfig = exampleConfig(), overrides: Parameters<typeof newRun>[0] = {}): TestRun {
  const started = newRun(overrides);
  storePipeline(store, started, pipeline);
  return started;
}

/** The Register task's input after Preprocess, Train, Evaluate and the QualityGate ran in `of`. */
function registerInput(of: TestRun = run, fields: Partial<StepTaskInput> = {}): StepTaskInput {
  return stepInput(of, 'Register', {
    steps: {
      Preprocess: preprocessResult(of),
      Train: trainResult(of),
      Evaluate: evaluateResult(of),
      QualityGate: { Type: 'Condition', Outcome: true, Values: [{ expression: 'Evaluate/Report:regression_metrics.mse.value', value: 4.2 }] },
    },
    ...fields,
  });
}

/** The abalone example with one edit. */
function exampleWith(edit: (pipeline: PipelineConfig) => void): PipelineConfig {
  const pipeline = exampleConfig();
  edit(pipeline);
  return pipeline;
}

function createdPackage(index = 0) {
  const call = sagemaker.commandCalls(CreateModelPackageCommand)[index];
  if (!call) throw new Error('CreateModelPackage was not called');
  return call.args[0].input;
}

const throttled = () => new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: {} });

beforeEach(() => {
  sagemaker.reset();
  s3.reset();
  dynamo.reset();
  store = fakeS3(s3);
  cache = fakeTable(dynamo, CACHE_TABLE, 'cacheKey');
  run = runOf();
  versions = 0;
  approvals = new Map();
  owners = new Map([[groupArn(GROUP), 'abalone'], [groupArn('sluice-test--fish-age'), 'fish_age']]);
  sagemaker.on(DescribeModelPackageGroupCommand).callsFake((input: { ModelPackageGroupName: string }) => ({ ModelPackageGroupName: input.ModelPackageGroupName, ModelPackageGroupArn: groupArn(input.ModelPackageGroupName) }));
  sagemaker.on(CreateModelPackageGroupCommand).callsFake((input: { ModelPackageGroupName: string }) => ({ ModelPackageGroupArn: groupArn(input.ModelPackageGroupName) }));
  sagemaker.on(ListTagsCommand).callsFake((input: { ResourceArn: string }) => {
    const owner = owners.get(input.ResourceArn);
    return { Tags: owner === undefined ? [] : [{ Key: 'sluice:repository', Value: owner }] };
  });
  // A new version per ClientToken, the same version for a repeated one, as SageMaker does.
  const byToken = new Map<string, string>();
  sagemaker.on(CreateModelPackageCommand).callsFake((input: { ModelPackageGroupName?: string; ClientToken?: string; ModelApprovalStatus?: string }) => {
    const known = byToken.get(input.ClientToken ?? '');
    if (known) return { ModelPackageArn: known };
    versions += 1;
    const arn = packageArn(versions, input.ModelPackageGroupName);
    byToken.set(input.ClientToken ?? '', arn);
    approvals.set(arn, input.ModelApprovalStatus ?? ModelApprovalStatus.PENDING_MANUAL_APPROVAL);
    return { ModelPackageArn: arn };
  });
  sagemaker.on(DescribeModelPackageCommand).callsFake((input: { ModelPackageName?: string }) => ({
    ModelPackageArn: input.ModelPackageName,
    ModelPackageStatus: ModelPackageStatus.COMPLETED,
    ModelApprovalStatus: approvals.get(input.ModelPackageName ?? ''),
  }));
});

describe('registerModel', () => {
  it('returns the new version\'s ARN, its group and approval status, registered by this run', async () => {
    await expect(registerModel(registerInput(), SETTINGS, NOW)).resolves.toEqual({
      Type: 'RegisterModel',
      ModelPackageArn: packageArn(1),
      ModelPackageGroupName: GROUP,
      ModelApprovalStatus: 'PendingManualApproval',
      CachedFrom: null,
    });
  });

  it('does not create the model package group when it already exists', async () => {
    await registerModel(registerInput(), SETTINGS, NOW);

    expect(sagemaker).toHaveReceivedCommandWith(DescribeModelPackageGroupCommand, { ModelPackageGroupName: GROUP });
    expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageGroupCommand);
  });

  it.each([
    ['ResourceNotFound', () => new ResourceNotFound({ message: `ModelPackageGroup ${GROUP} does not exist.`, $metadata: {} })],
    // What SageMaker actually answers for a missing group.
    ['ValidationException', () => new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: `ModelPackageGroup arn:aws:sagemaker:us-east-1:123456789012:model-package-group/${GROUP} does not exist.`, $metadata: {} })],
  ])('creates the model package group, tagged with its repository, when DescribeModelPackageGroup answers %s', async (_name, error) => {
    sagemaker.on(DescribeModelPackageGroupCommand).rejects(error());

    await registerModel(registerInput(), SETTINGS, NOW);

    expect(sagemaker).toHaveReceivedCommandWith(CreateModelPackageGroupCommand, { ModelPackageGroupName: GROUP, Tags: [{ Key: 'sluice:repository', Value: 'abalone' }] });
  });

  it('does not create the group when DescribeModelPackageGroup is throttled, and rejects with RetryableError', async () => {
    sagemaker.on(DescribeModelPackageGroupCommand).rejects(throttled());

    await expect(registerModel(registerInput(), SETTINGS, NOW)).rejects.toThrow(RetryableError);

    expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageGroupCommand);
    expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageCommand);
  });

  it('registers the version when another build of the repository created the group in the meantime', async () => {
    sagemaker.on(DescribeModelPackageGroupCommand).rejectsOnce(new ResourceNotFound({ message: 'does not exist', $metadata: {} })).resolves({ ModelPackageGroupName: GROUP, ModelPackageGroupArn: groupArn(GROUP) });
    sagemaker.on(CreateModelPackageGroupCommand).rejects(new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: `Model Package Group already exists: ${GROUP}`, $metadata: {} }));

    await expect(registerModel(registerInput(), SETTINGS, NOW)).resolves.toMatchObject({ ModelPackageArn: packageArn(1) });
  });

  it('names the group after the repository when the step does not name one', async () => {
    const fish = runOf(exampleWith((pipeline) => delete stepOf(pipeline, 'Register', ['RegisterModel']).ModelPackageGroupName), { repository: 'fish_age' });

    await expect(registerModel(registerInput(fish), SETTINGS, NOW)).resolves.toMatchObject({ ModelPackageGroupName: 'sluice-test--fish-age' });
    expect(sagemaker).toHaveReceivedCommandWith(CreateModelPackageCommand, { ModelPackageGroupName: 'sluice-test--fish-age' });
  });

  it('sends the same ClientToken when the task is retried for the same execution, getting the same version', async () => {
    const first = await registerModel(registerInput(), SETTINGS, NOW);
    const second = await registerModel(registerInput(), SETTINGS, NOW);

    const [a, b] = sagemaker.commandCalls(CreateModelPackageCommand).map((call) => call.args[0].input.ClientToken);
    expect(a).toMatch(/^[a-zA-Z0-9-]{1,36}$/);
    expect(b).toBe(a);
    expect(second.ModelPackageArn).toBe(first.ModelPackageArn);
  });

  it('sends a different ClientToken for another execution', async () => {
    await registerModel(registerInput(), SETTINGS, NOW);
    await registerModel(registerInput(runOf()), SETTINGS, NOW);

    const [a, b] = sagemaker.commandCalls(CreateModelPackageCommand).map((call) => call.args[0].input.ClientToken);
    expect(b).not.toBe(a);
  });

  it('registers one version per item of a ForEach around the step (its ClientToken and lineage name the item)', async () => {
    const perItem = runOf(
      exampleWith((pipeline) => {
        const register = stepOf(pipeline, 'Register', ['RegisterModel']);
        delete (pipeline.Steps as Record<string, unknown>).Register;
        pipeline.Steps.each = { Type: 'ForEach', Items: ['a', 'b'], MaxConcurrency: 10, Steps: { Register: register } };
      }),
    );
    const item = (index: number) => ({ forEach: 'each', index, value: ['a', 'b'][index]! });

    const first = await registerModel(registerInput(perItem, { item: item(0) }), SETTINGS, NOW);
    const second = await registerModel(registerInput(perItem, { item: item(1) }), SETTINGS, NOW);
    const again = await registerModel(registerInput(perItem, { item: item(1) }), SETTINGS, NOW);

    expect(second.ModelPackageArn).not.toBe(first.ModelPackageArn);
    expect(again.ModelPackageArn).toBe(second.ModelPackageArn);
    expect(createdPackage(1).CustomerMetadataProperties?.['sluice:step']).toBe('each-1-Register');
    expect(createdPackage(1).Tags).toContainEqual({ Key: 'sluice:step', Value: 'each-1-Register' });
  });

  it('sends a different ClientToken for another RegisterModel step of the same execution', async () => {
    const twice = runOf(exampleWith((pipeline) => (pipeline.Steps.RegisterAgain = { ...stepOf(pipeline, 'Register', ['RegisterModel']) })));

    await registerModel(registerInput(twice), SETTINGS, NOW);
    await registerModel({ ...registerInput(twice), step: 'RegisterAgain' }, SETTINGS, NOW);

    const [a, b] = sagemaker.commandCalls(CreateModelPackageCommand).map((call) => call.args[0].input.ClientToken);
    expect(b).not.toBe(a);
  });

  it('points ModelMetrics at the step\'s property file: the report in the evaluation output', async () => {
    await registerModel(registerInput(), SETTINGS, NOW);

    expect(createdPackage().ModelMetrics).toEqual({
      ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: `${run.prefix}Evaluate/evaluation/evaluation.json` } },
    });
  });

  it('sends no ModelMetrics when the step names no report', async () => {
    const bare = runOf(exampleWith((pipeline) => delete stepOf(pipeline, 'Register', ['RegisterModel']).ModelMetrics));

    await registerModel(registerInput(bare), SETTINGS, NOW);

    expect(createdPackage()).not.toHaveProperty('ModelMetrics');
  });

  it('registers the trained model data with the configured inference image and content types', async () => {
    await registerModel(registerInput(), SETTINGS, NOW);

    expect(createdPackage().InferenceSpecification).toEqual({
      Containers: [{ Image: IMAGE, ModelDataUrl: trainResult(run).ModelArtifacts }],
      SupportedContentTypes: ['text/csv'],
      SupportedResponseMIMETypes: ['text/csv'],
      SupportedRealtimeInferenceInstanceTypes: ['ml.t2.medium', 'ml.m5.large'],
      SupportedTransformInstanceTypes: ['ml.m5.large'],
    });
  });

  it('registers with the training step\'s image when no inference image is configured', async () => {
    const trainingImage = '123456789012.dkr.ecr.us-east-1.amazonaws.com/sluice-abalone:train';
    const noImage = runOf(
      exampleWith((pipeline) => {
        delete stepOf(pipeline, 'Register', ['RegisterModel']).InferenceSpecification.Image;
        stepOf(pipeline, 'Train', ['Training']).AlgorithmSpecification.TrainingImage = trainingImage;
      }),
    );

    await registerModel(registerInput(noImage), SETTINGS, NOW);

    expect(createdPackage().InferenceSpecification?.Containers).toEqual([expect.objectContaining({ Image: trainingImage, ModelDataUrl: trainResult(noImage).ModelArtifacts })]);
  });

  it('registers as Approved when the stage lets the repository approve its own versions', async () => {
    const approved = runOf(exampleWith((pipeline) => (stepOf(pipeline, 'Register', ['RegisterModel']).ModelApprovalStatus = 'Approved')));

    await expect(registerModel(registerInput(approved), { ...SETTINGS, selfApprovalRepositories: ['aba*'] }, NOW)).resolves.toMatchObject({ ModelApprovalStatus: 'Approved' });
    expect(createdPackage().ModelApprovalStatus).toBe('Approved');
  });

  it('refuses to register as Approved when the stage does not let the repository approve its own versions', async () => {
    const approved = runOf(exampleWith((pipeline) => (stepOf(pipeline, 'Register', ['RegisterModel']).ModelApprovalStatus = 'Approved')));

    await expect(registerModel(registerInput(approved), { ...SETTINGS, selfApprovalRepositories: ['other'] }, NOW)).rejects.toThrow(
      new InvalidConfigError(
        'mlops.yaml: Steps.Register.ModelApprovalStatus: "Approved" would deploy abalone\'s versions without review, and this stage does not let abalone approve its own versions (stage setting selfApprovalRepositories): register as PendingManualApproval',
      ),
    );
    expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageCommand);
  });

  it('refuses a group outside the repository\'s namespace before touching SageMaker', async () => {
    const intruder = runOf(exampleWith((pipeline) => (stepOf(pipeline, 'Register', ['RegisterModel']).ModelPackageGroupName = 'victim')));

    await expect(registerModel(registerInput(intruder), SETTINGS, NOW)).rejects.toThrow(/mlops\.yaml: Steps\.Register\.ModelPackageGroupName: "victim" is not a group of repository abalone/);
    expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageCommand);
    expect(sagemaker).not.toHaveReceivedCommand(DescribeModelPackageGroupCommand);
  });

  it('refuses an existing group that another repository owns (two names, one slug), naming the owner', async () => {
    owners.set(groupArn(GROUP), 'aba.lone');

    await expect(registerModel(registerInput(), SETTINGS, NOW)).rejects.toThrow(
      new InvalidConfigError('mlops.yaml: Steps.Register.ModelPackageGroupName: model package group sluice-test--abalone belongs to repository aba.lone, not to abalone'),
    );
    expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageCommand);
  });

  it('refuses an existing group without an owner tag (not created by Sluice)', async () => {
    owners.delete(groupArn(GROUP));

    await expect(registerModel(registerInput(), SETTINGS, NOW)).rejects.toThrow(/belongs to no Sluice repository \(no sluice:repository tag\), not to abalone/);
  });

  it('registers into a further group of the repository\'s own namespace (abalone--fast)', async () => {
    const fast = runOf(exampleWith((pipeline) => (stepOf(pipeline, 'Register', ['RegisterModel']).ModelPackageGroupName = 'abalone--fast')));
    sagemaker.on(DescribeModelPackageGroupCommand).rejects(new ResourceNotFound({ message: 'does not exist', $metadata: {} }));

    await expect(registerModel(registerInput(fast), SETTINGS, NOW)).resolves.toMatchObject({ ModelPackageGroupName: 'sluice-test--abalone--fast' });
    expect(sagemaker).toHaveReceivedCommandWith(CreateModelPackageGroupCommand, { ModelPackageGroupName: 'sluice-test--abalone--fast', Tags: [{ Key: 'sluice:repository', Value: 'abalone' }] });
  });

  it('records lineage in CustomerMetadataProperties with values SageMaker accepts', async () => {
    const feature = runOf(exampleConfig(), { branch: 'feature/#7' });

    await registerModel(registerInput(feature), SETTINGS, NOW);

    expect(createdPackage().CustomerMetadataProperties).toEqual({
      'sluice:repository': 'abalone',
      'sluice:branch': 'feature/_7',
      'sluice:commit': feature.build.commit,
      'sluice:execution': feature.executionArn,
      'sluice:step': 'Register',
      'sluice:training-job': trainResult(feature).TrainingJobName,
    });
  });

  it('records the commit and execution in MetadataProperties, and tags the version with its lineage', async () => {
    await registerModel(registerInput(), SETTINGS, NOW);

    expect(createdPackage().MetadataProperties).toEqual({ Repository: 'abalone', CommitId: run.build.commit, GeneratedBy: run.executionArn });
    expect(createdPackage().Tags).toContainEqual({ Key: 'sluice:step', Value: 'Register' });
  });

  it('describes the version with the commit, branch and the training job\'s final metrics by default', async () => {
    await registerModel(registerInput(), SETTINGS, NOW);

    expect(createdPackage().ModelPackageDescription).toBe(`abalone@${run.build.commit.slice(0, 12)} (main); train:rmse=1.9, validation:rmse=2.1`);
  });

  it('uses the step\'s ModelPackageDescription, resolved for the run', async () => {
    const described = runOf(
      exampleWith((pipeline) => {
        pipeline.Parameters.Note = { Type: 'String', Default: 'nightly' };
        stepOf(pipeline, 'Register', ['RegisterModel']).ModelPackageDescription = { 'Std:Join': { On: ' ', Values: ['abalone', { Get: 'Parameters.Note' }, { Get: 'Steps.Train.TrainingJobName' }] } };
      }),
    );

    await registerModel(registerInput(described, { parameters: { Note: 'hand-run' } }), SETTINGS, NOW);

    expect(createdPackage().ModelPackageDescription).toBe(`abalone hand-run ${trainResult(described).TrainingJobName}`);
  });

  it('rejects model data from a training step that has not run with InvalidConfig naming the field', async () => {
    await expect(registerModel(registerInput(run, { steps: { Preprocess: preprocessResult(run) } }), SETTINGS, NOW)).rejects.toThrow(
      new InvalidConfigError('Steps.Register.ModelData.From: "Train/model" has no output in this run (step "Train" has not run)'),
    );
    expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageCommand);
  });

  it('rejects a step that is not a RegisterModel step with InvalidInput', async () => {
    await expect(registerModel({ ...registerInput(), step: 'Train' }, SETTINGS, NOW)).rejects.toThrow(InvalidInputError);
  });

  it('rejects with RetryableError when CreateModelPackage is throttled', async () => {
    sagemaker.on(CreateModelPackageCommand).rejects(throttled());

    await expect(registerModel(registerInput(), SETTINGS, NOW)).rejects.toThrow(RetryableError);
  });

  it('returns the RegisterModel result carried over from a source run as it is, registering nothing and reading nothing', async () => {
    const carried: RegisterResult = { Type: 'RegisterModel', ModelPackageArn: packageArn(7), ModelPackageGroupName: GROUP, ModelApprovalStatus: ModelApprovalStatus.PENDING_MANUAL_APPROVAL, CachedFrom: null };

    await expect(registerModel(registerInput(run, { reuse: { Train: trainResult(run), Register: carried } }), SETTINGS, NOW)).resolves.toEqual(carried);

    expect(sagemaker).not.toHaveReceivedAnyCommand();
    expect(s3).not.toHaveReceivedAnyCommand();
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('registers a new version when only other steps\' results are carried over', async () => {
    await expect(registerModel(registerInput(run, { reuse: { Train: trainResult(run) } }), SETTINGS, NOW)).resolves.toMatchObject({ ModelPackageArn: packageArn(1), CachedFrom: null });

    expect(sagemaker).toHaveReceivedCommandTimes(CreateModelPackageCommand, 1);
  });

  it('reads and writes no cache entry for a step without Cache', async () => {
    await registerModel(registerInput(), SETTINGS, NOW);

    expect(dynamo).not.toHaveReceivedAnyCommand();
  });
});

describe('registerModel with Cache', () => {
  const cachedPipeline = () => exampleWith((pipeline) => (stepOf(pipeline, 'Register', ['RegisterModel']).Cache = { ExpireAfter: 'P7D' }));

  it('records the registration under its content key until ExpireAfter', async () => {
    await registerModel(registerInput(runOf(cachedPipeline())), SETTINGS, NOW);

    expect(cache.items.size).toBe(1);
    const [entry] = [...cache.items.values()];
    expect(entry).toEqual({
      cacheKey: expect.stringMatching(/^abalone#[0-9a-f]{64}$/),
      result: JSON.stringify({ Type: 'RegisterModel', ModelPackageArn: packageArn(1), ModelPackageGroupName: GROUP, ModelApprovalStatus: 'PendingManualApproval', CachedFrom: null }),
      executionArn: expect.stringContaining(':execution:'),
      step: 'Register',
      createdAt: NOW_SECONDS,
      expiresAt: NOW_SECONDS + 7 * 86_400,
    });
  });

  it('returns the earlier version for a later run of the same content (model, report, settings), marked CachedFrom that run', async () => {
    const first = runOf(cachedPipeline());
    await registerModel(registerInput(first), SETTINGS, NOW);
    const second = runOf(cachedPipeline());

    const result = await registerModel(registerInput(second), SETTINGS, new Date(NOW.getTime() + 3600_000));

    expect(result).toEqual({ Type: 'RegisterModel', ModelPackageArn: packageArn(1), ModelPackageGroupName: GROUP, ModelApprovalStatus: 'PendingManualApproval', CachedFrom: first.executionArn });
    expect(sagemaker).toHaveReceivedCommandTimes(CreateModelPackageCommand, 1);
    expect(sagemaker).toHaveReceivedCommandWith(DescribeModelPackageCommand, { ModelPackageName: packageArn(1) });
  });

  it('registers a new version when the model\'s content differs', async () => {
    await registerModel(registerInput(runOf(cachedPipeline())), SETTINGS, NOW);
    const second = runOf(cachedPipeline());

    const result = await registerModel(registerInput(second, { steps: { ...registerInput(second).steps, Train: trainResult(second, 'model v2') } }), SETTINGS, NOW);

    expect(result).toMatchObject({ ModelPackageArn: packageArn(2), CachedFrom: null });
  });

  it('registers a new version when the report\'s content differs', async () => {
    await registerModel(registerInput(runOf(cachedPipeline())), SETTINGS, NOW);
    const second = runOf(cachedPipeline());

    const result = await registerModel(registerInput(second, { steps: { ...registerInput(second).steps, Evaluate: evaluateResult(second, 'evaluation v2') } }), SETTINGS, NOW);

    expect(result).toMatchObject({ ModelPackageArn: packageArn(2), CachedFrom: null });
  });

  it('registers a new version when the approval status differs', async () => {
    await registerModel(registerInput(runOf(cachedPipeline())), SETTINGS, NOW);
    const approved = cachedPipeline();
    stepOf(approved, 'Register', ['RegisterModel']).ModelApprovalStatus = 'Approved';

    await expect(registerModel(registerInput(runOf(approved)), { ...SETTINGS, selfApprovalRepositories: ['abalone'] }, NOW)).resolves.toMatchObject({ ModelPackageArn: packageArn(2), CachedFrom: null });
  });

  it('registers a new version when the earlier registration is older than ExpireAfter', async () => {
    await registerModel(registerInput(runOf(cachedPipeline())), SETTINGS, NOW);

    const later = new Date(NOW.getTime() + (7 * 86_400 + 1) * 1000);

    await expect(registerModel(registerInput(runOf(cachedPipeline())), SETTINGS, later)).resolves.toMatchObject({ ModelPackageArn: packageArn(2), CachedFrom: null });
  });

  it('registers a new version when the earlier version no longer exists', async () => {
    await registerModel(registerInput(runOf(cachedPipeline())), SETTINGS, NOW);
    sagemaker.on(DescribeModelPackageCommand).rejects(new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: `ModelPackage ${packageArn(1)} does not exist.`, $metadata: {} }));

    await expect(registerModel(registerInput(runOf(cachedPipeline())), SETTINGS, NOW)).resolves.toMatchObject({ ModelPackageArn: packageArn(2), CachedFrom: null });
  });

  it('registers a new version when the earlier version has since been rejected, and records it for later runs', async () => {
    await registerModel(registerInput(runOf(cachedPipeline())), SETTINGS, NOW);
    approvals.set(packageArn(1), ModelApprovalStatus.REJECTED);
    const second = runOf(cachedPipeline());

    await expect(registerModel(registerInput(second), SETTINGS, NOW)).resolves.toMatchObject({ ModelPackageArn: packageArn(2), CachedFrom: null });

    expect([...cache.items.values()].map((entry) => ({ result: JSON.parse(entry.result as string) as RegisterResult, executionArn: entry.executionArn }))).toEqual([
      { result: expect.objectContaining({ ModelPackageArn: packageArn(2) }), executionArn: second.executionArn },
    ]);
  });

  it('returns the earlier version when it has since been approved', async () => {
    const first = runOf(cachedPipeline());
    await registerModel(registerInput(first), SETTINGS, NOW);
    approvals.set(packageArn(1), ModelApprovalStatus.APPROVED);

    await expect(registerModel(registerInput(runOf(cachedPipeline())), SETTINGS, NOW)).resolves.toMatchObject({ ModelPackageArn: packageArn(1), CachedFrom: first.executionArn });
  });

  describe('a ModelPackageDescription the file writes', () => {
    const describedPipeline = () =>
      exampleWith((pipeline) => {
        pipeline.Parameters.Note = { Type: 'String', Default: 'nightly' };
        const register = stepOf(pipeline, 'Register', ['RegisterModel']);
        register.Cache = { ExpireAfter: 'P7D' };
        register.ModelPackageDescription = { 'Std:Join': { On: ' ', Values: ['abalone', { Get: 'Parameters.Note' }] } };
      });

    it('registers a new version when the description resolves differently', async () => {
      await registerModel(registerInput(runOf(describedPipeline()), { parameters: { Note: 'nightly' } }), SETTINGS, NOW);

      const result = await registerModel(registerInput(runOf(describedPipeline()), { parameters: { Note: 'hand-run' } }), SETTINGS, NOW);

      expect(result).toMatchObject({ ModelPackageArn: packageArn(2), CachedFrom: null });
      expect(createdPackage(1).ModelPackageDescription).toBe('abalone hand-run');
    });

    it('returns the earlier version when the description resolves the same', async () => {
      const first = runOf(describedPipeline());
      await registerModel(registerInput(first, { parameters: { Note: 'nightly' } }), SETTINGS, NOW);

      await expect(registerModel(registerInput(runOf(describedPipeline()), { parameters: { Note: 'nightly' } }), SETTINGS, NOW)).resolves.toMatchObject({
        ModelPackageArn: packageArn(1),
        CachedFrom: first.executionArn,
      });
    });
  });

  it('returns the earlier version for another commit: the default description (commit, branch, metrics) is lineage, not content', async () => {
    const first = runOf(cachedPipeline());
    await registerModel(registerInput(first), SETTINGS, NOW);
    const other = runOf(cachedPipeline(), { commit: 'fedcba9876543210fedcba9876543210fedcba98' });

    await expect(registerModel(registerInput(other), SETTINGS, NOW)).resolves.toMatchObject({ ModelPackageArn: packageArn(1), CachedFrom: first.executionArn });
  });

  it('looks the registration up in the table named by the settings', async () => {
    await registerModel(registerInput(runOf(cachedPipeline())), SETTINGS, NOW);

    expect(dynamo).toHaveReceivedCommandWith(GetCommand, { TableName: CACHE_TABLE });
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, { TableName: CACHE_TABLE });
  });
});
