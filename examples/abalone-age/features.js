'use strict';
/**
 * The feature encoding and the label, shared by every step: split encodes the data with it, train
 * saves it next to the model as features.json, and serve encodes raw requests with the copy that
 * came inside the model artifact. One definition, so training and serving cannot drift apart.
 *
 * The label answers "is this abalone older than 10.5 years?". An abalone's age is about its ring
 * count + 1.5 years, so the label is 1 when it has more than 9 rings, else 0 (about half of the
 * data set each way). Scaling is left to the models: XGBoost does not need it, and the logistic
 * regression standardises its inputs with statistics it fits and stores (see logistic.js).
 */

/** Raw columns of the UCI Abalone file, in file order (the file has no header; ours may have one). */
const RAW_COLUMNS = Object.freeze(['sex', 'length', 'diameter', 'height', 'whole_weight', 'shucked_weight', 'viscera_weight', 'shell_weight', 'rings']);

/** Age ≈ rings + 1.5 years, so "older than 10.5 years" is "more than 9 rings". */
const RINGS_ABOVE = 9;

/** What features.json holds: the label's definition, the raw feature columns, the one-hot encoding and the resulting model inputs. */
function defaultSpec() {
  const input = RAW_COLUMNS.filter((column) => column !== 'rings');
  const categorical = { sex: ['F', 'I', 'M'] };
  const encoded = input.flatMap((column) => (categorical[column] ? categorical[column].map((value) => `${column}_${value}`) : [column]));
  return { version: 1, label: { name: 'older_than_10_5_years', column: 'rings', above: RINGS_ABOVE }, input, categorical, encoded };
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

/** Encodes a raw labelled row (features, then rings last, as in the data file) into `[label, ...features]`, the label 0 or 1. */
function encodeLabelledRow(spec, fields) {
  if (fields.length !== spec.input.length + 1) {
    throw new RecordError(`expected ${spec.input.length + 1} fields (${[...spec.input, spec.label.column].join(',')}), got ${fields.length}`);
  }
  const rings = parseNumber(spec.label.column, fields[fields.length - 1]);
  return [rings > spec.label.above ? 1 : 0, ...encodeFeatures(spec, fields.slice(0, -1))];
}

/** Checks that a features.json read from a model artifact is one this code can apply. Throws Error otherwise. */
function checkSpec(spec) {
  const ok = spec && spec.version === 1 && Array.isArray(spec.input) && Array.isArray(spec.encoded) && typeof spec.categorical === 'object' && spec.categorical !== null;
  if (!ok) throw new Error('features.json is not a version 1 feature specification');
  return spec;
}

module.exports = { RAW_COLUMNS, RINGS_ABOVE, RecordError, checkSpec, defaultSpec, encodeFeatures, encodeLabelledRow, isHeader, splitLine };
