import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@internal/test-kit';
import { decidingRule, parseCodeowners } from './support/codeowners';
import { git } from './support/git-sandbox';

const root = repoRoot();
const rules = parseCodeowners(fs.readFileSync(path.join(root, '.github', 'CODEOWNERS'), 'utf8'));
const PLATFORM = '@example-org/platform-team';
const TEAM_OF_SERVICE: Record<string, string> = {
  payment: '@example-org/payments-team',
  antaeus: '@example-org/billing-team',
};
const TEAM_OF_DEPLOY_DIR: Record<string, string> = {
  payments: '@example-org/payments-team',
  billing: '@example-org/billing-team',
};

const ownersOf = (file: string) => decidingRule(rules, file)?.owners ?? [];
const trackedFiles = git(root, 'ls-files', '--cached', '--others', '--exclude-standard').split(
  '\n',
);

describe('.github/CODEOWNERS', () => {
  it('names only the three teams, each line with an owner', () => {
    for (const rule of rules) {
      expect({ line: rule.line, owners: rule.owners }).toEqual({
        line: rule.line,
        owners: [expect.any(String)],
      });
      expect([PLATFORM, ...Object.values(TEAM_OF_SERVICE)]).toContain(rule.owners[0]);
    }
  });

  it('gives every file of a service to the team that runs it, its Dockerfile included', () => {
    const serviceFiles = trackedFiles.filter((f) => f.startsWith('services/'));
    expect(serviceFiles).toEqual(
      expect.arrayContaining(['services/payment/Dockerfile', 'services/antaeus/Dockerfile']),
    );
    for (const file of serviceFiles) {
      const service = file.split('/')[1]!;
      expect({ file, owners: ownersOf(file) }).toEqual({
        file,
        owners: [TEAM_OF_SERVICE[service]],
      });
    }
  });

  it('gives every base and overlay under deploy/teams to its team', () => {
    const overlays = trackedFiles.filter((f) =>
      /^deploy\/teams\/[^/]+\/[^/]+\/overlays\/[^/]+\//.test(f),
    );
    expect(overlays.length).toBeGreaterThanOrEqual(6);
    for (const file of trackedFiles.filter((f) => f.startsWith('deploy/teams/'))) {
      const team = TEAM_OF_DEPLOY_DIR[file.split('/')[2]!];
      expect({ file, owners: ownersOf(file) }).toEqual({ file, owners: [team] });
    }
  });

  it.each([
    'deploy/platform/base/kustomization.yaml',
    'deploy/envs/prod/kustomization.yaml',
    'deploy/package.json',
    'argocd/README.md',
    '.github/workflows/release.yml',
    '.github/CODEOWNERS',
    'scripts/bump-image.sh',
    'package.json',
    'package-lock.json',
    'turbo.json',
    'packages/service-kit/src/index.ts',
    '.dockerignore',
  ])('gives %s to the platform team', (file) => {
    expect(ownersOf(file)).toEqual([PLATFORM]);
  });

  it('lets the last matching line win: a team rule after /deploy/ overrides it', () => {
    const file = 'deploy/teams/payments/payment/overlays/prod/kustomization.yaml';
    const matching = rules.filter((rule) => rule.matches(file)).map((rule) => rule.pattern);
    expect(matching).toEqual(['*', '/deploy/', '/deploy/teams/payments/']);
    expect(decidingRule(rules, file)?.pattern).toBe('/deploy/teams/payments/');
  });
});

describe('the CODEOWNERS matcher', () => {
  it.each([
    ['* @a\n/x/ @b\n', 'x/y/z.ts', '@b'],
    ['/x/ @b\n* @a\n', 'x/y/z.ts', '@a'],
    ['/x/ @b\n', 'y/x/z.ts', undefined],
    ['docs/ @d\n', 'a/docs/readme.md', '@d'],
    ['*.md @m\n', 'a/b/readme.md', '@m'],
    ['/x @b\n', 'x', '@b'],
    ['/x/ @b # trailing comment\n', 'x/1', '@b'],
  ])('with %j, %s belongs to %s', (text, file, owner) => {
    expect(decidingRule(parseCodeowners(text), file)?.owners[0]).toBe(owner);
  });
});
