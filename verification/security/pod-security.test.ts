import fs from 'node:fs';
import path from 'node:path';
import { kustomizeBuild, repoRoot, type K8sObject } from '@internal/test-kit';
import { podSpecsOf, restrictedViolations, type PodSpec } from './pod-security';

const envsDir = path.join(repoRoot(), 'deploy', 'envs');
const envs = ['dev', 'staging', 'prod'];

const compliantPod: PodSpec = {
  securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
  volumes: [{ name: 'tmp', emptyDir: {} }],
  containers: [
    {
      name: 'app',
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    },
  ],
};

describe('the restricted-profile policy itself', () => {
  it('accepts a compliant pod', () => {
    expect(restrictedViolations(compliantPod, 'pod')).toEqual([]);
  });

  const appContainer = compliantPod.containers![0]!;
  const breaches: Array<[string, PodSpec, RegExp]> = [
    ['host network', { ...compliantPod, hostNetwork: true }, /hostNetwork/],
    ['host PID', { ...compliantPod, hostPID: true }, /hostPID/],
    [
      'hostPath volume',
      { ...compliantPod, volumes: [{ name: 'h', hostPath: { path: '/' } }] },
      /volume h has disallowed type hostPath/,
    ],
    [
      'root allowed',
      { ...compliantPod, securityContext: { seccompProfile: { type: 'RuntimeDefault' } } },
      /runAsNonRoot/,
    ],
    [
      'no seccomp profile',
      { ...compliantPod, securityContext: { runAsNonRoot: true } },
      /seccompProfile/,
    ],
    [
      'privilege escalation not disabled',
      {
        ...compliantPod,
        containers: [{ name: 'app', securityContext: { capabilities: { drop: ['ALL'] } } }],
      },
      /allowPrivilegeEscalation/,
    ],
    [
      'capabilities kept',
      {
        ...compliantPod,
        containers: [{ name: 'app', securityContext: { allowPrivilegeEscalation: false } }],
      },
      /drop must include ALL/,
    ],
    [
      'init container out of policy',
      { ...compliantPod, initContainers: [{ name: 'init' }] },
      /container init: .*allowPrivilegeEscalation/,
    ],
    [
      'host port',
      { ...compliantPod, containers: [{ ...appContainer, ports: [{ hostPort: 80 }] }] },
      /hostPort 80/,
    ],
  ];
  it.each(breaches)('rejects %s', (_name, pod, message) => {
    expect(restrictedViolations(pod, 'pod').join('\n')).toMatch(message);
  });
});

describe.each(envs)('rendered manifests of deploy/envs/%s', (env) => {
  let objects: K8sObject[];
  beforeAll(() => {
    const dir = path.join(envsDir, env);
    if (!fs.existsSync(path.join(dir, 'kustomization.yaml'))) {
      throw new Error(`${dir}/kustomization.yaml is missing: the environment cannot be rendered`);
    }
    objects = kustomizeBuild(dir);
  });

  it('has both team namespaces, each enforcing Pod Security "restricted"', () => {
    const namespaces = objects.filter((o) => o.kind === 'Namespace');
    expect(namespaces.map((n) => n.metadata.name).sort()).toEqual(
      expect.arrayContaining([`billing-${env}`, `payments-${env}`]),
    );
    const lax = namespaces
      .filter((n) => n.metadata.labels?.['pod-security.kubernetes.io/enforce'] !== 'restricted')
      .map((n) => n.metadata.name);
    expect(lax).toEqual([]);
  });

  it('puts every workload in a namespace it renders', () => {
    const rendered = new Set(
      objects.filter((o) => o.kind === 'Namespace').map((n) => n.metadata.name),
    );
    const outside = podSpecsOf(objects)
      .map((p) => p.owner)
      .filter((owner) => !rendered.has(owner.split('/')[1] ?? ''));
    expect(outside).toEqual([]);
  });

  it('has only pod specs that satisfy the restricted profile', () => {
    const pods = podSpecsOf(objects);
    const owners = pods.map((p) => p.owner).join('\n');
    expect(owners).toMatch(/Deployment\/payments-.*\/payment/);
    expect(owners).toMatch(/\/billing-.*\/antaeus/);
    const violations = pods.flatMap(({ owner, pod }) => restrictedViolations(pod, owner));
    expect(violations).toEqual([]);
  });
});
