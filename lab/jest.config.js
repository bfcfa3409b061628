// The lab is started once for the whole run (idempotent: a running lab is reused) and stopped
// afterwards only if this run started it.
module.exports = require('@internal/test-kit/dist/jest-config').jestConfig(__dirname, {
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  testTimeout: 300_000,
});
