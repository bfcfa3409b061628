import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { DeliveryError, UsageError } from './errors';
import { capture } from './processes';
import type { Repository } from './repository';
import { secretUses, type SecretUse } from './secret-uses';
import { requireInstalled, toolPath } from './tools';

const COMPONENT = 'sealed-secrets';
/** Pod-template annotations that change with a Secret's sealed data, so its readers roll. */
const CHECKSUM_PREFIX = 'sealed-secrets.payments-platform';
const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet'];

/**
 * The public certificate of the Sealed Secrets controller of an environment's cluster
 * (`kubeseal --fetch-cert`): what `seal` encrypts with. Only that controller holds the private key.
 */
export const certificateFile = (env: string): string =>
  path.posix.join('deploy', 'platform', env, 'sealed-secrets.pem');

/** Where the sealed copy of a Secret lives: in its service's overlay for that environment. */
export const sealedFile = (repo: Repository, use: SecretUse, env: string): string =>
  path.posix.join(repo.catalogue.overlayPath(use.service, env), COMPONENT, `${use.secret}.yaml`);

/** The certificate to seal with, refused when missing, not a certificate, or expired. */
function requireCertificate(repo: Repository, env: string): string {
  const file = repo.path(certificateFile(env));
  if (!fs.existsSync(file))
    throw new DeliveryError(
      `${certificateFile(env)} is missing: write the certificate of ${env}'s Sealed Secrets controller there (kubeseal --fetch-cert), or run delivery seal-environment ${env} --cert <file>`,
    );
  checkCertificate(fs.readFileSync(file, 'utf8'), certificateFile(env));
  return file;
}

function checkCertificate(pem: string, name: string): void {
  let certificate: crypto.X509Certificate;
  try {
    certificate = new crypto.X509Certificate(pem);
  } catch {
    throw new DeliveryError(`${name} is not a PEM certificate`);
  }
  if (Date.parse(certificate.validTo) < Date.now())
    throw new DeliveryError(
      `${name} expired on ${certificate.validTo}: fetch the controller's current one`,
    );
}

/** The Secret one environment's services read under that name, refusing any other. */
function requireUse(uses: SecretUse[], secret: string, env: string): SecretUse {
  const use = uses.find((candidate) => candidate.secret === secret);
  if (!use)
    throw new UsageError(
      `no service in ${env} reads a Secret '${secret}' (they read: ${uses.map((u) => u.secret).join(', ')})`,
    );
  return use;
}

/**
 * Writes the overlay's sealed-secrets component from the sealed files in it, and includes it in
 * the overlay once. The component lists the files and patches two things: every SealedSecret goes
 * in sync wave -1, so Argo CD waits until the controller has unsealed it (its health) before it
 * applies the workloads; and each workload reading a Secret carries a checksum of its sealed data
 * in its pod template, so a new value rolls it (a Secret's new value reaches no running pod).
 */
function writeComponent(repo: Repository, service: string, env: string, uses: SecretUse[]): void {
  const dir = repo.path(repo.catalogue.overlayPath(service, env), COMPONENT);
  const files = fs
    .readdirSync(dir)
    .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
    .sort();
  const annotations = new Map<string, Record<string, string>>();
  for (const file of files) {
    const secret = file.replace(/\.yaml$/, '');
    const checksum = crypto
      .createHash('sha256')
      .update(fs.readFileSync(path.join(dir, file)))
      .digest('hex')
      .slice(0, 16);
    const use = uses.find(
      (candidate) => candidate.secret === secret && candidate.service === service,
    );
    for (const reader of use?.readers.filter((r) => WORKLOADS.includes(r.kind)) ?? []) {
      const id = `${reader.kind}/${reader.name}`;
      annotations.set(id, { ...annotations.get(id), [`${CHECKSUM_PREFIX}/${secret}`]: checksum });
    }
  }
  const component = {
    apiVersion: 'kustomize.config.k8s.io/v1alpha1',
    kind: 'Component',
    resources: files,
    // The service's own labels (its base's), which the SealedSecrets would otherwise lack: they
    // come in through the overlay, beside the base, not from it.
    labels: baseLabels(repo, service),
    patches: [
      {
        target: { group: 'bitnami.com', kind: 'SealedSecret' },
        patch: YAML.stringify([
          {
            op: 'add',
            path: '/metadata/annotations',
            value: { 'argocd.argoproj.io/sync-wave': '-1' },
          },
        ]),
      },
      ...[...annotations]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([id, values]) => {
          const [kind = '', name = ''] = id.split('/');
          return {
            target: { kind, name },
            patch: YAML.stringify({
              apiVersion: 'apps/v1',
              kind,
              metadata: { name },
              spec: { template: { metadata: { annotations: values } } },
            }),
          };
        }),
    ],
  };
  fs.writeFileSync(
    path.join(dir, 'kustomization.yaml'),
    `# Generated by \`delivery seal\` from the sealed files beside it; do not edit.\n${YAML.stringify(component, { blockQuote: 'literal' })}`,
  );
  includeComponent(repo, service, env);
}

/** The label pairs a service's base kustomization gives its objects. */
function baseLabels(repo: Repository, service: string): { pairs: Record<string, string> }[] {
  const file = repo.path(repo.catalogue.deployDir(service), 'base', 'kustomization.yaml');
  const base = YAML.parse(fs.readFileSync(file, 'utf8')) as {
    labels?: { pairs?: Record<string, string> }[];
  };
  const pairs = Object.assign(
    {},
    ...(base.labels ?? []).map((entry) => entry.pairs ?? {}),
  ) as Record<string, string>;
  return Object.keys(pairs).length > 0 ? [{ pairs }] : [];
}

