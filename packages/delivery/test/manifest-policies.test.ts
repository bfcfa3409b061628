import { kubeScoreFindings } from '../src/check-manifests';
import {
  imageFindings,
  imageRepository,
  objectName,
  scopeFindings,
  secretFindings,
  type Scope,
} from '../src/manifest-policies';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const deployment = (namespace: string | undefined, ...images: string[]) => ({
  kind: 'Deployment',
  metadata: { name: 'web', namespace },
  spec: {
    template: { spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } },
  },
});

describe('images', () => {
  it('names a repository without tag and digest, keeping a registry port', () => {
    expect(imageRepository(`registry:5000/org/app:1.0@${DIGEST}`)).toBe('registry:5000/org/app');
    expect(objectName(deployment('ns'))).toBe('Deployment/ns/web');
  });

  it('accepts images pinned by digest and the own repositories, and names every other container', () => {
    const objects = [
      deployment(
        'ns',
        `docker.io/library/redis:8@${DIGEST}`,
        'ghcr.io/org/own:1.0.0',
        'docker.io/other:1',
      ),
      {
        kind: 'CronJob',
        metadata: { name: 'job', namespace: 'ns' },
        spec: {
          jobTemplate: {
            spec: { template: { spec: { initContainers: [{ name: 'init', image: 'busybox' }] } } },
          },
        },
      },
    ];
    expect(imageFindings(objects, ['ghcr.io/org/own'])).toEqual([
      'Deployment/ns/web containers c2: image docker.io/other:1 is not pinned by digest (repo:tag@sha256:<64 hex>)',
      'CronJob/ns/job initContainers init: image busybox is not pinned by digest (repo:tag@sha256:<64 hex>)',
    ]);
  });
});

describe('secrets', () => {
  it('names every plain Secret and lets SealedSecrets through', () => {
    const objects = [
      { kind: 'Secret', metadata: { name: 'tokens', namespace: 'ns' } },
      { kind: 'SealedSecret', metadata: { name: 'tokens', namespace: 'ns' } },
      { kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'ns' } },
    ];
    expect(secretFindings(objects)).toEqual([
      'Secret/ns/tokens: a plain Secret is committed; seal it instead (npm run seal -- <env> <secret> <key>)',
    ]);
  });
});

describe('scope', () => {
  const scope: Scope = {
    namespaces: ['one-a', 'two-a'],
    environments: ['a'],
    clusterScoped: {
      ValidatingAdmissionPolicy: ['guard-a'],
      ValidatingAdmissionPolicyBinding: ['guard-a'],
    },
    serviceAccountsElsewhere: ['monitoring/prometheus'],
  };
  const binding = (matchLabels: Record<string, string>, policyName = 'guard-a') => ({
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: 'guard-a' },
    spec: { policyName, matchResources: { namespaceSelector: { matchLabels } } },
  });

  it('passes objects in catalogue namespaces and the platform’s own cluster-scoped ones', () => {
    expect(
      scopeFindings(
        [
          { kind: 'Namespace', metadata: { name: 'one-a' } },
          deployment('two-a'),
          binding({ environment: 'a' }),
          binding({ 'kubernetes.io/metadata.name': 'one-a' }),
          {
            kind: 'RoleBinding',
            metadata: { name: 'discovery', namespace: 'one-a' },
            subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }],
          },
        ],
        scope,
      ),
    ).toEqual([]);
  });

  it('names what reaches outside', () => {
    expect(
      scopeFindings(
        [
          { kind: 'Namespace', metadata: { name: 'argocd' } },
          deployment('kube-system'),
          deployment(undefined),
          { kind: 'ValidatingAdmissionPolicy', metadata: { name: 'other' } },
          binding({ team: 'x' }, 'other'),
          {
            kind: 'RoleBinding',
            metadata: { name: 'rb', namespace: 'one-a' },
            subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'argocd' }],
          },
          {
            kind: 'RoleBinding',
            metadata: { name: 'rb2', namespace: 'one-a' },
            subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'monitoring' }],
          },
        ],
        scope,
      ),
    ).toEqual([
      'Namespace/argocd: a Namespace catalogue.yaml does not list (it lists one-a, two-a)',
      'Deployment/kube-system/web: metadata.namespace kube-system is not a namespace of catalogue.yaml',
      'Deployment/web: names no namespace (cluster-scoped, or applied wherever the app points); only catalogue namespaces are allowed',
      "ValidatingAdmissionPolicy/other: not one of the platform's own ValidatingAdmissionPolicy objects (guard-a)",
      "ValidatingAdmissionPolicyBinding/guard-a: spec.policyName other is not the platform's",
      'ValidatingAdmissionPolicyBinding/guard-a: spec.matchResources.namespaceSelector could select namespaces outside catalogue.yaml (argocd, kube-system, ...): require kubernetes.io/metadata.name or environment of the catalogue',
      "RoleBinding/one-a/rb: subjects names ServiceAccount argocd/sa, outside catalogue.yaml's namespaces",
      "RoleBinding/one-a/rb2: subjects names ServiceAccount monitoring/default, outside catalogue.yaml's namespaces",
    ]);
  });
});

describe('kube-score findings', () => {
  it('keeps CRITICAL and WARNING grades, worst first, naming object, container and test', () => {
    const check = (grade: number, id: string, comments?: { path?: string; summary: string }[]) => ({
      grade,
      check: { id, name: `${id} name` },
      comments,
    });
    expect(
      kubeScoreFindings([
        {
          type_meta: { kind: 'Deployment' },
          object_meta: { namespace: 'ns', name: 'web' },
          checks: [
            check(5, 'warned'),
            check(10, 'fine'),
            check(1, 'limits', [{ path: 'main', summary: 'CPU limit is not set' }]),
            { ...check(1, 'skipped'), skipped: true },
          ],
        },
      ]),
    ).toEqual([
      {
        level: 'CRITICAL',
        line: 'CRITICAL Deployment/ns/web (main): CPU limit is not set [limits]',
      },
      { level: 'WARNING', line: 'WARNING Deployment/ns/web: warned name [warned]' },
    ]);
  });
});
