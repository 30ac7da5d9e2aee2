/**
 * The local Model Registry, driven through the real @aws-sdk/client-sagemaker against the service
 * served on 127.0.0.1 (the JSON wire protocol, error names and timestamps as the SDK parses them).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  AddTagsCommand,
  CreateModelPackageCommand,
  type CreateModelPackageCommandInput,
  CreateModelPackageGroupCommand,
  CreateProcessingJobCommand,
  DescribeModelPackageCommand,
  DescribeModelPackageGroupCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  CreateTrainingJobCommand,
  ListModelPackageGroupsCommand,
  ListModelPackagesCommand,
  ListTagsCommand,
  ModelApprovalStatus,
  SageMakerClient,
  UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';

import { readBody, serveAwsJson } from '../../../local/http/aws-json';
import { lineageTags, resolveJob } from '../../../shared/pipeline/job-requests';
import { processingOutcome, trainingOutcome } from '../../../shared/pipeline/jobs';
import { stepOf } from '../../../shared/pipeline/stored-pipeline';
import type { ValueContext } from '../../../shared/pipeline/values';
import { jobName } from '../../../shared/naming';
import { BUCKET, buildContext, EXECUTION_ARN, exampleConfig } from '../../helpers/fixtures';
import { modelPackageStateChangeSchema } from '../../../shared/schemas/events';
import { createHarness, envelope, type Harness, IMAGES, ROLE_ARN } from '../../fixtures/local-images/harness';

let h: Harness;
let server: Server;
let client: SageMakerClient;

beforeEach(async () => {
  h = createHarness();
  server = createServer((request, response) => {
    void readBody(request).then((body) => serveAwsJson(request, response, body, h.service.operations));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new SageMakerClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
});

afterEach(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await h.cleanup();
});

const GROUP = 'abalone';

function packageInput(overrides: Partial<CreateModelPackageCommandInput> = {}): CreateModelPackageCommandInput {
  return {
    ModelPackageGroupName: GROUP,
    ModelPackageDescription: 'abalone@0123456789ab (main); mse=4.2',
    ModelApprovalStatus: ModelApprovalStatus.PENDING_MANUAL_APPROVAL,
    InferenceSpecification: {
      Containers: [{ Image: IMAGES.training, ModelDataUrl: 's3://artifacts/builds/b1/train/train-1/output/model.tar.gz' }],
      SupportedContentTypes: ['text/csv'],
      SupportedResponseMIMETypes: ['text/csv'],
    },
    ModelMetrics: { ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: 's3://artifacts/builds/b1/evaluate/evaluation/evaluation.json' } } },
    MetadataProperties: { Repository: 'abalone', CommitId: '0123456789abcdef', GeneratedBy: 'arn:aws:states:us-east-1:123456789012:execution:build:b1' },
    CustomerMetadataProperties: { 'sluice:commit': '0123456789abcdef' },
    Tags: [{ Key: 'sluice:repository', Value: 'abalone' }],
    ...overrides,
  };
}

async function createGroup(): Promise<string> {
  const output = await client.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: GROUP, ModelPackageGroupDescription: 'Models built by Sluice from abalone' }));
  return output.ModelPackageGroupArn!;
}

describe('model package groups', () => {
  it('creates, describes and lists a group; a second create is the "already exists" ValidationException shared/aws treats as success', async () => {
    const arn = await createGroup();

    const described = await client.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: GROUP }));
    const listed = await client.send(new ListModelPackageGroupsCommand({}));

    expect(arn).toBe('arn:aws:sagemaker:us-east-1:123456789012:model-package-group/abalone');
    expect(described).toMatchObject({ ModelPackageGroupName: GROUP, ModelPackageGroupArn: arn, ModelPackageGroupStatus: 'Completed' });
    expect(described.CreationTime).toBeInstanceOf(Date);
    expect(listed.ModelPackageGroupSummaryList?.map((g) => g.ModelPackageGroupName)).toEqual([GROUP]);
    await expect(createGroup()).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/already exists/) });
  });

  it('answers Describe of a missing group with a ValidationException', async () => {
    await expect(client.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: 'missing' }))).rejects.toMatchObject({ name: 'ValidationException' });
  });
});

describe('model packages', () => {
  it('numbers versions 1, 2, … per group with ARNs model-package/<group>/<version>, keeping the registration fields', async () => {
    await createGroup();

    const first = await client.send(new CreateModelPackageCommand(packageInput({ ClientToken: 'token-1' })));
    const second = await client.send(new CreateModelPackageCommand(packageInput({ ClientToken: 'token-2' })));
    const described = await client.send(new DescribeModelPackageCommand({ ModelPackageName: second.ModelPackageArn }));

    expect(first.ModelPackageArn).toBe('arn:aws:sagemaker:us-east-1:123456789012:model-package/abalone/1');
    expect(second.ModelPackageArn).toBe('arn:aws:sagemaker:us-east-1:123456789012:model-package/abalone/2');
    const input = packageInput();
    expect(described).toMatchObject({
      ModelPackageGroupName: GROUP,
      ModelPackageVersion: 2,
      ModelPackageStatus: 'Completed',
      ModelApprovalStatus: 'PendingManualApproval',
      ModelMetrics: input.ModelMetrics,
      MetadataProperties: input.MetadataProperties,
      CustomerMetadataProperties: input.CustomerMetadataProperties,
      InferenceSpecification: input.InferenceSpecification,
    });
    expect(described.CreationTime).toBeInstanceOf(Date);
  });

  it('returns the version created the first time for a repeated ClientToken', async () => {
    await createGroup();

    const first = await client.send(new CreateModelPackageCommand(packageInput({ ClientToken: 'same-token' })));
    const again = await client.send(new CreateModelPackageCommand(packageInput({ ClientToken: 'same-token' })));
    const listed = await client.send(new ListModelPackagesCommand({ ModelPackageGroupName: GROUP }));

    expect(again.ModelPackageArn).toBe(first.ModelPackageArn);
    expect(listed.ModelPackageSummaryList).toHaveLength(1);
  });

  it('refuses a package for a group that does not exist', async () => {
    await expect(client.send(new CreateModelPackageCommand(packageInput({ ModelPackageGroupName: 'nowhere' })))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('lists by group and approval status, newest first on request', async () => {
    await createGroup();
    await client.send(new CreateModelPackageCommand(packageInput()));
    await client.send(new CreateModelPackageCommand(packageInput({ ModelApprovalStatus: ModelApprovalStatus.APPROVED })));
    await client.send(new CreateModelPackageCommand(packageInput()));

    const pending = await client.send(new ListModelPackagesCommand({ ModelPackageGroupName: GROUP, ModelApprovalStatus: 'PendingManualApproval', SortBy: 'CreationTime', SortOrder: 'Descending' }));

    expect(pending.ModelPackageSummaryList?.map((p) => p.ModelPackageVersion)).toEqual([3, 1]);
  });

  it('publishes Model Package State Change on create and on UpdateModelPackage, parsed by our consumer schema', async () => {
    await createGroup();
    const { ModelPackageArn } = await client.send(new CreateModelPackageCommand(packageInput()));

    await client.send(new UpdateModelPackageCommand({ ModelPackageArn, ModelApprovalStatus: ModelApprovalStatus.APPROVED, ApprovalDescription: 'looks good' }));
    const described = await client.send(new DescribeModelPackageCommand({ ModelPackageName: ModelPackageArn }));

    expect(described).toMatchObject({ ModelApprovalStatus: 'Approved', ApprovalDescription: 'looks good' });
    const events = h.events.filter((e) => e.DetailType === 'SageMaker Model Package State Change');
    expect(events.map((e) => e.Detail.ModelApprovalStatus)).toEqual(['PendingManualApproval', 'Approved']);
    const parsed = modelPackageStateChangeSchema.parse(envelope(events[1]!));
    expect(parsed.detail).toMatchObject({ ModelPackageGroupName: GROUP, ModelPackageVersion: 1, ModelPackageArn, ModelApprovalStatus: 'Approved' });
    expect(parsed.resources).toEqual([ModelPackageArn]);
    expect(parsed.detail.LastModifiedTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('rejects an approval status SageMaker does not know', async () => {
    await createGroup();
    const { ModelPackageArn } = await client.send(new CreateModelPackageCommand(packageInput()));

    await expect(client.send(new UpdateModelPackageCommand({ ModelPackageArn, ModelApprovalStatus: 'Maybe' as ModelApprovalStatus }))).rejects.toMatchObject({ name: 'ValidationException' });
  });
});

describe('tags and jobs through the SDK', () => {
  it('keeps Tags given at creation, adds more with AddTags, and reports them with ListTags', async () => {
    await createGroup();
    const { ModelPackageArn } = await client.send(new CreateModelPackageCommand(packageInput()));

    await client.send(new AddTagsCommand({ ResourceArn: ModelPackageArn, Tags: [{ Key: 'stage', Value: 'dev' }] }));
    const listed = await client.send(new ListTagsCommand({ ResourceArn: ModelPackageArn }));

    expect(listed.Tags).toEqual([
      { Key: 'sluice:repository', Value: 'abalone' },
      { Key: 'stage', Value: 'dev' },
    ]);
    await expect(client.send(new ListTagsCommand({ ResourceArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/none' }))).rejects.toMatchObject({ name: 'ResourceNotFound' });
  });

  it('creates a processing job and reports ResourceInUse for its name through the SDK; Describe returns Dates', async () => {
    const input = {
      ProcessingJobName: 'sdk-job',
      RoleArn: ROLE_ARN,
      AppSpecification: { ImageUri: IMAGES.failing },
      ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.xlarge' as const, VolumeSizeInGB: 30 } },
    };

    await client.send(new CreateProcessingJobCommand(input));
    const described = await client.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'sdk-job' }));

    expect(described.CreationTime).toBeInstanceOf(Date);
    await expect(client.send(new CreateProcessingJobCommand(input))).rejects.toMatchObject({ name: 'ResourceInUse' });
  });

  it('accepts the exact job requests Sluice builds, and shared/pipeline reads their outcome from Describe', async () => {
    const pipeline = exampleConfig();
    const build = buildContext();
    const ctx: ValueContext = {
      config: pipeline,
      parameters: {},
      steps: {
        Preprocess: { Type: 'Processing', ProcessingJobName: 'p', Outputs: { train: `s3://${BUCKET}/t/`, validation: `s3://${BUCKET}/v/`, test: `s3://${BUCKET}/x/` }, OutputHashes: {} },
      },
      readJson: async () => undefined,
    };
    const stage = { roleArn: ROLE_ARN, artifactsBucket: BUCKET, maxRuntimeSeconds: 7200, allowedInstanceTypes: ['ml.m5.xlarge'], maxInstanceCount: 4, maxVolumeSizeInGB: 512, isolation: { networkIsolation: false }, stagePrefix: 'sluice-test' };
    const preprocess = await resolveJob('Preprocess', stepOf(pipeline, 'Preprocess', ['Processing']), build, ctx, stage);
    const train = await resolveJob('Train', stepOf(pipeline, 'Train', ['Training']), build, ctx, stage);
    if (preprocess.kind !== 'processing' || train.kind !== 'training') throw new Error('the example\'s Preprocess and Train steps changed kind');
    // Named and tagged as start-job names and tags them.
    const processing = { ...preprocess.request, ProcessingJobName: jobName('sluice-test', 'abalone', 'Preprocess', EXECUTION_ARN), Tags: lineageTags(build, EXECUTION_ARN, 'Preprocess') };
    const training = { ...train.request, TrainingJobName: jobName('sluice-test', 'abalone', 'Train', EXECUTION_ARN), Tags: lineageTags(build, EXECUTION_ARN, 'Train') };

    await client.send(new CreateProcessingJobCommand(processing));
    await client.send(new CreateTrainingJobCommand(training));
    const settled = async () => {
      for (;;) {
        const p = await client.send(new DescribeProcessingJobCommand({ ProcessingJobName: processing.ProcessingJobName }));
        const t = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: training.TrainingJobName }));
        if (p.ProcessingJobStatus !== 'InProgress' && t.TrainingJobStatus !== 'InProgress') return { p, t };
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const { p, t } = await settled();

    // The example's images have no local command in this test, so both fail, as a missing image would on AWS.
    expect(processingOutcome(p)).toMatchObject({ state: 'failed', error: 'SageMakerJobFailed', cause: expect.stringContaining(`ClientError: image ${processing.AppSpecification!.ImageUri} has no local command`) });
    expect(trainingOutcome(t)).toMatchObject({ state: 'failed', cause: expect.stringContaining('has no local command') });
    expect(t.HyperParameters).toEqual(training.HyperParameters);
    expect(p.ProcessingOutputConfig).toEqual(processing.ProcessingOutputConfig);
  });
});
