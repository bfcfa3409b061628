import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import {
  ENVIRONMENTS,
  DELIVERY_CLI,
  ROOT,
  imageRegistryPath,
  podTemplates,
  readSettings,
  render,
  renderEnv,
  renderYaml,
} from './support/manifests';

// deploy/platform/admission: the Sigstore policy-controller policy that admits this repository's
// images only with a keyless signature from the release workflow on main.

const ADMISSION = 'platform/admission';
const ISSUER = 'https://token.actions.githubusercontent.com';

type Authority = {
  name?: string;
  keyless?: { url?: string; identities?: { issuer?: string; subject?: string }[] };
  ctlog?: { url?: string };
  static?: { action?: string };
};
type Policy = {
  kind: string;
  metadata: { name: string };
  spec: { mode?: string; images: { glob: string }[]; authorities: Authority[] };
};

const policies = () => render(ADMISSION) as unknown as Policy[];
const repository = () => readSettings(path.join(ROOT, 'scripts/repository.env')).GITHUB_REPOSITORY;

/** policy-controller's glob (pkg/apis/glob): `**` any characters, `*` any but `/`, anchored. */
const globRegExp = (glob: string) =>
  new RegExp(
    `^${glob.replaceAll('.', '\\.').replaceAll('**', '#').replaceAll('*', '[^/]*').replaceAll('#', '.*')}$`,
  );

/**
 * The name policy-controller matches globs against: go-containerregistry's Name() of the parsed
 * reference, Docker Hub spelled out, `:latest` added to a bare name, and the tag dropped once
 * there is a digest (name.Digest.Name() is repository@digest).
 */
function qualified(image: string): string {
  const [first = '', ...rest] = image.split('/');
  let name = image;
  if (rest.length === 0) name = `index.docker.io/library/${image}`;
  else if (!/[.:]/.test(first) && first !== 'localhost') name = `index.docker.io/${image}`;
  else if (first === 'docker.io') name = `index.docker.io/${rest.join('/')}`;
  const [reference = '', digest] = name.split('@');
  const slash = reference.lastIndexOf('/');
  const repository = reference.slice(0, slash) + reference.slice(slash).replace(/:[^:]*$/, '');
  if (digest !== undefined) return `${repository}@${digest}`;
  return repository === reference ? `${reference}:latest` : reference;
}

const matching = (image: string) =>
  policies().filter((p) => p.spec.images.some(({ glob }) => globRegExp(glob).test(qualified(image))));

describe('image admission policy (deploy/platform/admission)', () => {
  it('passes kubeconform -strict against the policy-controller CRD schema', () => {
    const result = spawnSync(process.execPath, [DELIVERY_CLI, 'kubeconform', '-'], {
      input: renderYaml(ADMISSION),
      encoding: 'utf8',
    });
    expect({ status: result.status, output: result.stdout + result.stderr }).toEqual({
      status: 0,
      output: expect.stringContaining(`Valid: ${policies().length}, Invalid: 0, Errors: 0, Skipped: 0`),
    });
  });

  it('the schema catches a misspelt field, so the strict pass above means something', () => {
    const misspelt = renderYaml(ADMISSION).replace('identities:', 'identity:');
    const result = spawnSync(process.execPath, [DELIVERY_CLI, 'kubeconform', '-'], {
      input: misspelt,
      encoding: 'utf8',
    });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/additional properties 'identity' not allowed/);
  });

  it("requires this repository's release workflow on main as the keyless signer of its images", () => {
    const signed = policies().filter((p) => p.spec.authorities.some((a) => a.keyless));
    expect(signed).toHaveLength(1);
    const [policy] = signed as [Policy];
    expect(policy.spec.mode).toBe('enforce');
    expect(policy.spec.images).toEqual([{ glob: `${imageRegistryPath().toLowerCase()}/**` }]);
    // Every authority of it is keyless with exactly that identity: no static pass, no key.
    expect(policy.spec.authorities).toEqual([
      {
        name: expect.any(String),
        keyless: {
          url: 'https://fulcio.sigstore.dev',
          identities: [
            {
              issuer: ISSUER,
              subject: `https://github.com/${repository()}/.github/workflows/release.yml@refs/heads/main`,
            },
          ],
        },
        ctlog: { url: 'https://rekor.sigstore.dev' },
      },
    ]);
  });

  it('names the workflow that really signs: release.yml runs on pushes to main and signs by digest', () => {
    const release = YAML.parse(
      fs.readFileSync(path.join(ROOT, '.github/workflows/release.yml'), 'utf8'),
    ) as { on: { push: { branches: string[] } }; jobs: Record<string, { steps: { run?: string }[] }> };
    expect(release.on.push.branches).toEqual(['main']);
    const runs = Object.values(release.jobs).flatMap((job) => job.steps.map((s) => s.run ?? ''));
    expect(runs.join('\n')).toMatch(/cosign sign --yes "\$IMAGE@\$DIGEST"/);
  });

  it.each(ENVIRONMENTS)(
    'admits every image %s runs through exactly one policy: ours by signature, others by pin',
    (env) => {
      const images = podTemplates(renderEnv(env)).flatMap(({ spec }) => {
        const init = (spec as { initContainers?: { image: string }[] }).initContainers ?? [];
        return [...spec.containers, ...init].map((c) => c.image);
      });
      expect(images.length).toBeGreaterThan(0);
      for (const image of new Set(images)) {
        const names = matching(image).map((p) => p.metadata.name);
        expect({ image, names }).toEqual({ image, names: [expect.any(String)] });
        const [policy] = matching(image) as [Policy];
        const ours = image.startsWith(`${imageRegistryPath().toLowerCase()}/`);
        expect({ image, keyless: policy.spec.authorities.every((a) => a.keyless) }).toEqual({
          image,
          keyless: ours,
        });
      }
    },
  );

  it('covers the digest-pinned form a release writes, and nothing outside the registry path', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const [signed] = policies().filter((p) => p.spec.authorities.some((a) => a.keyless));
    const ours = `${imageRegistryPath().toLowerCase()}/payment`;
    for (const image of [`${ours}:0123456@${digest}`, `${ours}@${digest}`, `${ours}:1.0.0`])
      expect(matching(image)).toEqual([signed]);
    for (const image of [
      `ghcr.io/someone-else/payment:0123456`,
      `${imageRegistryPath().toLowerCase()}-fork/payment:1.0.0`,
      'docker.io/library/redis:7.4.3-alpine',
      // The pinned tag without its digest, or another build of it: only the pinned digest passes.
      'docker.io/library/redis:7.4.2-alpine',
      `docker.io/library/redis:7.4.2-alpine@${digest}`,
      'redis',
    ])
      expect({ image, policies: matching(image) }).toEqual({ image, policies: [] });
  });
});
