import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';

import type { EventBridgeEvent } from '../../local/eventbridge/service';
import { EXAMPLE_DIR, pushDirectory, seedExample } from '../../local/seed';
import { promote, setApproval } from '../../cli/status';
import { localTarget } from '../../cli/target';
import { processesMentioning, type RuntimeProcess, runtimeEvents, startRuntime } from '../helpers/runtime-process';

/**
 * The deploy half on the local runtime, driven as a user would: approve a registered version,
 * watch it reach staging, promote it to prod, ship a broken second version whose prod canary
 * rolls back by itself, and reject a live version to get the previous one back.
 */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const GROUP = 'sluice-local--abalone';
const STAGING = `${GROUP}-staging`;
const PROD = `${GROUP}-prod`;
const ROWS = 'M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\nF,0.53,0.42,0.135,0.677,0.2565,0.1415,0.21\n';
/**
 * serve.js that turns unhealthy after its second health check: a new endpoint goes InService on the
 * first 200 from /ping and passes the staging smoke test, but a prod canary, whose bake keeps
 * checking /ping, sees it fail. Deterministic, however slow the machine.
 */
const DECAYING_SERVE = readFileSync(join(EXAMPLE_DIR, 'serve.js'), 'utf8').replace(
  "if (route === 'GET /ping') return reply(200, '');",
  "if (route === 'GET /ping') {\n      pings += 1;\n      return pings > 2 ? reply(500, 'unhealthy\\n') : reply(200, '');\n    }",
).replace("function handler(model) {", "let pings = 0;\n\nfunction handler(model) {");

let dataDir: string;
let runtime: RuntimeProcess;
let sageMaker: SageMakerClient;
let sfn: SFNClient;
let invoker: SageMakerRuntimeClient;
let eventBridge: EventBridgeClient;

const events = () => runtimeEvents(dataDir);

async function waitForEvent(match: (event: EventBridgeEvent) => boolean, what: string, after = 0, timeoutMs = 180_000): Promise<EventBridgeEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = events().slice(after).find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${runtime.output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const isSluice = (type: string) => (event: EventBridgeEvent) => event.source === 'sluice' && event['detail-type'] === type;
const versionArn = (version: number) => `arn:aws:sagemaker:us-east-1:123456789012:model-package/${GROUP}/${version}`;

async function builtVersion(commit: string): Promise<string> {
  const outcome = await waitForEvent((e) => e.source === 'sluice' && ['Model Build Succeeded', 'Model Build Failed'].includes(e['detail-type']) && e.detail.commit === commit, `the build of ${commit}`);
  expect(outcome['detail-type']).toBe('Model Build Succeeded');
  return String(outcome.detail.modelPackageArn);
}

async function deployed(stage: string, modelPackageArn: string, after = 0): Promise<EventBridgeEvent> {
  return waitForEvent((e) => isSluice('Model Deployed')(e) && e.detail.stage === stage && e.detail.modelPackageArn === modelPackageArn, `${modelPackageArn} deployed to ${stage}`, after);
}

async function predictions(endpointName: string): Promise<number[]> {
  const output = await invoker.send(new InvokeEndpointCommand({ EndpointName: endpointName, ContentType: 'text/csv', Accept: 'text/csv', Body: Buffer.from(ROWS) }));
  return Buffer.from(output.Body!).toString('utf8').trim().split('\n').map(Number);
}

async function servedConfig(endpointName: string): Promise<string | undefined> {
  return (await sageMaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }))).EndpointConfigName;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-deploy-'));
  runtime = await startRuntime({ dataDir });
  const options = { endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS };
  sageMaker = new SageMakerClient(options);
  sfn = new SFNClient(options);
  invoker = new SageMakerRuntimeClient(options);
  eventBridge = new EventBridgeClient(options);
}, 300_000);

afterAll(async () => {
  for (const client of [sageMaker, sfn, invoker, eventBridge]) client?.destroy();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('the deploy loop on the local runtime', () => {
  let v1: string;
  let v2: string;

  it('deploys an approved version to staging, once even when its approval event arrives three times', async () => {
    const seeded = await seedExample(runtime.endpoint);
    v1 = await builtVersion(seeded.commit!);

    await setApproval(localTarget(runtime.endpoint), v1, 'Approved');
    const approval = await waitForEvent((e) => e['detail-type'] === 'SageMaker Model Package State Change' && e.detail.ModelApprovalStatus === 'Approved', 'the approval event');
    // At-least-once delivery: the same event twice more.
    for (let copy = 0; copy < 2; copy += 1) {
      await eventBridge.send(new PutEventsCommand({ Entries: [{ Source: approval.source, DetailType: approval['detail-type'], Detail: JSON.stringify(approval.detail), Resources: approval.resources }] }));
    }
    await deployed('staging', v1);

    const served = await predictions(STAGING);
    expect(served).toHaveLength(2);
    expect(served.every((value) => Number.isFinite(value) && value > 1 && value < 30)).toBe(true);
    const machine = ((await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []).find((m) => m.name?.includes('model-deploy'))!;
    const runs = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn }))).executions ?? [];
    expect(runs).toHaveLength(1);
  }, 300_000);

  it('waits at the prod gate until promoted, then serves from prod', async () => {
    expect(events().some((e) => isSluice('Model Deployed')(e) && e.detail.stage === 'prod')).toBe(false);

    await promote(localTarget(runtime.endpoint), v1);
    await deployed('prod', v1);

    expect(await predictions(PROD)).toHaveLength(2);
  }, 300_000);

  it('rolls prod back by itself when a broken second version fails its canary, and prod keeps serving the first', async () => {
    const prodConfigBefore = await servedConfig(PROD);
    const commit = await pushDirectory(runtime.endpoint, 'abalone', EXAMPLE_DIR, { message: 'serve.js goes unhealthy', changes: { 'serve.js': DECAYING_SERVE } });
    v2 = await builtVersion(commit);
    expect(v2).toBe(versionArn(2));

    await setApproval(localTarget(runtime.endpoint), v2, 'Approved');
    await deployed('staging', v2);
    await promote(localTarget(runtime.endpoint), v2);
    const failed = await waitForEvent((e) => isSluice('Model Deploy Failed')(e) && e.detail.modelPackageArn === v2, 'the failed prod deploy of v2');

    expect(failed.detail).toMatchObject({ step: 'Prod', error: 'DeployRolledBack' });
    expect(await servedConfig(PROD)).toBe(prodConfigBefore);
    expect(await predictions(PROD)).toHaveLength(2);
  }, 300_000);

  it('redeploys the previous approved version where a rejected version is live', async () => {
    const before = events().length;

    await setApproval(localTarget(runtime.endpoint), v2, 'Rejected');
    const rolledBack = await deployed('staging', v1, before);

    expect(rolledBack.detail.version).toBe(1);
    expect(await servedConfig(STAGING)).toContain('v1');
    expect(await predictions(STAGING)).toHaveLength(2);
  }, 300_000);

  it('stops cleanly, endpoint containers included', async () => {
    expect(await runtime.stop()).toBe(0);

    expect(processesMentioning(dataDir)).toEqual([]);
  }, 60_000);
});
