import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A job's container, locally: one child process in its own process group (so the whole tree can
 * be signalled, as stopping a container would), output appended to a log file the way CloudWatch
 * Logs collects a container's stdout and stderr.
 */

/** How a container process ended. */
export interface ProcessExit {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last bytes the process wrote to stderr (UTF-8, possibly cut mid-line). */
  stderrTail: string;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  spawnError?: Error;
}

/** A started container process. */
export interface ContainerProcess {
  pid: number | undefined;
  /** Resolves once the process has exited and its output is flushed to the log. Never rejects. */
  done: Promise<ProcessExit>;
  /** Signals the whole process group. */
  signal(signal: NodeJS.Signals): void;
}

const STDERR_TAIL_BYTES = 1024;

/** Signals a process group; a group that is already gone is fine. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Signals every process of a group except its leader: the polite stop of a sandboxed container,
 * whose leader is the sandbox's supervisor (bwrap), which would die on SIGTERM and SIGKILL the
 * container at once. Linux only (/proc); elsewhere the whole group is signalled.
 */
export function signalGroupMembers(leader: number, signal: NodeJS.Signals): void {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    signalGroup(leader, signal);
    return;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (pid === leader) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses.
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    if (pgrp !== leader) continue;
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

/**
 * Starts `command` detached in its own process group. `onLine` sees every complete output line
 * (stdout and stderr), e.g. for metric regexes. When the main process exits, whatever it left
 * running in its group is killed, as a container's end would.
 */
export function startContainerProcess(options: {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  logFile: string;
  onLine?: (line: string) => void;
  /** The command is a sandbox supervisor (bwrap): SIGTERM spares it and reaches the container's processes only. */
  supervised?: boolean;
}): ContainerProcess {
  const [file, ...args] = options.command;
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const logClosed = new Promise<void>((resolve) => log.on('close', () => resolve()));
  if (!file) {
    log.end();
    return { pid: undefined, signal: () => undefined, done: logClosed.then(() => ({ code: null, signal: null, stderrTail: '', spawnError: new Error('empty command') })) };
  }
  const child = spawn(file, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderrTail = Buffer.alloc(0);
  const partial = { stdout: '', stderr: '' };
  const feed = (stream: 'stdout' | 'stderr', chunk: Buffer) => {
    log.write(chunk);
    if (stream === 'stderr') {
      stderrTail = Buffer.concat([stderrTail, chunk]);
      if (stderrTail.length > STDERR_TAIL_BYTES) stderrTail = stderrTail.subarray(stderrTail.length - STDERR_TAIL_BYTES);
    }
    if (!options.onLine) return;
    const lines = (partial[stream] + chunk.toString('utf8')).split(/\r?\n/);
    partial[stream] = lines.pop() ?? '';
    for (const line of lines) options.onLine(line);
  };
  child.stdout.on('data', (chunk: Buffer) => feed('stdout', chunk));
  child.stderr.on('data', (chunk: Buffer) => feed('stderr', chunk));

  const done = new Promise<ProcessExit>((resolve) => {
    let spawnError: Error | undefined;
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      for (const stream of ['stdout', 'stderr'] as const) {
        if (partial[stream] && options.onLine) options.onLine(partial[stream]);
      }
      if (spawnError) log.write(`failed to start ${file}: ${spawnError.message}\n`);
      log.end();
      void logClosed.then(() => resolve({ code, signal, stderrTail: stderrTail.toString('utf8'), spawnError }));
    };
    child.on('error', (error) => {
      spawnError = error;
      // A process that never started emits no 'exit'; don't wait for one.
      if (child.pid === undefined) finish(null, null);
    });
    child.on('exit', () => {
      // The container ends with its main process: nothing it started may outlive it.
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    });
    child.on('close', (code, signal) => finish(code, signal));
  });
  return {
    pid: child.pid,
    done,
    signal: (signal) => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      if (options.supervised && signal !== 'SIGKILL') signalGroupMembers(child.pid, signal);
      else signalGroup(child.pid, signal);
    },
  };
}

/**
 * Kills a process group left by a previous runtime (crash or SIGKILL), but only when the pid still
 * runs the command that was recorded, so a recycled pid is never hit. Linux only (/proc); elsewhere
 * it does nothing.
 */
export function killLeftoverGroup(pid: number, command: readonly string[]): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  if (cmdline !== `${command.join('\0')}\0`) return false;
  signalGroup(pid, 'SIGKILL');
  return true;
}
