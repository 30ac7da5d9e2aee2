import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The AWS JSON wire protocol (awsJson1_0 / awsJson1_1), server side: the operation comes from the
 * `X-Amz-Target: <Prefix>.<Operation>` header, input and output are JSON bodies, errors are HTTP
 * 4xx/5xx with `{"__type": "<Code>", "message": "..."}`, which the SDK v3 clients turn into
 * exceptions whose `name` is `<Code>`. Timestamps travel as epoch seconds (numbers).
 */

/** A modelled service error: the SDK client raises it with `name === code`. */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

/** One handler per operation name; input is the parsed JSON body (validate it!). */
export type JsonOperations = Record<string, (input: Record<string, unknown>) => Promise<unknown>>;

/** The operation named by `X-Amz-Target`, e.g. `SageMaker.CreateTrainingJob` → `CreateTrainingJob`. */
export function targetOperation(request: IncomingMessage): { prefix: string; operation: string } | undefined {
  const target = request.headers['x-amz-target'];
  if (typeof target !== 'string' || !target.includes('.')) return undefined;
  const dot = target.lastIndexOf('.');
  return { prefix: target.slice(0, dot), operation: target.slice(dot + 1) };
}

/** Writes a JSON-protocol error the SDK understands. */
export function sendAwsError(response: ServerResponse, error: AwsServiceError, contentType = 'application/x-amz-json-1.1'): void {
  const body = JSON.stringify({ __type: error.code, message: error.message });
  response.writeHead(error.status, { 'content-type': contentType, 'x-amzn-errortype': error.code, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

/**
 * Serves one JSON-protocol request with `operations`. Unknown operations answer
 * `UnknownOperationException`; malformed JSON `SerializationException`; a thrown AwsServiceError
 * its own code; anything else `InternalFailure` (500, message logged by the caller's `onError`).
 */
export async function serveAwsJson(
  request: IncomingMessage,
  response: ServerResponse,
  body: Buffer,
  operations: JsonOperations,
  options: { contentType?: string; onError?: (error: unknown, operation: string) => void } = {},
): Promise<void> {
  const contentType = options.contentType ?? 'application/x-amz-json-1.1';
  const target = targetOperation(request);
  const handler = target ? operations[target.operation] : undefined;
  if (!target || !handler || !Object.hasOwn(operations, target.operation)) {
    sendAwsError(response, new AwsServiceError('UnknownOperationException', `operation ${target?.operation ?? '(none)'} is not supported by the local runtime`), contentType);
    return;
  }
  let input: Record<string, unknown>;
  try {
    const parsed: unknown = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('body is not a JSON object');
    input = parsed as Record<string, unknown>;
  } catch (error) {
    sendAwsError(response, new AwsServiceError('SerializationException', `request body is not valid JSON: ${(error as Error).message}`), contentType);
    return;
  }
  try {
    const output = (await handler(input)) ?? {};
    const text = JSON.stringify(output);
    response.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
    response.end(text);
  } catch (error) {
    if (error instanceof AwsServiceError) {
      sendAwsError(response, error, contentType);
      return;
    }
    options.onError?.(error, target.operation);
    sendAwsError(response, new AwsServiceError('InternalFailure', (error as Error).message ?? String(error), 500), contentType);
  }
}

/** Epoch seconds, as the JSON protocols carry timestamps. */
export function epochSeconds(date: Date = new Date()): number {
  return date.getTime() / 1000;
}

/** Reads a whole request body. */
export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Throws ValidationException unless `value` is a non-empty string; returns it. */
export function requireString(input: Record<string, unknown>, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value === '') throw new AwsServiceError('ValidationException', `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`);
  return value;
}
