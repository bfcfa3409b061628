import fs from 'node:fs';
import path from 'node:path';
import { kustomizeBuild } from '@internal/test-kit';
import { changedPaths, createSandbox, delivery, git, type Sandbox } from './support/git-sandbox';

const OVERLAYS = {
  payment: (env: string) => `deploy/teams/payments/payment/overlays/${env}/kustomization.yaml`,
  antaeus: (env: string) => `deploy/teams/billing/antaeus/overlays/${env}/kustomization.yaml`,
};
const IMAGE = (service: string) => `ghcr.io/example-org/payments-gitops/${service}`;
const NO_WAIT = { BUMP_BACKOFF_SECONDS: '0' };
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const OTHER_DIGEST = `sha256:${'0c'.repeat(32)}`;

const bump = (cwd: string, ...args: string[]) => delivery(cwd, ['bump', ...args], NO_WAIT);
const promote = (cwd: string, ...args: string[]) => delivery(cwd, ['promote', ...args]);

/** `delivery promote` as the workflow runs it, with what it wrote to GITHUB_OUTPUT. */
async function promoteForWorkflow(cwd: string, ...args: string[]) {
  const outputFile = path.join(path.dirname(cwd), `github-output-${args.join('-')}`);
  fs.rmSync(outputFile, { force: true });
  const result = await delivery(cwd, ['promote', ...args], { GITHUB_OUTPUT: outputFile });
  return { result, output: fs.existsSync(outputFile) ? fs.readFileSync(outputFile, 'utf8') : '' };
}

/** The changed lines (without the diff's own headers) of an uncommitted file. */
const changedLines = (cwd: string, file: string) =>
  git(cwd, 'diff', '--unified=0', '--', file)
    .split('\n')
    .filter((line) => /^[-+](?![-+])/.test(line));

/** The images every Deployment and StatefulSet of a rendered overlay runs. */
function renderedImages(overlayFile: string): string[] {
  return kustomizeBuild(path.dirname(overlayFile))
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
    .flatMap((o) => {
      const spec = o.spec as { template: { spec: { containers: { image: string }[] } } };
      return spec.template.spec.containers.map((c) => c.image);
    });
}

let sandbox: Sandbox;
beforeAll(() => {
  sandbox = createSandbox('bump');
});
afterAll(() => sandbox.cleanup());
afterEach(() => {
  git(sandbox.repo, 'checkout', '--quiet', '--', 'deploy');
  git(sandbox.repo, 'reset', '--quiet', '--hard', 'origin/main');
});

