import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { copyWorkingTree, repoRoot } from '@internal/test-kit';

/**
 * Throwaway git repositories holding the current working tree of this repository (tracked and
 * untracked files, minus what .gitignore excludes), so that the delivery scripts are exercised
 * exactly as they are on disk, and never touch the real checkout.
 */

const identity = {
  GIT_AUTHOR_NAME: 'Delivery Test',
  GIT_AUTHOR_EMAIL: 'delivery-test@example.invalid',
  GIT_COMMITTER_NAME: 'Delivery Test',
  GIT_COMMITTER_EMAIL: 'delivery-test@example.invalid',
};

const gitEnv = { ...process.env, ...identity, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };

const gitRaw = (cwd: string, args: string[]) =>
  execFileSync('git', args, {
    cwd,
    env: gitEnv,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

export const git = (cwd: string, ...args: string[]): string => gitRaw(cwd, args).trim();

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion without throwing, for asserting on failures too. */
export function run(
  cwd: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...gitEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * The delivery tool (packages/delivery), resolved through node_modules, which a clone links to
 * this checkout's built one. It works on the repository at its cwd.
 */
export const DELIVERY_CLI = require.resolve('@internal/delivery/bin/delivery.js');

export const delivery = (cwd: string, args: string[], env: Record<string, string> = {}) =>
  run(cwd, process.execPath, [DELIVERY_CLI, ...args], env);

export interface Sandbox {
  base: string;
  /** A repository with one commit holding the working tree, node_modules linked in. */
  repo: string;
  /** A bare clone of it to push to, and a function making further clones of that. */
  remote: string;
  clone(name: string): string;
  cleanup(): void;
}

export function createSandbox(prefix: string): Sandbox {
  const root = repoRoot();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  const repo = path.join(base, 'repo');
  copyWorkingTree(root, repo);
  git(repo, 'init', '--quiet', '--initial-branch=main');
  git(repo, 'add', '--all');
  git(repo, 'commit', '--quiet', '--message', 'working tree under test');
  // Linked after the commit and excluded locally: a symlink is no directory to .gitignore's
  // "node_modules/", and the delivery tool only needs the installed turbo from it. Every clone gets the same link, as after npm ci.
  const linkModules = (dir: string) => {
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    fs.appendFileSync(path.join(dir, '.git', 'info', 'exclude'), '/node_modules\n');
  };
  linkModules(repo);
  const remote = path.join(base, 'remote.git');
  git(base, 'clone', '--quiet', '--bare', repo, remote);
  git(repo, 'remote', 'add', 'origin', remote);
  git(repo, 'fetch', '--quiet', 'origin');
  git(repo, 'branch', '--quiet', '--set-upstream-to=origin/main', 'main');
  return {
    base,
    repo,
    remote,
    clone(name) {
      const dir = path.join(base, name);
      git(base, 'clone', '--quiet', remote, dir);
      linkModules(dir);
      return dir;
    },
    cleanup: () => fs.rmSync(base, { recursive: true, force: true }),
  };
}

/** Paths with uncommitted changes (modified, added or untracked). */
export function changedPaths(repo: string): string[] {
  return gitRaw(repo, ['status', '--porcelain', '--untracked-files=all', '-z'])
    .split('\0')
    .filter(Boolean)
    .map((entry) => entry.slice(3));
}
