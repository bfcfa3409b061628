#!/usr/bin/env node
// The package's bin is this committed file rather than dist/cli.js: npm ci links a bin only when
// its file exists, and without the link `npx delivery` would fetch a package of that name from
// the registry instead of running this one.
let cli;
try {
  cli = require('../dist/cli.js');
} catch (error) {
  if (error.code !== 'MODULE_NOT_FOUND') throw error;
  console.error('delivery: packages/delivery is not built: run npm run build');
  process.exit(1);
}
cli.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
