// Writes, or with --check compares, the files a generator derives from the repository's sources
// of truth, so every generator reports drift the same way and the tests can rely on one contract:
// --check changes nothing and exits 1 naming each file that differs, is missing or is stale.
import fs from 'node:fs';
import path from 'node:path';

/** The generator's arguments: only --check is known; anything else is a usage error (exit 2). */
export function parseCheckFlag(generator, argv = process.argv.slice(2)) {
  const unknown = argv.filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    console.error(`${generator}: unknown argument ${unknown.join(' ')}; usage: [--check]`);
    process.exit(2);
  }
  return argv.includes('--check');
}

/** Files under `dir` (relative to root, '/'-separated) that are called `name`. */
export function filesNamed(root, dir, name) {
  const found = [];
  const visit = (relative) => {
    const absolute = path.join(root, relative);
    if (!fs.existsSync(absolute)) return;
    for (const entry of fs.readdirSync(absolute, { withFileTypes: true })) {
      const child = `${relative}/${entry.name}`;
      if (entry.isDirectory()) visit(child);
      else if (entry.name === name) found.push(child);
    }
  };
  visit(dir);
  return found;
}

/**
 * Brings `files` (relative path → text) onto disk under `root`. `stale` lists files that were
 * generated before and are no longer wanted; they are removed, with any directory left empty.
 * `source` names what the files come from, `command` how to regenerate them.
 */
export function syncGeneratedFiles({ root, files, stale = [], check, source, command, label }) {
  const unwanted = stale.filter((file) => !files.has(file) && fs.existsSync(path.join(root, file)));
  const differing = [...files].filter(
    ([file, text]) =>
      !fs.existsSync(path.join(root, file)) ||
      fs.readFileSync(path.join(root, file), 'utf8') !== text,
  );
  if (check) {
    const problems = [
      ...differing.map(([file]) => `${file} differs from what ${source} generates`),
      ...unwanted.map((file) => `${file} is not generated from ${source}`),
    ];
    if (problems.length > 0) {
      console.error(`${problems.join('\n')}\nrun: ${command}`);
      process.exit(1);
    }
    console.log(`${label}: ${files.size} files match ${source}`);
    return;
  }
  for (const file of unwanted) {
    fs.rmSync(path.join(root, file));
    removeEmptyParents(root, path.dirname(file));
  }
  for (const [file, text] of differing) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  console.log(
    `${label}: ${differing.length} written, ${unwanted.length} removed, ${files.size - differing.length} unchanged`,
  );
}

function removeEmptyParents(root, dir) {
  for (let current = dir; current !== '.' && current !== ''; current = path.dirname(current)) {
    const absolute = path.join(root, current);
    if (!fs.existsSync(absolute) || fs.readdirSync(absolute).length > 0) return;
    fs.rmdirSync(absolute);
  }
}
