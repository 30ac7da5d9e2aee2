'use strict';
/**
 * Processing step (SageMaker's processing contract): loads both trained models (each training
 * job's model.tar.gz), predicts the test split with each and writes <output>/evaluation/evaluation.json,
 * the pipeline's property file:
 *
 *   {
 *     "best_model": "xgboost",                         the model that scores higher on --select-by
 *     "selected_by": "accuracy",
 *     "binary_classification_metrics": {…},           the best model's, as Model Monitor writes them
 *     "models": {"xgboost": {"binary_classification_metrics": {…}}, "logistic": {…}}
 *   }
 *
 * The top level is the best model's model quality report, so the registered version (always the
 * best model) can show it as its ModelMetrics. Ties go to the model listed first (xgboost).
 *
 *   evaluate [--xgboost /opt/ml/processing/input/xgboost] [--logistic /opt/ml/processing/input/logistic]
 *            [--test /opt/ml/processing/input/test] [--output /opt/ml/processing/output] [--select-by accuracy|auc|f1]
 */
const fs = require('node:fs');
const path = require('node:path');

const { UsageError, parseOptions, readLabelledMatrix } = require('./contract');
const { ALGORITHMS, loadModel } = require('./model');
const { modelQualityMetrics } = require('./metrics');

const DEFAULTS = {
  xgboost: '/opt/ml/processing/input/xgboost',
  logistic: '/opt/ml/processing/input/logistic',
  test: '/opt/ml/processing/input/test',
  output: '/opt/ml/processing/output',
  'select-by': 'accuracy',
};

/** Metrics a model may be chosen by: higher is better for each. */
const SELECTABLE = Object.freeze(['accuracy', 'auc', 'f1']);

/** The report: every model's metrics, and the best one's at the top level. `models` maps names to metrics, in preference order for ties. */
function evaluationReport(models, selectBy) {
  const names = Object.keys(models);
  const best = names.reduce((winner, name) => (models[name][selectBy].value > models[winner][selectBy].value ? name : winner), names[0]);
  return {
    best_model: best,
    selected_by: selectBy,
    binary_classification_metrics: models[best],
    models: Object.fromEntries(names.map((name) => [name, { binary_classification_metrics: models[name] }])),
  };
}

async function main(argv) {
  const options = parseOptions(argv, DEFAULTS);
  const selectBy = options['select-by'];
  if (!SELECTABLE.includes(selectBy)) throw new UsageError(`--select-by must be one of ${SELECTABLE.join(', ')} (got "${selectBy}")`);

  const metrics = {};
  let test;
  for (const name of ALGORITHMS) {
    const model = await loadModel(options[name]);
    try {
      if (model.algorithm !== name) throw new UsageError(`--${name} ${options[name]} holds a ${model.algorithm} model`);
      test ??= readLabelledMatrix(options.test, 'test data', model.spec.encoded.length);
      if (test.labels.length === 0) throw new UsageError('test data: no rows');
      metrics[name] = modelQualityMetrics(test.labels, model.predict(test.features));
    } finally {
      model.free();
    }
  }

  const report = evaluationReport(metrics, selectBy);
  const file = path.join(options.output, 'evaluation', 'evaluation.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  for (const name of ALGORITHMS) {
    const { accuracy, auc, f1 } = metrics[name];
    console.log(`evaluate: ${name}: accuracy ${accuracy.value.toFixed(4)}, auc ${Number(auc.value).toFixed(4)}, f1 ${f1.value.toFixed(4)}`);
  }
  console.log(`evaluate: ${test.labels.length} test rows; best model by ${selectBy}: ${report.best_model}; wrote ${file}`);
}

module.exports = { SELECTABLE, evaluationReport, main };
