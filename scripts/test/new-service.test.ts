import fs from 'node:fs';
import path from 'node:path';
import { readCatalogue } from '@internal/catalogue';
import { freePort, repoRoot, startProcess, tool, toolsDir } from '@internal/test-kit';
import {
  changedPaths,
  createSandbox,
  delivery,
  DELIVERY_CLI,
  git,
  run,
  type RunResult,
  type Sandbox,
} from './support/git-sandbox';

// `npm run new-service` and `npm run remove-service` on a throwaway repository holding this
// checkout (node_modules linked in, as the delivery tests do): the repository's static
// validation must pass after each, the generated service must build, pass its own tests and
// answer /readyz over loopback HTTP, and removing it must leave the repository as it was.

const catalogue = readCatalogue(repoRoot(__dirname));
const TEAM = catalogue.teams[0]!.name;
const SERVICE = 'ledger-feed';
// The clone has no .tools of its own: the pinned binaries of this checkout.
const TOOLS = { TOOLS_DIR: toolsDir() };

const node = (repo: string, script: string, ...args: string[]) =>
  run(repo, process.execPath, [script, ...args], TOOLS);

function expectSuccess(what: string, result: RunResult): void {
  expect({
    what,
    code: result.code,
    output: result.code === 0 ? '' : `${result.stdout}${result.stderr}`,
  }).toEqual({
    what,
    code: 0,
    output: '',
  });
}

/**
 * What CI validates without a cluster: the catalogue, every generated file against its
 * generator, the lockfile, kustomize build | kubeconform of every environment and of argocd/,
 * and the catalogue, CODEOWNERS, pipeline-lint and manifest policy tests run inside the clone.
 */
async function expectStaticValidationPasses(repo: string): Promise<void> {
  expectSuccess('catalogue check', await delivery(repo, ['catalogue', 'check'], TOOLS));
  expectSuccess('generated files', await delivery(repo, ['generate', '--check'], TOOLS));
  expectSuccess('lockfile', await node(repo, 'scripts/complete-lockfile.mjs', '--check'));
  const kustomize = tool('kustomize');
  for (const dir of [...catalogue.environmentNames().map((env) => `deploy/envs/${env}`), 'argocd'])
    expectSuccess(
      `kustomize build ${dir} | kubeconform`,
      await run(
        repo,
        'bash',
        [
          '-c',
          `set -o pipefail; "${kustomize}" build ${dir} | "${process.execPath}" "${DELIVERY_CLI}" kubeconform -`,
        ],
        TOOLS,
      ),
    );
  const jest = (workspace: string, files: string[]) =>
    run(
      path.join(repo, workspace),
      process.execPath,
      [require.resolve('jest/bin/jest'), ...files],
      TOOLS,
    );
  expectSuccess(
    'scripts tests',
    await jest('scripts', [
      'test/catalogue.test.ts',
      'test/codeowners.test.ts',
      'test/static-checks.test.ts',
    ]),
  );
  expectSuccess(
    'deploy tests',
    await jest('deploy', [
      'test/render-and-validate.test.ts',
      'test/workloads.test.ts',
      'test/network-and-platform.test.ts',
      'test/admission.test.ts',
      'test/service-auth.test.ts',
    ]),
  );
}

let sandbox: Sandbox;
beforeAll(() => {
  sandbox = createSandbox('new-service');
});
afterAll(() => sandbox?.cleanup());

describe('npm run new-service refuses bad input, exit 2, and writes nothing', () => {
  const taken = catalogue.services[0]!.name;
  it.each([
    [
      'a name that is not a DNS-1123 label',
      ['Ledger_2', '--team', TEAM],
      /service name "Ledger_2" is not a DNS-1123 label/,
    ],
    [
      'a name ending in a hyphen',
      ['ledger-', '--team', TEAM],
      /service name "ledger-" is not a DNS-1123 label/,
    ],
    [
      'a service name already taken',
      [taken, '--team', TEAM],
      new RegExp(`service name "${taken}" is taken: catalogue.yaml lists it`),
    ],
    [
      "another workspace's name",
      ['scripts', '--team', TEAM],
      /service name "scripts" is taken: an npm workspace of that name exists/,
    ],
    [
      "a team's name",
      [TEAM, '--team', TEAM],
      new RegExp(`service name "${TEAM}" is taken: it is a team's name`),
    ],
    ['an unknown team', [SERVICE, '--team', 'nobody'], /unknown team "nobody" \(teams: /],
    ['a missing --team', [SERVICE], /missing --team <team> \(teams: /],
    ['a missing name', ['--team', TEAM], /missing the service name/],
    [
      'an unknown option',
      [SERVICE, '--team', TEAM, '--colour', 'red'],
      /unknown option '--colour'/,
    ],
    [
      'a description with quotes',
      [SERVICE, '--team', TEAM, '--description', 'say "hi"'],
      /description "say "hi"" must be/,
    ],
  ])('%s', async (_what, args, message) => {
    const result = await delivery(sandbox.repo, ['new-service', ...args], TOOLS);
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 2,
      stderr: expect.stringMatching(message),
    });
    expect(result.stderr).toMatch(/^usage: delivery new-service <name> --team <team>/m);
    expect(changedPaths(sandbox.repo)).toEqual([]);
  });

  it('remove-service refuses an unknown service the same way', async () => {
    const result = await delivery(sandbox.repo, ['remove-service', SERVICE], TOOLS);
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 2,
      stderr: expect.stringMatching(`unknown service "${SERVICE}"`),
    });
    expect(changedPaths(sandbox.repo)).toEqual([]);
  });
});

