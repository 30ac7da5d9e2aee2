import { execFile, spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Git, as the CodeCommit emulator runs it: plumbing commands for the API (execFile, arguments as
 * an array, never a shell) and `git http-backend` as a CGI program for smart HTTP clone/push.
 */

/** Largest output a plumbing command may return (GetBlob/GetFile stop at 6 MiB anyway). */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * The environment git runs with: the caller's, minus any GIT_* variables (a runtime started from a
 * git hook would otherwise inherit GIT_DIR and friends), and without the user's global or system
 * config, so `init.defaultBranch` or a credential helper on the developer's machine changes nothing.
 */
export function gitEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_')));
  return { ...base, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0', ...extra };
}

/** A git command that exited non-zero; `stderr` says why. */
export class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | string | undefined,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed (${String(exitCode)}): ${stderr.trim()}`);
    this.name = 'GitCommandError';
  }
}

/**
 * Runs `git --git-dir=<gitDir> <args…>` and returns its stdout as bytes.
 * Throws {@link GitCommandError} when git exits non-zero.
 */
export function runGit(gitDir: string, args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<Buffer> {
  const fullArgs = [`--git-dir=${gitDir}`, ...args];
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      fullArgs,
      { encoding: 'buffer', maxBuffer: MAX_OUTPUT_BYTES, env: gitEnvironment(options.env), cwd: options.cwd },
      (error, stdout, stderr) => {
        if (error) reject(new GitCommandError(args, (error as NodeJS.ErrnoException).code ?? undefined, stderr.toString('utf8')));
        else resolve(stdout);
      },
    );
  });
}

/** What `git http-backend` needs to know about one request (the CGI meta-variables we set). */
export interface GitHttpRequest {
  /** The directory holding the bare repositories (GIT_PROJECT_ROOT). */
  projectRoot: string;
  /** `/<name>.git/<rest>`, relative to projectRoot. */
  pathInfo: string;
  /** The authenticated user name, if any (REMOTE_USER). */
  remoteUser?: string;
}

/**
 * Serves one smart-HTTP request with `git http-backend` as a CGI program: streams the request body
 * to its stdin, parses the CGI response headers (`Status:` included) and streams the rest.
 * `beforeEnd` runs once git has exited (a push's ref updates are complete) and before the response
 * ends: the git client is still waiting then, so whatever it does is done when `git push` returns.
 * Resolves when the response has ended; never rejects (failures become 500s or a dropped socket).
 */
export function serveGitHttpBackend(request: IncomingMessage, response: ServerResponse, cgi: GitHttpRequest, beforeEnd?: () => Promise<void>): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const header = (name: string): string | undefined => {
    const value = request.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const env: Record<string, string> = {
    GIT_PROJECT_ROOT: cgi.projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: cgi.pathInfo,
    REQUEST_METHOD: request.method ?? 'GET',
    QUERY_STRING: url.search.startsWith('?') ? url.search.slice(1) : '',
    REMOTE_ADDR: request.socket.remoteAddress ?? '127.0.0.1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${request.httpVersion}`,
  };
  const optional: [string, string | undefined][] = [
    ['CONTENT_TYPE', header('content-type')],
    // Absent for chunked uploads: http-backend then reads stdin to EOF.
    ['CONTENT_LENGTH', header('content-length')],
    // git gzips large upload-pack requests; http-backend inflates them itself.
    ['HTTP_CONTENT_ENCODING', header('content-encoding')],
    // Protocol v2 negotiation travels in this header.
    ['HTTP_GIT_PROTOCOL', header('git-protocol')],
    ['REMOTE_USER', cgi.remoteUser],
  ];
  for (const [key, value] of optional) if (value !== undefined && value !== '') env[key] = value;

  return new Promise((resolve) => {
    const child = spawn('git', ['http-backend'], { env: gitEnvironment(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let headBuffer: Buffer = Buffer.alloc(0);
    let headersSent = false;

    const fail = (status: number, message: string) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(`${message}\n`);
    };

    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    // git may stop reading early (e.g. it rejects the request); the body is then irrelevant.
    child.stdin.on('error', () => undefined);
    request.pipe(child.stdin);

    const onData = (chunk: Buffer) => {
      headBuffer = Buffer.concat([headBuffer, chunk]);
      const parsed = parseCgiHead(headBuffer);
      if (!parsed) return;
      child.stdout.off('data', onData);
      headersSent = true;
      response.writeHead(parsed.status, parsed.headers);
      if (parsed.rest.length > 0) response.write(parsed.rest);
      child.stdout.pipe(response, { end: false });
    };
    child.stdout.on('data', onData);

    child.on('error', (error) => {
      fail(500, `git http-backend could not start: ${error.message}`);
      resolve();
    });
    child.on('close', (code) => {
      if (!headersSent) {
        fail(500, `git http-backend exited with ${String(code)} before sending headers: ${stderr.trim()}`);
        resolve();
        return;
      }
      const finish = () => {
        if (!response.writableEnded) response.end();
        resolve();
      };
      if (beforeEnd) beforeEnd().then(finish, finish);
      else finish();
    });
  });
}

/** The CGI response head, once complete: status, headers and any body bytes already read. */
function parseCgiHead(buffer: Buffer): { status: number; headers: Record<string, string>; rest: Buffer } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  let end: number;
  let separator: number;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) {
    end = crlf;
    separator = 4;
  } else if (lf !== -1) {
    end = lf;
    separator = 2;
  } else {
    return undefined;
  }
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of buffer.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  return { status, headers, rest: buffer.subarray(end + separator) };
}
