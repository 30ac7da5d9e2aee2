import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describeEvent } from './cli';
import type { EventBridgeEvent } from './eventbridge/service';
import { LocalRuntime } from './runtime';
import { seedExample } from './seed';
import { getStatus } from './status';

/**
 * `npm run demo`: the loop, unattended, on a fresh runtime in a temp directory — create the
 * repository, push examples/abalone with git, follow the build as its events arrive, and print
 * the registered version with its metrics. The last line is one JSON object with the figures.
 */

const BUILD_TIMEOUT_MS = 10 * 60_000;

function elapsed(since: number): number {
  return Math.round((performance.now() - since) / 100) / 10;
}

async function waitForEvent(runtime: LocalRuntime, match: (event: EventBridgeEvent) => boolean, timeoutMs: number): Promise<EventBridgeEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = runtime.events().find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for the build to finish`);
    await new Promise((resolve) => setTimeout(resolve, 100));
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
  try {
    say(`runtime ready at ${runtime.endpoint} (${bootSeconds} s, data in ${dataDir})`);
    const pushed = performance.now();
    const seeded = await seedExample(runtime.endpoint);
    say(`pushed examples/abalone to ${seeded.cloneUrl} (commit ${seeded.commit?.slice(0, 7)})`);
    const outcome = await waitForEvent(
      runtime,
      (event) => event.source === 'sluice' && ['Model Build Succeeded', 'Model Build Failed'].includes(event['detail-type']) && event.detail.commit === seeded.commit,
      BUILD_TIMEOUT_MS,
    );
    const buildSeconds = elapsed(pushed);
    if (outcome['detail-type'] !== 'Model Build Succeeded') {
      say(`build failed: ${String(outcome.detail.error)}: ${String(outcome.detail.cause)}`);
      say(JSON.stringify({ ok: false, buildSeconds, error: outcome.detail.error, cause: outcome.detail.cause }));
      return 1;
    }
    const status = await getStatus(runtime.endpoint);
    const version = status.modelVersions.find((v) => v.arn === outcome.detail.modelPackageArn);
    const run = status.runs.find((r) => r.status === 'SUCCEEDED');
    say(`registered ${version?.group}/${version?.version} (${version?.approval})`);
    say(`  steps:   ${run?.steps.map((step) => step.name).join(' → ')}`);
    say(`  metrics: ${JSON.stringify(version?.metrics)}`);
    const mse = (version?.metrics as { regression_metrics?: { mse?: { value?: number } } } | undefined)?.regression_metrics?.mse?.value;
    say(
      JSON.stringify({
        ok: true,
        bootSeconds,
        buildSeconds,
        totalSeconds: elapsed(started),
        modelPackageArn: version?.arn,
        approval: version?.approval,
        mse,
      }),
    );
    return 0;
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
