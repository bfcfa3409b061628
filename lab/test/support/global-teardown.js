// Stops the lab only when the global setup of this run started it (LAB_KEEP=1 keeps it).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '../../..');
const marker = path.join(root, '.lab', 'started-by-tests');

module.exports = async () => {
  if (!fs.existsSync(marker) || process.env.LAB_KEEP === '1') return;
  execFileSync('bash', [path.join(root, 'lab/scripts/down.sh')], { stdio: 'inherit' });
};
