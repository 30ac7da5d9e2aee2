'use strict';
/**
 * Processing step (SageMaker's processing contract): scores the tuned model from the batch
 * transform's output and each per-segment model on its own segment, and writes
 * <output>/evaluation/evaluation.json, the pipeline's property file:
 *
 *   {
 *     "regression_metrics": {mae, mse, rmse, r2},   the tuned model on the whole test split, from the
 *                                                   transform's .out files (Model Monitor's shape)
 *     "test_rows": 627,
 *     "segments": {
 *       "F": {"rows": 204, "segment_model": {"regression_metrics": {…}}, "tuned_model": {"regression_metrics": {…}}},
 *       "I": …, "M": …
 *     }
 *   }
 *
 * The top level is the tuned model's model quality report, so the registered version (the tuned
 * model) shows it as its ModelMetrics. Each segment compares the model trained on that segment
 * alone with the tuned model on the same rows.
 *
 *   evaluate [--predictions /opt/ml/processing/input/predictions]   <file>.out per batch file (the transform's output)
 *            [--labels /opt/ml/processing/input/labels]             <file>: the rings of <file>'s rows, one per line
 *            [--batch /opt/ml/processing/input/batch]               <file>: the raw records the transform read
 *            [--segment-models /opt/ml/processing/input/segment-models]   one folder per ForEach item (0, 1, 2…),
 *                                                                  each with that item's model.tar.gz
 *            [--output /opt/ml/processing/output]
 */
const fs = require('node:fs');
const path = require('node:path');

const { UsageError, parseOptions } = require('./contract');
const { RecordError, encodeFeatures, sexOf, splitLine } = require('./features');
const { regressionQualityMetrics } = require('./metrics');
const { loadModel } = require('./model');

const DEFAULTS = {
  predictions: '/opt/ml/processing/input/predictions',
  labels: '/opt/ml/processing/input/labels',
  batch: '/opt/ml/processing/input/batch',
  'segment-models': '/opt/ml/processing/input/segment-models',
  output: '/opt/ml/processing/output',
};

function listDir(dir, what) {
  try {
    return fs.readdirSync(dir).filter((name) => !name.startsWith('.')).sort();
  } catch (error) {
    throw new UsageError(`${what}: cannot read ${dir} (${error.code ?? error.message})`, { cause: error });
  }
}

/** The non-empty lines of a file (a transform's AssembleWith Line output ends each response with a newline). */
function lines(file) {
  return fs.readFileSync(file, 'utf8').split(/\r?\n/).filter((line) => line.trim() !== '');
}

function numbers(file, what) {
  return lines(file).map((line, index) => {
    const value = Number(line.trim());
    if (line.trim() === '' || !Number.isFinite(value)) throw new UsageError(`${what}: ${path.basename(file)} line ${index + 1}: expected a number, got "${line}"`);
    return value;
  });
}

/**
 * The test split as the transform saw it: for every labels file `<f>`, its rings, the transform's
 * predictions from `<f>.out` and the raw records of `<f>`, row for row. Throws UsageError naming
 * the file when one is missing or the counts differ.
 */
function readScoredRows(options) {
  const labelFiles = listDir(options.labels, 'labels').filter((name) => !name.endsWith('.out'));
  if (labelFiles.length === 0) throw new UsageError(`labels: no file in ${options.labels}`);
  const outputs = listDir(options.predictions, 'predictions').filter((name) => name.endsWith('.out'));
  const unmatched = outputs.filter((name) => !labelFiles.includes(name.slice(0, -'.out'.length)));
  if (unmatched.length > 0) throw new UsageError(`predictions: ${unmatched.join(', ')} match no labels file in ${options.labels}`);
  const rows = [];
  for (const name of labelFiles) {
    const outFile = path.join(options.predictions, `${name}.out`);
    if (!fs.existsSync(outFile)) throw new UsageError(`predictions: no ${name}.out in ${options.predictions} (the transform writes one per input file)`);
    const labels = numbers(path.join(options.labels, name), 'labels');
    const predictions = numbers(outFile, 'predictions');
    const records = lines(path.join(options.batch, name));
    if (predictions.length !== labels.length || records.length !== labels.length) {
      throw new UsageError(`${name}: ${labels.length} labels, ${predictions.length} predictions in ${name}.out and ${records.length} batch records: they must match line for line`);
    }
    records.forEach((record, index) => {
      const fields = splitLine(record);
      try {
        rows.push({ label: labels[index], prediction: predictions[index], fields, sex: sexOf(fields[0]) });
      } catch (error) {
        if (error instanceof RecordError) throw new UsageError(`batch: ${name} line ${index + 1}: ${error.message}`, { cause: error });
        throw error;
      }
    });
  }
  return rows;
}

/** The per-segment models: every item folder (0, 1, 2…) under `dir`, loaded; each must name a distinct segment. */
async function loadSegmentModels(dir) {
  const items = listDir(dir, 'segment models').filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(a) - Number(b));
  if (items.length === 0) throw new UsageError(`segment models: no item folder (0, 1, …) in ${dir}`);
  const models = new Map();
  for (const item of items) {
    const model = await loadModel(path.join(dir, item));
    if (model.segment === null) throw new UsageError(`segment models: ${item} holds a model of all abalones, not of one segment`);
    if (models.has(model.segment)) throw new UsageError(`segment models: ${item} and ${models.get(model.segment).item} both hold a model of sex=${model.segment}`);
    models.set(model.segment, { item, model });
  }
  return models;
}

async function main(argv) {
  const options = parseOptions(argv, DEFAULTS);
  const rows = readScoredRows(options);
  const report = {
    regression_metrics: regressionQualityMetrics(rows.map((row) => row.label), rows.map((row) => row.prediction)),
    test_rows: rows.length,
    segments: {},
  };
  const models = await loadSegmentModels(options['segment-models']);
  for (const [segment, { model }] of [...models].sort(([a], [b]) => a.localeCompare(b))) {
    try {
      const own = rows.filter((row) => row.sex === segment);
      if (own.length === 0) throw new UsageError(`no test rows of sex=${segment}`);
      const labels = own.map((row) => row.label);
      report.segments[segment] = {
        rows: own.length,
        segment_model: { regression_metrics: regressionQualityMetrics(labels, model.predict(own.map((row) => encodeFeatures(model.spec, row.fields)))) },
        tuned_model: { regression_metrics: regressionQualityMetrics(labels, own.map((row) => row.prediction)) },
      };
    } finally {
      model.free();
    }
  }

  const file = path.join(options.output, 'evaluation', 'evaluation.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  console.log(`evaluate: tuned model on ${rows.length} test rows: rmse ${report.regression_metrics.rmse.value.toFixed(4)}`);
  for (const [segment, result] of Object.entries(report.segments)) {
    console.log(`evaluate: sex=${segment} (${result.rows} rows): segment model rmse ${result.segment_model.regression_metrics.rmse.value.toFixed(4)}, tuned model ${result.tuned_model.regression_metrics.rmse.value.toFixed(4)}`);
  }
  console.log(`evaluate: wrote ${file}`);
}

module.exports = { DEFAULTS, main };
