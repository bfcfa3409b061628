import fs from 'node:fs';
import path from 'node:path';

function filesUnder(root: string, relative: string): string[] {
  const absolute = path.join(root, relative);
  if (!fs.existsSync(absolute)) return [];
  if (!fs.statSync(absolute).isDirectory()) return [relative];
  return fs
    .readdirSync(absolute)
    .flatMap((entry) => filesUnder(root, path.posix.join(relative, entry)));
}

function removeEmptyDirectories(dir: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return;
  for (const entry of fs.readdirSync(dir)) removeEmptyDirectories(path.join(dir, entry));
  if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
}

/**
 * The contents of every file under `paths` (files or directories, relative to root), so that a
 * change of several steps that fails half-way leaves the repository as it was: restore() puts
 * them back and deletes whatever appeared under those paths since, empty folders included.
 */
export function snapshot(root: string, paths: string[]): { restore(): void } {
  const saved = new Map(
    paths.flatMap((relative) =>
      filesUnder(root, relative).map((file): [string, Buffer] => [
        file,
        fs.readFileSync(path.join(root, file)),
      ]),
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
