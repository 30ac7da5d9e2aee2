import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { DescribeEndpointCommand, ListModelPackagesCommand, ModelApprovalStatus, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { type ExecutionListItem, ExecutionStatus, GetExecutionHistoryCommand, HistoryEventType, ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';

import { promote, setApproval } from '../../cli/status';
import { localTarget } from '../../cli/target';
import type { EventBridgeEvent } from '../../local/eventbridge/service';
import { freePort } from '../../local/http/free-port';
import { createRandom } from '../../local/sagemaker/tuning/random';
import { EXAMPLE_DIR, pushDirectory, seedExample } from '../../local/seed';
import { ROOT } from '../helpers/fixtures';
import { processesMentioning, type RuntimeProcess, runtimeEvents, startRuntime } from '../helpers/runtime-process';

/**
 * Chaos: the local runtime is killed with SIGKILL at random moments, several times, while it runs
 * 10 builds (one per pushed commit) and 3 deploys, and restarted each time on the same data dir and
 * port. In the end every commit has built exactly once (one SUCCEEDED execution, one model package),
 * the two promoted deploys reached prod, and the deploy that waited at the prod gate through a kill
 * completes after `sluice promote`, prod serving its version.
 *
 * The moments are drawn from a seeded generator: the seed is printed, and CHAOS_SEED=<seed>
 * replays a failing run's schedule (as far as timing on a loaded machine allows).
 */

const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const COMMITS = 10;
const MIN_KILLS = 3;
/** Random kills stop at this many, or earlier once a deploy waits at the gate; one more kill then hits the gate. */
const MAX_KILLS = 4;
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const GROUP = 'sluice-local--abalone';
const PROD = `${GROUP}-prod`;
const ROWS = 'M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\nF,0.53,0.42,0.135,0.677,0.2565,0.1415,0.21\n';
const execFileAsync = promisify(execFile);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let dataDir: string;
let port: number;
let runtime: RuntimeProcess;
let endpoint: string;
let sageMaker: SageMakerClient;
let sfn: SFNClient;
let invoker: SageMakerRuntimeClient;
/** Every runtime output so far, across restarts (for failure messages). */
let outputs = '';

/** `probe`'s value, or undefined while the runtime is down (or answers with an error). */
async function tolerant<T>(probe: () => Promise<T>): Promise<T | undefined> {
  try {
    return await probe();
  } catch {
    return undefined;
  }
}

/** Polls `probe` (errors count as not yet) until it returns a value; throws naming `what` after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 150_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await tolerant(async () => probe());
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`seed ${SEED}: timed out waiting for ${what}\n${(outputs + runtime.output()).slice(-6000)}`);
    await sleep(250);
  }
}

const events = (): EventBridgeEvent[] => runtimeEvents(dataDir);
const versionArn = (version: number) => `arn:aws:sagemaker:us-east-1:123456789012:model-package/${GROUP}/${version}`;
const deployedTo = (stage: string, version: number) => () =>
  events().find((e) => e.source === 'sluice' && e['detail-type'] === 'Model Deployed' && e.detail.stage === stage && e.detail.modelPackageArn === versionArn(version));

/** Executions of the state machines whose name starts with `prefix`. */
async function executionsOf(prefix: string): Promise<ExecutionListItem[]> {
  const machines = ((await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []).filter((machine) => machine.name?.startsWith(prefix));
  const all: ExecutionListItem[] = [];
  for (const machine of machines) all.push(...((await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn, maxResults: 1000 }))).executions ?? []));
  return all;
}

/**
 * Live processes whose environment points at the runtime (AWS_ENDPOINT_URL=<endpoint>): Lambda
 * workers, job and endpoint containers, also those inside a bwrap sandbox, of any runtime so far.
 */
function processesOfRuntime(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) continue;
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`AWS_ENDPOINT_URL=${endpoint}`)) found.push(`${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')}`);
    } catch {
      // exited while we looked, or not ours to read
    }
  }
  return found;
}

/** Whether the deploy of `version` waits at the prod gate: its WaitForPromotion task took its token and holds it. */
async function waitingAtGate(version: number): Promise<boolean> {
  const run = (await executionsOf('sluice-local-model-deploy')).find((execution) => execution.name?.startsWith(`${GROUP}-v${version}-`));
  if (!run) return false;
  const history = (await sfn.send(new GetExecutionHistoryCommand({ executionArn: run.executionArn, maxResults: 1000 }))).events ?? [];
  const entered = history.findLastIndex((event) => event.type === HistoryEventType.TaskStateEntered && event.stateEnteredEventDetails?.name === 'WaitForPromotion');
  return entered >= 0 && history.slice(entered).some((event) => event.type === HistoryEventType.TaskSubmitted) && !history.slice(entered).some((event) => event.type === HistoryEventType.TaskStateExited);
}

/** Approves (and, unless `gate`, promotes ahead of the gate) a version once it is registered; retried across restarts. */
async function approve(version: number, options: { promote: boolean }): Promise<void> {
  await until(`v${version} approved`, async () => (await setApproval(localTarget(endpoint), versionArn(version), ModelApprovalStatus.APPROVED)) && true);
  if (options.promote) await until(`v${version} promoted`, async () => (await promote(localTarget(endpoint), versionArn(version), 'chaos test')) && true);
}

