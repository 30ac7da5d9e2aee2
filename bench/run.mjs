#!/usr/bin/env node
/**
 * npm run bench (via bench/local.ts), or standalone: `node bench/run.mjs` — prints one JSON object.
 *
 * Per function in serverless.yml (read at run time), built exactly as serverless-esbuild builds it
 * (custom.esbuild minus the plugin's own keys, `exclude` made external, the credential-provider
 * alias; linked source map) and run with the environment Lambda would give it, resolved from
 * serverless.yml (bench/lambda-env.mjs; NODE_OPTIONS=--enable-source-maps included):
 *  - `deployed.bundleBytes`: the .js file (its .map is reported apart, as `sourceMapBytes`);
 *  - `deployed.clientFloor`: a bundle holding exactly the AWS SDK clients the function's bundle
 *    holds (read from its esbuild metafile), created at module scope with one command each
 *    (bench/client-floor.mjs), built and run the same way;
 *  - cold init: wall time of fresh `node` processes requiring the bundle. The function, its floor
 *    and a bare `node -e 0` are spawned in turn, round by round, BENCH_RUNS (default 15) rounds, so
 *    all three see the same machine load; medians are compared. `initVsClientFloor` = function
 *    median / floor median. The bare member costs ~40 ms a round and keeps `initVsBare` (the old
 *    budget, now information) comparable with earlier runs. `initCpuMs` / `cpuVsClientFloor`, also
 *    information: the same processes' own CPU time, which other work on the machine moves less.
 * Budgets (the restated Lambda budgets), judged per function on `deployed`:
 * `initVsClientFloor` ≤ 1.3 and `bundleBytes` ≤ floor `bundleBytes` + 200 KB. `ok` is every
 * function within both; the process exits 1 otherwise (the JSON is printed either way).
 * `runtime-sdk`, information only: the same function with `@aws-sdk/*` left to the Lambda runtime.
 * `floors.nodeHttps`: Node's TLS stack (the SDK's HTTP handler loads it at import), against bare;
 * `floors.clientSets`: each distinct client floor, its commands and the functions that share it.
 * BENCH_FUNCTIONS=name,name measures only those functions.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';
import { parse } from 'yaml';

import { clientsInMetafile, floorKey, floorSource } from './client-floor.mjs';
import { lambdaEnvironment } from './lambda-env.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, '.bench');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const ONLY = process.env.BENCH_FUNCTIONS ? new Set(process.env.BENCH_FUNCTIONS.split(',')) : undefined;
const OVER_FLOOR_BYTES = 200 * 1024;
const INIT_VS_FLOOR = 1.3;

/** custom.esbuild keys that serverless-esbuild 1.57 keeps to itself (dist/bundle.js) rather than pass to esbuild. */
const PLUGIN_KEYS = ['concurrency', 'zipConcurrency', 'exclude', 'nativeZip', 'packager', 'packagePath', 'watch', 'keepOutputDirectory', 'packagerOptions', 'installExtraArgs', 'outputFileExtension', 'outputBuildFolder', 'outputWorkFolder', 'nodeExternals', 'skipBuild', 'skipRebuild', 'skipBuildExcludeFns', 'stripEntryResolveExtensions', 'disposeContext'];

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const round1 = (ms) => Math.round(ms * 10) / 10;
const round2 = (ratio) => Math.round(ratio * 100) / 100;

/** Appended to every timed script: the child reports its own CPU time (user + system, µs) on stdout. */
const CPU_PROBE = ';const u=process.cpuUsage();process.stdout.write(String(u.user+u.system))';

/** Wall-clock and CPU milliseconds of one fresh node process running `script`. */
function spawnMs(script, env) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['-e', script + CPU_PROBE], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`node -e ${script} failed: ${result.stderr}`);
  return { wall, cpu: Number(result.stdout) / 1000 };
}

/**
 * Cold starts of each member (`{ script, env }`), RUNS rounds, every member once per round in the
 * order given, so all see the same machine load (a baseline taken minutes apart from what it is
 * compared with moved ratios by ±30 % before). Returns each member's medians in ms: `median` (wall,
 * what budgets judge) and `cpu` (the process's own CPU time: information, less moved than wall
 * time when other work competes for the cores), and `min` (wall).
 */
function timeAlternately(members) {
  const samples = members.map(() => []);
  for (let i = 0; i < RUNS; i += 1) members.forEach(({ script, env }, m) => samples[m].push(spawnMs(script, env)));
  return samples.map((s) => ({ median: median(s.map((x) => x.wall)), min: Math.min(...s.map((x) => x.wall)), cpu: median(s.map((x) => x.cpu)) }));
}

const requireScript = (file) => `require(${JSON.stringify(file)})`;
const BARE = { script: '0', env: { PATH: process.env.PATH } };

const service = parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8'));
const custom = service.custom.esbuild;
const exclude = [custom.exclude ?? []].flat();
const buildOptions = Object.fromEntries(Object.entries(custom).filter(([key]) => !PLUGIN_KEYS.includes(key)));
buildOptions.alias = Object.fromEntries(Object.entries(custom.alias ?? {}).map(([from, to]) => [from, to.startsWith('.') ? join(ROOT, to) : to]));
const deployedExternal = [...[custom.external ?? []].flat(), ...(exclude.includes('*') ? [] : exclude)];

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

/** Builds `entry` (absolute) to .bench/<name>.js as deployed, `external` aside. */
async function build(entry, name, external) {
  const outfile = join(OUT, `${name}.js`);
  const result = await esbuild.build({ ...buildOptions, entryPoints: [entry], outfile, absWorkingDir: ROOT, external, metafile: true, logLevel: 'silent' });
  const mapBytes = buildOptions.sourcemap && buildOptions.sourcemap !== 'inline' ? statSync(`${outfile}.map`).size : undefined;
  return { outfile, bundleBytes: statSync(outfile).size, sourceMapBytes: mapBytes, metafile: result.metafile };
}

