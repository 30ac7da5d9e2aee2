'use strict';
/**
 * Processing step, as the template's evaluate.py: loads the trained model (the training job's
 * model.tar.gz), predicts the test split and writes <output>/evaluation/evaluation.json:
 *
 *   {"regression_metrics": {"mse": {"value": <mean squared error>, "standard_deviation": <std of the errors>}}}
 *
 *   evaluate [--model /opt/ml/processing/input/model] [--test /opt/ml/processing/input/test] [--output /opt/ml/processing/output]
 */
const fs = require('node:fs');
const path = require('node:path');

const { parseOptions, readLabelledMatrix } = require('./contract');
const { loadModel, predict } = require('./model');

const DEFAULTS = { model: '/opt/ml/processing/input/model', test: '/opt/ml/processing/input/test', output: '/opt/ml/processing/output' };

/** The template's report: mean squared error, and the (population) standard deviation of the errors, as np.std. */
function regressionReport(labels, predictions) {
  const errors = labels.map((label, i) => label - predictions[i]);
  const mse = errors.reduce((total, error) => total + error * error, 0) / errors.length;
  const meanError = errors.reduce((total, error) => total + error, 0) / errors.length;
  const std = Math.sqrt(errors.reduce((total, error) => total + (error - meanError) ** 2, 0) / errors.length);
  return { regression_metrics: { mse: { value: mse, standard_deviation: std } } };
}

async function main(argv) {
  const options = parseOptions(argv, DEFAULTS);
  const { booster, spec } = await loadModel(options.model);
  const test = readLabelledMatrix(options.test, 'test data', spec.encoded.length);
  if (test.labels.length === 0) throw new Error('test data: no rows');

  const report = regressionReport(test.labels, predict(booster, test.features));
  booster.free();
  const file = path.join(options.output, 'evaluation', 'evaluation.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(report) + '\n');
  console.log(`evaluate: ${test.labels.length} test rows, mse ${report.regression_metrics.mse.value.toFixed(4)}`);
  console.log(`evaluate: wrote ${file}`);
}

module.exports = { main, regressionReport };
