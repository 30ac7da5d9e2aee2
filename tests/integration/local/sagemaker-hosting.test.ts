/**
 * The local SageMaker's real-time hosting: a model from a real training job's model.tar.gz, an
 * endpoint whose variant is `server.cjs serve` (tests/fixtures/local-images/), and InvokeEndpoint
 * through the real @aws-sdk/client-sagemaker-runtime against 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';

import { endpointStateChangeSchema } from '../../../shared/schemas/events';
import { createHarness, envelope, type Harness, IMAGES, isAlive, ROLE_ARN, serveOverHttp, trainFixtureModel, waitFor } from '../../fixtures/local-images/harness';

const BUCKET = 'artifacts';

let h: Harness;
let http: Awaited<ReturnType<typeof serveOverHttp>>;
let runtime: SageMakerRuntimeClient;

beforeEach(async () => {
  h = createHarness();
  http = await serveOverHttp(h);
  runtime = http.runtime;
});

afterEach(async () => {
  await http.close();
  await h.cleanup();
});

/** Trains the fixture model; returns its model.tar.gz URI. */
const trainModel = () => trainFixtureModel(h, 'host-train', BUCKET);

async function deploy(name: string, environment: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const modelData = await trainModel();
  await h.call('CreateModel', { ModelName: `${name}-model`, ExecutionRoleArn: ROLE_ARN, PrimaryContainer: { Image: IMAGES.server, ModelDataUrl: modelData, Environment: { VARIANT: 'primary', ...environment } } });
  await h.call('CreateEndpointConfig', { EndpointConfigName: `${name}-config`, ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: `${name}-model`, InitialInstanceCount: 1, InstanceType: 'ml.t2.medium' }] });
  await h.call('CreateEndpoint', { EndpointName: name, EndpointConfigName: `${name}-config`, Tags: [{ Key: 'stage', Value: 'dev' }] });
  return waitFor(() => h.call('DescribeEndpoint', { EndpointName: name }), (e) => e.EndpointStatus !== 'Creating', 20_000);
}

