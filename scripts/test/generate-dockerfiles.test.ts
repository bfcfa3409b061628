import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readCatalogue } from '@internal/catalogue';
import { repoRoot } from '@internal/test-kit';
import { changedPaths, createSandbox, run, type Sandbox } from './support/git-sandbox';

// One Dockerfile pattern for every service: each services/<name>/Dockerfile is the rendering of
// the new-service generator's template, with only the values read from the service's own files.
// The committed Dockerfiles are checked here; scripts/generate-dockerfiles.mjs itself (drift
// named by file, a template or start-script change reaching the images) on a throwaway copy.

const root = repoRoot(__dirname);
const TEMPLATE = 'turbo/generators/templates/service/Dockerfile.hbs';
const services = readCatalogue(root).serviceNames();
const dockerfile = (service: string) => `services/${service}/Dockerfile`;

it('every committed services/<name>/Dockerfile is its rendering of the template', () => {
  const result = spawnSync(
    process.execPath,
    [path.join(root, 'scripts', 'generate-dockerfiles.mjs'), '--check'],
    { encoding: 'utf8' },
  );
  // On drift, stderr names each Dockerfile that differs and the command that rewrites it.
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  expect(result.stdout).toBe(`dockerfiles: ${services.length} files match ${TEMPLATE}\n`);
});

describe('scripts/generate-dockerfiles.mjs', () => {
  let sandbox: Sandbox;
  beforeAll(() => {
    sandbox = createSandbox('generate-dockerfiles');
  });
  afterAll(() => sandbox?.cleanup());

  const generate = (...args: string[]) =>
    run(sandbox.repo, process.execPath, ['scripts/generate-dockerfiles.mjs', ...args]);
  const file = (relative: string) => path.join(sandbox.repo, relative);
  const read = (relative: string) => fs.readFileSync(file(relative), 'utf8');
  const edit = (relative: string, change: (text: string) => string) => {
    const before = read(relative);
    const after = change(before);
    expect(after).not.toBe(before);
    fs.writeFileSync(file(relative), after);
  };
  const setStart = (service: string, start: string) =>
    edit(`services/${service}/package.json`, (text) =>
      text.replace(/"start": "[^"]*"/, `"start": "${start}"`),
    );
  const restore = (...relatives: string[]) =>
    run(sandbox.repo, 'git', ['checkout', '--quiet', 'HEAD', '--', ...relatives]);

  afterEach(() => {
    // Each test starts from, and leaves, the committed copy of the working tree.
    expect(changedPaths(sandbox.repo)).toEqual([]);
  });

  it('--check names a hand-edited Dockerfile and changes nothing; a run writes it back', async () => {
    const [service] = services as [string];
    edit(dockerfile(service), (text) => text.replace(/^RUN mkdir data .*\n/m, ''));
    const checked = await generate('--check');
    expect(checked.code).toBe(1);
    expect(checked.stderr).toBe(
      `${dockerfile(service)} differs from what ${TEMPLATE} generates\n` +
        'run: node scripts/generate-dockerfiles.mjs\n',
    );
    expect(changedPaths(sandbox.repo)).toEqual([dockerfile(service)]);

    expect(await generate()).toMatchObject({ code: 0, stderr: '' });
  });

  it("a change of the template reaches every service's Dockerfile", async () => {
    edit(TEMPLATE, (text) => text.replace('USER 10001:10001', 'USER 10002:10002'));
    const checked = await generate('--check');
    expect(checked.code).toBe(1);
    for (const service of services)
      expect(checked.stderr).toContain(`${dockerfile(service)} differs from what ${TEMPLATE}`);

    expect(await generate()).toMatchObject({ code: 0, stderr: '' });
    for (const service of services)
      expect(read(dockerfile(service))).toMatch(/^USER 10002:10002$/m);
    await restore(TEMPLATE, ...services.map(dockerfile));
  });

  it("the Node options of a service's `npm start` become its image's NODE_OPTIONS", async () => {
    const [service] = services as [string];
    setStart(service, 'node --max-old-space-size=96 --stack-size=2048 dist/server.js');
    expect((await generate('--check')).stderr).toContain(`${dockerfile(service)} differs`);
    expect(await generate()).toMatchObject({ code: 0, stderr: '' });
    expect(read(dockerfile(service))).toContain(
      'NODE_OPTIONS="--max-old-space-size=96 --stack-size=2048" \\\n    PORT=',
    );

    // Without options the image sets none.
    setStart(service, 'node dist/server.js');
    expect(await generate()).toMatchObject({ code: 0, stderr: '' });
    expect(read(dockerfile(service))).not.toContain('NODE_OPTIONS');
    await restore(`services/${service}/package.json`, dockerfile(service));
  });

  it('refuses a `npm start` that is not the node dist/server.js the image runs, naming the file', async () => {
    const [service] = services as [string];
    setStart(service, 'node dist/other.js');
    const checked = await generate('--check');
    expect(checked.code).not.toBe(0);
    expect(checked.stderr).toContain(
      `services/${service}/package.json: scripts.start "node dist/other.js" is not "node [--option ...] dist/server.js"`,
    );
    await restore(`services/${service}/package.json`);
  });
});
