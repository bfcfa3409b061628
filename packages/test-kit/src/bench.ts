import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Runs a workspace's `npm run bench` as the root `npm run bench` does, but short (the caller's
 * BENCH_* settings) and with its results written to a temporary file rather than over the
 * committed bench-results.json, and returns those results. Throws with the benchmark's stderr
 * when it exits non-zero.
 */
export function shortBenchRun(workspaceDir: string, env: Record<string, string>): unknown {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const file = path.join(dir, 'bench-results.json');
  try {
    const run = spawnSync('npm', ['run', 'bench'], {
      cwd: workspaceDir,
      env: { ...process.env, ...env, BENCH_RESULTS_FILE: file },
      encoding: 'utf8',
      timeout: 100_000,
    });
    if (run.status !== 0) {
      throw new Error(`npm run bench in ${workspaceDir} exited ${run.status}:\n${run.stderr}`);
    }
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