describe('endpoints', () => {
  it('serves the trained model: InService after /ping, InvokeEndpoint proxied to /invocations with Content-Type and Accept', async () => {
    const endpoint = await deploy('abalone');

    const output = await runtime.send(new InvokeEndpointCommand({ EndpointName: 'abalone', Body: Buffer.from('0.455,0.365'), ContentType: 'text/csv', Accept: 'application/json' }));

    expect(endpoint).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'abalone-config', EndpointArn: 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/abalone' });
    expect(output.ContentType).toBe('application/json');
    expect(output.InvokedProductionVariant).toBe('AllTraffic');
    expect(JSON.parse(Buffer.from(output.Body!).toString('utf8'))).toEqual({ model: ['train'], body: '0.455,0.365', contentType: 'text/csv', accept: 'application/json', variant: 'primary' });
  });

  it('answers a model that rejects its input with ModelError carrying the original status and message', async () => {
    await deploy('rejecting');

    await expect(runtime.send(new InvokeEndpointCommand({ EndpointName: 'rejecting', Body: Buffer.from('fail'), ContentType: 'text/csv' }))).rejects.toMatchObject({
      name: 'ModelError',
      OriginalStatusCode: 400,
      OriginalMessage: 'bad input: fail',
    });
  });

  it('answers an unknown endpoint with ValidationError', async () => {
    await expect(runtime.send(new InvokeEndpointCommand({ EndpointName: 'nowhere', Body: Buffer.from('x') }))).rejects.toMatchObject({ name: 'ValidationError' });
  });

  it('publishes Endpoint State Change events (CREATING, IN_SERVICE) that our consumer schema parses', async () => {
    await deploy('evented');

    const events = h.events.filter((e) => e.DetailType === 'SageMaker Endpoint State Change').map((e) => endpointStateChangeSchema.parse(envelope(e)));
    expect(events.map((e) => e.detail.EndpointStatus)).toEqual(['CREATING', 'IN_SERVICE']);
    expect(events[1]).toMatchObject({ resources: ['arn:aws:sagemaker:us-east-1:123456789012:endpoint/evented'], detail: { EndpointName: 'evented', EndpointConfigName: 'evented-config', Tags: { stage: 'dev' } } });
  });

  it('marks the endpoint Failed with the container\'s stderr when the serve process dies before /ping answers', async () => {
    const endpoint = await deploy('broken', { FAIL_TO_START: '1' });

    expect(endpoint.EndpointStatus).toBe('Failed');
    expect(endpoint.FailureReason).toMatch(/AllTraffic did not pass the ping health check[\s\S]*cannot load the model: FAIL_TO_START/);
  });

  it('deletes an endpoint: its processes stop and it is gone', async () => {
    await deploy('doomed');

    await h.call('DeleteEndpoint', { EndpointName: 'doomed' });

    await expect(h.call('DescribeEndpoint', { EndpointName: 'doomed' })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(runtime.send(new InvokeEndpointCommand({ EndpointName: 'doomed', Body: Buffer.from('x') }))).rejects.toMatchObject({ name: 'ValidationError' });
  });

  it('UpdateEndpoint swaps in the new config once its variant is healthy, and keeps the old one serving when the new one fails', async () => {
    await deploy('updated');
    const modelData = (await h.call('DescribeModel', { ModelName: 'updated-model' })).PrimaryContainer as { ModelDataUrl: string };
    await h.call('CreateModel', { ModelName: 'updated-model-2', PrimaryContainer: { Image: IMAGES.server, ModelDataUrl: modelData.ModelDataUrl, Environment: { VARIANT: 'second' } } });
    await h.call('CreateEndpointConfig', { EndpointConfigName: 'updated-config-2', ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'updated-model-2', InitialInstanceCount: 1 }] });
    await h.call('CreateModel', { ModelName: 'updated-model-3', PrimaryContainer: { Image: IMAGES.server, ModelDataUrl: modelData.ModelDataUrl, Environment: { FAIL_TO_START: '1' } } });
    await h.call('CreateEndpointConfig', { EndpointConfigName: 'updated-config-3', ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'updated-model-3', InitialInstanceCount: 1 }] });
    const invoke = async () => JSON.parse(Buffer.from((await runtime.send(new InvokeEndpointCommand({ EndpointName: 'updated', Body: Buffer.from('x') }))).Body!).toString('utf8')) as { variant: string };

    await h.call('UpdateEndpoint', { EndpointName: 'updated', EndpointConfigName: 'updated-config-2' });
    const afterUpdate = await waitFor(() => h.call('DescribeEndpoint', { EndpointName: 'updated' }), (e) => e.EndpointStatus !== 'Updating', 20_000);
    const served = await invoke();
    await h.call('UpdateEndpoint', { EndpointName: 'updated', EndpointConfigName: 'updated-config-3' });
    const afterFailedUpdate = await waitFor(() => h.call('DescribeEndpoint', { EndpointName: 'updated' }), (e) => e.EndpointStatus !== 'Updating', 20_000);

    expect(afterUpdate).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'updated-config-2' });
    expect(served.variant).toBe('second');
    expect(afterFailedUpdate).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'updated-config-2', FailureReason: expect.stringContaining('FAIL_TO_START') });
    expect((await invoke()).variant).toBe('second');
  });

  it('redeploys InService endpoints when a new runtime starts over the same data', async () => {
    await deploy('durable');
    await h.service.stop();

    const restarted = h.restart();
    await restarted.start();
    http.use(restarted);

    const output = await waitFor(
      () => runtime.send(new InvokeEndpointCommand({ EndpointName: 'durable', Body: Buffer.from('again') })).catch((error: Error) => error),
      (result) => !(result instanceof Error),
      20_000,
    );
    expect(JSON.parse(Buffer.from((output as { Body: Uint8Array }).Body).toString('utf8'))).toMatchObject({ body: 'again' });
  });

  it('kills the serving processes a crashed runtime left behind, then serves again', async () => {
    await deploy('orphaned');
    const pids = JSON.parse(readFileSync(join(h.dataDir, 'containers', 'endpoint.orphaned.json'), 'utf8')) as { pid: number }[];
    expect(pids).toHaveLength(1);

    const restarted = h.restart();
    await restarted.start();

    await waitFor(async () => isAlive(pids[0]!.pid), (alive) => !alive, 5000);
    const endpoint = await waitFor(() => h.call('DescribeEndpoint', { EndpointName: 'orphaned' }, restarted), (e) => e.EndpointStatus === 'InService');
    expect(endpoint.EndpointStatus).toBe('InService');
  });

  it('creates a model from a registered model package (image and model data from its InferenceSpecification)', async () => {
    await h.call('CreateModelPackageGroup', { ModelPackageGroupName: 'abalone' });
    const { ModelPackageArn } = await h.call('CreateModelPackage', {
      ModelPackageGroupName: 'abalone',
      InferenceSpecification: { Containers: [{ Image: IMAGES.server, ModelDataUrl: `s3://${BUCKET}/m/model.tar.gz` }], SupportedContentTypes: ['text/csv'], SupportedResponseMIMETypes: ['text/csv'] },
    });

    await h.call('CreateModel', { ModelName: 'from-package', ExecutionRoleArn: ROLE_ARN, PrimaryContainer: { ModelPackageName: ModelPackageArn } });
    const model = await h.call('DescribeModel', { ModelName: 'from-package' });

    expect(model.PrimaryContainer).toMatchObject({ ModelPackageName: ModelPackageArn, Image: IMAGES.server, ModelDataUrl: `s3://${BUCKET}/m/model.tar.gz` });
  });
});

describe('listing models and endpoint configs', () => {
  it('lists models and endpoint configs by name, newest first, with NameContains', async () => {
    for (const name of ['sluice-t-abalone-v1', 'sluice-t-abalone-v2', 'other-v1']) {
      await h.call('CreateModel', { ModelName: name, ExecutionRoleArn: ROLE_ARN, PrimaryContainer: { Image: IMAGES.server } });
      await h.call('CreateEndpointConfig', { EndpointConfigName: `${name}-config`, ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: name, InstanceType: 'ml.m5.large', InitialInstanceCount: 1 }] });
    }

    const models = (await h.call('ListModels', { NameContains: 'sluice-t-abalone', SortBy: 'Name', SortOrder: 'Ascending' })).Models as { ModelName: string; ModelArn: string }[];
    const configs = (await h.call('ListEndpointConfigs', { NameContains: 'abalone', MaxResults: 1 })) as { EndpointConfigs: { EndpointConfigName: string }[]; NextToken?: string };

    expect(models.map((m) => m.ModelName)).toEqual(['sluice-t-abalone-v1', 'sluice-t-abalone-v2']);
    expect(models[0]!.ModelArn).toMatch(/:model\/sluice-t-abalone-v1$/);
    expect(configs.EndpointConfigs).toHaveLength(1);
    expect(configs.NextToken).toBeDefined();
  });
});
