import fs from 'node:fs';
import path from 'node:path';
import { readCatalogue } from '@internal/catalogue';
import { repoRoot } from '@internal/test-kit';
import { changedPaths, createSandbox, run, type Sandbox } from './support/git-sandbox';

// scripts/generate-environments.mjs on a throwaway copy of this checkout: --check reports drift
// and stale files by name, and a run repairs both.

let sandbox: Sandbox;
beforeAll(() => {
  sandbox = createSandbox('generate-environments');
});
afterAll(() => sandbox?.cleanup());

const generate = (...args: string[]) =>
  run(sandbox.repo, process.execPath, ['scripts/generate-environments.mjs', ...args]);
const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(sandbox.repo, file)), { recursive: true });
  fs.writeFileSync(path.join(sandbox.repo, file), text);
};

describe('scripts/generate-environments.mjs', () => {
  it('--check names a hand-edited file and a stale one, and changes nothing', async () => {
    write('deploy/envs/dev/kustomization.yaml', 'resources: []\n');
    write('deploy/platform/dev/retired-team/kustomization.yaml', 'resources: []\n');
    const checked = await generate('--check');
    expect(checked.code).toBe(1);
    expect(checked.stderr).toMatch(
      /^deploy\/envs\/dev\/kustomization.yaml differs from what catalogue.yaml generates$/m,
    );
    expect(checked.stderr).toMatch(
      /^deploy\/platform\/dev\/retired-team\/kustomization.yaml is not generated from catalogue.yaml$/m,
    );
    expect(checked.stderr).toMatch(/^run: node scripts\/generate-environments.mjs$/m);
    expect(changedPaths(sandbox.repo).sort()).toEqual([
      'deploy/envs/dev/kustomization.yaml',
      'deploy/platform/dev/retired-team/kustomization.yaml',
    ]);
  });

  it('writes the file back and removes the stale one with its folder', async () => {
    const written = await generate();
    expect(written).toMatchObject({ code: 0, stderr: '' });
    expect(changedPaths(sandbox.repo)).toEqual([]);
    expect(fs.existsSync(path.join(sandbox.repo, 'deploy/platform/dev/retired-team'))).toBe(false);
    expect((await generate('--check')).code).toBe(0);
  });

  it('refuses a per-environment addition for an environment the catalogue does not have', async () => {
    const team = readCatalogue(repoRoot(__dirname)).teamNames()[0]!;
    const file = `deploy/platform/components/${team}/per-environment.yaml`;
    const original = fs.readFileSync(path.join(sandbox.repo, file), 'utf8');
    write(file, 'patches:\n  qa: []\n');
    const result = await generate('--check');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/per-environment.yaml: patches for unknown environment qa/);
    write(file, original);
  });
});