describe('a step that fails after the generator wrote files', () => {
  it('is undone: exit 1 and the repository as it was', async () => {
    const repo = sandbox.clone('failing-step');
    // A platform file the environments generator refuses, so it fails after the service exists.
    const extra = path.join(repo, 'deploy', 'platform', 'components', TEAM, 'per-environment.yaml');
    fs.writeFileSync(extra, 'patches:\n  nowhere: []\n');
    git(repo, 'commit', '--quiet', '--all', '--message', 'a generator input that fails');
    const result = await delivery(repo, ['new-service', SERVICE, '--team', TEAM], TOOLS);
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 1,
      stderr: expect.stringMatching(/error: nothing was added; the repository is as it was/),
    });
    expect(result.stderr).toMatch(/patches for unknown environment nowhere/);
    expect(changedPaths(repo)).toEqual([]);
  });
});

describe(`npm run new-service -- ${SERVICE} --team ${TEAM}, then remove-service`, () => {
  const serviceDir = () => path.join(sandbox.repo, 'services', SERVICE);

  it('adds a service that passes the static validation, builds, passes its tests and answers /readyz', async () => {
    const added = await delivery(sandbox.repo, ['new-service', SERVICE, '--team', TEAM], TOOLS);
    expectSuccess('new-service', added);
    expect(added.stdout).toMatch(new RegExp(`${SERVICE} is added to team ${TEAM}. Next:`));
    expect(added.stdout).toContain(`Argo CD syncs ${SERVICE}-${catalogue.environmentNames()[0]}.`);
    expect(changedPaths(sandbox.repo)).toEqual(
      expect.arrayContaining([
        'catalogue.yaml',
        '.github/CODEOWNERS',
        'package-lock.json',
        `argocd/applicationsets/${TEAM}.yaml`,
        `services/${SERVICE}/Dockerfile`,
        ...catalogue
          .environmentNames()
          .flatMap((env) => [
            `deploy/envs/${env}/kustomization.yaml`,
            `deploy/teams/${TEAM}/${SERVICE}/overlays/${env}/kustomization.yaml`,
          ]),
      ]),
    );
    expect(readCatalogue(sandbox.repo).teamOf(SERVICE)).toBe(TEAM);
    // npm ci refuses a lockfile that lacks a workspace.
    const lockfile = JSON.parse(
      fs.readFileSync(path.join(sandbox.repo, 'package-lock.json'), 'utf8'),
    ) as {
      packages: Record<string, unknown>;
    };
    expect(lockfile.packages[`services/${SERVICE}`]).toEqual(
      expect.objectContaining({ version: '0.1.0' }),
    );

    await expectStaticValidationPasses(sandbox.repo);

    // What `npm run check:manifests` checks on the rendered manifests of every environment and
    // the platform layer (kubeconform, kube-score with zero critical findings, image digests,
    // cluster-scoped objects): the service's Deployment template must not fail CI.
    const manifests = await delivery(sandbox.repo, ['check-manifests', '--static'], TOOLS);
    expectSuccess('check-manifests --static', manifests);
    for (const env of catalogue.environmentNames())
      expect(manifests.stdout).toContain(`ok   deploy/envs/${env}: kube-score, 0 critical`);

    // Its own checks: compile, typecheck, lint, format, and its tests (which start dist/server.js).
    const npx = (...args: string[]) => run(serviceDir(), 'npx', args, TOOLS);
    expectSuccess('build', await npx('tsc', '-p', 'tsconfig.build.json'));
    expectSuccess('typecheck', await npx('tsc', '--noEmit'));
    expectSuccess('lint', await npx('eslint', '.'));
    expectSuccess(
      'prettier',
      await run(sandbox.repo, 'npx', ['prettier', '--check', `services/${SERVICE}`]),
    );
    expectSuccess('its tests', await npx('jest'));

    const port = await freePort();
    const server = await startProcess({
      command: process.execPath,
      args: ['dist/server.js'],
      cwd: serviceDir(),
      env: { PORT: String(port), HOST: '127.0.0.1' },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
    });
    try {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect({ status: ready.status, body: await ready.json() }).toEqual({
        status: 200,
        body: { status: 'ready' },
      });
    } finally {
      await server.stop('SIGTERM');
    }
  }, 600_000);

  it('removes it again: the static validation passes and git status is clean', async () => {
    const removed = await delivery(sandbox.repo, ['remove-service', SERVICE], TOOLS);
    expectSuccess('remove-service', removed);
    // What the merge does: Applications deleted, resources with them only where the env prunes.
    const says = removed.stdout.replace(/\s+/g, ' ');
    const envs = (prune: boolean) =>
      catalogue.environments.filter((env) => env.prune === prune).map((env) => env.name);
    expect(says).toContain(`the ${TEAM} ApplicationSet deletes ${SERVICE}'s Applications`);
    expect(says).toContain(
      `in ${envs(true).join(', ')} their finalizer deletes what they deployed`,
    );
    expect(says).toContain(`while in ${envs(false).join(', ')}, which never prune`);
    expect(fs.existsSync(serviceDir())).toBe(false);
    await expectStaticValidationPasses(sandbox.repo);
    expect(changedPaths(sandbox.repo)).toEqual([]);
  }, 600_000);
});
