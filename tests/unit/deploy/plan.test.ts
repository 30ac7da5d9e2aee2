import 'aws-sdk-client-mock-jest';

import { DescribeModelPackageCommand, type DescribeModelPackageCommandOutput, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { sdkStreamMixin } from '@smithy/core/serde';
import { Readable } from 'node:stream';
import { mockClient } from 'aws-sdk-client-mock';

import { prepareDeploy } from '../../../shared/deploy/plan';
import { InvalidConfigError, ModelPackageNotApprovedError } from '../../../shared/errors';
import { deployPlanSchema, type PrepareDeployInput } from '../../../shared/schemas/deploy';
import { BUILD_EXECUTION_ARN, BUILD_EXECUTION_NAME, DEPLOY_EXECUTION_ARN, DEPLOY_SETTINGS, GROUP, MODEL_PACKAGE_ARN, SMOKE_BODY, VERSION } from '../../helpers/deploy';
import { BUCKET, COMMIT, exampleConfig } from '../../helpers/fixtures';
import { buildKeyPrefix } from '../../../shared/naming';

const sagemaker = mockClient(SageMakerClient);
const s3 = mockClient(S3Client);

function body(text: string) {
  return sdkStreamMixin(Readable.from([Buffer.from(text)]));
}

function modelPackage(overrides: Partial<DescribeModelPackageCommandOutput> = {}): Partial<DescribeModelPackageCommandOutput> {
  return {
    ModelPackageArn: MODEL_PACKAGE_ARN,
    ModelPackageGroupName: GROUP,
    ModelPackageVersion: VERSION,
    ModelApprovalStatus: 'Approved',
    CustomerMetadataProperties: { 'sluice:repository': 'abalone', 'sluice:branch': 'main', 'sluice:commit': COMMIT, 'sluice:execution': BUILD_EXECUTION_ARN },
    ...overrides,
  };
}

function input(mode: 'deploy' | 'rollback' = 'deploy', stages: ('staging' | 'prod')[] = ['staging', 'prod']): PrepareDeployInput {
  return { executionArn: DEPLOY_EXECUTION_ARN, request: { modelPackageArn: MODEL_PACKAGE_ARN, mode, stages, reason: 'approved' } };
}

/** The build's pipeline.json: examples/abalone/mlops.yaml as the build read it. */
const pipelineJson = (edit: (pipeline: ReturnType<typeof exampleConfig>) => void = () => undefined) => {
  const pipeline = exampleConfig();
  edit(pipeline);
  return JSON.stringify(pipeline);
};

beforeEach(() => {
  sagemaker.reset();
  s3.reset();
  sagemaker.on(DescribeModelPackageCommand).resolves(modelPackage());
  s3.on(GetObjectCommand).callsFake(() => ({ Body: body(pipelineJson()) }));
  s3.on(PutObjectCommand).resolves({});
});

describe('prepareDeploy', () => {
  it('reads the pipeline of the build named in the package\'s lineage (mlops.yaml as that build read it)', async () => {
    await prepareDeploy(input(), DEPLOY_SETTINGS);

    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: BUCKET, Key: `${buildKeyPrefix('abalone', BUILD_EXECUTION_NAME)}pipeline.json` });
  });

  it('plans staging x1 all at once and prod x2 CANARY with the bake and both alarms', async () => {
    const plan = await prepareDeploy(input(), DEPLOY_SETTINGS);

    expect(plan.staging).toEqual({
      stage: 'staging',
      endpointName: `${GROUP}-staging`,
      modelName: `${GROUP}-v3`,
      endpointConfigName: `${GROUP}-staging-v3`,
      instanceType: 'ml.m5.large',
      instanceCount: 1,
      strategy: 'ALL_AT_ONCE',
      bakeSeconds: 300,
      alarmNames: [],
    });
    expect(plan.prod).toMatchObject({ endpointName: `${GROUP}-prod`, endpointConfigName: `${GROUP}-prod-v3`, instanceCount: 2, strategy: 'CANARY', alarmNames: [`${GROUP}-prod-5xx`, `${GROUP}-prod-model-latency`] });
  });

  it('returns a plan the contract schema accepts, with lineage, gate and smoke test', async () => {
    const plan = await prepareDeploy(input(), DEPLOY_SETTINGS);

    expect(deployPlanSchema.parse(plan)).toEqual(plan);
    expect(plan).toMatchObject({ mode: 'deploy', version: VERSION, modelPackageGroupName: GROUP, repository: 'abalone', commit: COMMIT, gate: { mode: 'manual', timeoutSeconds: 86_400 } });
    expect(plan.smokeTest.ExpectedLines).toBe(3);
  });

  it('stores the smoke test body at deploys/<group>/v<version>/smoke-body and plans its URI, size and SHA-256 instead of the body', async () => {
    const plan = await prepareDeploy(input(), DEPLOY_SETTINGS);

    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: BUCKET, Key: `deploys/${GROUP}/v${VERSION}/smoke-body`, Body: SMOKE_BODY, ContentType: 'text/csv' });
    expect(plan.smokeTest.Body).toEqual({
      uri: `s3://${BUCKET}/deploys/${GROUP}/v${VERSION}/smoke-body`,
      bytes: Buffer.byteLength(SMOKE_BODY),
      sha256: createHash('sha256').update(SMOKE_BODY).digest('hex'),
    });
  });

  it('keeps a plan with a 5 MiB smoke test body far below Step Functions\' 256 KiB payload limit (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html)', async () => {
    const big = `${'M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\n'.repeat(121_000)}`.slice(0, 5 * 1024 * 1024);
    s3.on(GetObjectCommand).callsFake(() => ({ Body: body(pipelineJson((pipeline) => (pipeline.Deploy!.SmokeTest = { ...pipeline.Deploy!.SmokeTest, Body: big, ExpectedLines: undefined }))) }));

    const plan = await prepareDeploy(input(), DEPLOY_SETTINGS);

    expect(Buffer.byteLength(JSON.stringify(plan))).toBeLessThan(8 * 1024);
    expect(plan.smokeTest).toMatchObject({ Body: { bytes: 5 * 1024 * 1024 }, ExpectedLines: big.split('\n').filter((line) => line !== '').length });
  });

  it('counts the body\'s non-empty lines as the lines expected when ExpectedLines is not set', async () => {
    s3.on(GetObjectCommand).callsFake(() => ({ Body: body(pipelineJson((pipeline) => (pipeline.Deploy!.SmokeTest = { ...pipeline.Deploy!.SmokeTest, Body: 'a\n\nb\r\nc\n', ExpectedLines: undefined }))) }));

    const plan = await prepareDeploy(input(), DEPLOY_SETTINGS);

    expect(plan.smokeTest.ExpectedLines).toBe(3);
  });

  it('plans a rollback to prod only, all at once, without bake and without the gate', async () => {
    const plan = await prepareDeploy(input('rollback', ['prod']), DEPLOY_SETTINGS);

    expect(plan.staging).toBeUndefined();
    expect(plan.prod).toMatchObject({ strategy: 'ALL_AT_ONCE', bakeSeconds: 0 });
    expect(plan.gate.mode).toBe('auto');
  });

  it('adds the data capture percentage when mlops.yaml asks for it', async () => {
    s3.on(GetObjectCommand).callsFake(() => ({ Body: body(pipelineJson((pipeline) => (pipeline.Deploy!.DataCapture = { SamplingPercentage: 20 }))) }));

    const plan = await prepareDeploy(input(), DEPLOY_SETTINGS);

    expect(plan.prod?.dataCaptureSamplingPercentage).toBe(20);
  });

  it('fails with ModelPackageNotApproved when the version was rejected before the run started', async () => {
    sagemaker.on(DescribeModelPackageCommand).resolves(modelPackage({ ModelApprovalStatus: 'Rejected' }));

    await expect(prepareDeploy(input(), DEPLOY_SETTINGS)).rejects.toThrow(ModelPackageNotApprovedError);
  });

  it('fails with InvalidConfig when the package was not registered by a Sluice build', async () => {
    sagemaker.on(DescribeModelPackageCommand).resolves(modelPackage({ CustomerMetadataProperties: {} }));

    await expect(prepareDeploy(input(), DEPLOY_SETTINGS)).rejects.toThrow(/no sluice:execution or sluice:repository metadata/);
  });

  it('fails with InvalidConfig when the build\'s pipeline is gone', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));

    await expect(prepareDeploy(input(), DEPLOY_SETTINGS)).rejects.toThrow(InvalidConfigError);
  });

  it('fails with InvalidConfig when a prod instance type is not allowed on the stage', async () => {
    await expect(prepareDeploy(input(), { ...DEPLOY_SETTINGS, allowedEndpointInstanceTypes: ['ml.t2.medium'] })).rejects.toThrow(/Deploy\.Staging\.InstanceType.*Deploy\.Prod\.InstanceType/);
  });
});
