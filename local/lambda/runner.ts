import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';

import yauzl from 'yauzl';

import type { FunctionSpec } from '../cloudformation/template';
import type { LogSink } from '../context';
import { JsonStore } from '../store/json-store';

/**
 * Runs the packaged Lambda functions unmodified: each function's artifact (the zip `serverless
 * package` produced) is unpacked once, and invocations run in warm worker processes that see only
 * the function's own environment plus what the Lambda runtime sets, with their AWS clients
 * pointed at the local endpoint through the standard AWS_ENDPOINT_URL setting.
 *
 * Asynchronous invocations are queued durably (`async-invocations/` in the data dir) until they
 * succeed or end at the on-failure destination: start() runs again what a previous process had
 * queued when it died or stopped, from its first attempt (at-least-once, as Lambda's own queue).
 */

/** A failed invocation, as Lambda reports it: `name` is the function error's errorType. */
export class FunctionError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    readonly trace: string[] = [],
  ) {
    super(message);
    this.name = errorType;
  }
}

export interface LambdaRuntimeOptions {
  /** Directory holding the packaged artifacts (serverless package --package <dir>). */
  packageDir: string;
  /** Where artifacts are unpacked and logs written. */
  dataDir: string;
  endpoint: string;
  region: string;
  /** Warm workers per function at most; more concurrent invocations wait. */
  maxWorkersPerFunction?: number;
  /** Delivers Lambda's on-failure destination record (SQS ARN) for async invocations. */
  sendToDestination?(destinationArn: string, record: Record<string, unknown>): Promise<void>;
  /** Seconds between async retries (Lambda waits about 1 and 2 minutes; locally shorter). */
  asyncRetryDelaysMs?: number[];
  log(message: string, fields?: Record<string, unknown>): void;
  /** CloudWatch Logs: each output line of a function's workers becomes an event in `/aws/lambda/<name>`. */
  logs?: LogSink;
}

/** An asynchronous invocation waiting in the durable queue. */
interface QueuedInvocation {
  functionArn: string;
  payload: unknown;
}

interface Worker {
  process: ChildProcess;
  busy: boolean;
  ready: Promise<void>;
  pending: Map<string, { resolve(value: unknown): void; reject(error: Error): void; timer: NodeJS.Timeout }>;
}

async function unzip(zipFile: string, destination: string): Promise<void> {
  const zip = await yauzl.openPromise(zipFile);
  try {
    for await (const entry of zip.eachEntry()) {
      const target = join(destination, entry.fileName);
      if (!target.startsWith(destination)) throw new Error(`zip entry escapes the destination: ${entry.fileName}`);
      if (entry.fileName.endsWith('/')) {
        mkdirSync(target, { recursive: true });
        continue;
      }
      mkdirSync(dirname(target), { recursive: true });
      await pipeline(await zip.openReadStreamPromise(entry), createWriteStream(target));
    }
  } finally {
    zip.close();
  }
}

/** The Lambda service, locally. */
export class LambdaRuntime {
  private readonly byArn = new Map<string, FunctionSpec>();
  private readonly workers = new Map<string, Worker[]>();
  private readonly waiting = new Map<string, (() => void)[]>();
  private readonly logs = new Map<string, WriteStream>();
  private readonly asyncInFlight = new Set<Promise<void>>();
  private readonly asyncQueue: JsonStore<QueuedInvocation>;
  private asyncSequence = 0;
  private stopped = false;

  constructor(
    private readonly functions: FunctionSpec[],
    private readonly options: LambdaRuntimeOptions,
  ) {
    for (const fn of functions) this.byArn.set(fn.arn, fn);
    this.asyncQueue = new JsonStore(join(options.dataDir, 'async-invocations'));
  }

  /** Boot (once every service is up): runs the asynchronous invocations a previous process left queued. */
  start(): void {
    const queued = this.asyncQueue.list();
    if (queued.length > 0) this.options.log('running asynchronous invocations queued before the restart', { count: queued.length });
    for (const { key, value } of queued) {
      const fn = this.find(value.functionArn);
      if (fn) this.runAsync(fn, value.payload, key);
      else this.asyncQueue.delete(key);
    }
  }

  /** Unpacks every function's artifact. Call once before invoking. */
  async prepare(): Promise<void> {
    for (const fn of this.functions) {
      const codeDir = this.codeDir(fn);
      rmSync(codeDir, { recursive: true, force: true });
      mkdirSync(codeDir, { recursive: true });
      await unzip(join(this.options.packageDir, fn.artifactKey.split('/').pop()!), codeDir);
    }
  }

