/**
 * Deployment guardrails in the local SageMaker hosting: UpdateEndpoint with a DeploymentConfig
 * (blue/green with CANARY / LINEAR / ALL_AT_ONCE traffic shifting and baking periods), automatic
 * rollback on a failing GET /ping or on a real local CloudWatch alarm fed by InvokeEndpoint's
 * AWS/SageMaker metrics. Fixture servers (tests/fixtures/local-images/server.cjs) answer with
 * their own identity (VARIANT), so the traffic split is observable.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';

import { type CloudWatchService, createCloudWatchService } from '../../../local/cloudwatch/service';
import { planDeployment, readDeploymentConfig } from '../../../local/sagemaker/deployment';
import { endpointStateChangeSchema } from '../../../shared/schemas/events';
import { createHarness, envelope, type Harness, IMAGES, isAlive, ROLE_ARN, serveOverHttp, trainFixtureModel, waitFor } from '../../fixtures/local-images/harness';
import { serviceContext } from '../../helpers/service-context';

const BUCKET = 'artifacts';

let h: Harness;
let cloudWatch: CloudWatchService;
let http: Awaited<ReturnType<typeof serveOverHttp>>;
let runtime: SageMakerRuntimeClient;

beforeEach(async () => {
  h = createHarness({ alarms: { state: (name) => cloudWatch.alarmState(name) }, metrics: { put: (datum) => cloudWatch.putMetric(datum) } });
  cloudWatch = createCloudWatchService(
    serviceContext(join(h.root, 'cloudwatch'), h.events),
    { evaluateEveryMs: 100 },
  );
  await cloudWatch.start();
  http = await serveOverHttp(h);
  runtime = http.runtime;
});

afterEach(async () => {
  await http.close();
  await cloudWatch.stop();
  await h.cleanup();
});

/** Trains the fixture model; returns its model.tar.gz URI. */
const trainModel = () => trainFixtureModel(h, 'guardrails-train', BUCKET);

/** An InService endpoint on `<name>-blue` (VARIANT primary) and a second config `<name>-green` (VARIANT second plus `greenEnvironment`), both with variant AllTraffic. */
async function blueAndGreen(name: string, greenEnvironment: Record<string, string> = {}): Promise<void> {
  const modelData = await trainModel();
  for (const [color, environment] of [['blue', { VARIANT: 'primary' }], ['green', { VARIANT: 'second', ...greenEnvironment }]] as const) {
    await h.call('CreateModel', { ModelName: `${name}-${color}`, ExecutionRoleArn: ROLE_ARN, PrimaryContainer: { Image: IMAGES.server, ModelDataUrl: modelData, Environment: environment } });
    await h.call('CreateEndpointConfig', { EndpointConfigName: `${name}-${color}`, ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: `${name}-${color}`, InitialInstanceCount: 1, InstanceType: 'ml.t2.medium' }] });
  }
  await h.call('CreateEndpoint', { EndpointName: name, EndpointConfigName: `${name}-blue` });
  const endpoint = await waitFor(() => h.call('DescribeEndpoint', { EndpointName: name }), (e) => e.EndpointStatus !== 'Creating', 20_000);
  expect(endpoint.EndpointStatus).toBe('InService');
}

/** Which fleet answered (the fixture's VARIANT), or `error:<name>` when InvokeEndpoint failed. */
async function invoke(name: string): Promise<string> {
  try {
    const output = await runtime.send(new InvokeEndpointCommand({ EndpointName: name, Body: Buffer.from('x') }));
    return (JSON.parse(Buffer.from(output.Body!).toString('utf8')) as { variant: string }).variant;
  } catch (error) {
    return `error:${(error as Error).name}`;
  }
}

function tally(results: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const result of results) counts[result] = (counts[result] ?? 0) + 1;
  return counts;
}

async function invokeTimes(name: string, times: number): Promise<string[]> {
  const results: string[] = [];
  for (let i = 0; i < times; i += 1) results.push(await invoke(name));
  return results;
}

function statusEvents(name: string): string[] {
  return h.events.filter((e) => e.DetailType === 'SageMaker Endpoint State Change' && e.Detail.EndpointName === name).map((e) => e.Detail.EndpointStatus as string);
}

