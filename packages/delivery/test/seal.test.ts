import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { DeliveryError, UsageError } from '../src/errors';
import { Repository } from '../src/repository';
import { certificateFile, seal, sealEnvironment } from '../src/seal';
import { secretUses } from '../src/secret-uses';
import { toolPath } from '../src/tools';
import { repoRoot } from '@internal/test-kit';
import { copyOfThisCheckout } from './checkout';

// Sealing with the real kubeseal against this checkout's real manifests, and unsealing with the
// private key of a throwaway controller key pair (kubeseal --recovery-unseal), so each test sees
// exactly what a controller holding that key would decrypt.
let root: string;
let repo: Repository;
let keys: string;
const lines: string[] = [];
const log = (line: string) => lines.push(line);

function keyPair(dir: string): { key: string; cert: string } {
  const key = path.join(dir, 'controller.key');
  const cert = path.join(dir, 'controller.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=sealed-secret/O=sealed-secret',
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}

/** What the controller holding `key` makes of a sealed file: the Secret's decoded data. */
function unseal(file: string, key: string): Record<string, string> {
  const secret = JSON.parse(
    execFileSync(toolPath(repo, 'kubeseal'), ['--recovery-unseal', '--recovery-private-key', key], {
      input: fs.readFileSync(path.join(root, file)),
      encoding: 'utf8',
    }),
  ) as { metadata: { name: string; namespace: string }; data: Record<string, string> };
  return Object.fromEntries(
    Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
  );
}

const readYaml = <T>(file: string): T =>
  YAML.parse(fs.readFileSync(path.join(root, file), 'utf8')) as T;

beforeAll(() => {
  // The copy has no tools of its own: the ones this checkout's install-tools.sh installed.
  process.env.TOOLS_DIR ??= path.join(repoRoot(__dirname), '.tools');
  root = copyOfThisCheckout();
  repo = new Repository(root);
  keys = fs.mkdtempSync(path.join(os.tmpdir(), 'seal-keys-'));
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(keys, { recursive: true, force: true });
});

describe('delivery seal-environment', () => {
  let pair: { key: string; cert: string };
  beforeAll(() => {
    pair = keyPair(keys);
    sealEnvironment(repo, { env: 'dev', certificate: pair.cert }, log);
  });

  test("adopts the given certificate as the environment's", () => {
    expect(fs.readFileSync(path.join(root, certificateFile('dev')), 'utf8')).toBe(
      fs.readFileSync(pair.cert, 'utf8'),
    );
  });

  test('seals every Secret the services read, each in its service overlay and listed there', () => {
    const uses = secretUses(repo, 'dev');
    expect(uses.map((use) => use.secret).sort()).toEqual([
      'antaeus-api-tokens',
      'payment-api-token',
      'payment-api-tokens',
      'payment-redis',
    ]);
    for (const use of uses) {
      const file = `${repo.catalogue.overlayPath(use.service, 'dev')}/sealed-secrets/${use.secret}.yaml`;
      const sealed = YAML.parse(fs.readFileSync(path.join(root, file), 'utf8')) as {
        kind: string;
        metadata: { name: string; namespace: string };
        spec: { encryptedData: Record<string, string> };
      };
      expect(sealed.kind).toBe('SealedSecret');
      expect(sealed.metadata).toMatchObject({ name: use.secret, namespace: use.namespace });
      expect(Object.keys(sealed.spec.encryptedData).sort()).toEqual([...use.keys].sort());
      expect(
        readYaml<{ components: string[] }>(repo.overlayFile(use.service, 'dev')).components,
      ).toEqual(['sealed-secrets']);
      const data = unseal(file, pair.key);
      for (const key of use.keys) expect(data[key]).toMatch(/^(antaeus:)?[0-9a-f]{64}$/);
    }
  });

  test('gives payment and Antaeus one payment token, and every other key a value of its own', () => {
    const payment = unseal(
      'deploy/teams/payments/payment/overlays/dev/sealed-secrets/payment-api-tokens.yaml',
      pair.key,
    );
    const antaeus = unseal(
      'deploy/teams/billing/antaeus/overlays/dev/sealed-secrets/payment-api-token.yaml',
      pair.key,
    );
    expect(payment.tokens).toBe(`antaeus:${antaeus.token}`);
    const redis = unseal(
      'deploy/teams/payments/payment/overlays/dev/sealed-secrets/payment-redis.yaml',
      pair.key,
    );
    const callers = unseal(
      'deploy/teams/billing/antaeus/overlays/dev/sealed-secrets/antaeus-api-tokens.yaml',
      pair.key,
    );
    const values = [
      antaeus.token,
      payment['metrics-token'],
      redis.password,
      callers.tokens,
      callers['metrics-token'],
    ];
    expect(new Set(values).size).toBe(values.length);
  });

  test('unseals each Secret before its readers start, and rolls them when its sealed data changes', () => {
    const objects = YAML.parseAllDocuments(
      execFileSync(
        toolPath(repo, 'kustomize'),
        ['build', path.join(root, 'deploy', 'envs', 'dev')],
        { encoding: 'utf8' },
      ),
    ).map(
      (doc) =>
        doc.toJS() as {
          kind: string;
          metadata: { name: string; annotations?: Record<string, string> };
          spec: { template?: { metadata?: { annotations?: Record<string, string> } } };
        },
    );
    for (const sealed of objects.filter((o) => o.kind === 'SealedSecret'))
      expect(sealed.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '-1' });
    const checksums = (kind: string, name: string) =>
      objects.find((o) => o.kind === kind && o.metadata.name === name)?.spec.template?.metadata
        ?.annotations;
    expect(Object.keys(checksums('Deployment', 'payment') ?? {}).sort()).toEqual([
      'sealed-secrets.payments-platform/payment-api-tokens',
      'sealed-secrets.payments-platform/payment-redis',
    ]);
    expect(Object.keys(checksums('StatefulSet', 'payment-redis') ?? {})).toEqual([
      'sealed-secrets.payments-platform/payment-redis',
    ]);
    expect(Object.keys(checksums('Deployment', 'antaeus') ?? {}).sort()).toEqual([
      'sealed-secrets.payments-platform/antaeus-api-tokens',
      'sealed-secrets.payments-platform/payment-api-token',
    ]);
    const before = checksums('Deployment', 'antaeus')?.[
      'sealed-secrets.payments-platform/payment-api-token'
    ];
    seal(repo, { env: 'dev', secret: 'payment-api-token', key: 'token', value: 'rotated' }, log);
    const after = YAML.parse(
      fs.readFileSync(
        path.join(
          root,
          'deploy/teams/billing/antaeus/overlays/dev/sealed-secrets/kustomization.yaml',
        ),
        'utf8',
      ),
    ) as { patches: { target: { kind: string; name?: string }; patch: string }[] };
    const antaeusPatch = after.patches.find((p) => p.target.name === 'antaeus')?.patch ?? '';
    expect(antaeusPatch).toMatch(
      /sealed-secrets\.payments-platform\/payment-api-token: [0-9a-f]{16}/,
    );
    expect(antaeusPatch).not.toContain(`payment-api-token: ${before}`);
  });

  test('renders the environment with SealedSecrets and no plain Secret', () => {
    const rendered = execFileSync(
      toolPath(repo, 'kustomize'),
      ['build', path.join(root, 'deploy', 'envs', 'dev')],
      {
        encoding: 'utf8',
      },
    );
    const kinds = YAML.parseAllDocuments(rendered).map(
      (doc) => (doc.toJS() as { kind: string }).kind,
    );
    expect(kinds.filter((kind) => kind === 'SealedSecret')).toHaveLength(4);
    expect(kinds).not.toContain('Secret');
  });

  test('refuses a sealed file for another cluster: another key cannot unseal it', () => {
    const other = keyPair(fs.mkdtempSync(path.join(keys, 'other-')));
    expect(() =>
      unseal(
        'deploy/teams/payments/payment/overlays/dev/sealed-secrets/payment-redis.yaml',
        other.key,
      ),
    ).toThrow();
  });
});

