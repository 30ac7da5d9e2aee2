'use strict';
/**
 * The model artifact: what train writes to SM_MODEL_DIR (SageMaker tars it into model.tar.gz), and
 * how evaluate and serve read it back:
 *
 *   model.json     {"segment": "M" | null, "booster": <ml-xgboost's toJSON()>}: the segment is the sex
 *                  the model was trained on (a per-segment model), or null (all abalones)
 *   features.json  the feature encoding the booster expects (see features.js)
 */
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const { SEXES, checkSpec } = require('./features');

const MODEL_FILE = 'model.json';
const FEATURES_FILE = 'features.json';
const ARCHIVE_FILE = 'model.tar.gz';

let xgboost;

/**
 * ml-xgboost's XGBoost class, loaded once. Its wasm loader first tries WebAssembly.instantiateStreaming
 * on a file path, which always fails under Node and prints a warning before falling back; hiding
 * instantiateStreaming while the module initialises takes the working path directly.
 */
function loadXGBoost() {
  if (!xgboost) {
    const streaming = WebAssembly.instantiateStreaming;
    WebAssembly.instantiateStreaming = undefined;
    try {
      xgboost = require('ml-xgboost');
    } finally {
      WebAssembly.instantiateStreaming = streaming;
    }
  }
  return xgboost;
}

/** Writes the booster, the segment it was trained on (or null) and its feature encoding into `dir` (SM_MODEL_DIR). */
function saveModel(dir, booster, spec, segment) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, MODEL_FILE), JSON.stringify({ segment: segment ?? null, booster: booster.toJSON() }));
  fs.writeFileSync(path.join(dir, FEATURES_FILE), JSON.stringify(spec, null, 2) + '\n');
}

function cString(block, start, length) {
  const end = block.indexOf(0, start);
  return block.toString('utf8', start, end === -1 || end > start + length ? start + length : end);
}

/** The regular files of a tar archive (ustar, GNU long names and pax paths), by name without a leading "./". */
function readTar(buffer) {
  const files = new Map();
  let offset = 0;
  let nextName;
  while (offset + 512 <= buffer.length) {
    const header = buffer.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const sizeField = cString(header, 124, 12).trim();
    const size = sizeField === '' ? 0 : parseInt(sizeField, 8);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error(`model.tar.gz: bad tar header at byte ${offset}`);
    const type = String.fromCharCode(header[156] || 48);
    const prefix = header.toString('latin1', 257, 262) === 'ustar' ? cString(header, 345, 155) : '';
    const name = nextName ?? (prefix ? `${prefix}/${cString(header, 0, 100)}` : cString(header, 0, 100));
    const data = buffer.subarray(offset + 512, offset + 512 + size);
    if (data.length < size) throw new Error('model.tar.gz: archive is truncated');
    nextName = undefined;
    if (type === 'L') {
      nextName = cString(data, 0, data.length);
    } else if (type === 'x') {
      const match = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      if (match) nextName = match[1];
    } else if (type === '0' || type === '7') {
      files.set(name.replace(/^(\.\/)+/, ''), data);
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} is not valid JSON (${error.message})`, { cause: error });
  }
}

/** The files of the artifact in `dir`, unpacked (SM_MODEL_DIR) or as model.tar.gz (a processing input). */
function artifactFiles(dir) {
  if (fs.existsSync(path.join(dir, MODEL_FILE))) {
    return (name) => (fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name)) : undefined);
  }
  if (fs.existsSync(path.join(dir, ARCHIVE_FILE))) {
    const files = readTar(zlib.gunzipSync(fs.readFileSync(path.join(dir, ARCHIVE_FILE))));
    return (name) => files.get(name);
  }
  throw new Error(`no ${MODEL_FILE} or ${ARCHIVE_FILE} in ${dir}`);
}

/**
 * Loads a model from a folder holding either model.json and features.json (SM_MODEL_DIR, where
 * SageMaker unpacks the artifact for hosting and batch transform) or model.tar.gz (a processing
 * input of a training job's artifact). Returns `{segment, spec, predict(rows) -> rings, free()}`.
 * Throws Error saying what is missing or wrong.
 */
async function loadModel(dir) {
  const read = artifactFiles(dir);
  const modelFile = read(MODEL_FILE);
  const featuresFile = read(FEATURES_FILE);
  if (!modelFile || !featuresFile) throw new Error(`the model artifact in ${dir} needs both ${MODEL_FILE} and ${FEATURES_FILE}`);
  const spec = checkSpec(parseJson(featuresFile.toString('utf8'), FEATURES_FILE));
  const model = parseJson(modelFile.toString('utf8'), MODEL_FILE);
  if (!model || typeof model !== 'object' || !model.booster || typeof model.booster !== 'object') throw new Error(`${MODEL_FILE}: expected {"segment", "booster"}`);
  const segment = model.segment ?? null;
  if (segment !== null && !SEXES.includes(segment)) throw new Error(`${MODEL_FILE}: "segment" must be null or one of ${SEXES.join(', ')} (got ${JSON.stringify(segment)})`);
  const XGBoost = await loadXGBoost();
  const booster = XGBoost.load(model.booster);
  // ml-xgboost cannot predict an empty matrix.
  return { segment, spec, predict: (rows) => (rows.length === 0 ? [] : Array.from(booster.predict(rows))), free: () => booster.free() };
}

module.exports = { ARCHIVE_FILE, FEATURES_FILE, MODEL_FILE, loadModel, loadXGBoost, readTar, saveModel };
