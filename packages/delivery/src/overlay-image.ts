import fs from 'node:fs';
import path from 'node:path';
import { DeliveryError } from './errors';
import { isValidDigest } from './image-reference';

// Reads or rewrites the newTag and digest of one service's entry in a kustomization's `images:`
// list, touching those lines and nothing else (comments, order and quoting elsewhere survive,
// so a bump is a diff of one or two lines a reviewer can read). With both, Kustomize renders
// `<name>:<tag>@<digest>` and the runtime pulls by the digest: the tag keeps it readable.

interface KeyLine {
  index: number;
  value: string;
}
type ImageEntry = Record<string, KeyLine | undefined>;

const stripValue = (raw: string) =>
  raw
    .replace(/\s+#.*$/, '')
    .trim()
    .replace(/^(["'])(.*)\1$/, '$2');

/** The entries of the top-level `images:` list, each with its key lines and their indexes. */
function imageEntries(lines: string[], file: string): ImageEntry[] {
  const start = lines.findIndex((line) => /^images:\s*(#.*)?$/.test(line));
  if (start < 0) throw new DeliveryError(`${file} has no top-level images: list`);
  const entries: ImageEntry[] = [];
  for (let i = start + 1; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    if (/^[^\s#-]/.test(line)) break;
    if (/^\s*-\s+/.test(line)) entries.push({});
    const current = entries[entries.length - 1];
    const keyValue = /^\s*(?:-\s+)?([A-Za-z]+):\s*(.*)$/.exec(line);
    if (current && keyValue?.[1] !== undefined)
      current[keyValue[1]] = { index: i, value: stripValue(keyValue[2] ?? '') };
  }
  return entries;
}

const lastSegment = (imageName: string) => imageName.split('/').pop();

function entryFor(lines: string[], file: string, service: string) {
  const matches = imageEntries(lines, file).filter((entry) =>
    ['name', 'newName'].some((key) => lastSegment(entry[key]?.value ?? '') === service),
  );
  if (matches.length === 0) throw new DeliveryError(`${file} has no images entry for ${service}`);
  if (matches.length > 1)
    throw new DeliveryError(`${file} has ${matches.length} images entries for ${service}`);
  const entry = matches[0] as ImageEntry;
  const newTag = entry.newTag;
  if (!newTag)
    throw new DeliveryError(`${file}: the images entry for ${service} has no newTag line`);
  return { newTag, digest: entry.digest };
}

function readLines(file: string): string[] {
  if (!fs.existsSync(file)) throw new DeliveryError(`${file} does not exist`);
  return fs.readFileSync(file, 'utf8').split('\n');
}

export interface OverlayImage {
  tag: string;
  /** Empty when the entry is pinned by tag only. */
  digest: string;
}

export function readOverlayImage(file: string, service: string): OverlayImage {
  const { newTag, digest } = entryFor(readLines(file), file, service);
  return { tag: newTag.value, digest: digest?.value ?? '' };
}

/** The indentation of the entry's keys, as seen from its newTag line (which may start with `- `). */
const keyIndent = (line: string) => {
  const [, indent = '', dash = ''] = /^(\s*)(-\s+)?/.exec(line) ?? [];
  return indent + ' '.repeat(dash.length);
};

/**
 * Sets the entry's newTag and digest; an empty digest removes the digest line, because a stale
 * digest would keep running the old image whatever the tag says. Returns whether the file changed.
 */
export function writeOverlayImage(file: string, service: string, image: OverlayImage): boolean {
  if (image.digest && !isValidDigest(image.digest))
    throw new DeliveryError(`invalid digest '${image.digest}': expected sha256:<64 lowercase hex>`);
  const lines = readLines(file);
  const { newTag, digest: current } = entryFor(lines, file, service);
  if (newTag.value === image.tag && (current?.value ?? '') === image.digest) return false;
  // Always quoted: an all-digit SHA prefix such as 1234567 would otherwise be read as a number.
  const tagLine = (lines[newTag.index] ?? '').replace(
    /^(\s*(?:-\s+)?newTag:\s*)(?:"[^"]*"|'[^']*'|[^\s#]*)/,
    (_all, prefix: string) => `${prefix}"${image.tag}"`,
  );
  lines[newTag.index] = tagLine;
  const digestLine = image.digest && `${keyIndent(tagLine)}digest: ${image.digest}`;
  if (current && digestLine) lines[current.index] = digestLine;
  else if (current) lines.splice(current.index, 1);
  else if (digestLine) lines.splice(newTag.index + 1, 0, digestLine);
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(temporary, lines.join('\n'));
  fs.renameSync(temporary, file);
  return true;
}
