/**
 * The model-deploy Lambda tasks as the state machine invokes them: each validates its input,
 * reads its settings from the environment and returns what the ASL stores.
 */
import 'aws-sdk-client-mock-jest';

import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { CreateEndpointConfigCommand, CreateModelCommand, DescribeEndpointCommand, DescribeModelPackageCommand, ListEndpointConfigsCommand, ListModelsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { sdkStreamMixin } from '@smithy/core/serde';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Readable } from 'node:stream';
import { mockClient } from 'aws-sdk-client-mock';

import { BUILD_EXECUTION_ARN, DEPLOY_EXECUTION_ARN, GROUP, MODEL_PACKAGE_ARN, plan, ROLE_ARN, SMOKE_BODY, smokeBodyObject, stageInput, TASK_TOKEN, VERSION } from '../../helpers/deploy';
import { BUCKET, exampleConfig } from '../../helpers/fixtures';
import { lambdaContext } from '../../helpers/lambda-context';

const sagemaker = mockClient(SageMakerClient);
const runtime = mockClient(SageMakerRuntimeClient);
const cloudwatch = mockClient(CloudWatchClient);
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);
const dynamo = mockClient(DynamoDBDocumentClient);

beforeAll(() => {
  Object.assign(process.env, {
    ARTIFACTS_BUCKET: BUCKET,
    ALLOWED_ENDPOINT_INSTANCE_TYPES: 'ml.t2.medium,ml.m5.large',
    MAX_ENDPOINT_INSTANCE_COUNT: '4',
    PROD_GATE: 'manual',
    PROD_GATE_TIMEOUT_SECONDS: '86400',
    SAGEMAKER_ROLE_ARN: ROLE_ARN,
    MODEL_LATENCY_THRESHOLD_MS: '500',
    DEPLOYMENT_TABLE: 'sluice-test-deployments',
    JOB_TOKEN_TABLE: 'sluice-test-job-tokens',
    DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/sluice-test-dead-letter',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  delete process.env.BAKE_SECONDS;
  delete process.env.KEEP_VERSIONS;
});

beforeEach(() => {
  for (const mock of [sagemaker, runtime, cloudwatch, s3, sfn, sqs, dynamo]) mock.reset();
  dynamo.on(GetCommand).resolves({});
  dynamo.on(PutCommand).resolves({});
  dynamo.on(DeleteCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  s3.on(PutObjectCommand).resolves({});
});

describe('prepare-deploy', () => {
  it('returns the plan, with BAKE_SECONDS defaulting to 300', async () => {
    const { handler } = await import('../../../functions/prepare-deploy');
    sagemaker.on(DescribeModelPackageCommand).resolves({ ModelPackageGroupName: GROUP, ModelPackageVersion: VERSION, ModelApprovalStatus: 'Approved', CustomerMetadataProperties: { 'sluice:repository': 'abalone', 'sluice:execution': BUILD_EXECUTION_ARN } });
    s3.on(GetObjectCommand).callsFake(() => ({ Body: sdkStreamMixin(Readable.from([Buffer.from(JSON.stringify(exampleConfig()))])) }));

    const result = await handler({ executionArn: DEPLOY_EXECUTION_ARN, request: { modelPackageArn: MODEL_PACKAGE_ARN, mode: 'deploy', stages: ['staging', 'prod'], reason: 'approved' } }, lambdaContext());

    expect(result).toMatchObject({ version: VERSION, prod: { bakeSeconds: 300, strategy: 'CANARY' }, gate: { mode: 'manual' } });
  });

  it('rejects an input that is not a DeployRequest with InvalidInput', async () => {
    const { handler } = await import('../../../functions/prepare-deploy');

    await expect(handler({ executionArn: DEPLOY_EXECUTION_ARN, request: { modelPackageArn: 'not-an-arn', mode: 'deploy', stages: [], reason: '' } }, lambdaContext())).rejects.toMatchObject({ name: 'InvalidInput' });
  });
});

describe('endpoint-lock', () => {
  it('acquires and reports the result', async () => {
    const { handler } = await import('../../../functions/endpoint-lock');

    await expect(handler({ action: 'acquire', taskToken: TASK_TOKEN, executionArn: DEPLOY_EXECUTION_ARN, endpointName: `${GROUP}-prod`, version: 3 }, lambdaContext())).resolves.toEqual({ endpointName: `${GROUP}-prod`, action: 'acquire', result: 'granted' });
  });

  it('releases', async () => {
    const { handler } = await import('../../../functions/endpoint-lock');

    await expect(handler({ action: 'release', executionArn: DEPLOY_EXECUTION_ARN, endpointName: `${GROUP}-prod` }, lambdaContext())).resolves.toMatchObject({ result: 'not-held' });
  });
});

describe('create-model, create-endpoint-config, ensure-alarms', () => {
  it('return {modelName, created}, {endpointConfigName, created} and {alarmNames}', async () => {
    sagemaker.on(CreateModelCommand).resolves({});
    sagemaker.on(CreateEndpointConfigCommand).resolves({});
    cloudwatch.on(PutMetricAlarmCommand).resolves({});
    const createModel = (await import('../../../functions/create-model')).handler;
    const createEndpointConfig = (await import('../../../functions/create-endpoint-config')).handler;
    const ensureAlarms = (await import('../../../functions/ensure-alarms')).handler;

    await expect(createModel(stageInput('prod'), lambdaContext())).resolves.toEqual({ modelName: `${GROUP}-v3`, created: true });
    await expect(createEndpointConfig(stageInput('prod'), lambdaContext())).resolves.toEqual({ endpointConfigName: `${GROUP}-prod-v3`, created: true });
    await expect(ensureAlarms(stageInput('prod'), lambdaContext())).resolves.toEqual({ alarmNames: [`${GROUP}-prod-5xx`, `${GROUP}-prod-model-latency`] });
    expect(sagemaker).toHaveReceivedCommandWith(CreateModelCommand, { ExecutionRoleArn: ROLE_ARN });
  });
});

describe('deploy-endpoint', () => {
  it('parks the token and completes it at once for an endpoint already on this version', async () => {
    const { handler } = await import('../../../functions/deploy-endpoint');
    const token = { jobName: `endpoint:${GROUP}-prod`, kind: 'endpoint', taskToken: TASK_TOKEN, endpointConfigName: `${GROUP}-prod-v3`, phase: 'waiting' };
    dynamo.on(GetCommand).resolves({ Item: token });
    sagemaker.on(DescribeEndpointCommand).resolves({ EndpointName: `${GROUP}-prod`, EndpointStatus: 'InService', EndpointConfigName: `${GROUP}-prod-v3` });
    sagemaker.on(DescribeModelPackageCommand).resolves({ ModelApprovalStatus: 'Approved' });

    await expect(handler({ ...stageInput('prod'), taskToken: TASK_TOKEN }, lambdaContext())).resolves.toEqual({ endpointName: `${GROUP}-prod`, result: 'succeeded' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN, output: expect.stringContaining('"alreadyDeployed":true') });
  });
});

describe('smoke-test', () => {
  it('returns {endpointName, latencyMs, lines}', async () => {
    const { handler } = await import('../../../functions/smoke-test');
    s3.on(GetObjectCommand).callsFake(() => smokeBodyObject(SMOKE_BODY));
    runtime.on(InvokeEndpointCommand).resolves({ Body: new TextEncoder().encode('1\n2\n3\n') as never });

    await expect(handler(stageInput('staging'), lambdaContext())).resolves.toEqual({ endpointName: `${GROUP}-staging`, latencyMs: expect.any(Number), lines: 3 });
  });

  it('fails with SmokeTestFailed', async () => {
    const { handler } = await import('../../../functions/smoke-test');
    s3.on(GetObjectCommand).callsFake(() => smokeBodyObject(SMOKE_BODY));
    runtime.on(InvokeEndpointCommand).resolves({ Body: new TextEncoder().encode('oops\n') as never });

    await expect(handler(stageInput('staging'), lambdaContext())).rejects.toMatchObject({ name: 'SmokeTestFailed' });
  });
});

describe('finish-stage', () => {
  it('returns the live version, what it deleted and the lock result (KEEP_VERSIONS defaults to 3)', async () => {
    const { handler } = await import('../../../functions/finish-stage');
    sagemaker.on(DescribeEndpointCommand).resolves({ EndpointConfigName: `${GROUP}-prod-v3` });
    sagemaker.on(ListEndpointConfigsCommand).resolves({ EndpointConfigs: [] });
    sagemaker.on(ListModelsCommand).resolves({ Models: [] });

    await expect(handler(stageInput('prod'), lambdaContext())).resolves.toMatchObject({ endpointName: `${GROUP}-prod`, live: { version: 3 }, deleted: { endpointConfigs: [], models: [] }, lock: 'not-held' });
  });
});

describe('wait-for-promotion and on-promotion', () => {
  it('parks the token, then a Model Promotion Approved event completes it', async () => {
    const wait = (await import('../../../functions/wait-for-promotion')).handler;
    const onPromotion = (await import('../../../functions/on-promotion')).handler;

    await expect(wait({ executionArn: DEPLOY_EXECUTION_ARN, taskToken: TASK_TOKEN, plan: plan() }, lambdaContext())).resolves.toEqual({ modelPackageArn: MODEL_PACKAGE_ARN, waiting: true });
    dynamo.on(GetCommand).resolves({ Item: dynamo.commandCalls(PutCommand)[0]?.args[0].input.Item });
    const event = { version: '0', id: 'e-1', 'detail-type': 'Model Promotion Approved', source: 'sluice', account: '123456789012', time: '2026-11-23T10:00:00Z', region: 'us-east-1', resources: [], detail: { modelPackageArn: MODEL_PACKAGE_ARN, approvedBy: 'alice' } };

    await expect(onPromotion(event, lambdaContext())).resolves.toEqual({ modelPackageArn: MODEL_PACKAGE_ARN, result: 'promoted' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TASK_TOKEN, output: expect.stringContaining('"approvedBy":"alice"') });
  });

  it('parks a malformed promotion event in the dead-letter queue', async () => {
    const onPromotion = (await import('../../../functions/on-promotion')).handler;
    sqs.on(SendMessageCommand).resolves({});

    await expect(onPromotion({ source: 'sluice', 'detail-type': 'Model Promotion Approved', detail: {} }, lambdaContext())).resolves.toMatchObject({ rejected: true });
  });
});
