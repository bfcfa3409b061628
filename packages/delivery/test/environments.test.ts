import fs from 'node:fs';
import path from 'node:path';
import { readCatalogue } from '@internal/catalogue';
import { changedPaths, copyOfThisCheckout, delivery } from './checkout';

// `delivery generate environments` on a throwaway copy of this checkout: --check reports drift
// and stale files by name, and a run repairs both.

let root: string;
beforeAll(() => {
  root = copyOfThisCheckout();
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const generate = (...args: string[]) => delivery(root, ['generate', ...args, 'environments']);
const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  fs.writeFileSync(path.join(root, file), text);
};

describe('delivery generate environments', () => {
  it('--check names a hand-edited file and a stale one, and changes nothing', () => {
    write('deploy/envs/dev/kustomization.yaml', 'resources: []\n');
    write('deploy/platform/dev/retired-team/kustomization.yaml', 'resources: []\n');
    const checked = generate('--check');
    expect(checked.status).toBe(1);
    expect(checked.stderr).toMatch(
      /^deploy\/envs\/dev\/kustomization.yaml differs from what catalogue.yaml generates$/m,
    );
    expect(checked.stderr).toMatch(
      /^deploy\/platform\/dev\/retired-team\/kustomization.yaml is not generated from catalogue.yaml$/m,
    );
    expect(checked.stderr).toMatch(/^run: npx delivery generate$/m);
    expect(changedPaths(root)).toEqual([
      'deploy/envs/dev/kustomization.yaml',
      'deploy/platform/dev/retired-team/kustomization.yaml',
    ]);
  });

  it('writes the file back and removes the stale one with its folder', () => {
    const written = generate();
    expect(written).toMatchObject({ status: 0, stderr: '' });
    expect(changedPaths(root)).toEqual([]);
    expect(fs.existsSync(path.join(root, 'deploy/platform/dev/retired-team'))).toBe(false);
    expect(generate('--check').status).toBe(0);
  });

  it('refuses a per-environment addition for an environment the catalogue does not have', () => {
    const team = readCatalogue(root).teamNames()[0]!;
    const file = `deploy/platform/components/${team}/per-environment.yaml`;
    const original = fs.readFileSync(path.join(root, file), 'utf8');
    write(file, 'patches:\n  qa: []\n');
    const result = generate('--check');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/per-environment.yaml: patches for unknown environment qa/);
    write(file, original);
  });
});
