import { JsonStore } from '../store/json-store';
import { killLeftoverGroup, type ProcessExit, startContainerProcess } from './process';
import type { ContainerLaunch, ContainerSandbox } from './sandbox';

/**
 * Every SageMaker container the runtime runs (processing and training jobs, endpoint variants)
 * goes through one supervisor: it launches the container in the sandbox, remembers its process
 * durably so a restarted runtime can kill what a crash left behind (before its jobs run again from
 * the beginning and its endpoints restart), stops it (SIGTERM, SIGKILL after the grace period) and
 * stops everything at shutdown.
 */

/**
 * Between SIGTERM and SIGKILL when a job is stopped or times out, or an endpoint variant is
 * retired: SageMaker gives a stopped training job's algorithm 120 s to save its work.
 */
export const STOP_GRACE_SECONDS = 120;
/** The same when the whole runtime shuts down: short, so Ctrl-C is prompt. */
export const SHUTDOWN_GRACE_SECONDS = 5;

/** A running container. */
export interface RunningContainer {
  readonly pid: number | undefined;
  /** Resolves once the container has exited and its log is flushed. Never rejects. */
  readonly done: Promise<ProcessExit>;
  /**
   * SIGTERM to the container's processes now, SIGKILL to the whole group after `graceMs`
   * (default: the supervisor's stop grace). Resolves when it has exited. A second call sends no
   * second SIGTERM; the earliest SIGKILL deadline wins.
   */
  stop(graceMs?: number): Promise<ProcessExit>;
}

export interface ContainerSupervisorOptions {
  sandbox: ContainerSandbox;
  /** Where the running containers' process ids and command lines are kept (durable). */
  directory: string;
  stopGraceSeconds?: number;
  shutdownGraceSeconds?: number;
}

/** A process that ran `command` as pid `pid`, under an owner such as `training-job.<name>`. */
interface ProcessRecord {
  pid: number;
  command: string[];
}

export class ContainerSupervisor {
  private readonly records: JsonStore<ProcessRecord[]>;
  private readonly running = new Set<RunningContainer>();

  constructor(private readonly options: ContainerSupervisorOptions) {
    this.records = new JsonStore(options.directory);
  }

  /**
   * Starts `container` in the sandbox. `owner` names what it belongs to (one owner may have
   * several containers, e.g. an endpoint's variants); its output is appended to `logFile`, and
   * `onLine` sees each line.
   */
  launch(owner: string, container: ContainerLaunch & { logFile: string; onLine?: (line: string) => void }): RunningContainer {
    const host = this.options.sandbox.launch(container);
    const child = startContainerProcess({ ...host, logFile: container.logFile, onLine: container.onLine });
    const pid = child.pid;
    // The recorded command is the host's (bwrap …): what /proc shows for the pid after a crash.
    if (pid !== undefined) this.records.put(owner, [...(this.records.get(owner) ?? []), { pid, command: host.command }]);
    let terminated = false;
    const kills = new Set<NodeJS.Timeout>();
    const running: RunningContainer = {
      pid,
      done: child.done,
      stop: (graceMs = (this.options.stopGraceSeconds ?? STOP_GRACE_SECONDS) * 1000) => {
        if (!terminated) child.signal('SIGTERM');
        terminated = true;
        // Each caller's deadline holds: a shutdown during a slow stop still kills after its short grace.
        // unref: the running child keeps the runtime alive, a timer armed after its exit must not.
        kills.add(setTimeout(() => child.signal('SIGKILL'), graceMs).unref());
        return child.done;
      },
    };
    this.running.add(running);
    void child.done.then(() => {
      for (const timer of kills) clearTimeout(timer);
      this.running.delete(running);
      if (pid === undefined) return;
      const remaining = (this.records.get(owner) ?? []).filter((record) => record.pid !== pid);
      if (remaining.length > 0) this.records.put(owner, remaining);
      else this.records.delete(owner);
    });
    return running;
  }

  /**
   * Boot: kills every process group a previous runtime recorded and never saw exit (a crash or
   * SIGKILL), when its pid still runs the recorded command, and forgets them.
   */
  recover(): void {
    for (const { key, value } of this.records.list()) {
      for (const record of value) killLeftoverGroup(record.pid, record.command);
      this.records.delete(key);
    }
  }

  /** Stops every running container with the shutdown grace and waits for all of them. */
  async shutdown(): Promise<void> {
    const graceMs = (this.options.shutdownGraceSeconds ?? SHUTDOWN_GRACE_SECONDS) * 1000;
    await Promise.all([...this.running].map((container) => container.stop(graceMs)));
  }
}
