'use strict';
/**
 * The feature encoding and the label, shared by every step: split encodes the data with it, train
 * saves it next to the model as features.json, and serve and evaluate encode raw records with the
 * copy that came inside the model artifact. One definition, so training and serving cannot drift apart.
 *
 * The label is the ring count (age ≈ rings + 1.5 years): a regression. `sex` is one-hot encoded;
 * it is also what the per-segment models are split by (SEXES). XGBoost needs no scaling.
 */

/** Raw columns of the UCI Abalone file, in file order (the file has no header; ours may have one). */
const RAW_COLUMNS = Object.freeze(['sex', 'length', 'diameter', 'height', 'whole_weight', 'shucked_weight', 'viscera_weight', 'shell_weight', 'rings']);

const LABEL = 'rings';

/** The values of `sex`: female, infant, male. Each is one segment of the per-segment models. */
const SEXES = Object.freeze(['F', 'I', 'M']);

/** What features.json holds: the label, the raw feature columns, the one-hot encoding and the resulting model inputs. */
function defaultSpec() {
  const input = RAW_COLUMNS.filter((column) => column !== LABEL);
  const categorical = { sex: [...SEXES] };
  const encoded = input.flatMap((column) => (categorical[column] ? categorical[column].map((value) => `${column}_${value}`) : [column]));
  return { version: 1, label: LABEL, input, categorical, encoded };
}

/** A record that cannot be encoded; `message` says which field and why (callers prefix the line). */
class RecordError extends Error {
  constructor(message) {
    super(message);
    this.name = 'RecordError';
  }
}

/** Whether a CSV row is the header row some copies of the data set carry. */
function isHeader(fields) {
  return fields.length > 0 && fields[0].trim().toLowerCase() === RAW_COLUMNS[0];
}

/** Splits one CSV line of plain values (the data has no quoting). */
function splitLine(line) {
  return line.split(',').map((field) => field.trim());
}

function parseNumber(column, text) {
  const value = text === '' ? NaN : Number(text);
  if (!Number.isFinite(value) || value < 0) throw new RecordError(`${column} must be a non-negative number (got "${text}")`);
  return value;
}

/** The segment (F, I or M) of a raw record's sex field, upper-cased. Throws RecordError for anything else. */
function sexOf(field) {
  const value = String(field).trim().toUpperCase();
  if (!SEXES.includes(value)) throw new RecordError(`sex must be one of ${SEXES.join(', ')} (got "${field}")`);
  return value;
}

/**
 * Encodes the raw feature fields (`spec.input` order) into the model's inputs (`spec.encoded` order).
 * Throws RecordError naming the offending field.
 */
function encodeFeatures(spec, fields) {
  if (fields.length !== spec.input.length) {
    throw new RecordError(`expected ${spec.input.length} fields (${spec.input.join(',')}), got ${fields.length}`);
  }
  return spec.input.flatMap((column, index) => {
    const categories = spec.categorical[column];
    if (!categories) return [parseNumber(column, fields[index])];
    const value = fields[index].toUpperCase();
    if (!categories.includes(value)) throw new RecordError(`${column} must be one of ${categories.join(', ')} (got "${fields[index]}")`);
    return categories.map((category) => (category === value ? 1 : 0));
  });
}

/** Encodes a raw labelled row (features, then the rings last, as in the data file) into `[rings, ...features]`. */
function encodeLabelledRow(spec, fields) {
  if (fields.length !== spec.input.length + 1) {
    throw new RecordError(`expected ${spec.input.length + 1} fields (${[...spec.input, spec.label].join(',')}), got ${fields.length}`);
  }
  const label = parseNumber(spec.label, fields[fields.length - 1]);
  return [label, ...encodeFeatures(spec, fields.slice(0, -1))];
}

/** The segment of an encoded feature row (no label): the sex whose one-hot column is 1. */
function segmentOfEncoded(spec, features) {
  const sex = spec.categorical.sex.find((value) => features[spec.encoded.indexOf(`sex_${value}`)] === 1);
  if (sex === undefined) throw new RecordError('the row has no one-hot sex column set');
  return sex;
}

/** Checks that a features.json read from a model artifact is one this code can apply. Throws Error otherwise. */
function checkSpec(spec) {
  const ok = spec && spec.version === 1 && Array.isArray(spec.input) && Array.isArray(spec.encoded) && typeof spec.categorical === 'object' && spec.categorical !== null;
  if (!ok) throw new Error('features.json is not a version 1 feature specification');
  return spec;
}

module.exports = { RAW_COLUMNS, RecordError, SEXES, checkSpec, defaultSpec, encodeFeatures, encodeLabelledRow, isHeader, segmentOfEncoded, sexOf, splitLine };