describe('delivery bump', () => {
  it.each([
    ['payment', 'dev', '3f9c2ab'],
    ['antaeus', 'staging', '0123456789abcdef0123456789abcdef01234567'],
    ['payment', 'prod', 'v2.4.0-rc.1'],
  ])('sets %s in %s to %s, changing that one newTag line only', async (service, env, tag) => {
    const file = OVERLAYS[service as keyof typeof OVERLAYS](env);
    const result = await bump(sandbox.repo, service, env, tag);
    expect(result).toMatchObject({ code: 0 });
    expect(changedPaths(sandbox.repo)).toEqual([file]);
    const diff = changedLines(sandbox.repo, file);
    expect(diff).toHaveLength(2);
    expect(diff[0]).toMatch(/^-\s+newTag:/);
    expect(diff[1]).toMatch(new RegExp(`^\\+\\s+newTag: "${tag}"$`));
    expect(renderedImages(path.join(sandbox.repo, file))).toContain(`${IMAGE(service)}:${tag}`);
  });

  it('renders an all-digit SHA as a string tag', async () => {
    await bump(sandbox.repo, 'payment', 'dev', '1234567');
    expect(renderedImages(path.join(sandbox.repo, OVERLAYS.payment('dev')))).toContain(
      `${IMAGE('payment')}:1234567`,
    );
  });

  it('is idempotent: the same bump twice leaves the file byte for byte as after the first', async () => {
    const file = path.join(sandbox.repo, OVERLAYS.antaeus('dev'));
    await bump(sandbox.repo, 'antaeus', 'dev', 'abcdef1');
    const once = fs.readFileSync(file, 'utf8');
    const again = await bump(sandbox.repo, 'antaeus', 'dev', 'abcdef1');
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining('already at abcdef1') });
    expect(fs.readFileSync(file, 'utf8')).toBe(once);
  });

  it('--digest writes the digest next to newTag, and the rendered image runs by that digest', async () => {
    const file = OVERLAYS.payment('dev');
    const result = await bump(sandbox.repo, '--digest', DIGEST, 'payment', 'dev', 'fedcba9');
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain(`-> fedcba9@${DIGEST}`);
    expect(changedPaths(sandbox.repo)).toEqual([file]);
    expect(changedLines(sandbox.repo, file)).toEqual([
      expect.stringMatching(/^-\s+newTag:/),
      '+    newTag: "fedcba9"',
      `+    digest: ${DIGEST}`,
    ]);
    expect(renderedImages(path.join(sandbox.repo, file))).toContain(
      `${IMAGE('payment')}:fedcba9@${DIGEST}`,
    );
    const again = await bump(sandbox.repo, '--digest', DIGEST, 'payment', 'dev', 'fedcba9');
    expect(again.stdout).toContain(`already at fedcba9@${DIGEST}`);
  });

  it('replaces the digest of a rebuilt tag, and a tag-only bump drops a stale digest', async () => {
    const file = path.join(sandbox.repo, OVERLAYS.antaeus('dev'));
    await bump(sandbox.repo, '--commit', '--digest', DIGEST, 'antaeus', 'dev', 'fedcba9');
    await bump(sandbox.repo, '--digest', OTHER_DIGEST, 'antaeus', 'dev', 'fedcba9');
    expect(changedLines(sandbox.repo, file)).toEqual([
      `-    digest: ${DIGEST}`,
      `+    digest: ${OTHER_DIGEST}`,
    ]);
    expect(await bump(sandbox.repo, 'antaeus', 'dev', '7654321')).toMatchObject({ code: 0 });
    expect(fs.readFileSync(file, 'utf8')).not.toMatch(/digest:/);
    expect(renderedImages(file)).toContain(`${IMAGE('antaeus')}:7654321`);
  });

  it.each([
    ['an empty digest', ['--digest', '']],
    ['upper-case hex', ['--digest', `sha256:${'AB'.repeat(32)}`]],
    ['63 hex digits', ['--digest', DIGEST.slice(0, -1)]],
    ['another algorithm', ['--digest', `sha512:${'ab'.repeat(32)}`]],
    ['a trailing command', ['--digest', `${DIGEST};rm`]],
  ])(
    'refuses %s with a usage error and writes nothing, even over a pinned digest',
    async (_, args) => {
      await bump(sandbox.repo, '--commit', '--digest', DIGEST, 'payment', 'staging', 'fedcba9');
      const result = await bump(sandbox.repo, ...args, 'payment', 'staging', '1234567');
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/invalid digest '.*': expected sha256:<64 lowercase hex>/);
      expect(changedPaths(sandbox.repo)).toEqual([]);
    },
  );

  it('BUMP_REQUIRE_DIGEST=true (the release workflow) refuses a bump without --digest', async () => {
    const result = await delivery(sandbox.repo, ['bump', 'payment', 'dev', 'fedcba9'], {
      ...NO_WAIT,
      BUMP_REQUIRE_DIGEST: 'true',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/BUMP_REQUIRE_DIGEST=true: pass the pushed image's --digest/);
    expect(changedPaths(sandbox.repo)).toEqual([]);
  });

  it.each([
    [['billing', 'dev', 'abcdef1'], /unknown service 'billing' \(known: payment antaeus\)/],
    [['payment', 'qa', 'abcdef1'], /unknown environment 'qa'/],
    [['payment', 'dev', 'latest'], /invalid image tag 'latest'/],
    [['payment', 'dev', 'ABCDEF1'], /invalid image tag 'ABCDEF1'/],
    [['payment', 'dev', 'abc12'], /invalid image tag 'abc12'/],
    [['payment', 'dev', '1.2'], /invalid image tag '1.2'/],
    [['payment', 'dev', 'abcdef1;rm'], /invalid image tag/],
    [['payment', 'dev'], /missing required argument 'tag'/],
    [['payment', 'dev', 'abcdef1', 'extra'], /too many arguments for 'bump'/],
    [['--digest'], /option '--digest <digest>' argument missing/],
    [['--force', 'payment', 'dev', 'abcdef1'], /unknown option '--force'/],
    [['--digest', 'md5:abc', 'payment', 'dev', 'abcdef1'], /invalid digest 'md5:abc'/],
  ])('refuses %j with a usage error and changes nothing', async (args, message) => {
    const result = await bump(sandbox.repo, ...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/usage: delivery bump \[options\] <service> <env> <tag>/);
    expect(changedPaths(sandbox.repo)).toEqual([]);
  });

  it('fails clearly and changes nothing when the overlay has no entry for the service', async () => {
    const file = path.join(sandbox.repo, OVERLAYS.payment('dev'));
    const text = fs.readFileSync(file, 'utf8');
    const withoutEntry = text.replace(/payments-gitops\/payment$/m, 'payments-gitops/other');
    fs.writeFileSync(file, withoutEntry);
    const result = await bump(sandbox.repo, 'payment', 'dev', 'abcdef1');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/has no images entry for payment/);
    expect(fs.readFileSync(file, 'utf8')).toBe(withoutEntry);
  });

  it('--commit commits just the overlay, recording the digest', async () => {
    const commitBump = () =>
      bump(sandbox.repo, '--commit', '--digest', DIGEST, 'payment', 'dev', 'fedcba9');
    expect(await commitBump()).toMatchObject({ code: 0 });
    expect(changedPaths(sandbox.repo)).toEqual([]);
    expect(git(sandbox.repo, 'show', '--name-only', '--format=', 'HEAD')).toBe(
      OVERLAYS.payment('dev'),
    );
    const message = git(sandbox.repo, 'log', '-1', '--format=%B');
    expect(message).toMatch(/^deploy\(dev\): payment fedcba9$/m);
    expect(message).toContain(`Image-Digest: ${DIGEST}`);
    expect(git(sandbox.repo, 'show', `HEAD:${OVERLAYS.payment('dev')}`)).toContain(
      `digest: ${DIGEST}`,
    );
    expect((await commitBump()).stdout).toContain('nothing to commit');
    expect(git(sandbox.repo, 'rev-list', '--count', 'origin/main..HEAD')).toBe('1');
  });

  it('--if-newer never moves dev back to an older build, but does move it forward', async () => {
    const commit = (message: string) => {
      git(sandbox.repo, 'commit', '--quiet', '--allow-empty', '--message', message);
      return git(sandbox.repo, 'rev-parse', 'HEAD');
    };
    const older = commit('older build');
    const newer = commit('newer build');
    await bump(sandbox.repo, '--commit', 'payment', 'dev', newer);
    const late = await bump(sandbox.repo, '--if-newer', 'payment', 'dev', older);
    expect(late).toMatchObject({ code: 0, stdout: expect.stringContaining(`keeping ${newer}`) });
    expect(changedPaths(sandbox.repo)).toEqual([]);
    const next = commit('next build');
    expect(await bump(sandbox.repo, '--if-newer', 'payment', 'dev', next)).toMatchObject({
      code: 0,
    });
    expect(changedPaths(sandbox.repo)).toEqual([OVERLAYS.payment('dev')]);
  });
});

