import { StateMachine } from 'aws-local-stepfunctions';

import { type Json, type LocalHandler, loadStateMachineDefinition, namedError, type PathRun, runPath, TEST_EVENT_BUS, throwing, withFixedTaskTimeouts } from '../../helpers/asl';

/**
 * Path tests of statemachines/model-deploy.asl.yaml, run in-process by aws-local-stepfunctions.
 * Tasks are overridden by state name; a waitForTaskToken handler's return value stands for
 * SendTaskSuccess and a thrown, named Error for SendTaskFailure (or the task's own failure).
 */

/** The Task states every run overrides (by name). */
type TaskStateName =
  | 'Prepare'
  | 'StagingLock'
  | 'StagingModel'
  | 'StagingEndpointConfig'
  | 'StagingDeploy'
  | 'StagingSmokeTest'
  | 'StagingFinish'
  | 'StagingDeployed'
  | 'StagingFailed'
  | 'WaitForPromotion'
  | 'ProdLock'
  | 'ProdModel'
  | 'ProdEndpointConfig'
  | 'ProdAlarms'
  | 'ProdDeploy'
  | 'ProdSmokeTest'
  | 'ProdFinish'
  | 'ProdDeployed'
  | 'ProdFailed'
  | 'PublishFailed';

const stateMachine = new StateMachine(withFixedTaskTimeouts(loadStateMachineDefinition('model-deploy')));

const EXECUTION_ARN = 'arn:aws:states:us-east-1:123456789012:execution:sluice-test-model-deploy:sluice-test-abalone-v3-1a2b3c4d';
const MODEL_PACKAGE_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/sluice-test-abalone/3';
const TASK_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAd1Tq0cEXAMPLE';
const PUT_EVENTS_RESULT = { FailedEntryCount: 0, Entries: [{ EventId: '11710aed-b79e-4468-a20b-bb3c0c3b4860' }] };

function stagePlan(stage: 'staging' | 'prod') {
  return {
    stage,
    endpointName: `sluice-test-abalone-${stage}`,
    modelName: 'sluice-test-abalone-v3',
    endpointConfigName: `sluice-test-abalone-${stage}-v3`,
    instanceType: 'ml.m5.large',
    instanceCount: stage === 'prod' ? 2 : 1,
    strategy: stage === 'prod' ? 'CANARY' : 'ALL_AT_ONCE',
    bakeSeconds: 300,
    alarmNames: stage === 'prod' ? ['sluice-test-abalone-prod-5xx', 'sluice-test-abalone-prod-model-latency'] : [],
  };
}

function plan(overrides: Record<string, unknown> = {}): Json {
  return {
    mode: 'deploy',
    modelPackageArn: MODEL_PACKAGE_ARN,
    modelPackageGroupName: 'sluice-test-abalone',
    version: 3,
    repository: 'abalone',
    commit: '5d2b1c0ffee',
    staging: stagePlan('staging'),
    prod: stagePlan('prod'),
    gate: { mode: 'manual', timeoutSeconds: 604800 },
    smokeTest: {
      ContentType: 'text/csv',
      Accept: 'text/csv',
      // The body stays in S3: the plan carries its reference (shared/deploy/smoke-body.ts).
      Body: { uri: 's3://sluice-test-artifacts/deploys/sluice-test-abalone/v3/smoke-body', bytes: 43, sha256: '5f0d8e4b1c9a7f3e2d6b8a0c4e1f9d7b3a5c2e8f0d6b4a1c9e7f3d5b2a8c0e6f' },
      ExpectedLines: 1,
      NumericResponse: true,
      MaxLatencyMs: 2000,
    },
    ...overrides,
  } as Json;
}

const REQUEST = { modelPackageArn: MODEL_PACKAGE_ARN, mode: 'deploy', stages: ['staging', 'prod'], reason: 'approved' };

