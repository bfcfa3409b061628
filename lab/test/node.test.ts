import {
  applications,
  eventually,
  kubectl,
  kubectlJson,
  must,
  unhealthyResources,
} from './support/lab';
import { RELEASE_ENV } from './support/catalogue';
import {
  ANTAEUS_SELECTOR,
  PAYMENT_SELECTOR,
  REDIS_SELECTOR,
  RUNNING_NAMESPACES,
  deploymentImage,
  nodeIn,
  restarts,
  runningPod,
  tcpFrom,
} from './support/node';

// The lab's node (scripts/lab/node.sh): a real kubelet, containerd and CNI, kube-proxy, kube-router
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

  test('runs every dev and staging Deployment Available with no restart, and Argo CD reports each non-prod app Synced and Healthy (an Ingress aside)', async () => {
    for (const namespace of RUNNING_NAMESPACES) {
      const deployments = kubectlJson<{ items: Deployment[] }>(
        '-n',
        namespace,
        'get',
        'deployments',
      ).items;
      expect(deployments.length).toBeGreaterThan(0);
      for (const deployment of deployments) {
        const available = deployment.status.conditions?.find((c) => c.type === 'Available');
        expect(`${namespace}/${deployment.metadata.name} Available=${available?.status}`).toBe(
          `${namespace}/${deployment.metadata.name} Available=True`,
        );
        expect(deployment.status.readyReplicas).toBe(deployment.status.replicas);
      }
    }
    expect(restarts(RUNNING_NAMESPACES)).toEqual([]);
    // Healthy, except an Ingress: no ingress controller builds from what this machine can reach
    // (scripts/lab/README.md), so nothing publishes an address and Argo CD reports it Progressing.
    await eventually(
      'every non-prod app Synced, and Healthy but for its Ingress',
      () => {
        const unwell = applications()
          .filter((app) => !app.metadata.name.endsWith(`-${RELEASE_ENV}`))
          .flatMap((app) => {
            const name = app.metadata.name;
            if (app.status?.sync?.status !== 'Synced')
              return [`${name}: ${app.status?.sync?.status}`];
            return unhealthyResources(name)
              .filter((resource) => resource !== 'Ingress antaeus: Progressing')
              .map((resource) => `${name}: ${resource}`);
          });
        if (unwell.length > 0) throw new Error(unwell.join(', '));
        return true;
      },
      180_000,
    );
  });
});

// kube-router rejects what a policy does not allow (ECONNREFUSED) rather than dropping it.
const CLOSED = /^closed (ECONNREFUSED|timeout)$/;

describe('NetworkPolicy, enforced by kube-router on the node', () => {
  const PAYMENT = 'payment.payments-dev.svc.cluster.local';
  const REDIS = 'payment-redis.payments-dev.svc.cluster.local';
  const OUTSIDE = 'lab-netpol-probe';
  let antaeusPod: string;
  let paymentPod: string;

  // A pod that runs the payment image's node and does nothing else, labelled as nobody in particular;
  // restricted-compliant so it is admitted in a team namespace.
  const probePod = (namespace: string, image: string) => `apiVersion: v1
kind: Pod
metadata:
  name: lab-probe
  namespace: ${namespace}
  labels: { app.kubernetes.io/name: lab-probe }
spec:
  automountServiceAccountToken: false
  securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: RuntimeDefault } }
  containers:
    - name: probe
      image: ${image}
      command: [node, -e, 'setInterval(() => {}, 1 << 30)']
      resources: { requests: { cpu: 10m, memory: 32Mi }, limits: { cpu: 100m, memory: 64Mi } }
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: [ALL] } }
`;

  beforeAll(async () => {
    const image = deploymentImage('payments-dev', 'payment');
    must('kubectl', ['create', 'namespace', OUTSIDE]);
    for (const namespace of [OUTSIDE, 'billing-dev']) {
      must('kubectl', ['apply', '-f', '-'], { input: probePod(namespace, image) });
    }
    for (const namespace of [OUTSIDE, 'billing-dev']) {
      kubectl('-n', namespace, 'wait', '--for=condition=Ready', 'pod/lab-probe', '--timeout=120s');
    }
    antaeusPod = runningPod('billing-dev', ANTAEUS_SELECTOR);
    paymentPod = runningPod('payments-dev', PAYMENT_SELECTOR);
  });

  afterAll(() => {
    kubectl(
      '-n',
      'billing-dev',
      'delete',
      'pod',
      'lab-probe',
      '--ignore-not-found',
      '--wait=false',
    );
    kubectl('delete', 'namespace', OUTSIDE, '--ignore-not-found', '--wait=false');
  });

  test("DNS works: Antaeus resolves payment's Service through CoreDNS", () => {
    const address = nodeIn(
      'billing-dev',
      antaeusPod,
      `require('dns').promises.lookup(${JSON.stringify(PAYMENT)}).then((a) => console.log(a.address))`,
    );
    const clusterIp = kubectl(
      '-n',
      'payments-dev',
      'get',
      'service',
      'payment',
      '-o',
      'jsonpath={.spec.clusterIP}',
    );
    expect(address).toBe(clusterIp);
  });

  test('Antaeus reaches payment; a pod of billing-dev that is not Antaeus does not', () => {
    expect(tcpFrom('billing-dev', antaeusPod, PAYMENT, 9000)).toBe('open');
    expect(tcpFrom('billing-dev', 'lab-probe', PAYMENT, 9000)).toMatch(CLOSED);
  });

  test('a pod of another namespace cannot reach payment, can once the payments-dev policies are deleted, and cannot again once Argo CD restores them', async () => {
    expect(tcpFrom(OUTSIDE, 'lab-probe', PAYMENT, 9000)).toMatch(CLOSED);
    // Without the policies that select payment for ingress, nothing isolates it: the probe gets in.
    kubectl(
      '-n',
      'payments-dev',
      'delete',
      'networkpolicy',
      'default-deny-all',
      'payment-allow-from-antaeus',
    );
    await eventually('payment open once its policies are gone', () =>
      tcpFrom(OUTSIDE, 'lab-probe', PAYMENT, 9000) === 'open' ? true : undefined,
    );
    // platform-dev heals itself: the policies come back from Git, and kube-router closes it again.
    await eventually(
      'payment closed once Argo CD restored its policies',
      () => (tcpFrom(OUTSIDE, 'lab-probe', PAYMENT, 9000).startsWith('closed') ? true : undefined),
      180_000,
    );
    kubectl(
      '-n',
      'payments-dev',
      'get',
      'networkpolicy',
      'default-deny-all',
      'payment-allow-from-antaeus',
    );
  });

  test('only payment reaches Redis', () => {
    const redisPod = runningPod('payments-dev', REDIS_SELECTOR);
    expect(redisPod).toBeTruthy();
    expect(tcpFrom('payments-dev', paymentPod, REDIS, 6379)).toBe('open');
    expect(tcpFrom('billing-dev', antaeusPod, REDIS, 6379)).toMatch(CLOSED);
    expect(tcpFrom(OUTSIDE, 'lab-probe', REDIS, 6379)).toMatch(CLOSED);
  });
});
