'use strict';
/**
 * Processing step (SageMaker's processing contract: inputs under /opt/ml/processing/input, outputs
 * uploaded from /opt/ml/processing/output/<name>): reads the raw abalone CSV, shuffles it with a
 * seed and splits it 70/15/15. Writes, headerless:
 *
 *   train/train.csv, validation/validation.csv, test/test.csv
 *       the rings (label) first, then one-hot sex and the seven measurements: XGBoost's CSV layout
 *   batch/part-<i>.csv
 *       the test rows' raw features as the data file has them (sex,length,…,shell_weight; no rings),
 *       the format serve answers, cut into --batch-files files: the batch transform's input
 *   labels/part-<i>.csv
 *       the rings of those rows, one per line, in the same files and order: what evaluate compares
 *       the transform's part-<i>.csv.out against
 *
 *   split [--input /opt/ml/processing/input/raw] [--output /opt/ml/processing/output] [--seed 42] [--batch-files 3]
 */
const path = require('node:path');

const { UsageError, parseOptions, readCsvRows, writeCsv } = require('./contract');
const { RecordError, defaultSpec, encodeLabelledRow, isHeader } = require('./features');
const { seededRandom, shuffle } = require('./random');

const DEFAULTS = { input: '/opt/ml/processing/input/raw', output: '/opt/ml/processing/output', seed: '42', 'batch-files': '3' };

/** The outputs split writes, in the order of the step's Outputs. */
const OUTPUTS = Object.freeze(['train', 'validation', 'test', 'batch', 'labels']);

/** Encodes every raw row, skipping header rows, keeping its raw fields; a bad row fails the job naming its file and line. */
function encodeRows(rows, spec) {
  return rows
    .filter(({ fields }) => !isHeader(fields))
    .map(({ file, line, fields }) => {
      try {
        return { raw: fields, encoded: encodeLabelledRow(spec, fields) };
      } catch (error) {
        if (error instanceof RecordError) throw new UsageError(`${path.basename(file)} line ${line}: ${error.message}`, { cause: error });
        throw error;
      }
    });
}

function integerOption(options, name, min) {
  const text = options[name];
  const value = Number(text);
  if (text === '' || !Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name} must be an integer of at least ${min} (got "${text}")`);
  return value;
}

/** `rows` cut into `count` consecutive chunks whose sizes differ by at most one. */
function chunks(rows, count) {
  return Array.from({ length: count }, (_unused, index) => rows.slice(Math.floor((index * rows.length) / count), Math.floor(((index + 1) * rows.length) / count)));
}

async function main(argv) {
  const options = parseOptions(argv, DEFAULTS);
  const seed = integerOption(options, 'seed', Number.MIN_SAFE_INTEGER);
  const batchFiles = integerOption(options, 'batch-files', 1);

  const spec = defaultSpec();
  const rows = shuffle(encodeRows(readCsvRows(options.input, 'raw data'), spec), seededRandom(seed));
  if (rows.length < 3) throw new UsageError(`raw data: need at least 3 rows to split, found ${rows.length}`);
  const trainEnd = Math.floor(0.7 * rows.length);
  const validationEnd = Math.floor(0.85 * rows.length);
  const test = rows.slice(validationEnd);
  if (batchFiles > test.length) throw new UsageError(`--batch-files ${batchFiles} is more than the ${test.length} test rows`);

  const splits = { train: rows.slice(0, trainEnd), validation: rows.slice(trainEnd, validationEnd), test };
  for (const [name, split] of Object.entries(splits)) {
    writeCsv(path.join(options.output, name, `${name}.csv`), split.map((row) => row.encoded));
  }
  chunks(test, batchFiles).forEach((part, index) => {
    writeCsv(path.join(options.output, 'batch', `part-${index}.csv`), part.map((row) => row.raw.slice(0, -1)));
    writeCsv(path.join(options.output, 'labels', `part-${index}.csv`), part.map((row) => [row.encoded[0]]));
  });
  console.log(`split: ${rows.length} rows, seed ${seed} -> train ${trainEnd}, validation ${validationEnd - trainEnd}, test ${test.length} (also as ${batchFiles} batch files)`);
  console.log(`split: columns ${[spec.label, ...spec.encoded].join(',')} (label first, no header)`);
}

module.exports = { OUTPUTS, chunks, main };
