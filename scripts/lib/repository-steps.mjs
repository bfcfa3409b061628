// The steps new-service and remove-service share: everything derived from the catalogue is
// regenerated and the lockfile follows the workspaces; and, since a step can fail half-way, a
// snapshot of what they change so that a failure leaves the repository as it was.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// Each generator that derives files from catalogue.yaml or argocd/projects.
export const GENERATORS = [
  'scripts/generate-applicationsets.mjs',
  'scripts/generate-environments.mjs',
  'scripts/generate-deployer-roles.mjs',
];

const step = (root, command, args) =>
  execFileSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });

export function runGenerators(root) {
  for (const generator of GENERATORS) step(root, process.execPath, [generator]);
}

/**
 * Records the new or removed workspace in package-lock.json, as `npm ci` needs, without
 * installing anything: every dependency a generated service uses is in the lockfile already.
 */
export function updateLockfile(root) {
  step(root, 'npm', [
    'install',
    '--package-lock-only',
    '--offline',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
  ]);
  step(root, process.execPath, ['scripts/complete-lockfile.mjs']);
}

function filesUnder(root, relative) {
  const absolute = path.join(root, relative);
  if (!fs.existsSync(absolute)) return [];
  if (!fs.statSync(absolute).isDirectory()) return [relative];
  return fs
    .readdirSync(absolute)
    .flatMap((entry) => filesUnder(root, path.posix.join(relative, entry)));
}

/**
 * The contents of every file under `paths` (files or directories, relative to root). restore()
 * puts them back and deletes whatever appeared under those paths since, empty folders included.
 */
export function snapshot(root, paths) {
  const saved = new Map(
    paths.flatMap((relative) =>
      filesUnder(root, relative).map((file) => [file, fs.readFileSync(path.join(root, file))]),
    ),
  );
  return {
    restore() {
      for (const relative of paths) {
        for (const file of filesUnder(root, relative))
          if (!saved.has(file)) fs.rmSync(path.join(root, file));
        removeEmptyDirectories(path.join(root, relative));
      }
      for (const [file, content] of saved) {
        fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        fs.writeFileSync(path.join(root, file), content);
      }
    },
  };
}

function removeEmptyDirectories(dir) {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return;
  for (const entry of fs.readdirSync(dir)) removeEmptyDirectories(path.join(dir, entry));
  if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
}

/** Exits 2 with each problem on its own line, then the usage. */
export function refuse(command, problems, usage) {
  for (const problem of problems) console.error(`${command}: ${problem}`);
  console.error(`usage: ${usage}`);
  process.exit(2);
}
