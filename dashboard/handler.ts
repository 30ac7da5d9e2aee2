import type { IncomingMessage, ServerResponse } from 'node:http';

import { z } from '../shared/schemas/zod';
import { pageHtml, staticAsset } from './assets';
import type { DashboardBackend } from './backend';
import { type HostPolicy, hostRefusal, newCsrfToken, writeRefusal } from './guard';

/**
 * The dashboard over HTTP, under `/dashboard/`: the page and its files, and a small JSON API
 * whose answers are the CLI's own (`GET api/status`, `GET api/lineage?reference=`, `POST
 * api/approve|reject|promote` with `{"reference", "note"?}`). Errors are JSON `{"error"}` saying
 * what to do next.
 */

export const DASHBOARD_PREFIX = '/dashboard';

/** Whether a request path belongs to the dashboard. */
export function isDashboardPath(path: string): boolean {
  return path === DASHBOARD_PREFIX || path.startsWith(`${DASHBOARD_PREFIX}/`);
}

export interface DashboardOptions {
  backend: DashboardBackend;
  /** The page's CSRF token (default: a fresh random one). */
  token?: string;
  /** Host headers served (default: loopback names only, against DNS rebinding). */
  hosts?: HostPolicy;
}

const MAX_BODY_BYTES = 16 * 1024;

/** A request the dashboard refuses, with its HTTP status. */
export class DashboardRequestError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'DashboardRequestError';
  }
}

const changeSchema = z.object({
  reference: z.string().check(z.minLength(1), z.maxLength(2048)),
  note: z.optional(z.string().check(z.maxLength(1000))),
});

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
};

function send(response: ServerResponse, statusCode: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(statusCode, { ...SECURITY_HEADERS, 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers });
  response.end(body);
}

function sendJson(response: ServerResponse, statusCode: number, value: unknown): void {
  send(response, statusCode, 'application/json; charset=utf-8', JSON.stringify(value));
}

async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new DashboardRequestError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new DashboardRequestError(400, 'request body: expected JSON like {"reference": "<group>/<version>"}');
  }
}

/**
 * The status and message for a failure: the dashboard's own refusals as they are; an AWS error
 * the caller caused (an unknown version) 400, one on the service's side 502; a connection that
 * failed 502 naming the target; anything else the CLI functions throw is a bad reference (400).
 */
export function errorAnswer(error: unknown, target: string): { statusCode: number; message: string } {
  if (error instanceof DashboardRequestError) return { statusCode: error.statusCode, message: error.message };
  const failure = error as { name?: string; message?: string; $fault?: string; code?: string };
  const message = failure.message ?? String(error);
  if (failure.$fault === 'client') return { statusCode: 400, message: `${failure.name}: ${message}` };
  if (failure.$fault === 'server') return { statusCode: 502, message: `${target} failed: ${failure.name}: ${message}` };
  if (typeof failure.code === 'string' && /^E[A-Z]+$/.test(failure.code)) return { statusCode: 502, message: `cannot reach ${target} (${failure.code}): is it running?` };
  return { statusCode: 400, message };
}

type Route = (request: IncomingMessage, url: URL) => Promise<unknown>;

/** Builds the request handler; call it for paths {@link isDashboardPath} accepts. */
export function createDashboardHandler(options: DashboardOptions): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  const { backend } = options;
  const token = options.token ?? newCsrfToken();
  const hosts = options.hosts ?? 'loopback';

  const change = (act: (reference: string, note: string | undefined) => Promise<object>): Route => async (request) => {
    const refused = writeRefusal(request, token);
    if (refused) throw new DashboardRequestError(403, refused);
    const parsed = changeSchema.safeParse(await readJsonBody(request));
    if (!parsed.success) throw new DashboardRequestError(400, `request body: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ')}`);
    return act(parsed.data.reference, parsed.data.note);
  };
  // Pages open side by side share one status read in flight rather than each reading every history.
  let statusInFlight: ReturnType<DashboardBackend['status']> | undefined;
  const sharedStatus = () => {
    statusInFlight ??= backend.status().finally(() => (statusInFlight = undefined));
    return statusInFlight;
  };
  const api: Record<string, { method: 'GET' | 'POST'; route: Route }> = {
    status: { method: 'GET', route: sharedStatus },
    lineage: {
      method: 'GET',
      route: async (_request, url) => {
        const reference = url.searchParams.get('reference');
        if (!reference) throw new DashboardRequestError(400, 'lineage: the reference query parameter is required (<group>/<version>, its ARN, or an endpoint)');
        return backend.lineage(reference);
      },
    },
    approve: { method: 'POST', route: change(async (reference, note) => ({ modelPackageArn: await backend.approve(reference, note), approval: 'Approved' })) },
    reject: { method: 'POST', route: change(async (reference, note) => ({ modelPackageArn: await backend.reject(reference, note), approval: 'Rejected' })) },
    promote: { method: 'POST', route: change(async (reference) => ({ modelPackageArn: await backend.promote(reference), promotion: 'requested' })) },
  };

  return async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://dashboard.invalid');
    const path = url.pathname;
    const method = request.method ?? 'GET';
    const hostProblem = hostRefusal(request, hosts);
    if (hostProblem) return sendJson(response, 403, { error: hostProblem });
    // URL parsing has resolved dot segments (encoded ones too): what is left must still lie under the prefix.
    if (!isDashboardPath(path)) return sendJson(response, 404, { error: `no dashboard file ${path}: open ${DASHBOARD_PREFIX}/` });
    if (path === DASHBOARD_PREFIX) return send(response, 308, 'text/plain; charset=utf-8', 'see /dashboard/\n', { location: `${DASHBOARD_PREFIX}/` });
    const name = path.slice(DASHBOARD_PREFIX.length + 1);
    if (name.startsWith('api/')) {
      const entry = Object.hasOwn(api, name.slice(4)) ? api[name.slice(4)]! : undefined;
      if (!entry) return sendJson(response, 404, { error: `no dashboard API ${path}: try ${Object.keys(api).map((key) => `api/${key}`).join(', ')}` });
      if (method !== entry.method) {
        response.setHeader('allow', entry.method);
        return sendJson(response, 405, { error: `${path} takes ${entry.method}, not ${method}` });
      }
      try {
        return sendJson(response, 200, await entry.route(request, url));
      } catch (error) {
        const { statusCode, message } = errorAnswer(error, backend.target);
        return sendJson(response, statusCode, { error: message });
      }
    }
    if (method !== 'GET' && method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return sendJson(response, 405, { error: `${path} takes GET, not ${method}` });
    }
    if (name === '' || name === 'index.html') return send(response, 200, 'text/html; charset=utf-8', pageHtml(token, backend.target));
    const asset = staticAsset(name);
    if (!asset) return sendJson(response, 404, { error: `no dashboard file ${path}: open ${DASHBOARD_PREFIX}/` });
    return send(response, 200, asset.contentType, asset.body);
  };
}
