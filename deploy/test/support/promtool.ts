import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tool } from '@internal/test-kit';

/** promtool run in `cwd`, where the rule and test files it is given are. */
export const promtool = (args: string[], cwd: string) =>
  spawnSync(tool('promtool'), args, { cwd, encoding: 'utf8', timeout: 60_000 });

/** Runs `use` in a fresh temporary directory for promtool's files, removed afterwards. */
export function inPromtoolDir<T>(use: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prometheus-rules-'));
  try {
    return use(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
