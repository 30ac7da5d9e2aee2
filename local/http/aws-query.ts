import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { AwsServiceError } from './aws-json';

/**
 * The AWS Query protocol, server side (SNS, SQS's old protocol, STS, IAM…): a form-encoded POST
 * (`Action=<Operation>&Version=<api version>&<members>`), lists as `<Name>.member.<n>`, maps as
 * `<Name>.entry.<n>.key` / `.value` (or the map's own key/value names), answered with XML:
 * `<<Op>Response xmlns=…><<Op>Result>…</<Op>Result><ResponseMetadata><RequestId>…` and, for errors,
 * `<ErrorResponse><Error><Type>Sender|Receiver</Type><Code>…</Code><Message>…</Message></Error><RequestId>…`,
 * which botocore and the SDK v3 clients turn into exceptions named by `Code`.
 */

/** A request's parameters (flat: `Attributes.entry.1.key` stays one name). */
export type QueryParams = Map<string, string>;

/** An XML result value: text, a list (`<member>` items), a map (`<entry><key/><value/></entry>`) or a structure. */
export type XmlValue = string | number | boolean | undefined | XmlValue[] | Map<string, string> | { [member: string]: XmlValue };

/** One handler per Action: parameters in, the `<Action>Result` content out (undefined: no Result element). */
export type QueryOperations = Record<string, (params: QueryParams) => Promise<Record<string, XmlValue> | undefined>>;

/** True for a form-encoded POST whose SigV4 credential scope names `service` (how a request says which Query service it is for). */
export function isQueryRequestFor(request: IncomingMessage, service: string): boolean {
  if (request.method !== 'POST' || !String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return false;
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(String(request.headers.authorization ?? ''));
  return scope?.[1] === service;
}

/** Parses a form-encoded body into its parameters. */
export function parseQuery(body: string): QueryParams {
  return new Map(new URLSearchParams(body).entries());
}

/** A required parameter; InvalidParameter naming it when absent or empty. */
export function requireParam(params: QueryParams, name: string): string {
  const value = params.get(name);
  if (value === undefined || value === '') throw new AwsServiceError('InvalidParameter', `Invalid parameter: ${name} is required`);
  return value;
}

/**
 * A map parameter (`<name>.entry.<n>.<key>` / `.<value>`, n from 1) as a record; entries without a key
 * are refused naming them. `keyName`/`valueName` default to the Query protocol's `key`/`value`.
 */
export function mapParam(params: QueryParams, name: string, keyName = 'key', valueName = 'value'): Record<string, string> {
  const result: Record<string, string> = {};
  for (let n = 1; ; n += 1) {
    const prefix = `${name}.entry.${n}`;
    const key = params.get(`${prefix}.${keyName}`);
    const hasAny = [...params.keys()].some((param) => param.startsWith(`${prefix}.`));
    if (!hasAny) return result;
    if (key === undefined || key === '') throw new AwsServiceError('InvalidParameter', `Invalid parameter: ${prefix}.${keyName} is required`);
    result[key] = params.get(`${prefix}.${valueName}`) ?? '';
  }
}

/** A list of structures (`<name>.member.<n>.<field>`, n from 1), each as a record of its fields. */
export function listParam(params: QueryParams, name: string): Record<string, string>[] {
  const result: Record<string, string>[] = [];
  for (let n = 1; ; n += 1) {
    const prefix = `${name}.member.${n}.`;
    const fields = [...params.entries()].filter(([param]) => param.startsWith(prefix));
    if (fields.length === 0) return result;
    result.push(Object.fromEntries(fields.map(([param, value]) => [param.slice(prefix.length), value])));
  }
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** Serialises a value as the members of an element (no surrounding element). */
export function toXml(value: XmlValue): string {
  if (value === undefined) return '';
  if (typeof value !== 'object') return escapeXml(String(value));
  if (Array.isArray(value)) return value.map((item) => `<member>${toXml(item)}</member>`).join('');
  if (value instanceof Map) return [...value].map(([key, item]) => `<entry><key>${escapeXml(key)}</key><value>${escapeXml(item)}</value></entry>`).join('');
  return Object.entries(value)
    .filter(([, item]) => item !== undefined)
    .map(([member, item]) => `<${member}>${toXml(item)}</${member}>`)
    .join('');
}

/** The whole response document of an Action. */
export function queryResponse(action: string, namespace: string, result: Record<string, XmlValue> | undefined, requestId: string = randomUUID()): string {
  const body = result === undefined ? '' : `<${action}Result>${toXml(result)}</${action}Result>`;
  return `<?xml version="1.0"?>\n<${action}Response xmlns="${namespace}">${body}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>\n`;
}

/** The error document: Type Sender for 4xx, Receiver for 5xx. */
export function queryError(error: AwsServiceError, namespace: string, requestId: string = randomUUID()): string {
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  return `<?xml version="1.0"?>\n<ErrorResponse xmlns="${namespace}"><Error><Type>${type}</Type><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>\n`;
}

/**
 * Serves one Query-protocol request: unknown actions answer InvalidAction (400), a thrown
 * AwsServiceError its code and status, anything else InternalError (500, reported to `onError`).
 */
export async function serveAwsQuery(
  response: ServerResponse,
  body: Buffer,
  operations: QueryOperations,
  options: { namespace: string; onError?: (error: unknown, action: string) => void },
): Promise<void> {
  const params = parseQuery(body.toString('utf8'));
  const action = params.get('Action') ?? '';
  const send = (status: number, text: string) => {
    response.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
    response.end(text);
  };
  const handler = Object.hasOwn(operations, action) ? operations[action] : undefined;
  if (!handler) {
    send(400, queryError(new AwsServiceError('InvalidAction', `The action ${action || '(none)'} is not valid for this endpoint (not emulated by the local runtime).`), options.namespace));
    return;
  }
  try {
    send(200, queryResponse(action, options.namespace, await handler(params)));
  } catch (error) {
    if (error instanceof AwsServiceError) {
      send(error.status, queryError(error, options.namespace));
      return;
    }
    options.onError?.(error, action);
    send(500, queryError(new AwsServiceError('InternalError', (error as Error).message ?? String(error), 500), options.namespace));
  }
}
