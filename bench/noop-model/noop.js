// The no-op "container": writes just what the next step needs and exits 0.
'use strict';
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const [mode, outputRoot] = process.argv.slice(2);
const write = (dir, file, content) => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), content);
};
if (mode === 'preprocess') write(join(outputRoot, 'train'), 'train.csv', '1,0\n');
else if (mode === 'train') write(process.env.SM_MODEL_DIR || '/opt/ml/model', 'model.json', '{}');
else if (mode === 'evaluate') write(join(outputRoot, 'evaluation'), 'evaluation.json', JSON.stringify({ regression_metrics: { mse: { value: 0.5 } } }));
else {
  process.stderr.write(`noop.js: unknown mode ${mode}\n`);
  process.exit(2);
}