  private codeDir(fn: FunctionSpec): string {
    return join(this.options.dataDir, 'lambda', fn.name, 'code');
  }

  private logStream(fn: FunctionSpec): WriteStream {
    let stream = this.logs.get(fn.name);
    if (!stream) {
      mkdirSync(join(this.options.dataDir, 'logs'), { recursive: true });
      stream = createWriteStream(join(this.options.dataDir, 'logs', `${fn.name}.log`), { flags: 'a' });
      this.logs.set(fn.name, stream);
    }
    return stream;
  }

  /** Resolves a function by ARN, name or `<name>:$LATEST`. */
  find(functionRef: string): FunctionSpec | undefined {
    const ref = functionRef.replace(/:\$LATEST$/, '');
    return this.byArn.get(ref) ?? this.functions.find((fn) => fn.name === ref);
  }

  private spawnWorker(fn: FunctionSpec): Worker {
    const [file, exportName] = [fn.handler.slice(0, fn.handler.lastIndexOf('.')), fn.handler.slice(fn.handler.lastIndexOf('.') + 1)];
    const codeDir = this.codeDir(fn);
    // One stream per execution environment (worker), named as Lambda names it.
    const logGroup = `/aws/lambda/${fn.name}`;
    const logStream = `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${randomUUID().replaceAll('-', '')}`;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      TZ: ':UTC',
      LANG: 'en_US.UTF-8',
      ...fn.environment,
      AWS_REGION: this.options.region,
      AWS_DEFAULT_REGION: this.options.region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL: this.options.endpoint,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: logGroup,
      AWS_LAMBDA_LOG_STREAM_NAME: logStream,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      LAMBDA_TASK_ROOT: codeDir,
    };
    const child = fork(join(__dirname, 'bootstrap.cjs'), [join(codeDir, `${file}.js`), exportName], {
      cwd: codeDir,
      env,
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const log = this.logStream(fn);
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const sink = this.options.logs;
    if (sink) {
      for (const output of [child.stdout, child.stderr]) {
        if (output) createInterface({ input: output, crlfDelay: Infinity }).on('line', (line) => sink.put(logGroup, logStream, line));
      }
    }
    const worker: Worker = { process: child, busy: false, pending: new Map(), ready: Promise.resolve() };
    worker.ready = new Promise<void>((resolve, reject) => {
      child.once('message', (message: { type: string; error?: { errorType: string; errorMessage: string } }) => {
        if (message.type === 'ready') resolve();
        else reject(new FunctionError(message.error?.errorType ?? 'Runtime.ImportModuleError', message.error?.errorMessage ?? 'init failed'));
      });
      child.once('exit', (code) => reject(new FunctionError('Runtime.ExitError', `${fn.name} exited during init (code ${code})`)));
    });
    child.on('message', (message: { type: string; id?: string; result?: unknown; error?: { errorType: string; errorMessage: string; trace?: string[] } }) => {
      if (message.type !== 'result' || !message.id) return;
      const call = worker.pending.get(message.id);
      if (!call) return;
      worker.pending.delete(message.id);
      clearTimeout(call.timer);
      if (message.error) call.reject(new FunctionError(message.error.errorType, message.error.errorMessage, message.error.trace));
      else call.resolve(message.result);
    });
    child.on('exit', (code, signal) => {
      for (const [, call] of worker.pending) {
        clearTimeout(call.timer);
        call.reject(new FunctionError('Runtime.ExitError', `${fn.name} exited (code ${code}, signal ${signal}) during an invocation`));
      }
      worker.pending.clear();
      const list = this.workers.get(fn.name) ?? [];
      this.workers.set(fn.name, list.filter((w) => w !== worker));
    });
    return worker;
  }

  /** Takes an idle worker (spawning up to the limit) or waits for one. */
  private async acquire(fn: FunctionSpec): Promise<Worker> {
    const limit = this.options.maxWorkersPerFunction ?? 4;
    for (;;) {
      if (this.stopped) throw new FunctionError('Runtime.Stopped', 'the local runtime is stopping');
      const list = this.workers.get(fn.name) ?? [];
      const idle = list.find((w) => !w.busy);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (list.length < limit) {
        const worker = this.spawnWorker(fn);
        worker.busy = true;
        this.workers.set(fn.name, [...list, worker]);
        return worker;
      }
      await new Promise<void>((resolve) => this.waiting.set(fn.name, [...(this.waiting.get(fn.name) ?? []), resolve]));
    }
  }

  private release(fn: FunctionSpec, worker: Worker): void {
    worker.busy = false;
    const queue = this.waiting.get(fn.name) ?? [];
    queue.shift()?.();
    this.waiting.set(fn.name, queue);
  }

  /**
   * Invokes synchronously (RequestResponse): resolves with the handler's result, rejects with
   * FunctionError (name = errorType) when the handler throws, times out or crashes.
   */
  async invoke(functionRef: string, payload: unknown): Promise<unknown> {
    const fn = this.find(functionRef);
    if (!fn) throw new FunctionError('ResourceNotFoundException', `Function not found: ${functionRef}`);
    const worker = await this.acquire(fn);
    try {
      await worker.ready;
      const id = randomUUID();
      const deadlineMs = Date.now() + fn.timeoutSeconds * 1000;
      return await new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          worker.pending.delete(id);
          worker.process.kill('SIGKILL');
          reject(new FunctionError('Sandbox.Timedout', `Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`));
        }, fn.timeoutSeconds * 1000);
        worker.pending.set(id, { resolve, reject, timer });
        worker.process.send({
          type: 'invoke',
          id,
          event: payload,
          context: {
            awsRequestId: id,
            functionName: fn.name,
            functionVersion: '$LATEST',
            invokedFunctionArn: fn.arn,
            memoryLimitInMB: String(fn.memoryMb),
            logGroupName: `/aws/lambda/${fn.name}`,
            logStreamName: `local/${process.pid}`,
            deadlineMs,
          },
        });
      });
    } finally {
      this.release(fn, worker);
    }
  }

  /**
   * Invokes asynchronously (Event): returns at once; retries failures up to the function's
   * MaximumRetryAttempts, then sends Lambda's destination record to the on-failure destination.
   */
  invokeAsync(functionRef: string, payload: unknown): void {
    const fn = this.find(functionRef);
    if (!fn) throw new FunctionError('ResourceNotFoundException', `Function not found: ${functionRef}`);
    const key = `${String(Date.now()).padStart(15, '0')}-${String((this.asyncSequence += 1) % 1e6).padStart(6, '0')}-${randomUUID()}`;
    this.asyncQueue.put(key, { functionArn: fn.arn, payload });
    // Queued while stopping: the next start() runs it.
    if (!this.stopped) this.runAsync(fn, payload, key);
  }

  /** Runs a queued asynchronous invocation with Lambda's retries; it leaves the queue when done, not when the runtime stops. */
  private runAsync(fn: FunctionSpec, payload: unknown, key: string): void {
    const delays = this.options.asyncRetryDelaysMs ?? [1000, 2000];
    const run = async () => {
      let lastError: FunctionError | undefined;
      for (let attempt = 0; attempt <= fn.maximumRetryAttempts; attempt += 1) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, delays[Math.min(attempt - 1, delays.length - 1)]));
        if (this.stopped) return;
        try {
          await this.invoke(fn.arn, payload);
          this.asyncQueue.delete(key);
          return;
        } catch (error) {
          // Cut short by the shutdown: it stays queued for the next start().
          if (this.stopped) return;
          lastError = error instanceof FunctionError ? error : new FunctionError('Unhandled', String(error));
          this.options.log('async invocation failed', { function: fn.name, attempt: attempt + 1, errorType: lastError.errorType, error: lastError.message });
        }
      }
      if (fn.onFailureDestination && this.options.sendToDestination && lastError) {
        await this.options.sendToDestination(fn.onFailureDestination, {
          version: '1.0',
          timestamp: new Date().toISOString(),
          requestContext: { requestId: randomUUID(), functionArn: `${fn.arn}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: fn.maximumRetryAttempts + 1 },
          requestPayload: payload,
          responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
          responsePayload: { errorType: lastError.errorType, errorMessage: lastError.message, trace: lastError.trace },
        });
      }
      this.asyncQueue.delete(key);
    };
    const promise = run().catch((error: unknown) => this.options.log('async invocation lost', { function: fn.name, error: String(error) }));
    this.asyncInFlight.add(promise);
    void promise.finally(() => this.asyncInFlight.delete(promise));
  }

  /** Stops every worker and waits for them to exit. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const queue of this.waiting.values()) queue.splice(0).forEach((wake) => wake());
    const exits: Promise<void>[] = [];
    for (const list of this.workers.values()) {
      for (const worker of list) {
        if (worker.process.exitCode !== null || worker.process.signalCode !== null) continue;
        exits.push(new Promise((resolve) => worker.process.once('exit', () => resolve())));
        worker.process.kill('SIGTERM');
      }
    }
    await Promise.all(exits);
    for (const stream of this.logs.values()) stream.end();
  }
}
