import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '@internal/test-kit';
import { docker, imagesEnv, pushedDigest } from './support/images';
import { kubectl, must, run } from './support/lab';
import { deploymentImage } from './support/node';

// Signatures verified at admission on the real API server: lab:up runs Sigstore's
// policy-controller webhook (lab/scripts/sigstore.sh), signs every image it pushes with the lab's
// key, and applies the ClusterImagePolicy lab-registry-signed: in an opted-in team namespace, an
// image of the lab registry is admitted only with a signature by that key, checked on the digest
// the pod will run.

const NAMESPACE = 'payments-dev';
const POLICY = 'lab-registry-signed';
const REGISTRY = imagesEnv().LAB_REGISTRY!;
const PROBE_REPOSITORY = `${REGISTRY}/lab-probe/signatures`;
const versions = Object.fromEntries(
  fs
    .readFileSync(path.join(repoRoot(), 'scripts/tools.versions'), 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z_0-9]+=/.test(line))
    .map((line) => line.split('=', 2) as [string, string]),
);
const COSIGN = path.join(
  repoRoot(),
  '.tools/lab',
  `sigstore-policy-controller-${versions.POLICY_CONTROLLER_VERSION}-cosign-${versions.LAB_COSIGN_VERSION}`,
  'bin/cosign',
);
const REFUSED = new RegExp(
  `admission webhook "policy\\.sigstore\\.dev" denied the request: validation failed: failed policy: ${POLICY}`,
);

/** A pod PodSecurity restricted admits, so the signature is the only question. */
const pod = (image: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'signature-probe', namespace: NAMESPACE },
  spec: {
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [
      {
        name: 'c',
        image,
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
  },
});
/** Admission as a real create would see it (mutating and validating webhooks run), nothing stored. */
const admit = (image: string) =>
  run('kubectl', ['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(pod(image)) });

/** The image the lab built and signed, as dev runs it (tag and digest). */
const signedImage = () => deploymentImage(NAMESPACE, 'payment');

/**
 * A new image (its own digest: the label differs) from the signed one, pushed to the probe
 * repository as `tag`. Returns it by digest.
 */
function pushProbe(tag: string, label: string): string {
  const source = signedImage().split('@')[0]!;
  const container = `signature-probe-${tag}`;
  const image = `${PROBE_REPOSITORY}:${tag}`;
  docker('create', '--name', container, source);
  try {
    docker('commit', '--change', `LABEL lab.signature-probe=${label}`, container, image);
  } finally {
    docker('rm', container);
  }
  docker('push', image);
  return `${PROBE_REPOSITORY}@${pushedDigest(image)}`;
}

const signWithLabKey = (imageByDigest: string) =>
  must('bash', ['lab/scripts/sigstore.sh', 'sign', imageByDigest], { cwd: repoRoot() });

describe('signature admission (policy-controller) on the real API server', () => {
  test(`${NAMESPACE} is opted in and ${POLICY} is compiled into the webhook's configuration`, () => {
    expect(
      kubectl(
        'get',
        'namespace',
        NAMESPACE,
        '-o',
        'jsonpath={.metadata.labels.policy\\.sigstore\\.dev/include}',
      ),
    ).toBe('true');
    expect(
      kubectl(
        '-n',
        'cosign-system',
        'get',
        'configmap',
        'config-image-policies',
        '-o',
        'jsonpath={.data}',
      ),
    ).toContain(`"${POLICY}"`);
  });

  test('admits the image the lab built and signed, by digest and by tag alone', () => {
    const image = signedImage();
    expect(image).toMatch(/@sha256:[0-9a-f]{64}$/);
    for (const reference of [image, image.split('@')[0]!]) {
      const result = admit(reference);
      expect({ reference, stderr: result.stderr, status: result.status }).toEqual({
        reference,
        stderr: '',
        status: 0,
      });
    }
  });

  test('refuses an unsigned image, naming the policy', () => {
    const result = admit(pushProbe('unsigned', 'unsigned'));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(REFUSED);
  });

  test('refuses an image signed by another key', () => {
    const image = pushProbe('other-key', 'other-key');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-other-key-'));
    try {
      // An empty password, and cosign's state in the temporary folder, never in $HOME.
      const env = {
        ...process.env,
        COSIGN_PASSWORD: '',
        HOME: dir,
        TUF_ROOT: path.join(dir, 'tuf'),
      };
      const cosign = (...args: string[]) =>
        execFileSync(COSIGN, args, { cwd: dir, env, encoding: 'utf8', stdio: 'pipe' });
      cosign('generate-key-pair', '--output-key-prefix', 'other');
      cosign(
        'sign',
        '--key',
        'other.key',
        '--yes',
        '--tlog-upload=false',
        '--new-bundle-format=false',
        '--use-signing-config=false',
        image,
      );
      // It is signed, just not by the lab's key.
      cosign('verify', '--key', 'other.pub', '--insecure-ignore-tlog=true', image);
      const result = admit(image);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(REFUSED);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses a pod by tag once a different image was pushed under the signed tag', () => {
    const signed = pushProbe('retagged', 'first');
    signWithLabKey(signed);
    const byTag = `${PROBE_REPOSITORY}:retagged`;
    const before = admit(byTag);
    expect({ stderr: before.stderr, status: before.status }).toEqual({ stderr: '', status: 0 });

    // The same tag now names another image: the webhook resolves the tag to its current digest,
    // which nobody signed.
    const replaced = pushProbe('retagged', 'second');
    expect(replaced).not.toBe(signed);
    const after = admit(byTag);
    expect(after.status).not.toBe(0);
    expect(after.stderr).toMatch(REFUSED);
    expect(after.stderr).toContain(replaced.split('@')[1]);
  });
});
