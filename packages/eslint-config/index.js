// One flat config for every workspace; a workspace's eslint.config.js re-exports it.
const js = require('@eslint/js');
const globals = require('globals');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['**/dist/**', '**/dist-bench/**', '**/coverage/**', '**/.test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
      eqeqeq: 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests, benchmarks and command-line scripts talk to a person on the console.
    files: ['**/*.test.ts', '**/test/**', '**/bench/**', '**/cli/**', '**/*.mjs'],
    rules: { 'no-console': 'off' },
  },
);
