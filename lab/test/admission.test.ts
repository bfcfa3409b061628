import { repoRoot } from '@internal/test-kit';
import { LAB_REPO, eventually, kubectlJson, run } from './support/lab';

import { ENVIRONMENTS, TEAM_NAMESPACES } from './support/catalogue';

// The environments as the lab deploys them: its clone differs from this checkout only in the image
// references (the lab registry's signed images, by digest), which the team namespaces' signature
// admission requires; the ghcr.io releases cannot be resolved or verified from here.
describe('server-side dry-run apply on the real API server', () => {
  test.each([
    ...ENVIRONMENTS.map((env) => [`deploy/envs/${env}`, LAB_REPO]),
    ...ENVIRONMENTS.map((env) => [`deploy/platform/${env}`, repoRoot()]),
  ])('%s applies with no error and no warning', (dir, cwd) => {
    const result = run(
      'kubectl',
      [
        'apply',
        '--server-side',
        '--dry-run=server',
        '--force-conflicts',
        '--field-manager=lab-dry-run',
        '-k',
        dir!,
      ],
      { cwd },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

// A pod that breaks the restricted Pod Security profile: root, privilege escalation allowed.
const privilegedPod = (namespace: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'breaks-restricted', namespace },
    spec: { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] },
  });

describe('Pod Security admission (restricted) in every team namespace', () => {
  test.each(TEAM_NAMESPACES)('%s refuses a privileged pod, naming the profile', (namespace) => {
    const result = run('kubectl', ['create', '--dry-run=server', '-f', '-'], {
      input: privilegedPod(namespace),
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
    expect(result.stderr).toMatch(/privileged/);
  });
});

describe('the Deployments Argo CD synced create pods that admission accepts', () => {
  test.each(TEAM_NAMESPACES.filter((namespace) => !namespace.endsWith('-prod')))(
    '%s',
    async (namespace) => {
      await eventually(`pods in ${namespace}`, () => {
        const deployments = kubectlJson<{ items: { metadata: { name: string } }[] }>(
          '-n',
          namespace,
          'get',
          'deployments',
        ).items;
        const pods = kubectlJson<{ items: { metadata: { name: string } }[] }>(
          '-n',
          namespace,
          'get',
          'pods',
        ).items;
        if (deployments.length === 0) throw new Error('no Deployment synced yet');
        if (pods.length < deployments.length)
          throw new Error(`${pods.length} pods for ${deployments.length} Deployments`);
        return true;
      });
      // No ReplicaSet reports a pod that admission refused.
      const replicaSets = kubectlJson<{
        items: {
          metadata: { name: string };
          status: { conditions?: { type: string; message: string }[] };
        }[];
      }>('-n', namespace, 'get', 'replicasets').items;
      const failures = replicaSets.flatMap((rs) =>
        (rs.status.conditions ?? [])
          .filter((c) => c.type === 'ReplicaFailure')
          .map((c) => `${rs.metadata.name}: ${c.message}`),
      );
      expect(failures).toEqual([]);
    },
  );
});
