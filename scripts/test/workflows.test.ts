import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { repoRoot } from '@internal/test-kit';

// Policies actionlint does not enforce: pinned actions, least privilege, serialised deploys.

const root = repoRoot();
const workflowDir = path.join(root, '.github', 'workflows');
const actionFiles = [
  ...fs.readdirSync(workflowDir).map((f) => path.join(workflowDir, f)),
  path.join(root, '.github', 'actions', 'setup', 'action.yml'),
];

type Step = {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  'continue-on-error'?: unknown;
};
type Job = {
  permissions?: unknown;
  concurrency?: unknown;
  env?: Record<string, string>;
  'continue-on-error'?: unknown;
  steps?: Step[];
};
type Workflow = { permissions?: unknown; concurrency?: unknown; jobs: Record<string, Job> };
const load = (name: string) =>
  YAML.parse(fs.readFileSync(path.join(workflowDir, name), 'utf8')) as Workflow;
const WORKFLOWS = ['ci.yml', 'release.yml', 'promote.yml', 'e2e.yml'];
const allSteps = () =>
  WORKFLOWS.flatMap((name) =>
    Object.entries(load(name).jobs).flatMap(([id, job]) =>
      (job.steps ?? []).map((step) => ({ where: `${name}:${id}`, step })),
    ),
  );
const stepNamed = (job: Job | undefined, name: string) => {
  const step = job?.steps?.find((s) => s.name === name);
  if (!step) throw new Error(`no step named "${name}"`);
  return step;
};

