import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@internal/test-kit';

// The files the lab's scripts write under .lab, readable before any of them exists in full (the
// images alone need no cluster, so nothing here reads .lab/env on import).

/** A path under the running lab's folder (.lab). */
export const labPath = (...parts: string[]) => path.join(repoRoot(), '.lab', ...parts);

/** The `export NAME=value` lines of a file the lab wrote, as a map. */
export function exportsIn(file: string): Record<string, string> {
  const exports: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const match = /^export ([A-Z_]+)=(.*)$/.exec(line);
    if (match) exports[match[1]!] = match[2]!;
  }
  return exports;
}
