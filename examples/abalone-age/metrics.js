'use strict';
/**
 * Binary classification metrics, for train's validation log line and evaluate's report. Models
 * predict the probability of label 1; a prediction counts as 1 from THRESHOLD on.
 *
 * modelQualityMetrics has the shape of SageMaker Model Monitor's model quality statistics for binary
 * classification, which the Model Registry shows as a version's model quality:
 * `{confusion_matrix: {<actual>: {<predicted>: count}}, <metric>: {value, standard_deviation}, …}`.
 * As Model Monitor does, the standard deviation is that of the metric over five random 80 % samples,
 * given only from 200 rows on ("NaN" below that); the samples are drawn from a fixed seed.
 */
const { seededRandom, shuffle } = require('./random');

const THRESHOLD = 0.5;

/** The metrics the report lists, in Model Monitor's names and order. */
const REPORTED = Object.freeze([
  'recall',
  'precision',
  'accuracy',
  'accuracy_best_constant_classifier',
  'true_positive_rate',
  'true_negative_rate',
  'false_positive_rate',
  'false_negative_rate',
  'auc',
  'f1',
]);

function ratio(numerator, denominator) {
  return denominator === 0 ? 0 : numerator / denominator;
}

/** Area under the ROC curve: the probability that a random positive scores above a random negative (ties count half). NaN without both classes. */
function auc(labels, scores) {
  const order = scores.map((_score, index) => index).sort((a, b) => scores[a] - scores[b]);
  const positives = labels.reduce((total, label) => total + label, 0);
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return NaN;
  let positiveRanks = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1]] === scores[order[start]]) end += 1;
    const rank = (start + end) / 2 + 1; // tied scores share their average rank
    for (let i = start; i <= end; i += 1) if (labels[order[i]] === 1) positiveRanks += rank;
    start = end + 1;
  }
  return (positiveRanks - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Mean log loss of probabilities against 0/1 labels (probabilities clipped to [1e-15, 1 - 1e-15]). */
function logLoss(labels, probabilities) {
  const total = labels.reduce((sum, label, i) => {
    const p = Math.min(Math.max(probabilities[i], 1e-15), 1 - 1e-15);
    return sum - (label === 1 ? Math.log(p) : Math.log(1 - p));
  }, 0);
  return total / labels.length;
}

/** Every metric of one set of predictions, as plain numbers, with the confusion counts. */
function classificationMetrics(labels, probabilities) {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  labels.forEach((label, i) => {
    const predicted = probabilities[i] >= THRESHOLD;
    if (predicted && label === 1) tp += 1;
    else if (predicted) fp += 1;
    else if (label === 1) fn += 1;
    else tn += 1;
  });
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  const positiveShare = ratio(tp + fn, labels.length);
  return {
    counts: { tp, fp, tn, fn },
    recall,
    precision,
    accuracy: ratio(tp + tn, labels.length),
    accuracy_best_constant_classifier: Math.max(positiveShare, 1 - positiveShare),
    true_positive_rate: recall,
    true_negative_rate: ratio(tn, tn + fp),
    false_positive_rate: ratio(fp, fp + tn),
    false_negative_rate: ratio(fn, fn + tp),
    auc: auc(labels, probabilities),
    f1: ratio(2 * precision * recall, precision + recall),
  };
}

/** JSON has no NaN: Model Monitor writes the text "NaN" instead. */
function jsonNumber(value) {
  return Number.isFinite(value) ? value : 'NaN';
}

function standardDeviation(values) {
  const mean = values.reduce((total, value) => total + value, 0) / values.length;
  return Math.sqrt(values.reduce((total, value) => total + (value - mean) ** 2, 0) / values.length);
}

/** The `binary_classification_metrics` object of a model quality report for these predictions. */
function modelQualityMetrics(labels, probabilities, seed = 0) {
  const full = classificationMetrics(labels, probabilities);
  const samples = [];
  if (labels.length >= 200) {
    const random = seededRandom(seed);
    const indices = labels.map((_label, index) => index);
    for (let draw = 0; draw < 5; draw += 1) {
      const sample = shuffle(indices, random).slice(0, Math.floor(0.8 * labels.length));
      samples.push(classificationMetrics(sample.map((i) => labels[i]), sample.map((i) => probabilities[i])));
    }
  }
  const { tp, fp, tn, fn } = full.counts;
  const metrics = { confusion_matrix: { 0: { 0: tn, 1: fp }, 1: { 0: fn, 1: tp } } };
  for (const name of REPORTED) {
    metrics[name] = { value: jsonNumber(full[name]), standard_deviation: samples.length > 0 ? jsonNumber(standardDeviation(samples.map((sample) => sample[name]))) : 'NaN' };
  }
  return metrics;
}

module.exports = { REPORTED, THRESHOLD, auc, classificationMetrics, logLoss, modelQualityMetrics };
