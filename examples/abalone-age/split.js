'use strict';
/**
 * Processing step (SageMaker's processing contract: inputs under /opt/ml/processing/input, outputs
 * uploaded from /opt/ml/processing/output/<name>): reads the raw abalone CSV, turns the ring count
 * into the 0/1 label "older than 10.5 years", one-hot encodes sex, puts the label first as XGBoost's
 * CSV input expects, shuffles with a seed and splits 70/15/15 into <output>/train/train.csv,
 * <output>/validation/validation.csv and <output>/test/test.csv (headerless).
 *
 *   split [--input /opt/ml/processing/input/raw] [--output /opt/ml/processing/output] [--seed 42]
 */
const path = require('node:path');

const { UsageError, parseOptions, readCsvRows, writeCsv } = require('./contract');
const { RecordError, defaultSpec, encodeLabelledRow, isHeader } = require('./features');
const { seededRandom, shuffle } = require('./random');

const DEFAULTS = { input: '/opt/ml/processing/input/raw', output: '/opt/ml/processing/output', seed: '42' };

/** Encodes every raw row, skipping header rows; a bad row fails the job naming its file and line. */
function encodeRows(rows, spec) {
  return rows
    .filter(({ fields }) => !isHeader(fields))
    .map(({ file, line, fields }) => {
      try {
        return encodeLabelledRow(spec, fields);
      } catch (error) {
        if (error instanceof RecordError) throw new UsageError(`${path.basename(file)} line ${line}: ${error.message}`, { cause: error });
        throw error;
      }
    });
}

function share(rows) {
  return rows.length === 0 ? 0 : rows.filter((row) => row[0] === 1).length / rows.length;
}

async function main(argv) {
  const options = parseOptions(argv, DEFAULTS);
  const seed = Number(options.seed);
  if (options.seed === '' || !Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer (got "${options.seed}")`);

  const spec = defaultSpec();
  const rows = shuffle(encodeRows(readCsvRows(options.input, 'raw data'), spec), seededRandom(seed));
  if (rows.length < 3) throw new UsageError(`raw data: need at least 3 rows to split, found ${rows.length}`);

  const trainEnd = Math.floor(0.7 * rows.length);
  const validationEnd = Math.floor(0.85 * rows.length);
  const splits = { train: rows.slice(0, trainEnd), validation: rows.slice(trainEnd, validationEnd), test: rows.slice(validationEnd) };
  for (const [name, split] of Object.entries(splits)) {
    writeCsv(path.join(options.output, name, `${name}.csv`), split);
  }
  const counts = Object.entries(splits).map(([name, split]) => `${name} ${split.length} (${(100 * share(split)).toFixed(1)} % older)`);
  console.log(`split: ${rows.length} rows, seed ${seed} -> ${counts.join(', ')}`);
  console.log(`split: columns ${[spec.label.name, ...spec.encoded].join(',')} (label first, no header)`);
}

module.exports = { main };
