#!/usr/bin/env node
// Reads or rewrites the newTag of one service's entry in a kustomization's `images:` list,
// touching that single line and nothing else (comments, order and quoting elsewhere survive,
// so a bump is a one-line diff a reviewer can read).
//
//   node overlay-image.mjs get <kustomization.yaml> <service>
//   node overlay-image.mjs set <kustomization.yaml> <service> <tag>   -> prints changed|unchanged
import fs from 'node:fs';
import path from 'node:path';

class OverlayError extends Error {}

const stripValue = (raw) =>
  raw
    .replace(/\s+#.*$/, '')
    .trim()
    .replace(/^(["'])(.*)\1$/, '$2');

/** The entries of the top-level `images:` list, each with its key lines and their indexes. */
function imageEntries(lines, file) {
  const start = lines.findIndex((line) => /^images:\s*(#.*)?$/.test(line));
  if (start < 0) throw new OverlayError(`${file} has no top-level images: list`);
  const entries = [];
  for (let i = start + 1; i < lines.length; i += 1) {
    const line = lines[i];
    if (/^[^\s#-]/.test(line)) break;
    const item = /^(\s*)-\s+(.*)$/.exec(line);
    if (item) entries.push({ keys: {} });
    const current = entries[entries.length - 1];
    const keyValue = /^\s*(?:-\s+)?([A-Za-z]+):\s*(.*)$/.exec(line);
    if (current && keyValue)
      current.keys[keyValue[1]] = { index: i, value: stripValue(keyValue[2]) };
  }
  return entries;
}

const lastSegment = (imageName) => imageName.split('/').pop();

function entryFor(lines, file, service) {
  const matches = imageEntries(lines, file).filter((entry) =>
    ['name', 'newName'].some(
      (key) => entry.keys[key] && lastSegment(entry.keys[key].value) === service,
    ),
  );
  if (matches.length === 0) throw new OverlayError(`${file} has no images entry for ${service}`);
  if (matches.length > 1)
    throw new OverlayError(`${file} has ${matches.length} images entries for ${service}`);
  const [entry] = matches;
  if (!entry.keys.newTag)
    throw new OverlayError(`${file}: the images entry for ${service} has no newTag line`);
  if (entry.keys.digest) {
    throw new OverlayError(
      `${file}: the images entry for ${service} pins a digest, which would override newTag`,
    );
  }
  return entry;
}

function readLines(file) {
  if (!fs.existsSync(file)) throw new OverlayError(`${file} does not exist`);
  return fs.readFileSync(file, 'utf8').split('\n');
}

function getTag(file, service) {
  return entryFor(readLines(file), file, service).keys.newTag.value;
}

function setTag(file, service, tag) {
  const lines = readLines(file);
  const { index, value } = entryFor(lines, file, service).keys.newTag;
  if (value === tag) return 'unchanged';
  // Always quoted: an all-digit SHA prefix such as 1234567 would otherwise be read as a number.
  lines[index] = lines[index].replace(
    /^(\s*(?:-\s+)?newTag:\s*)(?:"[^"]*"|'[^']*'|[^\s#]*)/,
    (_all, prefix) => `${prefix}"${tag}"`,
  );
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(temporary, lines.join('\n'));
  fs.renameSync(temporary, file);
  return 'changed';
}

function main([command, file, service, tag]) {
  if (command === 'get' && file && service) return getTag(file, service);
  if (command === 'set' && file && service && tag) return setTag(file, service, tag);
  throw new OverlayError(
    'usage: overlay-image.mjs get <file> <service> | set <file> <service> <tag>',
  );
}

try {
  console.log(main(process.argv.slice(2)));
} catch (err) {
  if (!(err instanceof OverlayError)) throw err;
  console.error(`error: ${err.message}`);
  process.exit(1);
}
