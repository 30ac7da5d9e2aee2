import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';

import { describeEvent } from '../cli/main';
import { LOCAL_REGION } from './context';
import type { EventBridgeEvent } from './eventbridge/service';
import { LOCAL_CREDENTIALS } from './context';
import { LocalRuntime } from './runtime';
import { EXAMPLE_DIR, seedExample } from './seed';
import { getStatus, promote, setApproval } from '../cli/status';
import { localTarget } from '../cli/target';

/**
 * `npm run demo`: the whole loop, unattended, on a fresh runtime in a temp directory — create the
 * repository and push examples/abalone with git, follow the build as its events arrive, approve the
 * registered version, follow model-deploy through staging (smoke test) to the prod gate, promote,
 * follow the blue/green prod deploy, then score prod on the held-out test split through
 * InvokeEndpoint. Everything goes through the runtime's public endpoint (the AWS APIs). The last
 * line is one JSON object with the figures; the exit code is 0 only when every stage succeeded.
 */

const BUILD_TIMEOUT_MS = 10 * 60_000;
const STAGING_TIMEOUT_MS = 10 * 60_000;
const PROD_TIMEOUT_MS = 10 * 60_000;
/** Predictions shown next to the truth before the MSE. */
const SHOWN = 5;
/** Rows per InvokeEndpoint request (well under the 6 MB payload limit either way). */
const BATCH_ROWS = 200;

/** A failed stage of the loop: `say`s `message` and ends the demo with exit 1 and these figures. */
class DemoFailure extends Error {
  constructor(
    message: string,
    readonly figures: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DemoFailure';
  }
}

function elapsed(since: number): number {
  return Math.round((performance.now() - since) / 100) / 10;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const isSluice = (event: EventBridgeEvent, detailType: string, modelPackageArn?: string) =>
  event.source === 'sluice' && event['detail-type'] === detailType && (modelPackageArn === undefined || event.detail.modelPackageArn === modelPackageArn);

/**
 * Waits for the first event `done` accepts; an event `failed` accepts first ends the demo naming
 * it, as does the timeout (`what` says what was awaited).
 */
async function waitForEvent(
  runtime: LocalRuntime,
  what: string,
  done: (event: EventBridgeEvent) => boolean,
  failed: (event: EventBridgeEvent) => boolean,
  timeoutMs: number,
): Promise<EventBridgeEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = runtime.events().find((event) => done(event) || failed(event));
    if (found && done(found)) return found;
    if (found) {
      const { error, cause, step } = found.detail as { error?: unknown; cause?: unknown; step?: unknown };
      throw new DemoFailure(`${what}: ${found['detail-type']}${step ? ` at ${String(step)}` : ''}: ${String(error)}: ${String(cause)}`, { error, cause, step });
    }
    if (Date.now() > deadline) throw new DemoFailure(`${what}: timed out after ${timeoutMs / 1000} s`, { error: 'Timeout' });
    await sleep(100);
  }
}

/** One data row of the raw CSV: the features as a serve-format record, and the label. */
interface TestRow {
  record: string;
  rings: number;
}

/** The example's own shuffle (examples/abalone/preprocess.js), so the demo scores exactly its split. */
const preprocess = createRequire(__filename)(join(EXAMPLE_DIR, 'preprocess.js')) as {
  seededRandom(seed: number): () => number;
  shuffle<T>(rows: T[], random: () => number): T[];
};

/**
 * The build's held-out test split, in the raw layout: data/abalone.csv's data rows shuffled by
 * preprocess.js's own shuffle (seed 42, its default) and the last 15 % taken
 * (rows.slice(floor(0.85 n))) — the rows the evaluation step scored, never seen in training. Each
 * record is the row without its last field (rings), as serve.js takes it. If preprocess's seed or
 * split changes, this stays a deterministic sample but is no longer exactly the held-out split.
 */
function heldOutTestRows(file = join(EXAMPLE_DIR, 'data', 'abalone.csv'), seed = 42): TestRow[] {
  const rows = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => line.split(',').map((field) => field.trim()))
    .filter((fields) => fields[0]?.toLowerCase() !== 'sex');
  preprocess.shuffle(rows, preprocess.seededRandom(seed));
  return rows.slice(Math.floor(0.85 * rows.length)).map((fields) => ({ record: fields.slice(0, -1).join(','), rings: Number(fields.at(-1)) }));
}

/** InvokeEndpoint with the rows as text/csv, in batches; one prediction per row, in order. */
async function invokeEndpoint(endpoint: string, endpointName: string, rows: TestRow[]): Promise<number[]> {
  const client = new SageMakerRuntimeClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const predictions: number[] = [];
  try {
    for (let start = 0; start < rows.length; start += BATCH_ROWS) {
      const batch = rows.slice(start, start + BATCH_ROWS);
      const response = await client.send(
        new InvokeEndpointCommand({ EndpointName: endpointName, ContentType: 'text/csv', Accept: 'text/csv', Body: `${batch.map((row) => row.record).join('\n')}\n` }),
      );
      const lines = new TextDecoder().decode(response.Body).trim().split(/\r?\n/);
      const values = lines.map(Number);
      if (values.length !== batch.length || values.some((value) => !Number.isFinite(value))) {
        throw new DemoFailure(`invoke ${endpointName}: expected ${batch.length} numbers, got ${lines.length} lines starting "${lines.slice(0, 3).join(' | ')}"`, { error: 'BadPredictions' });
      }
      predictions.push(...values);
    }
    return predictions;
  } finally {
    client.destroy();
  }
}

