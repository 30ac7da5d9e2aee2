'use strict';
/**
 * Training step, under SageMaker's training contract: hyperparameters from SM_HPS or
 * <SM_INPUT_CONFIG_DIR>/hyperparameters.json (values are strings), channels from
 * SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION (headerless CSV, label first), the model written to
 * SM_MODEL_DIR, metrics to SM_OUTPUT_DATA_DIR; each falls back to its /opt/ml path.
 *
 * The hyperparameter `algorithm` chooses the model: `xgboost` (ml-xgboost, binary:logistic) or
 * `logistic` (logistic.js). Both print one line in XGBoost's log format for the job's
 * MetricDefinitions: "[<last round or epoch>]\ttrain-logloss:<x>\tvalidation-logloss:<x>\t
 * validation-accuracy:<x>\tvalidation-auc:<x>".
 */
const fs = require('node:fs');
const path = require('node:path');

const { UsageError, readLabelledMatrix } = require('./contract');
const { defaultSpec } = require('./features');
const { DEFAULT_OPTIONS: LOGISTIC_DEFAULTS, fitLogistic, predictLogistic } = require('./logistic');
const { classificationMetrics, logLoss } = require('./metrics');
const { ALGORITHMS, loadXGBoost, saveModel } = require('./model');

/** Each algorithm's hyperparameters: defaults (as SageMaker passes them, text) and which are integers or numbers. */
const HYPERPARAMETERS = Object.freeze({
  xgboost: {
    defaults: { objective: 'binary:logistic', num_round: '50', max_depth: '5', eta: '0.2', gamma: '4', min_child_weight: '6', subsample: '0.7', seed: '0' },
    integer: ['num_round', 'max_depth', 'seed'],
    number: ['eta', 'gamma', 'min_child_weight', 'subsample', 'colsample_bytree', 'lambda', 'alpha', 'max_delta_step'],
  },
  logistic: {
    defaults: Object.fromEntries(Object.entries(LOGISTIC_DEFAULTS).map(([name, value]) => [name, String(value)])),
    integer: ['epochs', 'batch_size', 'seed'],
    number: ['learning_rate', 'l2'],
  },
});

// Both names mean logistic regression for a 0/1 label, predicting the probability of 1.
const OBJECTIVES = { 'binary:logistic': 'binary:logistic', 'reg:logistic': 'reg:logistic' };

/** Where SageMaker puts things, from the SM_* environment or the /opt/ml defaults. */
function trainingPaths(env) {
  const outputDir = env.SM_OUTPUT_DIR ?? (env.SM_OUTPUT_DATA_DIR ? path.dirname(env.SM_OUTPUT_DATA_DIR) : '/opt/ml/output');
  return {
    hyperparameters: path.join(env.SM_INPUT_CONFIG_DIR ?? '/opt/ml/input/config', 'hyperparameters.json'),
    train: env.SM_CHANNEL_TRAIN ?? '/opt/ml/input/data/train',
    validation: env.SM_CHANNEL_VALIDATION ?? '/opt/ml/input/data/validation',
    model: env.SM_MODEL_DIR ?? '/opt/ml/model',
    outputData: env.SM_OUTPUT_DATA_DIR ?? path.join(outputDir, 'data'),
    failure: path.join(outputDir, 'failure'),
  };
}

