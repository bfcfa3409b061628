// Sums the per-workspace result files that the shared Jest reporter writes and prints the
// closing line CI reads. A failing test command that no counted test explains adds a failure.
import fs from 'node:fs';
import path from 'node:path';

const commandStatus = Number(process.argv[2] ?? 0);
const totals = { passed: 0, failed: 0, skipped: 0 };

function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    // .tools and .lab hold built components and the lab's clone, never results.
    if (['node_modules', '.git', '.tools', '.lab'].includes(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name === '.test-results') {
      for (const file of fs.readdirSync(full).filter((f) => f.endsWith('.json'))) {
        const counts = JSON.parse(fs.readFileSync(path.join(full, file), 'utf8'));
        totals.passed += counts.passed;
        totals.failed += counts.failed;
        totals.skipped += counts.skipped ?? 0;
        console.log(
          `${path.relative('.', full)}/${file}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped ?? 0} skipped`,
        );
      }
    } else if (entry.isDirectory()) {
      walk(full);
    }
  }
}

walk('.');
if (commandStatus !== 0 && totals.failed === 0) totals.failed = 1;
// Skipped tests are neither passes nor failures; they are named here so they cannot hide.
if (totals.skipped > 0) console.log(`${totals.skipped} skipped (see the SKIPPED reasons above)`);
console.log(`${totals.passed} passed, ${totals.failed} failed`);
