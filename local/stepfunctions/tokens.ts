import { randomBytes } from 'node:crypto';

import { AwsServiceError } from '../http/aws-json';

/**
 * Task tokens for `.waitForTaskToken` tasks: one fresh token per task attempt, settled at most once
 * by SendTaskSuccess / SendTaskFailure, kept alive by SendTaskHeartbeat. This table is the
 * in-memory side; the service records each waiting token with its execution (durably), and a
 * restarted runtime {@link TaskTokens.restore}s them, so a token stays valid across restarts.
 */

/** How a waiting task ended from the outside. */
export type TaskOutcome = { kind: 'success'; output: string } | { kind: 'failure'; error?: string; cause?: string };

/** A token handed to one task attempt. */
export interface IssuedToken {
  token: string;
  /** Settles with the first SendTaskSuccess/Failure (which may arrive before anyone waits). */
  outcome: Promise<TaskOutcome>;
  /** Called on every SendTaskHeartbeat for this token. */
  onHeartbeat(listener: () => void): void;
}

interface PendingTask {
  resolve(outcome: TaskOutcome): void;
  heartbeat?: () => void;
}

/** Why a token no longer waits: the task timed out, or it was settled / its execution ended. */
export type ClosedReason = 'timed-out' | 'closed';

// 'AQ' like AWS tokens, then 64 random bytes in base64url.
const TOKEN_FORMAT = /^AQ[A-Za-z0-9_-]{86}$/;
/** Closed tokens remembered (to answer TaskTimedOut rather than TaskDoesNotExist); oldest forgotten first. */
const CLOSED_MEMORY = 10_000;

export class TaskTokens {
  private readonly pending = new Map<string, PendingTask>();
  private readonly closed = new Map<string, ClosedReason>();

  /** Issues a fresh token that waits for its outcome. */
  issue(): IssuedToken {
    return this.open(`AQ${randomBytes(64).toString('base64url')}`);
  }

  /**
   * Makes a token issued by a previous process wait again (after a restart), so SendTask* with it
   * works as before. Each token is restored once, before anything waits on it.
   */
  restore(token: string): IssuedToken {
    return this.open(token);
  }

  private open(token: string): IssuedToken {
    this.closed.delete(token);
    const entry: PendingTask = { resolve: () => undefined };
    const promise = new Promise<TaskOutcome>((resolve) => {
      entry.resolve = resolve;
    });
    this.pending.set(token, entry);
    return {
      token,
      outcome: promise,
      onHeartbeat: (listener) => {
        entry.heartbeat = listener;
      },
    };
  }

  /** Stops a token from waiting (idempotent). Later calls with it fail with TaskTimedOut / TaskDoesNotExist. */
  close(token: string, reason: ClosedReason): void {
    if (!this.pending.delete(token) && this.closed.has(token)) return;
    this.closed.set(token, reason);
    if (this.closed.size > CLOSED_MEMORY) this.closed.delete(this.closed.keys().next().value!);
  }

  /** The waiting task of `token`; throws the error SendTask* answers otherwise. */
  private find(token: string): PendingTask {
    const entry = this.pending.get(token);
    if (entry) return entry;
    if (this.closed.get(token) === 'timed-out') throw new AwsServiceError('TaskTimedOut', 'Task Timed Out');
    if (!TOKEN_FORMAT.test(token)) throw new AwsServiceError('InvalidToken', 'Invalid Token');
    throw new AwsServiceError('TaskDoesNotExist', 'Task Does Not Exist');
  }

  /** Throws what SendTask* answers for `token` unless a task waits on it (InvalidToken, TaskDoesNotExist, TaskTimedOut). */
  check(token: string): void {
    this.find(token);
  }

  /** SendTaskSuccess / SendTaskFailure: settles the task once. Throws InvalidToken, TaskDoesNotExist, TaskTimedOut. */
  settle(token: string, outcome: TaskOutcome): void {
    const entry = this.find(token);
    this.close(token, 'closed');
    entry.resolve(outcome);
  }

  /** SendTaskHeartbeat. Throws like {@link settle}. */
  heartbeat(token: string): void {
    this.find(token).heartbeat?.();
  }
}
