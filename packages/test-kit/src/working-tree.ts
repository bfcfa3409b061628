import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Copies the working tree of the checkout at `root` (tracked and untracked files, minus what
 * .gitignore excludes) into `target`, so that a test can run the delivery tools on exactly what
 * is on disk without touching the checkout.
 */
export function copyWorkingTree(root: string, target: string): void {
  const files = execFileSync(
    'git',
    ['-C', root, 'ls-files', '--cached', '--others', '--exclude-standard', '-z'],
    { encoding: 'utf8' },
  )
    .split('\0')
    .filter((file) => file !== '' && fs.existsSync(path.join(root, file)));
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(target, file)), { recursive: true });
    fs.cpSync(path.join(root, file), path.join(target, file), { verbatimSymlinks: true });
  }
}