async function demo(): Promise<number> {
  const started = performance.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-demo-'));
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const runtime = await LocalRuntime.start({
    port: 0,
    dataDir,
    log: () => undefined,
    onEvent: (event) => {
      const line = describeEvent(event);
      if (line) say(`  +${elapsed(started).toFixed(1).padStart(5)} s  ${line}`);
    },
  });
  const bootSeconds = elapsed(started);
  const figures: Record<string, unknown> = { bootSeconds };
  try {
    say(`runtime ready at ${runtime.endpoint} (${bootSeconds} s, data in ${dataDir})`);

    // ---- build: push → Model Build Succeeded
    const pushed = performance.now();
    const seeded = await seedExample(runtime.endpoint);
    say(`pushed examples/abalone to ${seeded.cloneUrl} (commit ${seeded.commit?.slice(0, 7)})`);
    const built = await waitForEvent(
      runtime,
      'build',
      (event) => isSluice(event, 'Model Build Succeeded') && event.detail.commit === seeded.commit,
      (event) => isSluice(event, 'Model Build Failed') && event.detail.commit === seeded.commit,
      BUILD_TIMEOUT_MS,
    );
    figures.buildSeconds = elapsed(pushed);
    const arn = String(built.detail.modelPackageArn);
    figures.modelPackageArn = arn;
    const status = await getStatus(localTarget(runtime.endpoint));
    const version = status.modelVersions.find((v) => v.arn === arn);
    const run = status.runs.find((r) => r.status === 'SUCCEEDED' && r.stateMachine.startsWith('sluice-local-build-'));
    const reference = `${version?.group}/${version?.version}`;
    say(`registered ${reference} (${version?.approval}) in ${String(figures.buildSeconds)} s`);
    say(`  steps:   ${run?.steps.map((step) => step.name).join(' → ')}`);
    say(`  metrics: ${JSON.stringify(version?.metrics)}`);
    const mse = (version?.metrics as { regression_metrics?: { mse?: { value?: number } } } | undefined)?.regression_metrics?.mse?.value;
    figures.mse = mse;

    // ---- deploy: approve → staging (smoke test) → prod gate → promote → prod (blue/green)
    const approved = performance.now();
    await setApproval(localTarget(runtime.endpoint), arn, 'Approved', 'npm run demo');
    say(`approved ${reference}`);
    const staging = await waitForEvent(
      runtime,
      'staging deploy',
      (event) => isSluice(event, 'Model Deployed', arn) && event.detail.stage === 'staging',
      (event) => isSluice(event, 'Model Deploy Failed', arn),
      STAGING_TIMEOUT_MS,
    );
    say(`staging serves ${reference} (${String(staging.detail.endpointName)}, smoke test passed) after ${elapsed(approved)} s`);
    // Released at once if the run already waits at the gate, else as soon as it gets there.
    await promote(localTarget(runtime.endpoint), arn, 'npm run demo');
    say(`promoted ${reference} through the prod gate`);
    const prod = await waitForEvent(
      runtime,
      'prod deploy',
      (event) => isSluice(event, 'Model Deployed', arn) && event.detail.stage === 'prod',
      (event) => isSluice(event, 'Model Deploy Failed', arn),
      PROD_TIMEOUT_MS,
    );
    figures.deploySeconds = elapsed(approved);
    const endpointName = String(prod.detail.endpointName);
    say(`prod serves ${reference} (${endpointName}) ${String(figures.deploySeconds)} s after the approval`);
    for (const endpoint of (await getStatus(localTarget(runtime.endpoint))).endpoints) {
      say(`  endpoint  ${endpoint.name}  ${endpoint.status}  ${endpoint.modelVersion ?? '(version unknown)'}`);
    }

    // ---- predictions: the held-out test split through prod's InvokeEndpoint
    const rows = heldOutTestRows();
    const predictions = await invokeEndpoint(runtime.endpoint, endpointName, rows);
    const prodMse = predictions.reduce((sum, prediction, i) => sum + (prediction - rows[i]!.rings) ** 2, 0) / predictions.length;
    say(`invoked ${endpointName} with the ${rows.length} rows of the held-out test split (what the evaluation scored):`);
    for (const [i, row] of rows.slice(0, SHOWN).entries()) say(`  ${row.record.padEnd(48)} → ${predictions[i]!.toFixed(2).padStart(6)}  (rings ${row.rings})`);
    say(`  mse ${prodMse.toFixed(4)} over ${predictions.length} predictions (evaluation: ${mse === undefined ? 'n/a' : mse.toFixed(4)})`);

    say(
      JSON.stringify({
        ok: true,
        bootSeconds,
        buildSeconds: figures.buildSeconds,
        deploySeconds: figures.deploySeconds,
        totalSeconds: elapsed(started),
        modelPackageArn: arn,
        mse,
        prodMse,
        predictions: predictions.length,
      }),
    );
    return 0;
  } catch (error) {
    // Anything else (an API call refused, say) fails the demo the same way, with its stack on stderr.
    const failure = error instanceof DemoFailure ? error : new DemoFailure(`${(error as Error).name}: ${(error as Error).message}`, { error: (error as Error).name });
    if (failure !== error) process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    say(`demo failed: ${failure.message}`);
    say(JSON.stringify({ ok: false, ...figures, totalSeconds: elapsed(started), ...failure.figures, message: failure.message }));
    return 1;
  } finally {
    await runtime.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

demo().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