describe('delivery bump --push against a shared remote', () => {
  it('lands two concurrent bumps of different services through the rebase retry', async () => {
    const first = sandbox.clone('writer-payment');
    const second = sandbox.clone('writer-antaeus');
    const results = await Promise.all([
      bump(first, '--push', 'payment', 'dev', '1111111'),
      bump(second, '--push', 'antaeus', 'dev', '2222222'),
    ]);
    results.forEach((r) => expect(r).toMatchObject({ code: 0 }));
    // Both clones started from the same commit, so whichever pushed second had to rebase.
    expect(results.map((r) => r.stdout).join('\n')).toMatch(
      /push rejected \(attempt 1 of 5\): rebasing/,
    );

    const check = sandbox.clone('check-both');
    expect(git(check, 'log', '--format=%s', '-2').split('\n').sort()).toEqual([
      'deploy(dev): antaeus 2222222',
      'deploy(dev): payment 1111111',
    ]);
    expect(renderedImages(path.join(check, OVERLAYS.payment('dev')))).toContain(
      `${IMAGE('payment')}:1111111`,
    );
    expect(renderedImages(path.join(check, OVERLAYS.antaeus('dev')))).toContain(
      `${IMAGE('antaeus')}:2222222`,
    );
  }, 60_000);

  it('stops with the rebase undone when two writers set the same line differently', async () => {
    const first = sandbox.clone('same-line-1');
    const second = sandbox.clone('same-line-2');
    expect(await bump(first, '--push', 'payment', 'staging', '3333333')).toMatchObject({ code: 0 });
    const loser = await bump(second, '--push', 'payment', 'staging', '4444444');
    expect(loser.code).toBe(1);
    expect(loser.stderr).toMatch(/rebasing onto origin\/main conflicted; resolve by hand/);
    expect(fs.existsSync(path.join(second, '.git', 'rebase-merge'))).toBe(false);
    const check = sandbox.clone('check-same-line');
    expect(git(check, 'log', '-1', '--format=%s')).toBe('deploy(staging): payment 3333333');
  }, 60_000);
});

