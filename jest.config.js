/**
 * Jest projects: unit tests (no network, no processes), integration tests (one emulated service with
 * its real child processes, git or a loopback HTTP server), the packaging tests (run `serverless
 * package`), and the loop end to end on the local runtime.
 */
const transform = { '^.+\\.(t|j)sx?$': '<rootDir>/tests/esbuild-transform.js' };
const common = {
  transform,
  // @middy/* ships ESM only; let esbuild turn it into CommonJS like our own code.
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  moduleNameMapper: { '^@middy/(core|util)$': '<rootDir>/node_modules/@middy/$1/index.js' },
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/tests/setup-env.ts'],
};
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/tests/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/tests/integration/**/*.test.ts'] },
    { ...common, displayName: 'package', testMatch: ['<rootDir>/tests/package/**/*.test.ts'] },
    // The whole loop on the local runtime (child processes, real git, loopback only).
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/tests/e2e/**/*.test.ts'] },
  ],
};
