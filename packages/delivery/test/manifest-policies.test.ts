import { kubeScoreFindings } from '../src/check-manifests';
import {
  imageFindings,
  imageRepository,
  objectName,
  scopeFindings,
  secretFindings,
  workloadFindings,
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

describe('workloads', () => {
  const selector = { matchLabels: { app: 'web' } };
  const web = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'ns' },
    spec: { selector },
  };
  const autoscaler = (scaleTargetRef: object) => ({
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'ns' },
    spec: { scaleTargetRef },
  });
  const toDeployment = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' };
  const toRollout = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'web' };
  const template = (args: { name: string; value?: string }[]) => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AnalysisTemplate',
    metadata: { name: 'judge', namespace: 'ns' },
    spec: { args },
  });
  const rollout = (spec: object = {}) => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'web', namespace: 'ns' },
    spec: {
      selector,
      workloadRef: toDeployment,
      strategy: {
        canary: {
          analysis: { templates: [{ templateName: 'judge' }], args: [{ name: 'hash' }] },
        },
      },
      ...spec,
    },
  });
  const judge = template([{ name: 'hash' }, { name: 'address', value: 'http://prometheus' }]);

  it('passes an HPA on a Deployment, and a Rollout running its pods with the HPA on the Rollout', () => {
    expect(workloadFindings([web, autoscaler(toDeployment)])).toEqual([]);
    expect(workloadFindings([web, rollout(), judge, autoscaler(toRollout)])).toEqual([]);
  });

  it('names an HPA whose target is not rendered, by kind, name and API group', () => {
    const elsewhere = { ...web, metadata: { name: 'web', namespace: 'other' } };
    for (const objects of [
      [autoscaler(toRollout)],
      [web, autoscaler(toRollout)],
      [elsewhere, autoscaler(toDeployment)],
    ])
      expect(workloadFindings(objects)).toEqual([
        expect.stringMatching(
          /^HorizontalPodAutoscaler\/ns\/web: spec\.scaleTargetRef names \w+ web \(\S+\), which this target does not render in ns$/,
        ),
      ]);
    expect(
      workloadFindings([web, autoscaler({ ...toDeployment, apiVersion: 'example.com/v1' })]),
    ).toEqual([
      'HorizontalPodAutoscaler/ns/web: spec.scaleTargetRef names Deployment web (example.com/v1), which this target does not render in ns',
    ]);
  });

  it('names an HPA on a Deployment whose pods a Rollout runs', () => {
    expect(workloadFindings([web, rollout(), judge, autoscaler(toDeployment)])).toEqual([
      'HorizontalPodAutoscaler/ns/web: spec.scaleTargetRef names Deployment web (apps/v1), whose pods Rollout web runs: scale the Rollout',
    ]);
  });

  it('names a workloadRef to no rendered Deployment', () => {
    expect(workloadFindings([rollout(), judge])).toEqual([
      'Rollout/ns/web: spec.workloadRef names Deployment web (apps/v1), not a Deployment this target renders in ns',
    ]);
  });

  it("names a Rollout whose selector is not its Deployment's", () => {
    expect(
      workloadFindings([web, rollout({ selector: { matchLabels: { app: 'other' } } }), judge]),
    ).toEqual([
      "Rollout/ns/web: spec.selector differs from Deployment web's, so the Rollout would not own the pods it runs",
    ]);
  });

  it('names replicas on a Deployment whose pods a Rollout runs', () => {
    expect(
      workloadFindings([{ ...web, spec: { selector, replicas: 2 } }, rollout(), judge]),
    ).toEqual([
      'Deployment/ns/web: spec.replicas is set, but Rollout web runs its pods (spec.workloadRef): every sync would scale up again what the Rollout scaled down',
    ]);
  });

  it('names an AnalysisTemplate that is not rendered, and an argument it requires that the Rollout does not supply', () => {
    expect(workloadFindings([web, rollout()])).toEqual([
      'Rollout/ns/web: its analysis names AnalysisTemplate judge, which this target does not render',
    ]);
    expect(
      workloadFindings([web, rollout(), template([{ name: 'hash' }, { name: 'namespace' }])]),
    ).toEqual([
      'Rollout/ns/web: its analysis args do not supply namespace, which AnalysisTemplate judge requires (spec.args, no value)',
    ]);
  });

  it('names an argument the Rollout supplies that its AnalysisTemplates do not declare, in a step analysis too', () => {
    const steps = [
      { setWeight: 50 },
      {
        analysis: {
          templates: [{ templateName: 'judge' }],
          args: [{ name: 'hash' }, { name: 'typo' }],
        },
      },
    ];
    expect(workloadFindings([web, rollout({ strategy: { canary: { steps } } }), judge])).toEqual([
      'Rollout/ns/web: its analysis args supply typo, which no AnalysisTemplate it names declares',
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
