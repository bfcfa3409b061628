import { spawnSync, type SpawnSyncOptions } from 'node:child_process';

export interface Finished {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and captures its output; a command that cannot start is status 127. */
export function capture(command: string, args: string[], options: SpawnSyncOptions = {}): Finished {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    ...options,
  });
  return {
    status: result.error ? 127 : (result.status ?? 1),
    stdout: String(result.stdout ?? ''),
    stderr: result.error ? result.error.message : String(result.stderr ?? ''),
  };
}

/** Runs a command with the terminal's output, returning its exit status. */
export function runInherited(
  command: string,
  args: string[],
  options: SpawnSyncOptions = {},
): number {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  return result.error ? 127 : (result.status ?? 1);
}

export const git = (root: string, ...args: string[]): Finished =>
  capture('git', ['-C', root, ...args]);
