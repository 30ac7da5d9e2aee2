'use strict';
/**
 * Hosting, under SageMaker's inference contract: loads the model from SM_MODEL_DIR (default
 * /opt/ml/model, where SageMaker unpacks model.tar.gz) and listens on SAGEMAKER_BIND_TO_PORT
 * (default 8080).
 *
 *   GET  /ping         200 once the model is loaded (it is loaded before the server listens)
 *   POST /invocations  text/csv: one raw record per line, in the data's own layout without the label
 *                      (sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight,
 *                      e.g. "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15"); answers one predicted ring
 *                      count per line, or 400 naming the first bad line.
 */
const http = require('node:http');

const { UsageError } = require('./contract');
const { RecordError, encodeFeatures, isHeader, splitLine } = require('./features');
const { loadModel, predict } = require('./model');

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

async function invocations(model, request) {
  if (mediaType(request.headers['content-type']) !== 'text/csv') {
    throw new HttpError(415, `Content-Type must be text/csv (got "${request.headers['content-type'] ?? ''}")`);
  }
  const accept = mediaType(request.headers.accept);
  if (accept !== '' && accept !== '*/*' && accept !== 'text/csv') throw new HttpError(406, `Accept must be text/csv (got "${request.headers.accept}")`);
  const rows = encodeRequest(model.spec, await readBody(request));
  return predict(model.booster, rows).join('\n') + '\n';
}

/** The request handler for a loaded model: routes, and errors turned into plain-text responses. */
function handler(model) {
  return (request, response) => {
    const reply = (status, body, type = 'text/plain') => {
      response.writeHead(status, { 'Content-Type': type });
      response.end(body);
    };
    const route = `${request.method} ${(request.url ?? '').split('?')[0]}`;
    if (route === 'GET /ping') return reply(200, '');
    if (route === 'GET /execution-parameters') {
      return reply(200, JSON.stringify({ MaxConcurrentTransforms: 1, BatchStrategy: 'MULTI_RECORD', MaxPayloadInMB: 6 }), 'application/json');
    }
    if (route !== 'POST /invocations') return reply(404, `no route for ${route}\n`);
    invocations(model, request).then(
      (body) => reply(200, body, 'text/csv'),
      (error) => {
        if (!(error instanceof HttpError)) console.error(`serve: invocation failed: ${error.stack ?? error}`);
        reply(error instanceof HttpError ? error.status : 500, `${error instanceof HttpError ? error.message : 'internal error'}\n`);
      },
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
  console.log(`serve: model from ${modelDir}, listening on port ${server.address().port}`);
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

module.exports = { encodeRequest, handler, main };
