'use strict';
/**
 * Processing step, as the template's preprocess.py: reads the raw abalone CSV, one-hot encodes sex,
 * puts the label (rings) first as XGBoost's CSV input expects, shuffles with a fixed seed and splits
 * 70/15/15 into <output>/train/train.csv, <output>/validation/validation.csv and <output>/test/test.csv.
 *
 *   preprocess [--input /opt/ml/processing/input/raw] [--output /opt/ml/processing/output] [--seed 42]
 */
const path = require('node:path');

const { UsageError, parseOptions, readCsvRows, writeCsv } = require('./contract');
const { RecordError, defaultSpec, encodeLabelledRow, isHeader } = require('./features');

const DEFAULTS = { input: '/opt/ml/processing/input/raw', output: '/opt/ml/processing/output', seed: '42' };

/** mulberry32: a small seeded PRNG, so the same data and seed always give the same split. */
function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle in place. */
function shuffle(rows, random) {
  for (let i = rows.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return rows;
}

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

async function main(argv) {
  const options = parseOptions(argv, DEFAULTS);
  const seed = Number(options.seed);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer (got "${options.seed}")`);

  const spec = defaultSpec();
  const rows = shuffle(encodeRows(readCsvRows(options.input, 'raw data'), spec), seededRandom(seed));
  if (rows.length < 3) throw new UsageError(`raw data: need at least 3 rows to split, found ${rows.length}`);

  // np.split(df, [int(0.7 * n), int(0.85 * n)]), as the template does.
  const trainEnd = Math.floor(0.7 * rows.length);
  const validationEnd = Math.floor(0.85 * rows.length);
  const splits = { train: rows.slice(0, trainEnd), validation: rows.slice(trainEnd, validationEnd), test: rows.slice(validationEnd) };
  for (const [name, split] of Object.entries(splits)) {
    writeCsv(path.join(options.output, name, `${name}.csv`), split);
  }
  console.log(`preprocess: ${rows.length} rows -> train ${splits.train.length}, validation ${splits.validation.length}, test ${splits.test.length}`);
  console.log(`preprocess: columns ${[spec.label, ...spec.encoded].join(',')} (label first, no header)`);
}

module.exports = { main, seededRandom, shuffle };
