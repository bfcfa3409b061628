import fs from 'node:fs';
import path from 'node:path';
import {
  DIGEST,
  ENVIRONMENTS,
  SERVICES,
  TEAMS,
  createCheckout,
  delivery,
  git,
  overlayFile,
} from './checkout';

// The built tool on a checkout whose catalogue names none of this repository's services, teams
// or environments: everything it knows comes from the catalogue it finds.
let root: string;
beforeAll(() => {
  root = createCheckout();
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
afterEach(() => {
  git(root, 'checkout', '--quiet', '--', '.');
});

const [team] = TEAMS as [(typeof TEAMS)[number]];
const [service] = team.services as [string];
const [first, second, last] = ENVIRONMENTS as [string, string, string];
const read = (env: string) =>
  fs.readFileSync(path.join(root, overlayFile(team.name, service, env)), 'utf8');

describe('delivery catalogue', () => {
  it.each([
    [['services'], SERVICES],
    [['environments'], ENVIRONMENTS],
    [['teams'], TEAMS.map((t) => t.name)],
    [['applications'], SERVICES.flatMap((s) => ENVIRONMENTS.map((env) => `${s}-${env}`))],
    [['team-of', service], [team.name]],
    [['next-environment', first], [second]],
    [['namespace', team.name, last], [`${team.name}-${last}`]],
    [
      ['check'],
      [
        `catalogue.yaml: ${TEAMS.length} teams, ${SERVICES.length} services, environments ${ENVIRONMENTS.join(' → ')}`,
      ],
    ],
  ])('%j answers from the catalogue, one item a line', (args, lines) => {
    const result = delivery(path.join(root, 'deploy'), ['catalogue', ...args]);
    expect(result).toEqual({ status: 0, stdout: `${lines.join('\n')}\n`, stderr: '' });
  });

  it('prints the whole catalogue as JSON, services flattened with their team', () => {
    const { stdout } = delivery(root, ['catalogue', 'json']);
    expect(JSON.parse(stdout).services).toEqual(
      TEAMS.flatMap((t) => t.services.map((name) => ({ name, team: t.name }))),
    );
  });

  it.each([
    [['team-of', 'nobody'], `unknown service 'nobody' (known: ${SERVICES.join(' ')})`],
    [
      ['namespace', 'nobody', first],
      `unknown team 'nobody' (known: ${TEAMS.map((t) => t.name).join(' ')})`,
    ],
    [['next-environment'], "missing required argument 'env'"],
    [['bogus'], "unknown command 'bogus'"],
  ])('%j is a usage error naming the argument', (args, message) => {
    const result = delivery(root, ['catalogue', ...args]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`error: ${message}`);
    expect(result.stderr).toMatch(/^usage: delivery catalogue/m);
  });

  it('exits 1 after the last environment', () => {
    expect(delivery(root, ['catalogue', 'next-environment', last])).toMatchObject({
      status: 1,
      stderr: `error: ${last} is the last environment\n`,
    });
  });

  it('fails every command with exit 3 and the problem when the catalogue is invalid', () => {
    const file = path.join(root, 'catalogue.yaml');
    fs.writeFileSync(
      file,
      fs.readFileSync(file, 'utf8').replace(`name: ${service}`, 'name: Bad_Name'),
    );
    const result = delivery(root, ['catalogue', 'services']);
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(/services\[0\] \(Bad_Name\) > name: must match pattern/);
  });
});

describe('delivery bump and promote', () => {
  it('bump writes tag and digest into the overlay the catalogue gives the service', () => {
    const result = delivery(root, ['bump', '--digest', DIGEST, service, first, 'abcdef1']);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toBe(
      `${service} ${first}: 1.0.0 -> abcdef1@${DIGEST} (${overlayFile(team.name, service, first)})\n`,
    );
    expect(read(first)).toContain(
      `newTag: "abcdef1" # set by delivery bump\n    digest: ${DIGEST}\n`,
    );
  });

  it('bump --commit commits that file with the previous image and the digest in the message', () => {
    expect(
      delivery(root, ['bump', '--commit', '--digest', DIGEST, service, first, 'abcdef2']).status,
    ).toBe(0);
    expect(git(root, 'log', '-1', '--format=%B')).toBe(
      `deploy(${first}): ${service} abcdef2\n\nPrevious image: 1.0.0\nImage-Digest: ${DIGEST}`,
    );
    git(root, 'reset', '--quiet', '--hard', 'HEAD~1');
  });

  it('promote copies tag and digest to the next environment and writes the workflow outputs', () => {
    delivery(root, ['bump', '--digest', DIGEST, service, first, 'abcdef1']);
    const output = path.join(root, '..', `${path.basename(root)}-github-output`);
    const result = delivery(root, ['promote', service, first, second], { GITHUB_OUTPUT: output });
    try {
      expect(result).toMatchObject({ status: 0, stderr: '' });
      expect(read(second)).toContain(`digest: ${DIGEST}`);
      expect(fs.readFileSync(output, 'utf8')).toBe(
        `tag=abcdef1\ndigest=${DIGEST}\nprevious=1.0.0\nprevious_digest=\nfile=${overlayFile(team.name, service, second)}\n`,
      );
    } finally {
      fs.rmSync(output, { force: true });
    }
  });

  it.each([
    [
      ['promote', service, first, last],
      `promotion goes one environment at a time: ${first} promotes to ${second}, not ${last}`,
    ],
    [['promote', service, last, first], `${last} is the last environment: nothing to promote to`],
    [
      ['bump', service, 'nowhere', 'abcdef1'],
      `unknown environment 'nowhere' (known: ${ENVIRONMENTS.join(' ')})`,
    ],
    [['bump', service, first, 'latest'], "invalid image tag 'latest'"],
    [['bump', service, first], "missing required argument 'tag'"],
    [['bump', '--digest'], "option '--digest <digest>' argument missing"],
  ])('%j is refused with exit 2, changing nothing', (args, message) => {
    const result = delivery(root, args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
    expect(git(root, 'status', '--porcelain')).toBe('');
  });

  it('promote refuses a source pinned by tag only, saying how to fix it', () => {
    const result = delivery(root, ['promote', service, first, second]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `delivery bump --digest sha256:<digest> ${service} ${first} 1.0.0`,
    );
    expect(git(root, 'status', '--porcelain')).toBe('');
  });
});

describe('delivery affected', () => {
  it('selects every service with a Dockerfile when the base is unknown', () => {
    for (const name of SERVICES.slice(1)) {
      fs.mkdirSync(path.join(root, 'services', name), { recursive: true });
      fs.writeFileSync(path.join(root, 'services', name, 'Dockerfile'), 'FROM scratch\n');
    }
    try {
      const result = delivery(root, ['affected', '--json', '0'.repeat(40)]);
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual(SERVICES.slice(1).sort());
      expect(result.stderr).toContain('selecting every service');
    } finally {
      fs.rmSync(path.join(root, 'services'), { recursive: true, force: true });
    }
  });

  it('refuses a head that is not a commit', () => {
    expect(delivery(root, ['affected', 'HEAD', 'no-such-ref'])).toMatchObject({
      status: 1,
      stderr: "error: head 'no-such-ref' is not a commit here\n",
    });
  });
});

describe('tools the checkout lacks', () => {
  it('kubeconform names the missing tool and how to install it', () => {
    fs.mkdirSync(path.join(root, 'scripts'), { recursive: true });
    fs.writeFileSync(
      path.join(root, 'scripts', 'tools.versions'),
      'KUBERNETES_SCHEMA_VERSION=1.0.0\n',
    );
    try {
      const result = delivery(root, ['kubeconform', '-'], {
        TOOLS_DIR: path.join(root, 'no-tools'),
      });
      expect(result.status).toBe(2);
      expect(result.stderr).toBe(
        `error: ${path.join(root, 'no-tools', 'bin', 'kubeconform')} is missing: run scripts/install-tools.sh\n`,
      );
    } finally {
      fs.rmSync(path.join(root, 'scripts'), { recursive: true, force: true });
    }
  });

  it('deploy says kubectl is missing before it changes anything', () => {
    const result = delivery(root, ['deploy', first], { KUBECTL: 'kubectl-that-does-not-exist' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/kubectl-that-does-not-exist not found/);
  });
});

describe('delivery check-manifests', () => {
  it.each([
    [['--static', '--targets'], '--static and --targets exclude each other'],
    [['deploy/somewhere'], 'directories (deploy/somewhere) are checked with --static only'],
  ])('%j is a usage error', (args, message) => {
    const result = delivery(root, ['check-manifests', ...args]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`error: ${message}`);
  });

  it('--targets lists every environment of the catalogue and the platform layer', () => {
    expect(delivery(root, ['check-manifests', '--targets']).stdout).toBe(
      `${[...ENVIRONMENTS.map((env) => `deploy/envs/${env}`), 'deploy/platform'].join('\n')}\n`,
    );
  });
});

it('--help describes every command and exits 0', () => {
  const result = delivery(root, ['--help']);
  expect(result.status).toBe(0);
  for (const command of [
    'catalogue',
    'affected',
    'bump',
    'promote',
    'push',
    'deploy',
    'smoke',
    'kubeconform',
    'adopt-fork',
  ])
    expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
});
