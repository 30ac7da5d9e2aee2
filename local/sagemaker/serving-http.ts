import { request as httpRequest, type IncomingMessage } from 'node:http';

import type { RunningContainer } from './supervisor';

/**
 * The runtime's side of SageMaker's hosting contract: a serving container answers GET /ping and
 * POST /invocations on SAGEMAKER_BIND_TO_PORT (loopback here).
 */

/** How long an invocation may take before the proxy gives up (SageMaker's 60 s). */
export const INVOCATION_TIMEOUT_MS = 60_000;

/** POST to a serving container on loopback; rejects on a connection error or after `timeoutMs` (default INVOCATION_TIMEOUT_MS). */
export function post(port: number, path: string, headers: Record<string, string>, body: Buffer, timeoutMs = INVOCATION_TIMEOUT_MS): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 500, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`the model did not answer within ${timeoutMs / 1000} s`)));
    request.on('error', reject);
    request.end(body);
  });
}

/** GET /ping's status code, 0 when nothing answers within 2 s. Never rejects. */
export function ping(port: number): Promise<number> {
  return new Promise((resolve) => {
    const request = httpRequest({ host: '127.0.0.1', port, path: '/ping', method: 'GET', timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(0));
    request.end();
  });
}

/** true once GET /ping answers 200; otherwise why not (process exited, or the timeout). */
export async function waitForPing(port: number, child: RunningContainer, timeoutMs: number): Promise<true | string> {
  let exited: string | undefined;
  void child.done.then((exit) => {
    exited = `the serve process exited with ${exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal}`}${exit.stderrTail.trim() ? `: ${exit.stderrTail.trim().slice(-512)}` : ''}`;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) return exited;
    if ((await ping(port)) === 200) return true;
    if (exited) return exited;
    if (Date.now() > deadline) return `no 200 from GET /ping within ${timeoutMs / 1000} s`;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