function happyHandlers(deployPlan: Json = plan()): Record<TaskStateName, LocalHandler> {
  return {
    Prepare: () => ({ Payload: deployPlan }),
    StagingLock: () => ({ granted: true }),
    StagingModel: () => ({ Payload: { modelName: 'sluice-test-abalone-v3', created: true } }),
    StagingEndpointConfig: () => ({ Payload: { endpointConfigName: 'sluice-test-abalone-staging-v3', created: true } }),
    StagingDeploy: () => ({ endpointName: 'sluice-test-abalone-staging', status: 'InService' }),
    StagingSmokeTest: () => ({ Payload: { latencyMs: 12, lines: 1 } }),
    StagingFinish: () => ({ Payload: { released: true } }),
    StagingDeployed: () => PUT_EVENTS_RESULT,
    StagingFailed: () => ({ Payload: { released: true } }),
    WaitForPromotion: () => ({ approvedBy: 'sluice promote' }),
    ProdLock: () => ({ granted: true }),
    ProdModel: () => ({ Payload: { modelName: 'sluice-test-abalone-v3', created: false } }),
    ProdEndpointConfig: () => ({ Payload: { endpointConfigName: 'sluice-test-abalone-prod-v3', created: true } }),
    ProdAlarms: () => ({ Payload: { alarmNames: stagePlan('prod').alarmNames } }),
    ProdDeploy: () => ({ endpointName: 'sluice-test-abalone-prod', status: 'InService' }),
    ProdSmokeTest: () => ({ Payload: { latencyMs: 15, lines: 1 } }),
    ProdFinish: () => ({ Payload: { released: true } }),
    ProdDeployed: () => PUT_EVENTS_RESULT,
    ProdFailed: () => ({ Payload: { released: true } }),
    PublishFailed: () => PUT_EVENTS_RESULT,
  };
}

type DeployRun = PathRun<TaskStateName>;

/** Runs one deploy to its end: the happy path for `deployPlan`, with `handlers` replacing some tasks. */
async function runDeploy(handlers: Partial<Record<TaskStateName, LocalHandler>> = {}, request: Json = REQUEST as Json, deployPlan: Json = plan()): Promise<DeployRun> {
  return runPath(stateMachine, request, { ...happyHandlers(deployPlan), ...handlers }, {
    Execution: { Id: EXECUTION_ARN, Name: 'sluice-test-abalone-v3-1a2b3c4d', Input: request },
    Task: { Token: TASK_TOKEN },
  });
}

const statesCalled = (run: DeployRun) => run.calls.map((call) => call.state);
const inputOf = (run: DeployRun, state: TaskStateName) => run.calls.find((call) => call.state === state)?.input as Record<string, unknown> | undefined;

function published(run: DeployRun): { detailType: unknown; bus: unknown; detail: Record<string, unknown> }[] {
  return run.calls.flatMap(({ input }) => {
    const entries = (input as { Entries?: { DetailType: unknown; EventBusName: unknown; Detail: Record<string, unknown> }[] } | null)?.Entries;
    return Array.isArray(entries) ? entries.map((entry) => ({ detailType: entry.DetailType, bus: entry.EventBusName, detail: entry.Detail })) : [];
  });
}

