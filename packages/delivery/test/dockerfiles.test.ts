import fs from 'node:fs';
import path from 'node:path';
import { readCatalogue } from '@internal/catalogue';
import { repoRoot } from '@internal/test-kit';
import { changedPaths, copyOfThisCheckout, delivery, git } from './checkout';

// One Dockerfile pattern for every service: each services/<name>/Dockerfile is the rendering of
// the new-service generator's template, with only the values read from the service's own files.
// The committed Dockerfiles are checked here; `delivery generate dockerfiles` itself (drift
// named by file, a template or start-script change reaching the images) on a throwaway copy.

const TEMPLATE = 'turbo/generators/templates/service/Dockerfile.hbs';
const services = readCatalogue(repoRoot(__dirname)).serviceNames();
const dockerfile = (service: string) => `services/${service}/Dockerfile`;

it('every committed services/<name>/Dockerfile is its rendering of the template', () => {
  const result = delivery(repoRoot(__dirname), ['generate', '--check', 'dockerfiles']);
  // On drift, stderr names each Dockerfile that differs and the command that rewrites it.
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  expect(result.stdout).toBe(`dockerfiles: ${services.length} files match ${TEMPLATE}\n`);
});

describe('delivery generate dockerfiles', () => {
  let root: string;
  beforeAll(() => {
    root = copyOfThisCheckout();
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  const generate = (...args: string[]) => delivery(root, ['generate', ...args, 'dockerfiles']);
  const file = (relative: string) => path.join(root, relative);
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
    git(root, 'checkout', '--quiet', 'HEAD', '--', ...relatives);

  afterEach(() => {
    // Each test starts from, and leaves, the committed copy of the working tree.
    expect(changedPaths(root)).toEqual([]);
  });

  it('--check names a hand-edited Dockerfile and changes nothing; a run writes it back', () => {
    const [service] = services as [string];
    edit(dockerfile(service), (text) => text.replace(/^RUN mkdir data .*\n/m, ''));
    const checked = generate('--check');
    expect(checked.status).toBe(1);
    expect(checked.stderr).toBe(
      `${dockerfile(service)} differs from what ${TEMPLATE} generates\n` +
        'run: npx delivery generate\n',
    );
    expect(changedPaths(root)).toEqual([dockerfile(service)]);

    expect(generate()).toMatchObject({ status: 0, stderr: '' });
  });

  it("a change of the template reaches every service's Dockerfile", () => {
    edit(TEMPLATE, (text) => text.replace('USER 10001:10001', 'USER 10002:10002'));
    const checked = generate('--check');
    expect(checked.status).toBe(1);
    for (const service of services)
      expect(checked.stderr).toContain(`${dockerfile(service)} differs from what ${TEMPLATE}`);

    expect(generate()).toMatchObject({ status: 0, stderr: '' });
    for (const service of services)
      expect(read(dockerfile(service))).toMatch(/^USER 10002:10002$/m);
    restore(TEMPLATE, ...services.map(dockerfile));
  });

  it("the Node options of a service's `npm start` become its image's NODE_OPTIONS", () => {
    const [service] = services as [string];
    setStart(service, 'node --max-old-space-size=96 --stack-size=2048 dist/server.js');
    expect(generate('--check').stderr).toContain(`${dockerfile(service)} differs`);
    expect(generate()).toMatchObject({ status: 0, stderr: '' });
    expect(read(dockerfile(service))).toContain(
      'NODE_OPTIONS="--max-old-space-size=96 --stack-size=2048" \\\n    PORT=',
    );

    // Without options the image sets none.
    setStart(service, 'node dist/server.js');
    expect(generate()).toMatchObject({ status: 0, stderr: '' });
    expect(read(dockerfile(service))).not.toContain('NODE_OPTIONS');
    restore(`services/${service}/package.json`, dockerfile(service));
  });

  it('refuses a `npm start` that is not the node dist/server.js the image runs, naming the file', () => {
    const [service] = services as [string];
    setStart(service, 'node dist/other.js');
    const checked = generate('--check');
    expect(checked.status).not.toBe(0);
    expect(checked.stderr).toContain(
      `services/${service}/package.json: scripts.start "node dist/other.js" is not "node [--option ...] dist/server.js"`,
    );
    restore(`services/${service}/package.json`);
  });
});
