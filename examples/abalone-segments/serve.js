'use strict';
/**
 * Hosting and batch transform, under SageMaker's inference contract: loads the model from
 * SM_MODEL_DIR (default /opt/ml/model, where SageMaker unpacks model.tar.gz) and listens on
 * SAGEMAKER_BIND_TO_PORT (default 8080).
 *
 *   GET  /ping         200 once the model is loaded (it is loaded before the server listens)
 *   POST /invocations  text/csv: one raw record per line, in the data's own layout without the rings
 *                      (sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight,
 *                      e.g. "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15"); answers one predicted ring
 *                      count per line, in the records' order, or 400 naming the first bad line. A batch
 *                      transform with SplitType Line and BatchStrategy MultiRecord sends many lines at once.
 *   GET  /execution-parameters   the batch settings this server suits (a transform job without its own asks for them)
 *
 * `respond` decides every answer from the request's method, path, headers and body; `handler` only
 * moves bytes between it and Node's HTTP server.
 */
const http = require('node:http');

const { UsageError } = require('./contract');
const { RecordError, encodeFeatures, isHeader, splitLine } = require('./features');
const { loadModel } = require('./model');

/** SageMaker's real-time payload limit. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

class HttpError extends Error {
  constructor(status, message, options) {
    super(message, options);
    this.name = 'HttpError';
    this.status = status;
  }
}

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    request.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES) {
        reject(new HttpError(413, `payload larger than ${MAX_PAYLOAD_BYTES} bytes`));
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Encodes the request's records; a header row is skipped, any other bad line is a 400 naming it. */
function encodeRequest(spec, body) {
  const rows = [];
  body.split(/\r?\n/).forEach((text, index) => {
    if (text.trim() === '') return;
    const fields = splitLine(text);
    if (rows.length === 0 && isHeader(fields)) return;
    try {
      rows.push(encodeFeatures(spec, fields));
    } catch (error) {
      if (error instanceof RecordError) throw new HttpError(400, `line ${index + 1}: ${error.message}`, { cause: error });
      throw error;
    }
  });
  if (rows.length === 0) throw new HttpError(400, 'no records: send one CSV record per line');
  return rows;
}

function mediaType(header) {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

function invocations(model, headers, body) {
  if (mediaType(headers['content-type']) !== 'text/csv') {
    throw new HttpError(415, `Content-Type must be text/csv (got "${headers['content-type'] ?? ''}")`);
  }
  const accept = mediaType(headers.accept);
  if (accept !== '' && accept !== '*/*' && accept !== 'text/csv') throw new HttpError(406, `Accept must be text/csv (got "${headers.accept}")`);
  return model.predict(encodeRequest(model.spec, body)).join('\n') + '\n';
}

/**
 * The answer to one request: `{status, type, body}`. `request` is `{method, path, headers, body}`,
 * headers with lower-case names (as Node gives them). Never throws: errors become plain-text answers.
 */
function respond(model, { method, path, headers, body }) {
  const reply = (status, text, type = 'text/plain') => ({ status, type, body: text });
  const route = `${method} ${path}`;
  if (route === 'GET /ping') return reply(200, '');
  if (route === 'GET /execution-parameters') {
    return reply(200, JSON.stringify({ MaxConcurrentTransforms: 1, BatchStrategy: 'MULTI_RECORD', MaxPayloadInMB: 6 }), 'application/json');
  }
  if (route !== 'POST /invocations') return reply(404, `no route for ${route}\n`);
  try {
    return reply(200, invocations(model, headers, body), 'text/csv');
  } catch (error) {
    if (error instanceof HttpError) return reply(error.status, `${error.message}\n`);
    console.error(`serve: invocation failed: ${error.stack ?? error}`);
    return reply(500, 'internal error\n');
  }
}

/** Node's request handler for a loaded model: reads the body (up to SageMaker's limit) and writes `respond`'s answer. */
function handler(model) {
  return (request, response) => {
    const write = ({ status, type, body }) => {
      response.writeHead(status, { 'Content-Type': type });
      response.end(body);
    };
    const path = (request.url ?? '').split('?')[0];
    readBody(request).then(
      (body) => write(respond(model, { method: request.method, path, headers: request.headers, body })),
      (error) => write(error instanceof HttpError ? { status: error.status, type: 'text/plain', body: `${error.message}\n` } : { status: 500, type: 'text/plain', body: 'internal error\n' }),
    );
  };
}

async function main(_argv, env = process.env) {
  const portText = env.SAGEMAKER_BIND_TO_PORT ?? '8080';
  const port = Number(portText);
  if (portText === '' || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`SAGEMAKER_BIND_TO_PORT must be a port number (got "${portText}")`);
  const modelDir = env.SM_MODEL_DIR ?? '/opt/ml/model';
  const model = await loadModel(modelDir);

  const server = http.createServer(handler(model));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    // All interfaces: SageMaker reaches the container from outside it.
    server.listen(port, '0.0.0.0', resolve);
  });
  console.log(`serve: ${model.segment === null ? 'all-abalone' : `sex=${model.segment}`} model from ${modelDir}, listening on port ${server.address().port}`);
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

module.exports = { encodeRequest, handler, main, respond };
