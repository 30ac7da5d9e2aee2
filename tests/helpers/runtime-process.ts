import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

import { DescribeExecutionCommand, type DescribeExecutionCommandOutput, ListExecutionsCommand, ListStateMachinesCommand, type SFNClient } from '@aws-sdk/client-sfn';

import type { EventBridgeEvent } from '../../local/eventbridge/service';
import { freePort } from '../../local/http/free-port';
import { ROOT } from './fixtures';

/**
 * The local runtime as a user runs it: `sluice up` in a child process (its own process group),
 * ready when it prints its endpoint. stop() sends SIGTERM and waits for the exit.
 */
export interface RuntimeProcess {
  endpoint: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then waits; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL to the runtime's own process only (its children are not signalled), as a crash; waits for it to die. */
  crash(): Promise<void>;
}

/**
 * `images`: a YAML file of image URI → `{Command, Environment}` (the runtime's --images). `port`:
 * the port to serve on (default: a free one), e.g. the same one again to restart over a data dir.
 */
export async function startRuntime(options: { dataDir: string; packageDir?: string; images?: string; timeoutMs?: number; port?: number }): Promise<RuntimeProcess> {
  const port = options.port ?? (await freePort());
  const args = ['up', '--port', String(port), '--data-dir', options.dataDir, ...(options.packageDir ? ['--package-dir', options.packageDir] : []), ...(options.images ? ['--images', options.images] : [])];
  // This checkout's own bin, not node_modules/.bin/sluice: node_modules may be shared with another checkout.
  const child: ChildProcess = spawn(join(ROOT, 'bin', 'sluice'), args, {
    cwd: ROOT,
    env: { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const endpoint = `http://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runtime not ready after ${options.timeoutMs ?? 120_000} ms:\n${output}`)), options.timeoutMs ?? 120_000);
    const check = () => {
      if (output.includes(`ready at ${endpoint}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`runtime exited (${code}) before it was ready:\n${output}`));
    });
  });
  return {
    endpoint,
    output: () => output,
    async crash() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Live processes (pid: command line) whose command line or working directory lies under `marker`. */
export function processesMentioning(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (state === 'Z') continue;
      if (commandLine.includes(marker) || cwd.startsWith(marker)) found.push(`${pid}: ${commandLine} (cwd ${cwd})`);
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** Every event the runtime under `dataDir` put on any bus so far, oldest first (its durable events.jsonl). */
export function runtimeEvents(dataDir: string): EventBridgeEvent[] {
  return readFileSync(join(dataDir, 'events', 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { event: EventBridgeEvent }).event);
}

/**
 * Polls `describe` every 100 ms until `done` accepts its value, and returns that value; after
 * `timeoutMs` throws naming `what`, with the last value and the runtime's last output to read why.
 */
export async function waitUntil<T>(runtime: RuntimeProcess, describe: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 60_000, what = 'the awaited state'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await describe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(value)}\n${runtime.output().slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Polls `probe` until it returns a value (anything but undefined), as {@link waitUntil} does. */
export async function eventually<T>(runtime: RuntimeProcess, probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  return (await waitUntil(runtime, probe, (value) => value !== undefined, timeoutMs, what)) as T;
}

/** Every run (described) of the state machines whose name `matches`: e.g. a repository's pipelines, `sluice-local-build-<repository>-…`. */
export async function runsOfMachines(sfn: SFNClient, matches: (name: string) => boolean): Promise<DescribeExecutionCommandOutput[]> {
  const machines = ((await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []).filter((machine) => machine.name !== undefined && matches(machine.name));
  const listed = (await Promise.all(machines.map(async (machine) => (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn }))).executions ?? []))).flat();
  return Promise.all(listed.map((execution) => sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }))));
}
