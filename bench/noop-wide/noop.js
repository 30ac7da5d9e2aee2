// The no-op "container" of bench/noop-wide: writes one small file to its output and exits 0.
'use strict';
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const [mode, outputRoot] = process.argv.slice(2);
if (mode !== 'step') {
  process.stderr.write(`noop.js: unknown mode ${mode}\n`);
  process.exit(2);
}
mkdirSync(join(outputRoot, 'out'), { recursive: true });
writeFileSync(join(outputRoot, 'out', 'done.txt'), 'done\n');