describe('model-deploy state machine', () => {
  it('deploys an approved version to staging, waits for the promotion, then deploys prod', async () => {
    const run = await runDeploy();

    expect(run.outcome.status).toBe('SUCCEEDED');
    expect(statesCalled(run)).toEqual([
      'Prepare',
      'StagingLock',
      'StagingModel',
      'StagingEndpointConfig',
      'StagingDeploy',
      'StagingSmokeTest',
      'StagingFinish',
      'StagingDeployed',
      'WaitForPromotion',
      'ProdLock',
      'ProdModel',
      'ProdEndpointConfig',
      'ProdAlarms',
      'ProdDeploy',
      'ProdSmokeTest',
      'ProdFinish',
      'ProdDeployed',
    ]);
    expect(published(run)).toEqual([
      { detailType: 'Model Deployed', bus: TEST_EVENT_BUS, detail: { stage: 'staging', endpointName: 'sluice-test-abalone-staging', modelPackageArn: MODEL_PACKAGE_ARN, version: 3, repository: 'abalone', commit: '5d2b1c0ffee', executionArn: EXECUTION_ARN } },
      { detailType: 'Model Deployed', bus: TEST_EVENT_BUS, detail: { stage: 'prod', endpointName: 'sluice-test-abalone-prod', modelPackageArn: MODEL_PACKAGE_ARN, version: 3, repository: 'abalone', commit: '5d2b1c0ffee', executionArn: EXECUTION_ARN } },
    ]);
  });

  it('passes the execution, the plan and each stage to the stage tasks, and a task token to the waits', async () => {
    const run = await runDeploy();

    expect(inputOf(run, 'Prepare')).toEqual({ FunctionName: expect.stringContaining('PrepareDeployLambdaFunction'), Payload: { executionArn: EXECUTION_ARN, request: REQUEST } });
    expect(inputOf(run, 'StagingLock')).toMatchObject({ Payload: { action: 'acquire', taskToken: TASK_TOKEN, executionArn: EXECUTION_ARN, endpointName: 'sluice-test-abalone-staging', version: 3 } });
    expect(inputOf(run, 'ProdDeploy')).toMatchObject({ Payload: { taskToken: TASK_TOKEN, executionArn: EXECUTION_ARN, plan: plan(), stage: stagePlan('prod') } });
    expect(inputOf(run, 'WaitForPromotion')).toMatchObject({ Payload: { taskToken: TASK_TOKEN, executionArn: EXECUTION_ARN, plan: plan() } });
  });

  it('goes straight on to prod when the stage promotes automatically', async () => {
    const run = await runDeploy({}, REQUEST as Json, plan({ gate: { mode: 'auto', timeoutSeconds: 3600 } }));

    expect(run.outcome.status).toBe('SUCCEEDED');
    expect(statesCalled(run)).not.toContain('WaitForPromotion');
    expect(statesCalled(run)).toContain('ProdDeploy');
  });

  it('rolls prod back without staging and without the gate', async () => {
    const request = { ...REQUEST, mode: 'rollback', stages: ['prod'], reason: 'rollback: v4 rejected' };
    const { staging: _staging, ...rest } = plan({ mode: 'rollback' }) as Record<string, unknown>;

    const run = await runDeploy({}, request as Json, rest as Json);

    expect(run.outcome.status).toBe('SUCCEEDED');
    expect(statesCalled(run)).toEqual(['Prepare', 'ProdLock', 'ProdModel', 'ProdEndpointConfig', 'ProdAlarms', 'ProdDeploy', 'ProdSmokeTest', 'ProdFinish', 'ProdDeployed']);
  });

  it('ends after staging when the plan has no prod stage', async () => {
    const { prod: _prod, ...rest } = plan({ mode: 'rollback' }) as Record<string, unknown>;

    const run = await runDeploy({}, { ...REQUEST, mode: 'rollback', stages: ['staging'] } as Json, rest as Json);

    expect(run.outcome.status).toBe('SUCCEEDED');
    expect(statesCalled(run).at(-1)).toBe('StagingDeployed');
  });

  it('releases the staging endpoint and fails with SmokeTestFailed when the smoke test fails, leaving prod untouched', async () => {
    const run = await runDeploy({ StagingSmokeTest: throwing(namedError('SmokeTestFailed', 'line 2 is not a number: "abc"')) });

    expect(run.outcome).toEqual({ status: 'FAILED', error: 'SmokeTestFailed', cause: 'line 2 is not a number: "abc"' });
    expect(inputOf(run, 'StagingFailed')).toMatchObject({ Payload: { action: 'release', executionArn: EXECUTION_ARN, endpointName: 'sluice-test-abalone-staging' } });
    expect(statesCalled(run).filter((state) => state.startsWith('Prod'))).toEqual([]);
    expect(published(run)).toEqual([
      { detailType: 'Model Deploy Failed', bus: TEST_EVENT_BUS, detail: { modelPackageArn: MODEL_PACKAGE_ARN, executionArn: EXECUTION_ARN, step: 'Staging', error: 'SmokeTestFailed', cause: 'line 2 is not a number: "abc"' } },
    ]);
  });

  it('fails with DeployRolledBack and releases prod when SageMaker rolls the prod update back', async () => {
    const run = await runDeploy({ ProdDeploy: throwing(namedError('DeployRolledBack', 'Alarm sluice-test-abalone-prod-5xx fired during the canary bake')) });

    expect(run.outcome).toMatchObject({ status: 'FAILED', error: 'DeployRolledBack' });
    expect(statesCalled(run)).toContain('ProdFailed');
    expect(statesCalled(run)).not.toContain('ProdSmokeTest');
    expect(published(run).map((event) => [event.detailType, event.detail.step])).toEqual([
      ['Model Deployed', undefined],
      ['Model Deploy Failed', 'Prod'],
    ]);
  });

  it('fails with EndpointDeployFailed when the staging endpoint fails, without a Model Deployed', async () => {
    const run = await runDeploy({ StagingDeploy: throwing(namedError('EndpointDeployFailed', 'The primary container for production variant AllTraffic did not pass the ping health check.')) });

    expect(run.outcome).toMatchObject({ status: 'FAILED', error: 'EndpointDeployFailed' });
    expect(published(run).map((event) => event.detailType)).toEqual(['Model Deploy Failed']);
  });

  it('ends quietly, without releasing or reporting a failure, when a newer version supersedes the queued run', async () => {
    const run = await runDeploy({ StagingLock: throwing(namedError('DeploySuperseded', 'version 4 is queued for sluice-test-abalone-staging')) });

    expect(run.outcome.status).toBe('SUCCEEDED');
    expect(statesCalled(run)).toEqual(['Prepare', 'StagingLock']);
    expect(published(run)).toEqual([]);
  });

  it('fails at the prod gate on timeout, after staging was deployed and without touching prod', async () => {
    const run = await runDeploy({ WaitForPromotion: throwing(namedError('States.Timeout', 'Task timed out')) });

    expect(run.outcome).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    expect(statesCalled(run).filter((state) => state.startsWith('Prod'))).toEqual([]);
    expect(published(run).at(-1)?.detail).toMatchObject({ step: 'ProdGate', error: 'States.Timeout' });
  });

  it('reports a failed Prepare with the requested version', async () => {
    const run = await runDeploy({ Prepare: throwing(namedError('InvalidConfig', 'mlops.yaml: Deploy: required')) });

    expect(run.outcome).toEqual({ status: 'FAILED', error: 'InvalidConfig', cause: 'mlops.yaml: Deploy: required' });
    expect(published(run)).toEqual([
      { detailType: 'Model Deploy Failed', bus: TEST_EVENT_BUS, detail: { modelPackageArn: MODEL_PACKAGE_ARN, executionArn: EXECUTION_ARN, step: 'Prepare', error: 'InvalidConfig', cause: 'mlops.yaml: Deploy: required' } },
    ]);
  });

  it('retries a throttled Lambda invoke and goes on', async () => {
    let calls = 0;
    const run = await runDeploy({
      ProdModel: () => {
        calls += 1;
        if (calls === 1) throw namedError('Lambda.TooManyRequestsException', 'Rate exceeded');
        return { Payload: { modelName: 'sluice-test-abalone-v3', created: false } };
      },
    });

    expect(run.outcome.status).toBe('SUCCEEDED');
    expect(calls).toBe(2);
  });
});