/** Lists the sealed-secrets component in the overlay's components, once. */
function includeComponent(repo: Repository, service: string, env: string): void {
  const file = repo.path(repo.overlayFile(service, env));
  const document = YAML.parseDocument(fs.readFileSync(file, 'utf8'));
  const components = document.get('components');
  if (YAML.isSeq(components)) {
    if (components.items.some((item) => YAML.isScalar(item) && item.value === COMPONENT)) return;
    components.add(document.createNode(COMPONENT));
  } else {
    document.set('components', document.createNode([COMPONENT]));
  }
  fs.writeFileSync(file, document.toString());
}

/**
 * Encrypts values into the sealed copy of one Secret: a new file, or the existing one with these
 * keys replaced and the others kept (kubeseal --merge-into). The values reach kubeseal on its
 * standard input, never on a command line. Strict scope: the sealed data decrypts only as this
 * Secret in this namespace, so a file copied to another environment or name is useless.
 */
function sealValues(
  repo: Repository,
  env: string,
  use: SecretUse,
  values: Record<string, string>,
  certificate: string,
): string {
  const relative = sealedFile(repo, use, env);
  const file = repo.path(relative);
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: use.secret, namespace: use.namespace },
    data: Object.fromEntries(
      Object.entries(values).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
    ),
  };
  const merge = fs.existsSync(file);
  const kubeseal = requireInstalled(toolPath(repo, 'kubeseal'));
  const args = ['--cert', certificate, '--scope', 'strict', '--format', 'yaml'];
  const { status, stdout, stderr } = capture(
    kubeseal,
    merge ? [...args, '--merge-into', file] : args,
    { input: JSON.stringify(secret) },
  );
  if (status !== 0) throw new DeliveryError(`kubeseal failed for ${relative}: ${stderr.trim()}`);
  if (!merge) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, stdout);
  }
  return relative;
}

export interface SealRequest {
  env: string;
  secret: string;
  key: string;
  value: string;
}

/** `delivery seal`: one new value for one key of one Secret of one environment. */
export function seal(repo: Repository, request: SealRequest, log: (line: string) => void): void {
  const env = repo.requireEnvironment(request.env);
  const uses = secretUses(repo, env);
  const use = requireUse(uses, request.secret, env);
  if (!use.whole && !use.keys.includes(request.key))
    throw new UsageError(
      `${use.service} reads no key '${request.key}' of Secret ${use.secret} (it reads: ${use.keys.join(', ')})`,
    );
  if (request.value === '') throw new UsageError('the value is empty: pass it on standard input');
  const file = sealValues(
    repo,
    env,
    use,
    { [request.key]: request.value },
    requireCertificate(repo, env),
  );
  writeComponent(repo, use.service, env, uses);
  log(
    `sealed ${request.key} of ${use.namespace}/${use.secret} into ${file}: commit it in a pull request`,
  );
}

/**
 * Values two Secrets must hold together. The payment token is one value on both sides: payment
 * accepts it, named `antaeus:` so Antaeus stays one caller (same idempotency keys) across a
 * rotation, and Antaeus sends it. Every other key gets a value of its own.
 */
const SHARED_VALUES: { secret: string; key: string; value: (shared: string) => string }[] = [
  { secret: 'payment-api-tokens', key: 'tokens', value: (token) => `antaeus:${token}` },
  { secret: 'payment-api-token', key: 'token', value: (token) => token },
];

const newToken = () => crypto.randomBytes(32).toString('hex');

/**
 * `delivery seal-environment`: every Secret an environment's services read, sealed anew with new
 * random values (a new environment, or a cluster whose controller has another key: a fork, the
 * lab). With a certificate file, it first becomes the environment's certificate.
 */
export function sealEnvironment(
  repo: Repository,
  options: { env: string; certificate?: string },
  log: (line: string) => void,
): void {
  const env = repo.requireEnvironment(options.env);
  if (options.certificate !== undefined) {
    if (!fs.existsSync(options.certificate))
      throw new UsageError(`--cert ${options.certificate}: no such file`);
    const pem = fs.readFileSync(options.certificate, 'utf8');
    checkCertificate(pem, options.certificate);
    fs.writeFileSync(repo.path(certificateFile(env)), pem);
  }
  // Checked above when just given; the committed one is checked as `seal` checks it.
  const certificate =
    options.certificate !== undefined
      ? repo.path(certificateFile(env))
      : requireCertificate(repo, env);
  const uses = secretUses(repo, env);
  for (const shared of SHARED_VALUES) {
    const use = uses.find((candidate) => candidate.secret === shared.secret);
    if (!use || !(use.whole || use.keys.includes(shared.key)))
      throw new DeliveryError(
        `seal-environment: no service in ${env} reads key ${shared.key} of Secret ${shared.secret}; update SHARED_VALUES in packages/delivery/src/seal.ts`,
      );
  }
  const sharedToken = newToken();
  for (const use of uses) {
    if (use.keys.length === 0)
      throw new DeliveryError(
        `${use.service} reads Secret ${use.secret} whole: seal its keys one by one with delivery seal ${env} ${use.secret} <key>`,
      );
    const values = Object.fromEntries(
      use.keys.map((key) => {
        const shared = SHARED_VALUES.find((s) => s.secret === use.secret && s.key === key);
        return [key, shared ? shared.value(sharedToken) : newToken()];
      }),
    );
    fs.rmSync(repo.path(sealedFile(repo, use, env)), { force: true });
    const file = sealValues(repo, env, use, values, certificate);
    log(`sealed ${use.keys.join(', ')} of ${use.namespace}/${use.secret} into ${file}`);
  }
  for (const service of new Set(uses.map((use) => use.service)))
    writeComponent(repo, service, env, uses);
}
