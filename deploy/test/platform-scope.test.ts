import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { DELIVERY_CLI, DEPLOY_DIR, ROOT } from './support/manifests';

// The platform layer may reach nothing outside catalogue.yaml's namespaces: `delivery check-manifests`
// (its "scope" check, run on every target by kube-score.test.ts) refuses it. Here it is run on a
// temporary copy of deploy/platform with one object added, which must be refused by name.


let copy: string;
beforeAll(() => {
  copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'platform-scope-')), 'platform');
  fs.cpSync(path.join(DEPLOY_DIR, 'platform'), copy, { recursive: true });
});
afterAll(() => fs.rmSync(path.dirname(copy), { recursive: true, force: true }));

/** The scope verdict of `delivery check-manifests --static` on the copy, with `extra` added to it. */
function scopeOf(extra: object[]): string {
  const kustomization = path.join(copy, 'kustomization.yaml');
  const original = fs.readFileSync(kustomization, 'utf8');
  fs.writeFileSync(path.join(copy, 'extra.yaml'), extra.map((o) => YAML.stringify(o)).join('---\n'));
  fs.writeFileSync(kustomization, extra.length > 0 ? `${original}  - extra.yaml\n` : original);
  try {
    const result = spawnSync(process.execPath, [DELIVERY_CLI, 'check-manifests', '--static', copy], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const lines = result.stdout.split('\n');
    const start = lines.findIndex((line) => line.includes(`${copy}: scope`));
    const end = lines.findIndex((line, i) => i > start && !line.startsWith('       '));
    return lines.slice(start, end).join('\n');
  } finally {
    fs.writeFileSync(kustomization, original);
  }
}

const binding = (namespaceSelector: object | undefined) => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingAdmissionPolicyBinding',
  metadata: { name: 'deployer-token-guard-dev' },
  spec: {
    policyName: 'deployer-token-guard-dev',
    validationActions: ['Deny'],
    matchResources: namespaceSelector === undefined ? {} : { namespaceSelector },
  },
});

describe('the scope check on a copy of deploy/platform', () => {
  it('passes the copy as it is', () => {
    expect(scopeOf([])).toMatch(/^ok {3}\S+: scope, /);
  });

  it('refuses a Namespace argocd, naming it', () => {
    const scope = scopeOf([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'argocd' } }]);
    expect(scope).toMatch(/^FAIL \S+: scope$/m);
    expect(scope).toMatch(/^ {7}Namespace\/argocd: a Namespace catalogue\.yaml does not list \(it lists payments-dev, /m);
  });

  it('refuses an object in kube-system and one with no namespace', () => {
    const configMap = (namespace?: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'intruder', ...(namespace ? { namespace } : {}) },
    });
    const scope = scopeOf([configMap('kube-system')]);
    expect(scope).toContain('ConfigMap/kube-system/intruder: metadata.namespace kube-system is not a namespace of catalogue.yaml');
    const clusterRole = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'everything' }, rules: [] };
    expect(scopeOf([clusterRole])).toContain('ClusterRole/everything: names no namespace');
  });

  it("refuses a ClusterIssuer and a Certificate in cert-manager's namespace that are not an environment's internal CA", () => {
    const scope = scopeOf([
      { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'anything-goes' }, spec: { selfSigned: {} } },
      {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Certificate',
        metadata: { name: 'impostor', namespace: 'cert-manager' },
        spec: { secretName: 'impostor', issuerRef: { kind: 'ClusterIssuer', name: 'anything-goes' } },
      },
    ]);
    expect(scope).toMatch(/^ {7}ClusterIssuer\/anything-goes: not one of the platform's own ClusterIssuer objects \(internal-ca-dev, /m);
    expect(scope).toContain(
      "Certificate/cert-manager/impostor: not one of the platform's own Certificate objects in cert-manager (internal-ca-dev, internal-ca-staging, internal-ca-prod)",
    );
  });

  it.each([
    ['every namespace', '{}'],
    ['all but one', '{matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [payments-dev]}]}'],
  ])('refuses an admission binding whose namespaceSelector selects %s, argocd included', (_, selector) => {
    // The dev deployer guard's binding, its selector replaced.
    const file = path.join(copy, 'dev', 'deployer-guard', 'kustomization.yaml');
    const original = fs.readFileSync(file, 'utf8');
    const patched = original.replace(
      /path: \/spec\/matchResources\/namespaceSelector\/matchLabels\/environment\n(\s+)value: dev/,
      `path: /spec/matchResources/namespaceSelector\n$1value: ${selector}`,
    );
    expect(patched).not.toBe(original);
    fs.writeFileSync(file, patched);
    try {
      expect(scopeOf([])).toContain(
        'ValidatingAdmissionPolicyBinding/deployer-token-guard-dev: spec.matchResources.namespaceSelector could select namespaces outside catalogue.yaml',
      );
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it('refuses a cluster-scoped admission object the platform does not own', () => {
    const foreign = { ...binding({ matchLabels: { environment: 'dev' } }), metadata: { name: 'argocd-lockdown' } };
    expect(scopeOf([foreign])).toMatch(
      // The platform's own are those deploy/platform/deployer-guard renders, once per environment.
      /ValidatingAdmissionPolicyBinding\/argocd-lockdown: not one of the platform's own ValidatingAdmissionPolicyBinding objects \(.*deployer-token-guard-dev, deployer-token-guard-staging, deployer-token-guard-prod\)/,
    );
  });
});
