import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { DashboardBackend } from './backend';
import { createDashboardHandler, isDashboardPath } from './handler';

/** A dashboard served on its own loopback port (`sluice dashboard`), for a deployed stack or a runtime elsewhere. */
export interface DashboardServer {
  /** The page's address, e.g. http://127.0.0.1:4800/dashboard/. */
  url: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0: any free port); `/` redirects to the page. Rejects when the port is taken. */
export async function serveDashboard(options: { backend: DashboardBackend; port: number }): Promise<DashboardServer> {
  const handle = createDashboardHandler({ backend: options.backend });
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    const answered = isDashboardPath(path) ? handle(request, response) : Promise.resolve(redirectOrMissing(path, response));
    answered.catch(() => response.destroy());
  });
  await new Promise<void>((ready, fail) => {
    server.once('error', (error: NodeJS.ErrnoException) => fail(error.code === 'EADDRINUSE' ? new Error(`port ${options.port} is in use: pass another with --port`) : error));
    server.listen(options.port, '127.0.0.1', () => ready());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/dashboard/`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

function redirectOrMissing(path: string, response: ServerResponse): void {
  if (path === '/') {
    response.writeHead(302, { location: '/dashboard/' }).end();
    return;
  }
  response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the dashboard is at /dashboard/\n');
}