describe('delivery seal', () => {
  let pair: { key: string; cert: string };
  const file =
    'deploy/teams/payments/payment/overlays/staging/sealed-secrets/payment-api-tokens.yaml';
  beforeAll(() => {
    pair = keyPair(fs.mkdtempSync(path.join(keys, 'staging-')));
    sealEnvironment(repo, { env: 'staging', certificate: pair.cert }, log);
  });

  test('replaces one key and keeps the others (a rotation step)', () => {
    const before = unseal(file, pair.key);
    seal(
      repo,
      {
        env: 'staging',
        secret: 'payment-api-tokens',
        key: 'tokens',
        value: 'antaeus:old,antaeus:new',
      },
      log,
    );
    const after = unseal(file, pair.key);
    expect(after.tokens).toBe('antaeus:old,antaeus:new');
    expect(after['metrics-token']).toBe(before['metrics-token']);
    expect(lines.at(-1)).toBe(
      `sealed tokens of payments-staging/payment-api-tokens into ${file}: commit it in a pull request`,
    );
  });

  test('refuses a Secret no service reads, naming those they read', () => {
    expect(() => seal(repo, { env: 'staging', secret: 'nope', key: 'k', value: 'v' }, log)).toThrow(
      new UsageError(
        "no service in staging reads a Secret 'nope' (they read: antaeus-api-tokens, payment-api-token, payment-api-tokens, payment-redis)",
      ),
    );
  });

  test("leaves a certificate's Secret to cert-manager: staging's services read payment-tls and antaeus-client-tls, and neither is sealed", () => {
    expect(() =>
      seal(repo, { env: 'staging', secret: 'payment-tls', key: 'tls.key', value: 'v' }, log),
    ).toThrow(
      new UsageError(
        "no service in staging reads a Secret 'payment-tls' (they read: antaeus-api-tokens, payment-api-token, payment-api-tokens, payment-redis)",
      ),
    );
    const rendered = fs.readFileSync(
      path.join(
        root,
        repo.catalogue.overlayPath('payment', 'staging'),
        '../../components/internal-tls/deployment-mutual-tls.yaml',
      ),
      'utf8',
    );
    expect(rendered).toContain('secretName: payment-tls');
  });

  test('refuses a key the service does not read, naming the keys it reads', () => {
    expect(() =>
      seal(repo, { env: 'staging', secret: 'payment-redis', key: 'pasword', value: 'v' }, log),
    ).toThrow(
      new UsageError("payment reads no key 'pasword' of Secret payment-redis (it reads: password)"),
    );
  });

  test('refuses an unknown environment and an empty value', () => {
    expect(() =>
      seal(repo, { env: 'qa', secret: 'payment-redis', key: 'password', value: 'v' }, log),
    ).toThrow(/unknown environment 'qa'/);
    expect(() =>
      seal(repo, { env: 'staging', secret: 'payment-redis', key: 'password', value: '' }, log),
    ).toThrow(new UsageError('the value is empty: pass it on standard input'));
  });

  test("refuses to seal without the environment's certificate, or with something else in its place", () => {
    const cert = path.join(root, certificateFile('prod'));
    fs.rmSync(cert, { force: true });
    expect(() =>
      seal(repo, { env: 'prod', secret: 'payment-redis', key: 'password', value: 'v' }, log),
    ).toThrow(
      /deploy\/platform\/prod\/sealed-secrets\.pem is missing: write the certificate of prod's Sealed Secrets controller there \(kubeseal --fetch-cert\)/,
    );
    fs.writeFileSync(cert, 'not a certificate\n');
    expect(() =>
      seal(repo, { env: 'prod', secret: 'payment-redis', key: 'password', value: 'v' }, log),
    ).toThrow(
      new DeliveryError('deploy/platform/prod/sealed-secrets.pem is not a PEM certificate'),
    );
    expect(() =>
      sealEnvironment(repo, { env: 'prod', certificate: path.join(keys, 'absent.pem') }, log),
    ).toThrow(new UsageError(`--cert ${path.join(keys, 'absent.pem')}: no such file`));
  });
});
