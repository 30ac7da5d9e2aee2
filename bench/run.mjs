#!/usr/bin/env node
/**
 * npm run bench — prints one JSON object:
 *  - per function: bundle size (minified, tree-shaken, built with serverless.yml's custom.esbuild
 *    options) and cold init time (median wall time of fresh `node` processes that require the
 *    bundle, environment set as in Lambda) next to a bare `node -e 0` timed alternately with it
 *    (`initVsBare`), with the budgets from issue #2 (≤ 350 KB, initVsBare ≤ 2);
 * Each function is measured twice: as deployed (serverless.yml's esbuild options) and with the
 * AWS SDK left to the Lambda runtime (`@aws-sdk/*` external), to show that trade-off in numbers.
 * Budgets are judged on the deployed profile. Exits 1 when a budget is exceeded.
 * `floors` measures, the same way, what no function that calls AWS can go below: Node's TLS stack
 * (`require('node:https')`, which the SDK's HTTP handler loads at import), one SDK v3 client with
 * one command (bench/floors/one-client.ts), and the four clients on-source-push's event path needs
 * (bench/floors/source-push-clients.ts), with no Sluice code, zod, logger or middy.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';
import { parse } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, '.bench');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const SIZE_BUDGET_BYTES = 350 * 1024;
const INIT_BUDGET_FACTOR = 2;

/** Valid values for every variable shared/config.ts knows, so module-scope loadConfig succeeds. */
const LAMBDA_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  STAGE: 'bench',
  ARTIFACTS_BUCKET: 'bench-artifacts',
  MODEL_BUILD_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:sluice-bench-model-build',
  JOB_TOKEN_TABLE: 'sluice-bench-tokens',
  SAGEMAKER_ROLE_ARN: 'arn:aws:iam::123456789012:role/bench',
  ALLOWED_INSTANCE_TYPES: 'ml.m5.xlarge',
  MAX_RUNTIME_SECONDS: '3600',
  MAX_SOURCE_BYTES: '52428800',
  TRIGGER_REPOSITORIES: '*',
  TRIGGER_BRANCHES: 'main',
  MODEL_PACKAGE_GROUP_PREFIX: 'sluice-bench',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench',
  RECONCILE_MIN_AGE_SECONDS: '120',
  DEPLOYMENT_TABLE: 'sluice-bench-deployments',
  MODEL_DEPLOY_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:sluice-bench-model-deploy',
  EVENT_BUS_NAME: 'sluice-bench',
  ALLOWED_ENDPOINT_INSTANCE_TYPES: 'ml.m5.large',
  PROD_GATE: 'manual',
  PROD_GATE_TIMEOUT_SECONDS: '604800',
  BAKE_SECONDS: '300',
  MODEL_LATENCY_THRESHOLD_MS: '1000',
  KEEP_VERSIONS: '3',
};

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const round1 = (ms) => Math.round(ms * 10) / 10;

/** Wall-clock milliseconds of one fresh node process running `args`. */
function spawnMs(args, env) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${result.stderr}`);
  return elapsed;
}

/**
 * Cold start of `args` against a bare `node -e 0`, RUNS of each, alternated so that both see the
 * same machine load (a drift of the load between a bare baseline taken once and the functions
 * measured minutes later moved ratios by ±30 % before). The budget is judged on `vsBare`.
 */
function timeNode(args, env) {
  const samples = [];
  const bare = [];
  for (let i = 0; i < RUNS; i += 1) {
    bare.push(spawnMs(['-e', '0'], { PATH: process.env.PATH }));
    samples.push(spawnMs(args, env));
  }
  return { median: round1(median(samples)), min: round1(Math.min(...samples)), bareMedian: round1(median(bare)), vsBare: Math.round((median(samples) / median(bare)) * 100) / 100 };
}

const service = parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8'));
const options = service.custom.esbuild;
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

const PROFILES = [
  { name: 'deployed', external: options.exclude ?? [] },
  { name: 'runtime-sdk', external: ['@aws-sdk/*'] },
];

/** Builds one function's bundle and measures its size and cold init. */
async function measure(entry, name, external) {
  const outfile = join(OUT, `${name}.js`);
  await esbuild.build({
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    minify: options.minify,
    target: options.target,
    platform: options.platform,
    format: options.format,
    mainFields: options.mainFields,
    legalComments: options.legalComments,
    alias: Object.fromEntries(Object.entries(options.alias ?? {}).map(([from, to]) => [from, to.startsWith('.') ? join(ROOT, to) : to])),
    absWorkingDir: ROOT,
    external,
    logLevel: 'error',
  });
  const init = timeNode(['-e', `require(${JSON.stringify(outfile)})`], { PATH: process.env.PATH, ...LAMBDA_ENV });
  return { bundleBytes: statSync(outfile).size, initMedianMs: init.median, initMinMs: init.min, bareMedianMs: init.bareMedian, initVsBare: init.vsBare };
}

const https = timeNode(['-e', "require('node:https')"], { PATH: process.env.PATH });
const floors = {
  nodeHttps: { initMedianMs: https.median, bareMedianMs: https.bareMedian, initVsBare: https.vsBare },
  oneClient: await measure('bench/floors/one-client.ts', 'floor-one-client', options.exclude ?? []),
  sourcePushClients: await measure('bench/floors/source-push-clients.ts', 'floor-source-push-clients', options.exclude ?? []),
};
const functions = [];
for (const [name, fn] of Object.entries(service.functions)) {
  const entry = `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.ts`;
  const profiles = {};
  for (const profile of PROFILES) profiles[profile.name] = await measure(entry, `${name}-${profile.name}`, profile.external);
  const deployed = profiles.deployed;
  functions.push({
    name,
    entry,
    ...profiles,
    sizeWithinBudget: deployed.bundleBytes <= SIZE_BUDGET_BYTES,
    initWithinBudget: deployed.initVsBare <= INIT_BUDGET_FACTOR,
  });
}

const report = {
  benchmark: 'function-bundles',
  node: process.version,
  runsPerMeasurement: RUNS,
  deployedExternal: options.exclude ?? [],
  bareNodeMedianMs: round1(median(functions.map((f) => f.deployed.bareMedianMs))),
  budgets: { bundleBytes: SIZE_BUDGET_BYTES, initVsBare: INIT_BUDGET_FACTOR, initRule: `initVsBare <= ${INIT_BUDGET_FACTOR}: median init / median bare node -e 0, alternated run by run` },
  floors,
  functions,
  ok: functions.every((f) => f.sizeWithinBudget && f.initWithinBudget),
};
console.log(JSON.stringify(report, null, 2));
rmSync(OUT, { recursive: true, force: true });
process.exit(report.ok ? 0 : 1);