/** The job's hyperparameters as given (SM_HPS first, as SageMaker's training toolkit sets it). */
function readHyperparameters(env, file) {
  if (env.SM_HPS) {
    try {
      return JSON.parse(env.SM_HPS);
    } catch (error) {
      throw new UsageError(`SM_HPS is not valid JSON (${error.message})`, { cause: error });
    }
  }
  if (!fs.existsSync(file)) return {};
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${file} is not valid JSON (${error.message})`, { cause: error });
  }
}

/**
 * Validates the hyperparameters: `algorithm`, then that algorithm's own, each checked and converted
 * to a number. Returns `{algorithm, options}`. Throws UsageError naming the bad one.
 */
function trainingOptions(given) {
  // sagemaker_* entries are the SDK's own settings, not the algorithm's.
  const entries = Object.entries(given).filter(([name]) => !name.startsWith('sagemaker_')).map(([name, value]) => [name, String(value)]);
  const algorithm = Object.fromEntries(entries).algorithm;
  if (!ALGORITHMS.includes(algorithm)) throw new UsageError(`hyperparameter algorithm must be one of ${ALGORITHMS.join(', ')} (got ${algorithm === undefined ? 'none' : `"${algorithm}"`})`);
  const { defaults, integer, number } = HYPERPARAMETERS[algorithm];
  const merged = { ...defaults, ...Object.fromEntries(entries.filter(([name]) => name !== 'algorithm')) };
  const options = {};
  for (const [name, text] of Object.entries(merged)) {
    if (name === 'objective' && algorithm === 'xgboost') {
      if (!Object.hasOwn(OBJECTIVES, text)) throw new UsageError(`hyperparameter objective must be one of ${Object.keys(OBJECTIVES).join(', ')} (got "${text}")`);
      options.objective = OBJECTIVES[text];
      continue;
    }
    const value = Number(text);
    if (integer.includes(name)) {
      if (text === '' || !Number.isSafeInteger(value) || value < 0) throw new UsageError(`hyperparameter ${name} must be a non-negative integer (got "${text}")`);
    } else if (number.includes(name)) {
      if (text === '' || !Number.isFinite(value) || value < 0) throw new UsageError(`hyperparameter ${name} must be a non-negative number (got "${text}")`);
    } else {
      const supported = [...(algorithm === 'xgboost' ? ['objective'] : []), ...integer, ...number];
      throw new UsageError(`unknown hyperparameter "${name}" for algorithm ${algorithm} (supported: algorithm, ${supported.join(', ')})`);
    }
    options[name] = value;
  }
  for (const name of algorithm === 'xgboost' ? ['num_round'] : ['epochs', 'batch_size']) {
    if (options[name] < 1) throw new UsageError(`hyperparameter ${name} must be at least 1`);
  }
  return { algorithm, options };
}

/** Fits the model; returns its model.json content, a predict function, the number of rounds or epochs and a free function. */
async function fit(algorithm, options, train) {
  if (algorithm === 'logistic') {
    const model = fitLogistic(train.features, train.labels, options);
    return { model, predict: (rows) => predictLogistic(model, rows), iterations: options.epochs, free: () => {} };
  }
  const XGBoost = await loadXGBoost();
  const { num_round: iterations, ...rest } = options;
  const booster = new XGBoost({ booster: 'gbtree', silent: 1, iterations, ...rest });
  booster.train(train.features, train.labels);
  return {
    model: { algorithm, booster: booster.toJSON() },
    predict: (rows) => (rows.length === 0 ? [] : Array.from(booster.predict(rows))),
    iterations,
    free: () => booster.free(),
  };
}

async function main(_argv, env = process.env) {
  const paths = trainingPaths(env);
  const { algorithm, options } = trainingOptions(readHyperparameters(env, paths.hyperparameters));
  const spec = defaultSpec();
  const train = readLabelledMatrix(paths.train, 'train channel', spec.encoded.length);
  // The validation channel is optional, as in SageMaker's XGBoost; when given it must hold data.
  const validation = env.SM_CHANNEL_VALIDATION !== undefined || fs.existsSync(paths.validation)
    ? readLabelledMatrix(paths.validation, 'validation channel', spec.encoded.length)
    : undefined;
  const notBinary = [...train.labels, ...(validation ? validation.labels : [])].find((label) => label !== 0 && label !== 1);
  if (notBinary !== undefined) throw new UsageError(`labels must be 0 or 1 (found ${notBinary}): train on the output of split`);
  console.log(`train: ${algorithm}, ${train.labels.length} training rows, ${validation ? validation.labels.length : 0} validation rows, ${spec.encoded.length} features`);
  console.log(`train: ${JSON.stringify(options)}`);

  const started = Date.now();
  const fitted = await fit(algorithm, options, train);
  const metrics = { 'train-logloss': logLoss(train.labels, fitted.predict(train.features)) };
  if (validation) {
    const predictions = fitted.predict(validation.features);
    const { accuracy, auc } = classificationMetrics(validation.labels, predictions);
    Object.assign(metrics, { 'validation-logloss': logLoss(validation.labels, predictions), 'validation-accuracy': accuracy, 'validation-auc': auc });
  }
  // XGBoost's log line format, which the MetricDefinitions regexes are written against.
  console.log(`[${fitted.iterations - 1}]\t${Object.entries(metrics).map(([name, value]) => `${name}:${value.toFixed(5)}`).join('\t')}`);
  console.log(`train: ${algorithm} fitted in ${Date.now() - started} ms`);

  saveModel(paths.model, fitted.model, spec);
  fitted.free();
  fs.mkdirSync(paths.outputData, { recursive: true });
  fs.writeFileSync(path.join(paths.outputData, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
  console.log(`train: model written to ${paths.model}`);
}

module.exports = { HYPERPARAMETERS, main, trainingOptions, trainingPaths };