type Pending = { EndpointConfigName: string; ProductionVariants: { CurrentWeight?: number; VariantStatus: { Status: string }[] }[] } | undefined;
const pendingStatus = (endpoint: Record<string, unknown>) => (endpoint.PendingDeploymentSummary as Pending)?.ProductionVariants[0]?.VariantStatus[0]?.Status;

async function settled(name: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  return waitFor(() => h.call('DescribeEndpoint', { EndpointName: name }), (e) => e.EndpointStatus !== 'Updating' && e.EndpointStatus !== 'RollingBack', timeoutMs);
}

function servingPids(name: string): number[] {
  try {
    return (JSON.parse(readFileSync(join(h.dataDir, 'containers', `endpoint.${name}.json`), 'utf8')) as { pid: number }[]).map((entry) => entry.pid);
  } catch {
    return [];
  }
}

const ALARM = (endpointName: string, alarmName: string) => ({
  AlarmName: alarmName,
  Namespace: 'AWS/SageMaker',
  MetricName: 'Invocation5XXErrors',
  Dimensions: [
    { Name: 'EndpointName', Value: endpointName },
    { Name: 'VariantName', Value: 'AllTraffic' },
  ],
  Statistic: 'Sum',
  Period: 10,
  EvaluationPeriods: 2,
  DatapointsToAlarm: 1,
  Threshold: 1,
  ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  TreatMissingData: 'notBreaching',
});

