/**
 * Jest transformer: TypeScript (and the ESM-only @middy packages) to CommonJS with esbuild, the
 * same compiler that bundles the functions. Replaces @swc/jest, whose native binaries for other
 * platforms are missing from this project's npm registry and break `npm ci`.
 */
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');

const { transformSync, version } = require('esbuild');

/** Changes whenever this transformer or esbuild changes, so Jest never serves stale output. */
const SELF = createHash('sha256').update(readFileSync(__filename)).update(version).digest('hex');

module.exports = {
  getCacheKey(source, filename) {
    return createHash('sha256').update(SELF).update(filename).update(source).digest('hex');
  },
  process(source, filename) {
    const result = transformSync(source, {
      loader: filename.endsWith('.ts') ? 'ts' : 'js',
      format: 'cjs',
      target: 'node22',
      // Jest's CommonJS sandbox cannot run native import(); esbuild turns it into require().
      supported: { 'dynamic-import': false },
      sourcemap: 'inline',
      sourcefile: filename,
    });
    return { code: result.code };
  },
};
