'use strict';
/**
 * Regression metrics, for train's log line and evaluate's report.
 *
 * regressionQualityMetrics has the shape of SageMaker Model Monitor's model quality statistics for
 * regression, which the Model Registry shows as a version's model quality:
 * `{mae, mse, rmse, r2}`, each `{value, standard_deviation}`. As Model Monitor does, the standard
 * deviation is that of the metric over five random 80 % samples, given only from 200 rows on ("NaN"
 * below that); the samples are drawn from a fixed seed, so the report is repeatable.
 */
const { seededRandom, shuffle } = require('./random');

/** The metrics the report lists, in Model Monitor's names and order. */
const REPORTED = Object.freeze(['mae', 'mse', 'rmse', 'r2']);

function mean(values) {
  return values.reduce((total, value) => total + value, 0) / values.length;
}

/** Root mean squared error of predictions against labels. */
function rmse(labels, predictions) {
  return Math.sqrt(mean(labels.map((label, i) => (predictions[i] - label) ** 2)));
}

/** Every reported metric of one set of predictions, as plain numbers. r2 is NaN when the labels do not vary. */
function regressionMetrics(labels, predictions) {
  const errors = labels.map((label, i) => predictions[i] - label);
  const mse = mean(errors.map((error) => error * error));
  const labelMean = mean(labels);
  const total = labels.reduce((sum, label) => sum + (label - labelMean) ** 2, 0);
  return { mae: mean(errors.map(Math.abs)), mse, rmse: Math.sqrt(mse), r2: total === 0 ? NaN : 1 - (mse * labels.length) / total };
}

/** JSON has no NaN: Model Monitor writes the text "NaN" instead. */
function jsonNumber(value) {
  return Number.isFinite(value) ? value : 'NaN';
}

function standardDeviation(values) {
  const average = mean(values);
  return Math.sqrt(mean(values.map((value) => (value - average) ** 2)));
}

/** The `regression_metrics` object of a model quality report for these predictions. Throws Error when there are none. */
function regressionQualityMetrics(labels, predictions, seed = 0) {
  if (labels.length === 0) throw new Error('no rows to compute regression metrics on');
  if (predictions.length !== labels.length) throw new Error(`${predictions.length} predictions for ${labels.length} labels`);
  const full = regressionMetrics(labels, predictions);
  const samples = [];
  if (labels.length >= 200) {
    const random = seededRandom(seed);
    const indices = labels.map((_label, index) => index);
    for (let draw = 0; draw < 5; draw += 1) {
      const sample = shuffle(indices, random).slice(0, Math.floor(0.8 * labels.length));
      samples.push(regressionMetrics(sample.map((i) => labels[i]), sample.map((i) => predictions[i])));
    }
  }
  return Object.fromEntries(
    REPORTED.map((name) => [name, { value: jsonNumber(full[name]), standard_deviation: samples.length > 0 ? jsonNumber(standardDeviation(samples.map((sample) => sample[name]))) : 'NaN' }]),
  );
}

module.exports = { REPORTED, regressionMetrics, regressionQualityMetrics, rmse };
