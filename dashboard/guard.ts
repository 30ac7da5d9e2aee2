import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * Who may use the dashboard. It listens on loopback, where any web page the user opens could
 * send it requests: a DNS-rebinding page arrives with a foreign Host, and a cross-site form or
 * fetch cannot read the page's token nor set its header. Pure checks over the request headers.
 */

/** The header that carries the page's token on every POST. */
export const CSRF_HEADER = 'x-sluice-csrf';

/** A fresh random token for one server's lifetime. */
export function newCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Which Host headers are served: loopback names only (the default), or any (a runtime bound to a non-loopback address). */
export type HostPolicy = 'loopback' | 'any';

function hostname(host: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1]!;
  return host.replace(/:\d+$/, '');
}

/** Why the request's Host is refused, or undefined when it is served. */
export function hostRefusal(request: IncomingMessage, policy: HostPolicy): string | undefined {
  if (policy === 'any') return undefined;
  const host = request.headers.host;
  if (!host) return 'the request has no Host header';
  const name = hostname(host).toLowerCase();
  const loopback = name === 'localhost' || (isIP(name) === 4 && name.startsWith('127.')) || name === '::1';
  return loopback ? undefined : `Host "${host}" is not a loopback address: open the dashboard at http://127.0.0.1:<port>/dashboard/`;
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Why a state-changing request is refused, or undefined when it comes from the dashboard's own
 * page: JSON content (so a cross-site form cannot send it), the page's token in {@link CSRF_HEADER},
 * and, when the browser says, the same origin.
 */
export function writeRefusal(request: IncomingMessage, token: string): string | undefined {
  const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'application/json') return `content-type must be application/json, got "${contentType}"`;
  const given = request.headers[CSRF_HEADER];
  if (typeof given !== 'string' || !sameToken(given, token)) return `missing or wrong ${CSRF_HEADER} header: reload the dashboard page and try again`;
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://${request.headers.host ?? ''}`) return `cross-origin request from ${origin} refused`;
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return `cross-site request (sec-fetch-site: ${String(site)}) refused`;
  return undefined;
}