beforeAll(async () => {
  process.stdout.write(`local-chaos: seed ${SEED} (CHAOS_SEED=${SEED} replays it)\n`);
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-chaos-'));
  port = await freePort();
  runtime = await startRuntime({ dataDir, port });
  endpoint = runtime.endpoint;
  const options = { endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 };
  sageMaker = new SageMakerClient(options);
  sfn = new SFNClient(options);
  invoker = new SageMakerRuntimeClient(options);
}, 300_000);

afterAll(async () => {
  for (const client of [sageMaker, sfn, invoker]) client?.destroy();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('the local runtime under SIGKILL', () => {
  it('builds every commit exactly once and completes every deploy, though killed at random moments', async () => {
    const stream = createRandom(SEED);
    const random = () => stream.next();
    const started = Date.now();
    const mark = (what: string) => process.stdout.write(`local-chaos: ${((Date.now() - started) / 1000).toFixed(1)} s ${what}\n`);
    const seededRepository = await seedExample(endpoint);
    const commits = [seededRepository.commit!];
    for (let n = 2; n <= COMMITS; n += 1) commits.push(await pushDirectory(endpoint, 'abalone', EXAMPLE_DIR, { message: `chaos commit ${n}` }));
    mark(`${COMMITS} commits pushed`);

    // The chaos: SIGKILL after a random 2-7 s of service, restart on the same port and data dir,
    // at least MIN_KILLS times, then once more while a deploy waits at the prod gate.
    let gateReached = false;
    let killedAtGate = false;
    let kills = 0;
    const kill = async (why: string) => {
      await runtime.crash();
      outputs += runtime.output();
      kills += 1;
      mark(`SIGKILL #${kills} ${why}`);
      runtime = await startRuntime({ dataDir, port });
      mark('restarted');
    };
    const chaos = (async () => {
      while (kills < MIN_KILLS || (kills < MAX_KILLS && !gateReached)) {
        await sleep(2000 + random() * 5000);
        await kill('(at random)');
      }
      await until('a deploy waiting at the prod gate', async () => (await waitingAtGate(3)) || undefined);
      await sleep(random() * 2000);
      await kill('(a deploy waits at the prod gate)');
      killedAtGate = true;
    })();

    // Three deploys, one after the other's staging so none supersedes another: v1 and v2 promoted
    // ahead of the gate (they go on to prod), v3 left waiting at the gate.
    await approve(1, { promote: true });
    await until('v1 in staging', deployedTo('staging', 1));
    mark('v1 in staging');
    await approve(2, { promote: true });
    await until('v2 in staging', deployedTo('staging', 2));
    mark('v2 in staging');
    await approve(3, { promote: false });
    await until('v3 in staging', deployedTo('staging', 3));
    mark('v3 in staging');
    gateReached = true;
    await chaos;
    expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(killedAtGate).toBe(true);

    const builds = await until('every build to succeed', async () => {
      const runs = await executionsOf('sluice-local-build-abalone-');
      return commits.every((commit) => runs.some((run) => run.name?.includes(commit) && run.status === ExecutionStatus.SUCCEEDED)) ? runs : undefined;
    });
    mark('every build succeeded');
    await until('v1 and v2 in prod', () => (deployedTo('prod', 1)() && deployedTo('prod', 2)()) || undefined);
    mark('v1 and v2 in prod');
    expect(deployedTo('prod', 3)()).toBeUndefined();

    const { stdout } = await execFileAsync(join(ROOT, 'bin', 'sluice'), ['promote', `${GROUP}/3`, '--endpoint', endpoint], { cwd: ROOT });
    expect(stdout).toContain(versionArn(3));
    await until('v3 in prod', deployedTo('prod', 3));
    mark('v3 in prod');

    // Every commit built exactly once: one execution each, SUCCEEDED, and one model package each.
    for (const commit of commits) expect(builds.filter((run) => run.name?.includes(commit)).map((run) => run.status)).toEqual([ExecutionStatus.SUCCEEDED]);
    const packages = (await sageMaker.send(new ListModelPackagesCommand({ ModelPackageGroupName: GROUP, MaxResults: 100 }))).ModelPackageSummaryList ?? [];
    expect(packages).toHaveLength(COMMITS);
    // Their descriptions name the commit built (`abalone@<12 hex> (main)…`).
    expect(packages.map((summary) => /@([0-9a-f]{12})/.exec(summary.ModelPackageDescription ?? '')?.[1]).sort()).toEqual(commits.map((commit) => commit.slice(0, 12)).sort());
    // The three deploys: one execution each, all SUCCEEDED; prod serves v3.
    const deploys = await executionsOf('sluice-local-model-deploy');
    expect(deploys.map((run) => run.status)).toEqual([ExecutionStatus.SUCCEEDED, ExecutionStatus.SUCCEEDED, ExecutionStatus.SUCCEEDED]);
    expect((await sageMaker.send(new DescribeEndpointCommand({ EndpointName: PROD }))).EndpointConfigName).toContain('v3');
    const output = await invoker.send(new InvokeEndpointCommand({ EndpointName: PROD, ContentType: 'text/csv', Accept: 'text/csv', Body: Buffer.from(ROWS) }));
    expect(Buffer.from(output.Body!).toString('utf8').trim().split('\n')).toHaveLength(2);
  }, 600_000);

  it('leaves no process behind', async () => {
    expect(await runtime.stop()).toBe(0);

    expect(processesMentioning(dataDir)).toEqual([]);
    expect(processesOfRuntime()).toEqual([]);
  }, 60_000);
});