describe('delivery promote', () => {
  it('copies the dev image to staging, changing only the staging overlay', async () => {
    await bump(sandbox.repo, '--commit', '--digest', DIGEST, 'antaeus', 'dev', '5555555');
    const { result, output } = await promoteForWorkflow(sandbox.repo, 'antaeus', 'dev', 'staging');
    expect(result).toMatchObject({ code: 0 });
    expect(changedPaths(sandbox.repo)).toEqual([OVERLAYS.antaeus('staging')]);
    expect(renderedImages(path.join(sandbox.repo, OVERLAYS.antaeus('staging')))).toContain(
      `${IMAGE('antaeus')}:5555555@${DIGEST}`,
    );
    expect(output).toContain('tag=5555555\n');
    const again = await promote(sandbox.repo, 'antaeus', 'dev', 'staging');
    expect(again.stdout).toContain(`already at 5555555@${DIGEST}`);
  });

  it('copies tag and digest together, so the next environment runs the very image tested', async () => {
    await bump(sandbox.repo, '--commit', '--digest', DIGEST, 'payment', 'dev', 'fedcba9');
    await bump(sandbox.repo, '--commit', '--digest', OTHER_DIGEST, 'payment', 'prod', '7654321');
    const toStaging = await promoteForWorkflow(sandbox.repo, 'payment', 'dev', 'staging');
    expect(toStaging.result).toMatchObject({ code: 0 });
    expect(toStaging.output).toContain(`tag=fedcba9\ndigest=${DIGEST}\n`);
    const staging = OVERLAYS.payment('staging');
    expect(changedLines(sandbox.repo, staging)).toEqual([
      expect.stringMatching(/^-\s+newTag:/),
      '+    newTag: "fedcba9"',
      `+    digest: ${DIGEST}`,
    ]);
    git(sandbox.repo, 'commit', '--quiet', '--all', '--message', 'promoted to staging');
    // prod already pins another digest: both lines are replaced, none is left behind.
    expect(await promote(sandbox.repo, 'payment', 'staging', 'prod')).toMatchObject({ code: 0 });
    expect(changedPaths(sandbox.repo)).toEqual([OVERLAYS.payment('prod')]);
    for (const env of ['staging', 'prod'])
      expect(
        renderedImages(path.join(sandbox.repo, OVERLAYS.payment(env))).filter((image) =>
          image.startsWith(IMAGE('payment')),
        ),
      ).toEqual([`${IMAGE('payment')}:fedcba9@${DIGEST}`]);
  });

  it.each([
    ['a target pinned by digest', ['--digest', DIGEST]],
    ['a target pinned by tag only', []],
  ])(
    'refuses a tag-only source, naming service, environment and file, and leaves %s untouched',
    async (_, targetDigest) => {
      await bump(sandbox.repo, '--commit', ...targetDigest, 'antaeus', 'staging', 'fedcba9');
      await bump(sandbox.repo, '--commit', 'antaeus', 'dev', '7654321');
      const staging = path.join(sandbox.repo, OVERLAYS.antaeus('staging'));
      const before = fs.readFileSync(staging, 'utf8');
      const { result, output } = await promoteForWorkflow(
        sandbox.repo,
        'antaeus',
        'dev',
        'staging',
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `error: ${OVERLAYS.antaeus('dev')} pins antaeus in dev by tag only (7654321, no digest): refusing to promote it to staging.`,
      );
      expect(result.stderr).toContain('delivery bump --digest sha256:<digest> antaeus dev 7654321');
      expect(fs.readFileSync(staging, 'utf8')).toBe(before);
      expect(changedPaths(sandbox.repo)).toEqual([]);
      expect(output).toBe('');
    },
  );

  it.each([
    [['payment', 'dev', 'prod'], /dev promotes to staging, not prod/],
    [['payment', 'staging', 'dev'], /staging promotes to prod, not dev/],
    [['payment', 'prod', 'dev'], /prod is the last environment/],
    [['payment', 'dev', 'qa'], /unknown environment 'qa'/],
    [['antaeus-v2', 'dev', 'staging'], /unknown service 'antaeus-v2'/],
    [['payment', 'dev'], /missing required argument 'to'/],
  ])('refuses %j and changes nothing', async (args, message) => {
    const result = await promote(sandbox.repo, ...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(changedPaths(sandbox.repo)).toEqual([]);
  });

  it('refuses to promote a tag that is not deployable', async () => {
    const file = path.join(sandbox.repo, OVERLAYS.payment('dev'));
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/newTag: .*/, 'newTag: latest'));
    git(sandbox.repo, 'commit', '--quiet', '--all', '--message', 'a moving tag slipped in');
    const result = await promote(sandbox.repo, 'payment', 'dev', 'staging');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/holds 'latest' for payment, which is not a deployable tag/);
    expect(changedPaths(sandbox.repo)).toEqual([]);
  });
});
