// Brings the lab up before any test (lab/scripts/up.sh, as `npm run lab:up` does) and records
// whether this run started it, so the teardown leaves a lab someone else started running.
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '../../..');
const marker = path.join(root, '.lab', 'started-by-tests');

module.exports = async () => {
  const running = spawnSync('bash', [path.join(root, 'lab/scripts/status.sh')], {
    stdio: 'ignore',
  });
  execFileSync('bash', [path.join(root, 'lab/scripts/up.sh')], { stdio: 'inherit' });
  if (running.status !== 0) fs.writeFileSync(marker, `${process.pid}\n`);
};
