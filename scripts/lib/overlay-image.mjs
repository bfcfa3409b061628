#!/usr/bin/env node
// Reads or rewrites the newTag and digest of one service's entry in a kustomization's `images:`
// list, touching those lines and nothing else (comments, order and quoting elsewhere survive,
// so a bump is a diff of one or two lines a reviewer can read).
//
//   node overlay-image.mjs get <kustomization.yaml> <service>          -> the tag
//   node overlay-image.mjs digest <kustomization.yaml> <service>       -> the digest, or nothing
//   node overlay-image.mjs set <kustomization.yaml> <service> <tag> [<digest>]
//                                                                       -> changed|unchanged
//
// With both, Kustomize renders `<name>:<tag>@<digest>` and the runtime pulls by the digest: the
// tag only keeps the reference readable. `set` without a digest removes the entry's digest line,
// because a stale digest would keep running the old image whatever the tag says.
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
  return entry;
}

function readLines(file) {
  if (!fs.existsSync(file)) throw new OverlayError(`${file} does not exist`);
  return fs.readFileSync(file, 'utf8').split('\n');
}

function getTag(file, service) {
  return entryFor(readLines(file), file, service).keys.newTag.value;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

function getDigest(file, service) {
  return entryFor(readLines(file), file, service).keys.digest?.value ?? '';
}

/** The indentation of the entry's keys, as seen from its newTag line (which may start with `- `). */
const keyIndent = (line) => {
  const [, indent = '', dash = ''] = /^(\s*)(-\s+)?/.exec(line) ?? [];
  return indent + ' '.repeat(dash.length);
};

function setImage(file, service, tag, digest) {
  if (digest !== undefined && !DIGEST.test(digest))
    throw new OverlayError(`invalid digest '${digest}': expected sha256:<64 lowercase hex>`);
  const lines = readLines(file);
  const { newTag, digest: current } = entryFor(lines, file, service).keys;
  if (newTag.value === tag && current?.value === digest) return 'unchanged';
  // Always quoted: an all-digit SHA prefix such as 1234567 would otherwise be read as a number.
  lines[newTag.index] = lines[newTag.index].replace(
    /^(\s*(?:-\s+)?newTag:\s*)(?:"[^"]*"|'[^']*'|[^\s#]*)/,
    (_all, prefix) => `${prefix}"${tag}"`,
  );
  const digestLine = digest && `${keyIndent(lines[newTag.index])}digest: ${digest}`;
  if (current && digestLine) lines[current.index] = digestLine;
  else if (current) lines.splice(current.index, 1);
  else if (digestLine) lines.splice(newTag.index + 1, 0, digestLine);
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(temporary, lines.join('\n'));
  fs.renameSync(temporary, file);
  return 'changed';
}

function main([command, file, service, tag, digest, ...rest]) {
  if (file && service && !tag && command === 'get') return getTag(file, service);
  if (file && service && !tag && command === 'digest') return getDigest(file, service);
  if (file && service && tag && !rest.length && command === 'set')
    return setImage(file, service, tag, digest || undefined);
  throw new OverlayError(
    'usage: overlay-image.mjs get|digest <file> <service> | set <file> <service> <tag> [<digest>]',
  );
}

try {
  console.log(main(process.argv.slice(2)));
} catch (err) {
  if (!(err instanceof OverlayError)) throw err;
  console.error(`error: ${err.message}`);
  process.exit(1);
}
