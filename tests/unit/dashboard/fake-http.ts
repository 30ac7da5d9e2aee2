import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

/** A request as node:http hands it to a handler: a readable body with method, url and headers. */
export function fakeRequest(method: string, url: string, options: { headers?: Record<string, string>; body?: string } = {}): IncomingMessage {
  const request = Readable.from(options.body === undefined ? [] : [Buffer.from(options.body)]);
  return Object.assign(request, { method, url, headers: { host: '127.0.0.1:4799', ...options.headers } }) as unknown as IncomingMessage;
}

export interface Answer {
  statusCode: number;
  headers: Record<string, string | number>;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

/** A response that records what the handler wrote; `answer()` reads it back once the handler has finished. */
export function fakeResponse(): { response: ServerResponse; answer(): Answer } {
  const recorded = { statusCode: 0, headers: {} as Record<string, string | number>, body: '' };
  const response = {
    headersSent: false,
    setHeader(name: string, value: string | number) {
      recorded.headers[name.toLowerCase()] = value;
      return response;
    },
    writeHead(statusCode: number, headers: Record<string, string | number> = {}) {
      recorded.statusCode = statusCode;
      for (const [name, value] of Object.entries(headers)) recorded.headers[name.toLowerCase()] = value;
      response.headersSent = true;
      return response;
    },
    end(body?: string) {
      recorded.body = body ?? '';
      return response;
    },
  };
  return {
    response: response as unknown as ServerResponse,
    answer: () => ({ ...recorded, json: <T>() => JSON.parse(recorded.body) as T }),
  };
}