const floorBuilds = new Map();
/** The client floor for `clients`, built once per distinct set; checks it holds exactly that set. */
async function clientFloor(clients) {
  const key = floorKey(clients);
  if (!floorBuilds.has(key)) {
    const { source, commands } = floorSource(clients);
    const entry = join(OUT, `floor_${key}.ts`);
    writeFileSync(entry, source);
    const floor = await build(entry, `floor_${key}`, deployedExternal);
    const held = clientsInMetafile(floor.metafile);
    if (held.join() !== clients.join()) throw new Error(`floor ${key} holds ${held.join(', ')}, not ${clients.join(', ')}`);
    floorBuilds.set(key, { ...floor, clients, commands, functions: [] });
  }
  return floorBuilds.get(key);
}

/** One function: both profiles built, the deployed one timed against its client floor and bare node. */
async function measureFunction(name, fn) {
  const entry = `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.ts`;
  const env = { PATH: process.env.PATH, ...(await lambdaEnvironment(service, ROOT, name)) };
  const deployed = await build(join(ROOT, entry), `${name}-deployed`, deployedExternal);
  const clients = clientsInMetafile(deployed.metafile);
  const floor = await clientFloor(clients);
  floor.functions.push(name);
  const [own, floorInit, bare] = timeAlternately([{ script: requireScript(deployed.outfile), env }, { script: requireScript(floor.outfile), env }, BARE]);
  const initVsClientFloor = round2(own.median / floorInit.median);
  const sizeWithinBudget = deployed.bundleBytes <= floor.bundleBytes + OVER_FLOOR_BYTES;
  const initWithinBudget = initVsClientFloor <= INIT_VS_FLOOR;

  const runtimeSdk = await build(join(ROOT, entry), `${name}-runtime-sdk`, ['@aws-sdk/*']);
  const [runtimeOwn, runtimeBare] = timeAlternately([{ script: requireScript(runtimeSdk.outfile), env }, BARE]);
  return {
    name,
    entry,
    deployed: {
      bundleBytes: deployed.bundleBytes,
      sourceMapBytes: deployed.sourceMapBytes,
      initMedianMs: round1(own.median),
      initMinMs: round1(own.min),
      initCpuMs: round1(own.cpu),
      clientFloor: { clients, commands: floor.commands, bundleBytes: floor.bundleBytes, initMs: round1(floorInit.median), initMinMs: round1(floorInit.min), initCpuMs: round1(floorInit.cpu) },
      initVsClientFloor,
      cpuVsClientFloor: round2(own.cpu / floorInit.cpu),
      bytesOverClientFloor: deployed.bundleBytes - floor.bundleBytes,
      budgets: { bundleBytes: floor.bundleBytes + OVER_FLOOR_BYTES, initVsClientFloor: INIT_VS_FLOOR },
      sizeWithinBudget,
      initWithinBudget,
      withinBudget: sizeWithinBudget && initWithinBudget,
      bareMedianMs: round1(bare.median),
      initVsBare: round2(own.median / bare.median),
    },
    'runtime-sdk': {
      bundleBytes: runtimeSdk.bundleBytes,
      initMedianMs: round1(runtimeOwn.median),
      initMinMs: round1(runtimeOwn.min),
      bareMedianMs: round1(runtimeBare.median),
      initVsBare: round2(runtimeOwn.median / runtimeBare.median),
    },
    withinBudget: sizeWithinBudget && initWithinBudget,
  };
}

const [https, httpsBare] = timeAlternately([{ script: "require('node:https')", env: { PATH: process.env.PATH } }, BARE]);
const functions = [];
for (const [name, fn] of Object.entries(service.functions ?? {})) {
  if (ONLY && !ONLY.has(name)) continue;
  try {
    functions.push(await measureFunction(name, fn));
  } catch (error) {
    const message = String(error instanceof Error ? error.message : error);
    console.error(`bench: ${name}: ${message}`);
    functions.push({ name, error: message, withinBudget: false });
  }
}

const report = {
  benchmark: 'function-bundles',
  node: process.version,
  runsPerMeasurement: RUNS,
  deployedExternal,
  bareNodeMedianMs: round1(median(functions.filter((f) => f.deployed).map((f) => f.deployed.bareMedianMs))),
  budgets: {
    bytesOverClientFloor: OVER_FLOOR_BYTES,
    initVsClientFloor: INIT_VS_FLOOR,
    rule: `deployed.bundleBytes <= clientFloor.bundleBytes + ${OVER_FLOOR_BYTES} and initVsClientFloor <= ${INIT_VS_FLOOR} (median init / median init of the client floor, alternated run by run)`,
  },
  floors: {
    nodeHttps: { initMedianMs: round1(https.median), bareMedianMs: round1(httpsBare.median), initVsBare: round2(https.median / httpsBare.median) },
    clientSets: [...floorBuilds.values()].map(({ clients, commands, bundleBytes, functions: users }) => ({ clients, commands, bundleBytes, functions: users })),
  },
  functions,
  exceeded: functions
    .filter((f) => !f.withinBudget)
    .map((f) => ({ name: f.name, ...(f.error ? { error: f.error } : { size: !f.deployed.sizeWithinBudget, init: !f.deployed.initWithinBudget }) })),
  ok: functions.every((f) => f.withinBudget),
};
console.log(JSON.stringify(report, null, 2));
rmSync(OUT, { recursive: true, force: true });
process.exit(report.ok ? 0 : 1);
