// The command line and its bin talk to a person on the console; the modules report through it.
module.exports = [
  ...require('@internal/eslint-config'),
  { files: ['src/cli.ts', 'bin/**'], rules: { 'no-console': 'off' } },
];
