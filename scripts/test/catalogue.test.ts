import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CatalogueError, parseCatalogue, readCatalogue } from '@internal/catalogue';
import { repoRoot } from '@internal/test-kit';
import YAML from 'yaml';
import { DELIVERY_CLI } from './support/git-sandbox';

// From this file, not the test kit, so that the test checks the checkout it is in (also a clone
// whose node_modules is linked in, scripts/test/new-service.test.ts).
const root = repoRoot(__dirname);
const text = fs.readFileSync(path.join(root, 'catalogue.yaml'), 'utf8');
const catalogue = readCatalogue(root);

type Entry = { name: string; [field: string]: unknown };
type Data = { environments: Entry[]; teams: (Entry & { services: Entry[] })[] };

/** The problems parseCatalogue reports for the committed catalogue after `edit`. */
function problemsAfter(edit: (data: Data) => void): string[] {
  const data = YAML.parse(text) as Data;
  edit(data);
  try {
    parseCatalogue(YAML.stringify(data));
  } catch (error) {
    if (error instanceof CatalogueError) return error.problems;
    throw error;
  }
  return [];
}

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [DELIVERY_CLI, 'catalogue', ...args], {
    cwd: root,
    encoding: 'utf8',
  });

describe('catalogue.yaml', () => {
  test('is valid, and delivery catalogue check says so', () => {
    const result = cli('check');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/2 teams|\d+ teams/);
  });

  test.each([
    [
      'a service name that is not a DNS-1123 label',
      (data: Data) => (data.teams[1]!.services[0]!.name = 'Antaeus_2'),
      /^teams\[1\] \(billing\) > services\[0\] \(Antaeus_2\) > name: must match pattern/,
    ],
    [
      'an unknown field',
      (data: Data) => (data.teams[0]!.services[0]!.image = 'x'),
      /^teams\[0\] \(payments\) > services\[0\] \(\w+\) > image: is not a known field$/,
    ],
    [
      'a team without owners',
      (data: Data) => delete data.teams[0]!.owners,
      /^teams\[0\] \(payments\) > owners: is required$/,
    ],
    [
      'an environment whose namespace does not name the team',
      (data: Data) => (data.environments[2]!.namespace = 'prod'),
      /^environments\[2\] \(prod\) > namespace: must match pattern/,
    ],
    [
      'prune that is not a boolean',
      (data: Data) => (data.environments[0]!.prune = 'yes'),
      /^environments\[0\] \(dev\) > prune: must be boolean$/,
    ],
    [
      'a service listed under two teams',
      (data: Data) => data.teams[1]!.services.push({ name: data.teams[0]!.services[0]!.name }),
      /^teams > services > name: service "\w+" is listed more than once$/,
    ],
    [
      'two environments with the same namespace',
      (data: Data) => (data.environments[1]!.namespace = data.environments[0]!.namespace),
      /^environments > namespace: "[a-z-]+" is both/,
    ],
  ])('refuses %s, naming the entry and the field', (_what, edit, message) => {
    const problems = problemsAfter(edit);
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  });

  test('the delivery tool lists exactly its services, teams and environments, in order', () => {
    const lines = (...args: string[]) =>
      cli(...args)
        .stdout.trim()
        .split('\n');
    expect(lines('services')).toEqual(catalogue.serviceNames());
    expect(lines('teams')).toEqual(catalogue.teamNames());
    expect(lines('environments')).toEqual(catalogue.environmentNames());
    expect(lines('next-environment', catalogue.environmentNames()[0] ?? '')).toEqual([
      catalogue.environmentNames()[1],
    ]);
  });

  test('every service has its workspace, Dockerfile, base and an overlay per environment', () => {
    for (const service of catalogue.serviceNames()) {
      const files = [
        `${catalogue.serviceDir(service)}/package.json`,
        `${catalogue.serviceDir(service)}/Dockerfile`,
        `${catalogue.deployDir(service)}/base/kustomization.yaml`,
        ...catalogue
          .environmentNames()
          .map((env) => `${catalogue.overlayPath(service, env)}/kustomization.yaml`),
      ];
      expect(files.filter((file) => !fs.existsSync(path.join(root, file)))).toEqual([]);
    }
  });

  test('nothing is deployed or built that the catalogue does not list', () => {
    const teamsDir = path.join(root, 'deploy', 'teams');
    const deployed = fs
      .readdirSync(teamsDir)
      .flatMap((team) =>
        fs.readdirSync(path.join(teamsDir, team)).map((name) => `${team}/${name}`),
      );
    expect(deployed.sort()).toEqual(
      catalogue.services.map(({ name, team }) => `${team}/${name}`).sort(),
    );
    const built = fs
      .readdirSync(path.join(root, 'services'))
      .filter((name) => fs.existsSync(path.join(root, 'services', name, 'Dockerfile')));
    expect(built.sort()).toEqual(catalogue.serviceNames().sort());
  });

  test('CODEOWNERS gives each team its services and its deploy folder', () => {
    const lines = fs
      .readFileSync(path.join(root, '.github', 'CODEOWNERS'), 'utf8')
      .split('\n')
      .map((line) => line.trim().split(/\s+/));
    for (const team of catalogue.teams) {
      const owned = lines.filter(([, owner]) => owner === team.owners).map(([pattern]) => pattern);
      expect(owned.sort()).toEqual(
        [`/deploy/teams/${team.name}/`, ...team.services.map((s) => `/services/${s.name}/`)].sort(),
      );
    }
  });
});