describe('blue/green UpdateEndpoint with deployment guardrails', () => {
  it('CANARY: routes the canary share to the new fleet during the bake, then all of it; InService on the new config, old fleet stopped', async () => {
    await blueAndGreen('canary');
    await cloudWatch.operations.PutMetricAlarm!(ALARM('canary', 'canary-5xx'));
    const bluePids = servingPids('canary');
    const deploymentConfig = {
      BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 25 }, WaitIntervalInSeconds: 2 }, TerminationWaitInSeconds: 0 },
      AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'canary-5xx' }] },
    };

    await h.call('UpdateEndpoint', { EndpointName: 'canary', EndpointConfigName: 'canary-green', DeploymentConfig: deploymentConfig });
    const baking = await waitFor(() => h.call('DescribeEndpoint', { EndpointName: 'canary' }), (e) => pendingStatus(e) === 'Baking', 20_000);
    const duringBake = tally(await invokeTimes('canary', 8));
    const done = await settled('canary');
    const afterwards = tally(await invokeTimes('canary', 4));

    expect(baking).toMatchObject({
      EndpointStatus: 'Updating',
      EndpointConfigName: 'canary-blue',
      LastDeploymentConfig: deploymentConfig,
      PendingDeploymentSummary: { EndpointConfigName: 'canary-green', ProductionVariants: [{ VariantName: 'AllTraffic', CurrentWeight: 0.25, DesiredWeight: 1, VariantStatus: [{ Status: 'Baking' }] }] },
    });
    expect(duringBake).toEqual({ primary: 6, second: 2 });
    expect(done).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'canary-green', LastDeploymentConfig: deploymentConfig, ProductionVariants: [{ VariantName: 'AllTraffic', CurrentWeight: 1 }] });
    expect(done.PendingDeploymentSummary).toBeUndefined();
    expect(done.FailureReason).toBeUndefined();
    expect(afterwards).toEqual({ second: 4 });
    expect(statusEvents('canary')).toEqual(['CREATING', 'IN_SERVICE', 'UPDATING', 'IN_SERVICE']);
    expect(bluePids.some((pid) => isAlive(pid))).toBe(false);
    expect(servingPids('canary')).toHaveLength(1);
    expect(cloudWatch.alarmState('canary-5xx')).toBe('OK');
  });

  it('emits AWS/SageMaker invocation metrics per request for EndpointName + VariantName (errors as 0/1, latencies in microseconds)', async () => {
    await blueAndGreen('metered');

    await invokeTimes('metered', 3);
    await expect(runtime.send(new InvokeEndpointCommand({ EndpointName: 'metered', Body: Buffer.from('fail') }))).rejects.toMatchObject({ name: 'ModelError' });

    const now = Date.now() / 1000;
    const stats = async (MetricName: string) =>
      ((await cloudWatch.operations.GetMetricStatistics!({
        Namespace: 'AWS/SageMaker',
        MetricName,
        Dimensions: [
          { Name: 'EndpointName', Value: 'metered' },
          { Name: 'VariantName', Value: 'AllTraffic' },
        ],
        StartTime: now - 600,
        EndTime: now + 60,
        Period: 3600,
        Statistics: ['Sum', 'SampleCount', 'Minimum'],
      })) as { Datapoints: { Sum: number; SampleCount: number; Minimum: number; Unit: string }[] }).Datapoints[0];
    expect(await stats('Invocations')).toMatchObject({ Sum: 4, Unit: 'Count' });
    expect(await stats('Invocation4XXErrors')).toMatchObject({ Sum: 1, SampleCount: 4 });
    expect(await stats('Invocation5XXErrors')).toMatchObject({ Sum: 0, SampleCount: 4 });
    expect(await stats('ModelLatency')).toMatchObject({ SampleCount: 4, Unit: 'Microseconds' });
    expect((await stats('ModelLatency'))!.Minimum).toBeGreaterThan(0);
    expect(await stats('OverheadLatency')).toMatchObject({ SampleCount: 4, Unit: 'Microseconds' });
  });

  it('rolls back when the new fleet fails GET /ping during the bake: Updating → RollingBack → InService on the old config, with the FailureReason', async () => {
    await blueAndGreen('unhealthy', { PING_FAIL_AFTER_MS: '300' });

    await h.call('UpdateEndpoint', {
      EndpointName: 'unhealthy',
      EndpointConfigName: 'unhealthy-green',
      DeploymentConfig: { BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 5 } } },
    });
    const endpoint = await waitFor(() => h.call('DescribeEndpoint', { EndpointName: 'unhealthy' }), () => statusEvents('unhealthy').length >= 5, 20_000);

    expect(statusEvents('unhealthy')).toEqual(['CREATING', 'IN_SERVICE', 'UPDATING', 'ROLLING_BACK', 'IN_SERVICE']);
    expect(endpoint).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'unhealthy-blue', FailureReason: expect.stringMatching(/production variant AllTraffic of the new fleet failed the ping health check \(GET \/ping answered 500\)/) });
    expect(endpoint.PendingDeploymentSummary).toBeUndefined();
    expect(tally(await invokeTimes('unhealthy', 4))).toEqual({ primary: 4 });
    expect(servingPids('unhealthy')).toHaveLength(1);
    const rollingBack = h.events.find((e) => e.Detail.EndpointName === 'unhealthy' && e.Detail.EndpointStatus === 'ROLLING_BACK')!;
    expect(endpointStateChangeSchema.parse(envelope(rollingBack)).detail).toMatchObject({ EndpointStatus: 'ROLLING_BACK', FailureReason: expect.stringContaining('ping health check') });
  });

  it('rolls back automatically when a CloudWatch alarm on the endpoint\'s 5XX errors goes to ALARM during the canary bake', async () => {
    await blueAndGreen('erroring', { INVOKE_STATUS: '500' });
    await cloudWatch.operations.PutMetricAlarm!(ALARM('erroring', 'erroring-5xx'));
    const started = Date.now();

    await h.call('UpdateEndpoint', {
      EndpointName: 'erroring',
      EndpointConfigName: 'erroring-green',
      DeploymentConfig: {
        BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 }, WaitIntervalInSeconds: 10 } },
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'erroring-5xx' }] },
      },
    });
    await waitFor(() => h.call('DescribeEndpoint', { EndpointName: 'erroring' }), (e) => pendingStatus(e) === 'Baking', 20_000);
    const duringBake = await invokeTimes('erroring', 2);
    const endpoint = await settled('erroring');

    // INSTANCE_COUNT 1 of a one-instance fleet is all of the traffic: both requests hit the broken model.
    expect(duringBake).toEqual(['error:ModelError', 'error:ModelError']);
    expect(endpoint).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'erroring-blue', FailureReason: expect.stringContaining('CloudWatch alarm erroring-5xx went into ALARM state') });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(statusEvents('erroring')).toEqual(['CREATING', 'IN_SERVICE', 'UPDATING', 'ROLLING_BACK', 'IN_SERVICE']);
    expect(h.events.find((e) => e.Source === 'aws.cloudwatch' && (e.Detail.state as { value: string }).value === 'ALARM')?.Detail).toMatchObject({ alarmName: 'erroring-5xx' });
    expect(tally(await invokeTimes('erroring', 3))).toEqual({ primary: 3 });
    expect(servingPids('erroring')).toHaveLength(1);
  });

  it('LINEAR: shifts traffic in LinearStepSize steps, baking after each, then serves only the new config', async () => {
    await blueAndGreen('linear');

    await h.call('UpdateEndpoint', {
      EndpointName: 'linear',
      EndpointConfigName: 'linear-green',
      DeploymentConfig: { BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'LINEAR', LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 50 }, WaitIntervalInSeconds: 1 } } },
    });
    const seen: string[] = [];
    const splits: Record<string, number>[] = [];
    await waitFor(
      async () => {
        const endpoint = await h.call('DescribeEndpoint', { EndpointName: 'linear' });
        const variant = (endpoint.PendingDeploymentSummary as Pending)?.ProductionVariants[0];
        const stage = variant ? `${variant.VariantStatus[0]!.Status}:${variant.CurrentWeight}` : undefined;
        if (stage && seen.at(-1) !== stage) {
          seen.push(stage);
          if (stage.startsWith('Baking')) splits.push(tally(await invokeTimes('linear', 4)));
        }
        return endpoint;
      },
      (e) => e.EndpointStatus === 'InService',
      20_000,
    );

    expect(seen.filter((stage) => stage.startsWith('Baking'))).toEqual(['Baking:0.5', 'Baking:1']);
    expect(splits).toEqual([{ primary: 2, second: 2 }, { second: 4 }]);
    expect(await h.call('DescribeEndpoint', { EndpointName: 'linear' })).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'linear-green' });
    expect(statusEvents('linear')).toEqual(['CREATING', 'IN_SERVICE', 'UPDATING', 'IN_SERVICE']);
  });

  it('ALL_AT_ONCE: all traffic on the new fleet during the bake; the old fleet stays up until TerminationWaitInSeconds has passed', async () => {
    await blueAndGreen('at-once');
    const bluePids = servingPids('at-once');
    const started = Date.now();

    await h.call('UpdateEndpoint', {
      EndpointName: 'at-once',
      EndpointConfigName: 'at-once-green',
      DeploymentConfig: { BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 1 }, TerminationWaitInSeconds: 1 } },
    });
    await waitFor(() => h.call('DescribeEndpoint', { EndpointName: 'at-once' }), (e) => pendingStatus(e) === 'Baking', 20_000);
    const duringBake = tally(await invokeTimes('at-once', 4));
    const blueAliveDuringBake = bluePids.every((pid) => isAlive(pid));
    const endpoint = await settled('at-once');

    expect(duringBake).toEqual({ second: 4 });
    expect(blueAliveDuringBake).toBe(true);
    expect(endpoint).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'at-once-green' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(bluePids.some((pid) => isAlive(pid))).toBe(false);
  });

  it('validates the DeploymentConfig as SageMaker does, leaving the endpoint untouched', async () => {
    await blueAndGreen('strict');
    const update = (DeploymentConfig: Record<string, unknown>) => h.call('UpdateEndpoint', { EndpointName: 'strict', EndpointConfigName: 'strict-green', DeploymentConfig });

    await expect(update({ BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'CANARY', WaitIntervalInSeconds: 1 } } })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(update({ BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'SOMETIMES', WaitIntervalInSeconds: 1 } } })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(update({ BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE' } } })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(
      update({ BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 1 } }, RollingUpdatePolicy: { MaximumBatchSize: { Type: 'INSTANCE_COUNT', Value: 1 }, WaitIntervalInSeconds: 1 } }),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(update({ AutoRollbackConfiguration: { Alarms: [] } })).rejects.toMatchObject({ name: 'ValidationException' });

    expect(await h.call('DescribeEndpoint', { EndpointName: 'strict' })).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'strict-blue' });
    expect(statusEvents('strict')).toEqual(['CREATING', 'IN_SERVICE']);
  });

  it('a runtime restarted mid-deployment serves the old config again, then runs the update again from its start', async () => {
    await blueAndGreen('interrupted');
    await h.call('UpdateEndpoint', {
      EndpointName: 'interrupted',
      EndpointConfigName: 'interrupted-green',
      DeploymentConfig: { BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 50 }, WaitIntervalInSeconds: 3 } } },
    });
    await waitFor(() => h.call('DescribeEndpoint', { EndpointName: 'interrupted' }), (e) => pendingStatus(e) === 'Baking', 20_000);
    const pids = servingPids('interrupted');
    await h.service.stop();
    const eventsBefore = statusEvents('interrupted');

    const restarted = h.restart();
    await restarted.start();
    const during = await h.call('DescribeEndpoint', { EndpointName: 'interrupted' }, restarted);
    const endpoint = await waitFor(() => h.call('DescribeEndpoint', { EndpointName: 'interrupted' }, restarted), (e) => e.EndpointStatus === 'InService', 20_000);

    expect(pids).toHaveLength(2);
    expect(pids.some((pid) => isAlive(pid))).toBe(false);
    expect(during).toMatchObject({ EndpointStatus: 'Updating', EndpointConfigName: 'interrupted-blue' });
    expect(endpoint).toMatchObject({ EndpointConfigName: 'interrupted-green' });
    expect(endpoint.FailureReason).toBeUndefined();
    expect(endpoint.PendingDeploymentSummary).toBeUndefined();
    expect(statusEvents('interrupted').slice(eventsBefore.length)).toEqual(['IN_SERVICE']);
  });
});

