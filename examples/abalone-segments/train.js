'use strict';
/**
 * Training step, under SageMaker's training contract: hyperparameters from SM_HPS or
 * <SM_INPUT_CONFIG_DIR>/hyperparameters.json (values are strings), channels from
 * SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION (headerless CSV, rings first), the model written to
 * SM_MODEL_DIR, metrics to SM_OUTPUT_DATA_DIR; each falls back to its /opt/ml path.
 *
 * XGBoost regression of the ring count (ml-xgboost). The hyperparameter `sex` (F, I or M) trains a
 * per-segment model on that segment's rows only; without it, on all of them. Prints one line in
 * XGBoost's log format for the job's MetricDefinitions (and a tuning job's objective):
 * "[<last round>]\ttrain-rmse:<x>\tvalidation-rmse:<x>".
 */
const fs = require('node:fs');
const path = require('node:path');

const { UsageError, readLabelledMatrix } = require('./contract');
const { SEXES, defaultSpec, segmentOfEncoded } = require('./features');
const { rmse } = require('./metrics');
const { loadXGBoost, saveModel } = require('./model');

/** The template's hyperparameters, used for any that the job does not set. */
const DEFAULT_HYPERPARAMETERS = Object.freeze({
  objective: 'reg:linear',
  num_round: '50',
  max_depth: '5',
  eta: '0.2',
  gamma: '4',
  min_child_weight: '6',
  subsample: '0.7',
  seed: '0',
});

const INTEGER_PARAMETERS = ['num_round', 'max_depth', 'seed'];
const NUMBER_PARAMETERS = ['eta', 'gamma', 'min_child_weight', 'subsample', 'colsample_bytree', 'lambda', 'alpha', 'max_delta_step'];
// The XGBoost inside ml-xgboost predates the reg:squarederror name; both mean squared-error regression.
const OBJECTIVES = { 'reg:linear': 'reg:linear', 'reg:squarederror': 'reg:linear' };

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
 * Validates the hyperparameters: returns `{segment, options}`, the segment (F, I, M, or null for all
 * rows) and the ml-xgboost options. Throws UsageError naming the bad one.
 */
function trainingOptions(given) {
  const merged = { ...DEFAULT_HYPERPARAMETERS };
  let segment = null;
  for (const [name, value] of Object.entries(given)) {
    // sagemaker_* are the SDK's settings; a tuning job adds its own, such as _tuning_objective_metric.
    if (name.startsWith('sagemaker_') || name.startsWith('_')) continue;
    if (name === 'sex') {
      segment = String(value).trim().toUpperCase();
      if (!SEXES.includes(segment)) throw new UsageError(`hyperparameter sex must be one of ${SEXES.join(', ')} (got "${value}")`);
      continue;
    }
    merged[name] = String(value);
  }
  const options = { booster: 'gbtree', silent: 1 };
  for (const [name, text] of Object.entries(merged)) {
    if (name === 'objective') {
      if (!Object.hasOwn(OBJECTIVES, text)) throw new UsageError(`hyperparameter objective must be one of ${Object.keys(OBJECTIVES).join(', ')} (got "${text}")`);
      options.objective = OBJECTIVES[text];
      continue;
    }
    const value = Number(text);
    if (INTEGER_PARAMETERS.includes(name)) {
      if (text === '' || !Number.isSafeInteger(value) || value < 0) throw new UsageError(`hyperparameter ${name} must be a non-negative integer (got "${text}")`);
    } else if (NUMBER_PARAMETERS.includes(name)) {
      if (text === '' || !Number.isFinite(value) || value < 0) throw new UsageError(`hyperparameter ${name} must be a non-negative number (got "${text}")`);
    } else {
      throw new UsageError(`unknown hyperparameter "${name}" (supported: sex, objective, ${[...INTEGER_PARAMETERS, ...NUMBER_PARAMETERS].join(', ')})`);
    }
    if (name === 'num_round') options.iterations = value;
    else options[name] = value;
  }
  if (options.iterations < 1) throw new UsageError('hyperparameter num_round must be at least 1');
  return { segment, options };
}

/** The rows of `matrix` in `segment` (all of them when it is null). */
function segmentRows(spec, matrix, segment) {
  if (segment === null) return matrix;
  const keep = matrix.features.map((row) => segmentOfEncoded(spec, row) === segment);
  return { labels: matrix.labels.filter((_label, i) => keep[i]), features: matrix.features.filter((_row, i) => keep[i]) };
}

async function main(_argv, env = process.env) {
  const paths = trainingPaths(env);
  const { segment, options } = trainingOptions(readHyperparameters(env, paths.hyperparameters));
  const spec = defaultSpec();
  const train = segmentRows(spec, readLabelledMatrix(paths.train, 'train channel', spec.encoded.length), segment);
  // The validation channel is optional, as in SageMaker's XGBoost; when given it must hold data.
  const validation = env.SM_CHANNEL_VALIDATION !== undefined || fs.existsSync(paths.validation)
    ? segmentRows(spec, readLabelledMatrix(paths.validation, 'validation channel', spec.encoded.length), segment)
    : undefined;
  const what = segment === null ? 'all abalones' : `segment sex=${segment}`;
  if (train.labels.length === 0) throw new UsageError(`train channel: no rows of ${what}`);
  if (validation && validation.labels.length === 0) throw new UsageError(`validation channel: no rows of ${what}`);
  console.log(`train: ${what}: ${train.labels.length} training rows, ${validation ? validation.labels.length : 0} validation rows, ${spec.encoded.length} features`);
  console.log(`train: ${JSON.stringify(options)}`);

  const XGBoost = await loadXGBoost();
  const started = Date.now();
  const booster = new XGBoost(options);
  booster.train(train.features, train.labels);
  const predict = (rows) => (rows.length === 0 ? [] : Array.from(booster.predict(rows)));

  const metrics = { 'train-rmse': rmse(train.labels, predict(train.features)) };
  if (validation) metrics['validation-rmse'] = rmse(validation.labels, predict(validation.features));
  // XGBoost's log line format, which the MetricDefinitions regexes are written against.
  console.log(`[${options.iterations - 1}]\t${Object.entries(metrics).map(([name, value]) => `${name}:${value.toFixed(5)}`).join('\t')}`);
  console.log(`train: ${options.iterations} rounds in ${Date.now() - started} ms`);

  saveModel(paths.model, booster, spec, segment);
  booster.free();
  fs.mkdirSync(paths.outputData, { recursive: true });
  fs.writeFileSync(path.join(paths.outputData, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
  console.log(`train: model written to ${paths.model}`);
}

module.exports = { DEFAULT_HYPERPARAMETERS, main, trainingOptions, trainingPaths };
