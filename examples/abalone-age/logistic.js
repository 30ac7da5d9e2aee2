'use strict';
/**
 * A logistic regression in plain JavaScript: the simple model XGBoost is compared with.
 *
 * Inputs are standardised with the training rows' means and standard deviations (kept in the
 * model, so that serving applies the same), the weights start at zero and are fitted by mini-batch
 * gradient descent on the log loss with L2 regularisation. Each epoch visits the rows in an order
 * drawn from `seed`: the same data, options and seed give the same weights, bit for bit.
 */
const { seededRandom, shuffle } = require('./random');

/** The hyperparameters' defaults (the job may set any of them; see train.js). */
const DEFAULT_OPTIONS = Object.freeze({ epochs: 100, learning_rate: 0.1, batch_size: 32, l2: 0.0001, seed: 0 });

function sigmoid(z) {
  return 1 / (1 + Math.exp(-z));
}

/** Per column: mean and standard deviation (1 for a constant column, so that it scales to 0 instead of NaN). */
function standardisation(features) {
  const columns = features[0].length;
  const mean = new Array(columns).fill(0);
  const scale = new Array(columns).fill(0);
  for (const row of features) row.forEach((value, j) => (mean[j] += value / features.length));
  for (const row of features) row.forEach((value, j) => (scale[j] += (value - mean[j]) ** 2 / features.length));
  return { mean, scale: scale.map((variance) => (variance > 0 ? Math.sqrt(variance) : 1)) };
}

/**
 * Fits the model to feature rows and 0/1 labels. `options` as DEFAULT_OPTIONS (all required).
 * Returns the model as plain JSON: { algorithm: 'logistic', mean, scale, weights, bias }.
 */
function fitLogistic(features, labels, options) {
  if (features.length === 0) throw new Error('logistic regression: no training rows');
  const { mean, scale } = standardisation(features);
  const rows = features.map((row) => row.map((value, j) => (value - mean[j]) / scale[j]));
  const weights = new Array(mean.length).fill(0);
  let bias = 0;
  const random = seededRandom(options.seed);
  const order = rows.map((_row, index) => index);
  const gradient = new Array(weights.length);
  for (let epoch = 0; epoch < options.epochs; epoch += 1) {
    shuffle(order, random);
    for (let start = 0; start < order.length; start += options.batch_size) {
      const batch = order.slice(start, start + options.batch_size);
      gradient.fill(0);
      let biasGradient = 0;
      for (const index of batch) {
        const row = rows[index];
        const error = sigmoid(bias + row.reduce((total, value, j) => total + weights[j] * value, 0)) - labels[index];
        row.forEach((value, j) => (gradient[j] += error * value));
        biasGradient += error;
      }
      for (let j = 0; j < weights.length; j += 1) {
        weights[j] -= options.learning_rate * (gradient[j] / batch.length + options.l2 * weights[j]);
      }
      bias -= (options.learning_rate * biasGradient) / batch.length;
    }
  }
  return { algorithm: 'logistic', mean, scale, weights, bias };
}

/** The probability of label 1 for each feature row. */
function predictLogistic(model, features) {
  return features.map((row) => sigmoid(model.bias + row.reduce((total, value, j) => total + (model.weights[j] * (value - model.mean[j])) / model.scale[j], 0)));
}

/** Checks a logistic model read from an artifact against the number of inputs it must take. Throws Error otherwise. */
function checkLogistic(model, inputs) {
  const vector = (value) => Array.isArray(value) && value.length === inputs && value.every(Number.isFinite);
  if (!vector(model.mean) || !vector(model.scale) || !vector(model.weights) || !Number.isFinite(model.bias)) {
    throw new Error(`model.json: a logistic model needs mean, scale and weights of ${inputs} numbers each and a numeric bias`);
  }
  return model;
}

module.exports = { DEFAULT_OPTIONS, checkLogistic, fitLogistic, predictLogistic };
