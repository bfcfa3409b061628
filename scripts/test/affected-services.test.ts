import fs from 'node:fs';
import path from 'node:path';
import { createSandbox, delivery, git, type Sandbox } from './support/git-sandbox';

// Which images the release workflow rebuilds for a push, decided by Turborepo's package graph.

let sandbox: Sandbox;
beforeAll(() => {
  sandbox = createSandbox('affected');
});
afterAll(() => sandbox.cleanup());

/** Commits a one-line change to each file and returns the services selected for that commit. */
async function selectedFor(...files: string[]): Promise<string[]> {
  for (const file of files) {
    const target = path.join(sandbox.repo, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.appendFileSync(target, '\n');
  }
  git(sandbox.repo, 'add', '--', ...files);
  git(sandbox.repo, 'commit', '--quiet', '--message', `touch ${files.join(' ')}`);
  const result = await delivery(sandbox.repo, ['affected', '--json', 'HEAD~1', 'HEAD']);
  expect(result).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(result.stdout) as string[];
}

describe('delivery affected', () => {
  it.each([
    // antaeus declares payment as a dependency (its tests run against the real payment service),
    // so Turborepo counts a payment change as affecting it and both images are rebuilt.
    [['services/payment/src/server.ts'], ['antaeus', 'payment']],
    [['services/antaeus/Dockerfile'], ['antaeus']],
    [['packages/service-kit/src/index.ts'], ['antaeus', 'payment']],
    [['packages/tsconfig/base.json'], ['antaeus', 'payment']],
    [['.dockerignore'], ['antaeus', 'payment']],
    [['deploy/teams/payments/payment/overlays/dev/kustomization.yaml'], []],
    [['argocd/README.md', '.github/CODEOWNERS'], []],
  ])(
    'a commit touching %j selects %j',
    async (files, expected) => {
      expect(await selectedFor(...files)).toEqual(expected);
    },
    30_000,
  );

  it('selects every service when the base is unknown, as on a branch first push', async () => {
    const zero = '0'.repeat(40);
    const result = await delivery(sandbox.repo, ['affected', zero]);
    expect(result).toMatchObject({ code: 0, stdout: 'antaeus\npayment\n' });
    expect(result.stderr).toContain('selecting every service');
  });

  it('refuses a head that is not a commit', async () => {
    const result = await delivery(sandbox.repo, ['affected', 'HEAD', 'no-such-ref']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("head 'no-such-ref' is not a commit");
  });

  it('refuses a call without a base, naming the argument', async () => {
    const result = await delivery(sandbox.repo, ['affected']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("missing required argument 'base'");
  });
});