describe('planDeployment (traffic steps of a DeploymentConfig)', () => {
  const fleet = (instances: number) => ({ EndpointConfigName: 'c', EndpointConfigArn: 'arn', CreationTime: 0, ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'm', InitialInstanceCount: instances }] });
  const plan = (config: Record<string, unknown>, instances = 1) => planDeployment(readDeploymentConfig(config)!, fleet(instances));

  it('CANARY: the canary share with a bake, then everything; INSTANCE_COUNT is a share of the new fleet', () => {
    expect(plan({ BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 }, WaitIntervalInSeconds: 300 } }, AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'a' }] } })).toEqual({
      steps: [
        { share: 0.1, bake: true },
        { share: 1, bake: false },
      ],
      waitMs: 300_000,
      terminationWaitMs: 0,
      alarms: ['a'],
      maximumExecutionMs: undefined,
    });
    expect(plan({ BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 }, WaitIntervalInSeconds: 0 } } }, 4).steps[0]).toEqual({ share: 0.25, bake: true });
  });

  it('LINEAR and RollingUpdatePolicy: equal steps up to 100 %, each baked', () => {
    expect(plan({ BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'LINEAR', LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 30 }, WaitIntervalInSeconds: 1 }, TerminationWaitInSeconds: 5 } })).toMatchObject({
      steps: [0.3, 0.6, 0.9, 1].map((share) => ({ share, bake: true })),
      terminationWaitMs: 5000,
    });
    expect(plan({ RollingUpdatePolicy: { MaximumBatchSize: { Type: 'INSTANCE_COUNT', Value: 1 }, WaitIntervalInSeconds: 2 } }, 2)).toMatchObject({ steps: [0.5, 1].map((share) => ({ share, bake: true })), waitMs: 2000 });
  });

  it('ALL_AT_ONCE, or only an AutoRollbackConfiguration: everything at once, then one bake', () => {
    expect(plan({ BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 60 }, MaximumExecutionTimeoutInSeconds: 900 } })).toMatchObject({ steps: [{ share: 1, bake: true }], waitMs: 60_000, maximumExecutionMs: 900_000 });
    expect(plan({ AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'a' }] } })).toMatchObject({ steps: [{ share: 1, bake: true }], waitMs: 0, alarms: ['a'] });
  });
});
