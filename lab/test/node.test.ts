import { appsSyncedAndHealthy, eventually, kubectl, kubectlJson } from './support/lab';
import { RELEASE_ENV } from './support/catalogue';
import { RUNNING_NAMESPACES, restarts } from './support/node';

// The lab's node (lab/scripts/node.sh): a real kubelet, containerd and CNI, kube-proxy, kube-router
// for NetworkPolicy, CoreDNS and metrics-server. What runs on it came through Argo CD.

interface Deployment {
  metadata: { name: string };
  status: {
    conditions?: { type: string; status: string }[];
    replicas?: number;
    readyReplicas?: number;
  };
}

describe('the lab node', () => {
  test('is Ready, and metrics-server reports its usage (the HPAs read it)', async () => {
    const node = kubectlJson<{ status: { conditions: { type: string; status: string }[] } }>(
      'get',
      'node',
      'lab-node',
    );
    expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    const usage = await eventually('node metrics from metrics-server', () => {
      const metrics = JSON.parse(kubectl('get', '--raw', '/apis/metrics.k8s.io/v1beta1/nodes')) as {
        items: { metadata: { name: string }; usage: { memory: string } }[];
      };
      return metrics.items.find((item) => item.metadata.name === 'lab-node')?.usage;
    });
    expect(usage.memory).toMatch(/^\d+Ki$/);
  });

  test('runs every dev and staging Deployment Available with no restart, and Argo CD reports each non-prod app Synced and Healthy', async () => {
    // Every replica ready: the HPAs may have just added one after an earlier test's load.
    await eventually('every dev and staging Deployment Available, every replica ready', () => {
      const waiting = RUNNING_NAMESPACES.flatMap((namespace) => {
        const deployments = kubectlJson<{ items: Deployment[] }>(
          '-n',
          namespace,
          'get',
          'deployments',
        ).items;
        if (deployments.length === 0) return [`${namespace}: no Deployment`];
        return deployments
          .filter(
            (d) =>
              d.status.conditions?.find((c) => c.type === 'Available')?.status !== 'True' ||
              d.status.readyReplicas !== d.status.replicas,
          )
          .map(
            (d) =>
              `${namespace}/${d.metadata.name}: ${d.status.readyReplicas}/${d.status.replicas} ready`,
          );
      });
      if (waiting.length > 0) throw new Error(waiting.join(', '));
      return true;
    });
    expect(restarts(RUNNING_NAMESPACES)).toEqual([]);
    // Argo CD's own health checks: the Ingresses have the lab's Traefik's address (lab/README.md).
    // Long enough for a canary of staging's payment an earlier test started (about 3 minutes).
    await appsSyncedAndHealthy(RELEASE_ENV, 300_000);
  }, 480_000);
});