describe('GitHub Actions workflows', () => {
  it.each(actionFiles.map((f) => path.relative(root, f)))(
    '%s pins every action to a full commit SHA with a version comment',
    (file) => {
      const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
      const uses = lines.filter(
        (line) => /^\s*(-\s+)?uses:/.test(line) && !/uses:\s*\.\//.test(line),
      );
      for (const line of uses)
        expect(line).toMatch(/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    },
  );

  it.each(['ci.yml', 'release.yml', 'promote.yml', 'e2e.yml'])(
    '%s grants nothing by default and states each job’s permissions',
    (name) => {
      const workflow = load(name);
      expect(workflow.permissions).toEqual({});
      for (const [id, job] of Object.entries(workflow.jobs)) {
        expect({ id, permissions: typeof job.permissions }).toEqual({ id, permissions: 'object' });
      }
    },
  );

  it('gives write access to the repository only to the jobs that push', () => {
    const writers = ['ci.yml', 'release.yml', 'promote.yml', 'e2e.yml'].flatMap((name) =>
      Object.entries(load(name).jobs)
        .filter(([, job]) => (job.permissions as Record<string, string>).contents === 'write')
        .map(([id]) => `${name}:${id}`),
    );
    expect(writers.sort()).toEqual(['promote.yml:pull-request', 'release.yml:bump']);
  });

  it("serialises the first environment's bump in one concurrency group that never cancels a bump", () => {
    expect(load('release.yml').jobs['bump']?.concurrency).toEqual({
      group: 'release-bump',
      'cancel-in-progress': false,
    });
    for (const name of ['ci.yml', 'promote.yml', 'e2e.yml'])
      expect(load(name).concurrency).toBeDefined();
  });

  it('deploys and tests through the delivery tool the local tests exercise', () => {
    const runs = (name: string) =>
      Object.values(load(name).jobs)
        .flatMap((job) => job.steps ?? [])
        .map((step) => step.run ?? '')
        .join('\n');
    expect(runs('release.yml')).toMatch(/npx delivery affected --json/);
    expect(runs('release.yml')).toMatch(/npx delivery bump --commit/);
    expect(runs('release.yml')).toMatch(/npx delivery push/);
    expect(runs('promote.yml')).toMatch(/npx delivery promote/);
    expect(runs('e2e.yml')).toMatch(/npx delivery deploy "\$FIRST_ENV"/);
    expect(runs('e2e.yml')).toMatch(/npx delivery smoke/);
    // npm ci links the tool's bin, but only a build makes it run: every job calling it, directly
    // or through a root npm script that runs it, builds it first.
    for (const name of WORKFLOWS)
      for (const [id, job] of Object.entries(load(name).jobs)) {
        const steps = (job.steps ?? []).map((step) => step.run ?? '');
        const firstCall = steps.findIndex((run) =>
          /npx delivery |npm run check:manifests/.test(run),
        );
        const build = steps.indexOf('npm run build -w @internal/delivery');
        if (firstCall >= 0)
          expect({ job: `${name}:${id}`, builtFirst: build >= 0 && build < firstCall }).toEqual({
            job: `${name}:${id}`,
            builtFirst: true,
          });
      }
  });

  it('checks nothing out with stored credentials, and hands the push token to one step only', () => {
    const checkouts = allSteps().filter(({ step }) => step.uses?.startsWith('actions/checkout@'));
    expect(checkouts.length).toBeGreaterThanOrEqual(8);
    for (const { where, step } of checkouts) {
      expect({ where, persist: step.with?.['persist-credentials'] }).toEqual({
        where,
        persist: false,
      });
      expect({ where, token: step.with?.token }).toEqual({ where, token: undefined });
    }
    // Every step a write-capable token reaches, by workflow and job: GHCR login, the dev push and
    // the promotion pull request; never a step that runs an installer.
    const tokenSteps = allSteps()
      .filter(({ step }) =>
        /RELEASE_PUSH_TOKEN|github\.token|secrets\.GITHUB_TOKEN/.test(YAML.stringify(step)),
      )
      .map(({ where, step }) => `${where}:${step.name ?? step.uses?.split('@')[0]}`);
    expect(tokenSteps.sort()).toEqual([
      'promote.yml:pull-request:peter-evans/create-pull-request',
      'release.yml:bump:Push with rebase retries',
      'release.yml:image:docker/login-action',
    ]);
  });

  it('the release push gives git the token through its environment only, never .git/config', () => {
    const push = stepNamed(load('release.yml').jobs['bump'], 'Push with rebase retries');
    expect(push.env?.PUSH_TOKEN).toBe('${{ secrets.RELEASE_PUSH_TOKEN || github.token }}');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'push-step-'));
    try {
      spawnSync('git', ['init', '--quiet', dir]);
      // Stand-in for `npx delivery push`: report the header git would send.
      const bin = path.join(dir, 'node_modules', '.bin');
      fs.mkdirSync(bin, { recursive: true });
      fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"push-step"}\n');
      fs.writeFileSync(
        path.join(bin, 'delivery'),
        '#!/usr/bin/env bash\ngit config --get http.https://github.com/.extraheader\n',
        { mode: 0o755 },
      );
      const token = 'fake-push-token-0123456789';
      const result = spawnSync('bash', ['-euo', 'pipefail', '-c', push.run ?? ''], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, PUSH_TOKEN: token, GITHUB_SERVER_URL: 'https://github.com' },
      });
      expect(result.status).toBe(0);
      const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
      expect(result.stdout).toContain(`::add-mask::${basic}`);
      expect(result.stdout).toContain(`AUTHORIZATION: basic ${basic}`);
      const config = fs.readFileSync(path.join(dir, '.git', 'config'), 'utf8');
      expect(config).not.toContain(basic);
      expect(config).not.toContain(token);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('release.yml signs each pushed digest keylessly before the bump can use it', () => {
    const image = load('release.yml').jobs.image;
    expect(image?.permissions).toEqual({
      contents: 'read',
      packages: 'write',
      'id-token': 'write',
    });
    const steps = image?.steps ?? [];
    const build = steps.findIndex((s) => s.id === 'build');
    const installer = steps.findIndex((s) => s.uses?.startsWith('sigstore/cosign-installer@'));
    const sign = steps.findIndex((s) => /cosign sign --yes "\$IMAGE@\$DIGEST"/.test(s.run ?? ''));
    const upload = steps.findIndex((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(steps[build]?.uses).toMatch(/^docker\/build-push-action@/);
    expect(steps[build]?.with?.push).toBe(true);
    expect(steps[sign]?.env?.DIGEST).toBe('${{ steps.build.outputs.digest }}');
    expect(steps[sign]?.if).toBeUndefined();
    expect(build < installer && installer < sign && sign < upload).toBe(true);
    // OIDC tokens for signing exist in that job only.
    const oidc = WORKFLOWS.flatMap((name) =>
      Object.entries(load(name).jobs)
        .filter(([, job]) => (job.permissions as Record<string, string>)['id-token'])
        .map(([id]) => `${name}:${id}`),
    );
    expect(oidc).toEqual(['release.yml:image']);
  });

  it("the first environment's bump writes the pushed digest and is refused without one", () => {
    const bumpDev = load('release.yml').jobs['bump'];
    expect(bumpDev?.env?.BUMP_REQUIRE_DIGEST).toBe('true');
    const commit = stepNamed(bumpDev, 'Commit the new tags and digests');
    expect(commit.run).toMatch(
      /npx delivery bump --commit --if-newer --digest "\$\(cat "digests\/\$service"\)"/,
    );
  });

  it('ci.yml gates on npm audit of the production dependencies', () => {
    const gating = Object.values(load('ci.yml').jobs).filter((job) =>
      (job.steps ?? []).some((s) => s.run === 'npm audit --omit=dev --audit-level=high'),
    );
    expect(gating).toHaveLength(1);
    const [job] = gating;
    expect(job?.['continue-on-error']).toBeUndefined();
    const step = job?.steps?.find((s) => s.run?.startsWith('npm audit'));
    expect(step?.['continue-on-error']).toBeUndefined();
    expect(step?.if).toBeUndefined();
  });
});
