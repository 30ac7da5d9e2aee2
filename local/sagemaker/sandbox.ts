import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { rewriteEnvironment, rewriteValue } from './contract';

/**
 * How a container's `/opt/ml` becomes real on this machine. With bubblewrap (Linux), every job and
 * endpoint variant runs in its own mount namespace: its directory is the literal `/opt/ml`, the
 * host is read-only, `/tmp` is private, the runtime's data directory is hidden, and a
 * network-isolated job has no network. Without a usable bubblewrap, the container is a plain host
 * process and `/opt/ml` is rewritten in its arguments and environment only (the fallback).
 */

/** Where SageMaker mounts a container's working tree. */
export const CONTAINER_ML_DIR = '/opt/ml';

/** A container as the job or endpoint defines it: paths are the container's (literal /opt/ml). */
export interface ContainerLaunch {
  command: string[];
  env: Record<string, string>;
  /** Host directory the command starts in (the image's source tree); readable inside the sandbox. */
  cwd: string;
  /** Host directory that is the container's /opt/ml. */
  mlDirectory: string;
  /** No network at all (the job's EnableNetworkIsolation). */
  networkIsolation: boolean;
}

/** The host process that runs a container. */
export interface HostLaunch {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  /**
   * Whether the process group's leader is the sandbox's supervisor rather than the container:
   * bubblewrap dies on SIGTERM and takes the sandbox with it, so a polite stop must spare it and
   * reach the container's processes only (see `signalGroup`).
   */
  supervised: boolean;
}

/** Turns a container into the host process that runs it. Pure: no process is started here. */
export interface ContainerSandbox {
  readonly kind: 'bubblewrap' | 'path-rewrite';
  launch(container: ContainerLaunch): HostLaunch;
}

/** The fallback: a host process with every `/opt/ml` path in argv and environment rewritten to its directory. */
export function pathRewriteSandbox(): ContainerSandbox {
  return {
    kind: 'path-rewrite',
    launch: ({ command, env, cwd, mlDirectory }) => ({
      command: command.map((part) => rewriteValue(part, mlDirectory)),
      env: rewriteEnvironment(env, mlDirectory),
      cwd,
      supervised: false,
    }),
  };
}

export interface BubblewrapOptions {
  /** The bwrap executable (looked up on PATH when not absolute). */
  bwrap?: string;
  /** Host directories no container may see (the runtime's data directory): an empty tmpfs over each. */
  hide: string[];
  /** Host directories that stay readable even under /tmp or a hidden directory (the runtime's own tree, for its node_modules). */
  keepVisible?: string[];
  /** The entries of the host's /opt, re-bound read-only over the tmpfs that holds /opt/ml (default: read now). */
  hostOptEntries?: string[];
}

/**
 * The bubblewrap sandbox. The order of the mounts matters (later ones cover earlier ones): the
 * whole host read-only; a private /tmp; the kept-visible trees; a tmpfs over each hidden
 * directory; the container's cwd read-only again (an image's sources may live in the runtime's
 * data directory); /opt as a tmpfs with the host's entries back (so /opt/ml need not exist on the
 * host, and never does because of a job); the job's directory as /opt/ml, writable; last, the
 * tmpfs layers over hidden directories and /opt read-only, so only /opt/ml and /tmp take writes.
 */
export function bubblewrapSandbox(options: BubblewrapOptions): ContainerSandbox {
  const bwrap = options.bwrap ?? 'bwrap';
  const optEntries = (options.hostOptEntries ?? readOptEntries()).filter((entry) => entry !== 'ml');
  return {
    kind: 'bubblewrap',
    launch: ({ command, env, cwd, mlDirectory, networkIsolation }) => {
      // No capabilities: a root container could otherwise remount the read-only host writable.
      const args = ['--die-with-parent', '--unshare-pid', '--unshare-ipc', '--cap-drop', 'ALL', ...(networkIsolation ? ['--unshare-net'] : [])];
      args.push('--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp');
      for (const path of options.keepVisible ?? []) args.push('--ro-bind', path, path);
      for (const path of options.hide) args.push('--tmpfs', path);
      args.push('--ro-bind', cwd, cwd);
      args.push('--tmpfs', '/opt');
      for (const entry of optEntries) args.push('--ro-bind', join('/opt', entry), join('/opt', entry));
      args.push('--bind', mlDirectory, CONTAINER_ML_DIR);
      // The tmpfs layers held mount points while building; read-only now, like the rest of the host.
      for (const path of [...options.hide, '/opt']) args.push('--remount-ro', path);
      args.push('--chdir', cwd, '--');
      // The host's TMPDIR may be hidden or read-only in here; the private /tmp is the container's.
      const inside = 'TMPDIR' in env ? { ...env, TMPDIR: '/tmp' } : env;
      return { command: [bwrap, ...args, ...command], env: inside, cwd, supervised: true };
    },
  };
}

function readOptEntries(): string[] {
  try {
    return readdirSync('/opt');
  } catch {
    return [];
  }
}

/** Runs a command to its end; resolves with why it failed, or undefined when it exited 0. */
export type ProbeRunner = (command: string[]) => Promise<string | undefined>;

const PROBE_TIMEOUT_MS = 10_000;

const runProbe: ProbeRunner = ([file, ...args]) =>
  new Promise((resolve) => {
    execFile(file!, args, { timeout: PROBE_TIMEOUT_MS }, (error, _stdout, stderr) => {
      resolve(error ? (stderr.trim() || error.message).split('\n')[0] : undefined);
    });
  });

/**
 * Picks the sandbox once, at boot: bubblewrap when a probe container built exactly like a job's
 * (read-only host, private /tmp, its own /opt/ml, no network) runs `true`; otherwise the
 * path-rewrite fallback, with one warning through `warn` saying what is lost. bwrap can be
 * installed yet unusable (no user namespaces), hence a probe run rather than `bwrap --version`.
 * Never throws.
 */
export async function detectSandbox(options: BubblewrapOptions & { warn(message: string): void; probe?: ProbeRunner }): Promise<ContainerSandbox> {
  const sandbox = bubblewrapSandbox(options);
  const scratch = mkdtempSync(join(tmpdir(), 'sluice-sandbox-probe-'));
  let failure: string | undefined;
  try {
    const probe = sandbox.launch({ command: ['true'], env: {}, cwd: scratch, mlDirectory: scratch, networkIsolation: true });
    failure = await (options.probe ?? runProbe)(probe.command);
  } catch (error) {
    failure = (error as Error).message;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (failure === undefined) return sandbox;
  options.warn(
    `bubblewrap (bwrap) is not usable here (${failure}): SageMaker jobs and endpoints run as plain host processes, ` +
      '/opt/ml is rewritten in their arguments and environment only, they can write wherever the runtime can, ' +
      'and EnableNetworkIsolation is not enforced. Install bubblewrap (apt-get install bubblewrap) to sandbox them.',
  );
  return pathRewriteSandbox();
}
