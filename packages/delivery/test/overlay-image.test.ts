import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeliveryError } from '../src/errors';
import { readOverlayImage, writeOverlayImage } from '../src/overlay-image';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const OTHER = `sha256:${'cd'.repeat(32)}`;
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overlay-image-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (text: string) => {
  const file = path.join(dir, 'kustomization.yaml');
  fs.writeFileSync(file, text);
  return file;
};

const TWO_IMAGES = `resources:
  - ../../base
images: # what runs
  - name: ghcr.io/org/repo/first
    newTag: '1.0.0' # quoted
  - newTag: 2.0.0
    name: ghcr.io/org/repo/second
    digest: ${DIGEST}
patches: []
`;

describe('readOverlayImage', () => {
  it('reads tag and digest of the entry whose image name ends in the service, quoted or not', () => {
    const file = write(TWO_IMAGES);
    expect(readOverlayImage(file, 'first')).toEqual({ tag: '1.0.0', digest: '' });
    expect(readOverlayImage(file, 'second')).toEqual({ tag: '2.0.0', digest: DIGEST });
  });

  it('matches an entry by newName too', () => {
    const file = write(
      'images:\n  - name: placeholder\n    newName: registry/org/third\n    newTag: abcdef1\n',
    );
    expect(readOverlayImage(file, 'third').tag).toBe('abcdef1');
  });

  it.each([
    ['resources: []\n', /has no top-level images: list/],
    [TWO_IMAGES, /has no images entry for third/],
    [
      'images:\n  - name: a/first\n    newTag: x\n  - name: b/first\n    newTag: y\n',
      /has 2 images entries for first/,
    ],
    ['images:\n  - name: a/first\n', /the images entry for first has no newTag line/],
  ])('refuses an overlay it cannot read unambiguously', (text, message) => {
    const service = message.source.includes('third') ? 'third' : 'first';
    expect(() => readOverlayImage(write(text), service)).toThrow(message);
  });

  it('names a file that does not exist', () => {
    expect(() => readOverlayImage(path.join(dir, 'missing.yaml'), 'first')).toThrow(
      new DeliveryError(`${path.join(dir, 'missing.yaml')} does not exist`),
    );
  });
});

describe('writeOverlayImage', () => {
  it('changes the newTag line only, quoting the tag, and keeps comments and order', () => {
    const file = write(TWO_IMAGES);
    expect(writeOverlayImage(file, 'first', { tag: '1234567', digest: '' })).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe(
      TWO_IMAGES.replace("newTag: '1.0.0' # quoted", 'newTag: "1234567" # quoted'),
    );
  });

  it('adds a digest line under newTag, aligned with the entry keys', () => {
    const file = write(TWO_IMAGES);
    writeOverlayImage(file, 'first', { tag: 'fedcba9', digest: DIGEST });
    expect(fs.readFileSync(file, 'utf8')).toContain(
      `    newTag: "fedcba9" # quoted\n    digest: ${DIGEST}\n  - newTag`,
    );
  });

  it('aligns the digest with the keys when newTag opens the entry', () => {
    const file = write('images:\n  - newTag: 1.0.0\n    name: org/first\n');
    writeOverlayImage(file, 'first', { tag: '1.0.1', digest: DIGEST });
    expect(fs.readFileSync(file, 'utf8')).toBe(
      `images:\n  - newTag: "1.0.1"\n    digest: ${DIGEST}\n    name: org/first\n`,
    );
  });

  it('replaces a digest, and drops it when the new image is pinned by tag only', () => {
    const file = write(TWO_IMAGES);
    writeOverlayImage(file, 'second', { tag: '2.0.0', digest: OTHER });
    expect(readOverlayImage(file, 'second')).toEqual({ tag: '2.0.0', digest: OTHER });
    writeOverlayImage(file, 'second', { tag: '2.0.1', digest: '' });
    expect(fs.readFileSync(file, 'utf8')).not.toContain('digest:');
    expect(readOverlayImage(file, 'second')).toEqual({ tag: '2.0.1', digest: '' });
  });

  it('reports no change and leaves the file untouched when the image is already there', () => {
    const file = write(TWO_IMAGES);
    const before = fs.statSync(file).mtimeMs;
    expect(writeOverlayImage(file, 'second', { tag: '2.0.0', digest: DIGEST })).toBe(false);
    expect(fs.readFileSync(file, 'utf8')).toBe(TWO_IMAGES);
    expect(fs.statSync(file).mtimeMs).toBe(before);
  });

  it('refuses a malformed digest before writing', () => {
    const file = write(TWO_IMAGES);
    expect(() => writeOverlayImage(file, 'first', { tag: '1.0.0', digest: 'md5:abc' })).toThrow(
      /invalid digest 'md5:abc'/,
    );
    expect(fs.readFileSync(file, 'utf8')).toBe(TWO_IMAGES);
  });
});
