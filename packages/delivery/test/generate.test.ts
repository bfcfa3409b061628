import fs from 'node:fs';
import path from 'node:path';
import { readCatalogue } from '@internal/catalogue';
import { repoRoot } from '@internal/test-kit';
import { changedPaths, copyOfThisCheckout, createCheckout, delivery } from './checkout';

// `delivery generate`: every generator in one command. The committed files of this checkout are
// what it writes; on a throwaway copy, --check names every drifted file of every generator and
// the command that repairs them, and changes nothing.

const GENERATED_FROM = [
  ['deployer-roles', 'deployer Roles', 'argocd/projects'],
  ['environments', 'deploy/envs and deploy/platform/<env>', 'catalogue.yaml'],
  ['applicationsets', 'argocd', 'catalogue.yaml'],
  ['dockerfiles', 'dockerfiles', 'turbo/generators/templates/service/Dockerfile.hbs'],
];

describe('the committed generated files of this checkout', () => {
  it.each(GENERATED_FROM)('%s: are what it writes', (generator, label, source) => {
    const result = delivery(repoRoot(__dirname), ['generate', '--check', generator]);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(new RegExp(`^${label}: \\d+ files match ${source}\n$`));
  });

  it('are all checked by one command, in the order the generators read each other', () => {
    const result = delivery(repoRoot(__dirname), ['generate', '--check']);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    expect(result.stdout.split('\n').map((line) => line.split(':')[0])).toEqual([
      ...GENERATED_FROM.map(([, label]) => label),
      '',
    ]);
  });
});

describe('delivery generate on a copy of this checkout', () => {
  let root: string;
  beforeAll(() => {
    root = copyOfThisCheckout();
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  const catalogue = readCatalogue(repoRoot(__dirname));
  const [team] = catalogue.teamNames() as [string];
  const [service] = catalogue.serviceNames() as [string];
  const drifted = [
    `deploy/platform/components/${team}/deployer-role.yaml`,
    `argocd/applicationsets/${team}.yaml`,
    `services/${service}/Dockerfile`,
  ];

  it('--check names every drifted, missing and stale file of every generator, then the command', () => {
    for (const file of drifted) fs.appendFileSync(path.join(root, file), '# edited by hand\n');
    fs.rmSync(path.join(root, 'argocd/kustomization.yaml'));
    fs.writeFileSync(path.join(root, 'argocd/applicationsets/retired.yaml'), 'kind: List\n');
    const before = changedPaths(root);

    const checked = delivery(root, ['generate', '--check']);
    expect(checked.status).toBe(1);
    expect(checked.stderr.split('\n')).toEqual([
      `${drifted[0]} differs from what argocd/projects generates`,
      `${drifted[1]} differs from what catalogue.yaml generates`,
      'argocd/kustomization.yaml differs from what catalogue.yaml generates',
      'argocd/applicationsets/retired.yaml is not generated from catalogue.yaml',
      `${drifted[2]} differs from what turbo/generators/templates/service/Dockerfile.hbs generates`,
      'run: npx delivery generate',
      '',
    ]);
    // The generators without drift still say so.
    expect(checked.stdout).toContain('deploy/envs and deploy/platform/<env>: ');
    expect(changedPaths(root)).toEqual(before);
  });

  it('repairs all of it in one run', () => {
    const written = delivery(root, ['generate']);
    expect(written).toMatchObject({ status: 0, stderr: '' });
    expect(written.stdout).toContain('argocd: 2 written, 1 removed,');
    expect(changedPaths(root)).toEqual([]);
  });

  it('refuses an unknown generator as a usage error', () => {
    const result = delivery(root, ['generate', 'helm-charts']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("error: command-argument value 'helm-charts' is invalid");
    expect(result.stderr).toMatch(/^usage: delivery generate /m);
  });
});

describe('delivery generate with a bad catalogue', () => {
  let root: string;
  beforeAll(() => {
    root = createCheckout();
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it.each([[[]], [['--check']]])(
    '%j exits 3 naming the entry and field, and writes nothing',
    (args) => {
      const file = path.join(root, 'catalogue.yaml');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^ {4}namespace: .*\n/m, ''));
      const result = delivery(root, ['generate', ...args]);
      expect(result.status).toBe(3);
      expect(result.stderr).toMatch(/^error: catalogue.yaml is invalid:$/m);
      expect(result.stderr).toMatch(/> namespace: is required$/m);
      expect(result.stdout).toBe('');
      expect(changedPaths(root)).toEqual(['catalogue.yaml']);
    },
  );
});
