import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ZOD = { regex: '^zod(/.*)?$', message: 'Import z from shared/schemas/zod.ts (zod/mini with English messages).' };

export default tseslint.config(
  { ignores: ['node_modules/', '.bench/', '.serverless/', '.esbuild/', 'coverage/', '**/*.js', '**/*.mjs', 'examples/**/*.py', '!examples/**/*.js', '!bench/noop-model/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // Model containers' scripts (examples, bench): CommonJS run by Node 22 inside the model image.
    files: ['examples/**/*.js', 'bench/noop-model/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', Buffer: 'readonly', WebAssembly: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // CommonJS helpers run by Node directly (the local Lambda bootstrap, the Jest transformer).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly', module: 'writable', __dirname: 'readonly', __filename: 'readonly', console: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // One zod for every schema: shared/schemas/zod.ts (zod/mini with English messages).
    files: ['**/*.ts'],
    ignores: ['shared/schemas/zod.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [ZOD] }] },
  },
  {
    // Entry points stay thin: no SDK clients and no raw environment reads (see STYLE.md habit 1).
    files: ['functions/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@aws-sdk/*'] }, ZOD] }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through shared/config.ts.' }],
    },
  },
);
