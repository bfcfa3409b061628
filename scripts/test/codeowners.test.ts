import fs from 'node:fs';
import path from 'node:path';
import { readCatalogue } from '@internal/catalogue';
import { repoRoot } from '@internal/test-kit';
import { decidingRule, parseCodeowners } from './support/codeowners';
import { git } from './support/git-sandbox';

// From this file, not the test kit, so that the test checks the checkout it is in (also a clone
// whose node_modules is linked in, scripts/test/new-service.test.ts).
const root = repoRoot(__dirname);
const rules = parseCodeowners(fs.readFileSync(path.join(root, '.github', 'CODEOWNERS'), 'utf8'));
const PLATFORM = '@example-org/platform-team';
const catalogue = readCatalogue(root);
const OWNERS_OF_TEAM: Record<string, string> = Object.fromEntries(
  catalogue.teams.map((team) => [team.name, team.owners]),
);
const OWNERS_OF_SERVICE: Record<string, string> = Object.fromEntries(
  catalogue.services.map((service) => [service.name, OWNERS_OF_TEAM[service.team]!]),
);

const ownersOf = (file: string) => decidingRule(rules, file)?.owners ?? [];
const trackedFiles = git(root, 'ls-files', '--cached', '--others', '--exclude-standard').split(
  '\n',
);

describe('.github/CODEOWNERS', () => {
  it('names only the platform team and the teams of catalogue.yaml, each line with an owner', () => {
    for (const rule of rules) {
      expect({ line: rule.line, owners: rule.owners }).toEqual({
        line: rule.line,
        owners: [expect.any(String)],
      });
      expect([PLATFORM, ...Object.values(OWNERS_OF_TEAM)]).toContain(rule.owners[0]);
    }
  });

  it('gives every file of a service to the team that runs it, its Dockerfile included', () => {
    const serviceFiles = trackedFiles.filter((f) => f.startsWith('services/'));
    expect(serviceFiles).toEqual(
      expect.arrayContaining(catalogue.serviceNames().map((name) => `services/${name}/Dockerfile`)),
    );
    for (const file of serviceFiles) {
      const service = file.split('/')[1]!;
      expect({ file, owners: ownersOf(file) }).toEqual({
        file,
        owners: [OWNERS_OF_SERVICE[service]],
      });
    }
  });

  it('gives every base and overlay under deploy/teams to its team', () => {
    const overlays = trackedFiles.filter((f) =>
      /^deploy\/teams\/[^/]+\/[^/]+\/overlays\/[^/]+\//.test(f),
    );
    expect(overlays.length).toBeGreaterThanOrEqual(6);
    for (const file of trackedFiles.filter((f) => f.startsWith('deploy/teams/'))) {
      const team = OWNERS_OF_TEAM[file.split('/')[2]!];
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
    'packages/delivery/src/bump.ts',
    'package.json',
    'package-lock.json',
    'turbo.json',
    'packages/service-kit/src/index.ts',
    '.dockerignore',
  ])('gives %s to the platform team', (file) => {
    expect(ownersOf(file)).toEqual([PLATFORM]);
  });

  it('lets the last matching line win: a team rule after /deploy/ overrides it', () => {
    const { name, team } = catalogue.services[0]!;
    const file = `deploy/teams/${team}/${name}/overlays/prod/kustomization.yaml`;
    const matching = rules.filter((rule) => rule.matches(file)).map((rule) => rule.pattern);
    expect(matching).toEqual(['*', '/deploy/', `/deploy/teams/${team}/`]);
    expect(decidingRule(rules, file)?.pattern).toBe(`/deploy/teams/${team}/`);
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
