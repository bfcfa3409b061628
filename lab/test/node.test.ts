import {
  applications,
  eventually,
  kubectl,
  kubectlJson,
  must,
  run,
  unhealthyResources,
} from './support/lab';
import { RELEASE_ENV } from './support/catalogue';
import {
  ANTAEUS_SELECTOR,
  PAYMENT_SELECTOR,
  REDIS_SELECTOR,
  RUNNING_NAMESPACES,
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
    // An Ingress counts as Healthy in the lab's Argo CD: no ingress controller builds from what
    // this machine can reach, so none gets an address (scripts/lab/README.md).
    await eventually(
      'every non-prod app Synced and Healthy',
      () => {
        const unwell = applications()
          .filter((app) => !app.metadata.name.endsWith(`-${RELEASE_ENV}`))
          .flatMap((app) => {
            const name = app.metadata.name;
            if (app.status?.sync?.status !== 'Synced')
              return [`${name}: ${app.status?.sync?.status}`];
            return unhealthyResources(name).map((resource) => `${name}: ${resource}`);
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
  // payments-dev's policies, copied into a namespace Argo CD does not manage (below).
  const COPY = 'lab-netpol-copy';
  let antaeusPod: string;
  let paymentPod: string;
  let image: string;

  // A restricted-compliant pod (admitted in a team namespace) running the payment image's node.
  const labPod = (
    namespace: string,
    name: string,
    labels: string,
    script: string,
  ) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${namespace}
  labels: { ${labels} }
spec:
  automountServiceAccountToken: false
  securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: RuntimeDefault } }
  containers:
    - name: main
      image: ${image}
      command: [node, -e, ${JSON.stringify(script)}]
      resources:
        requests: { cpu: 10m, memory: 32Mi, ephemeral-storage: 16Mi }
        limits: { cpu: 100m, memory: 64Mi, ephemeral-storage: 16Mi }
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: [ALL] } }
`;
  // Labelled as nobody in particular; it only runs kubectl exec probes.
  const probe = (namespace: string) =>
    labPod(
      namespace,
      'lab-probe',
      'app.kubernetes.io/name: lab-probe',
      'setInterval(() => {}, 1 << 30)',
    );

  beforeAll(async () => {
    paymentPod = runningPod('payments-dev', PAYMENT_SELECTOR);
    antaeusPod = runningPod('billing-dev', ANTAEUS_SELECTOR);
    // The image a running pod has, so it is in the node's cache whatever Git says right now.
    image = kubectl(
      '-n',
      'payments-dev',
      'get',
      'pod',
      paymentPod,
      '-o',
      'jsonpath={.spec.containers[0].image}',
    );
    must('kubectl', ['create', 'namespace', OUTSIDE]);
    must('kubectl', ['create', 'namespace', COPY]);
    for (const namespace of [OUTSIDE, 'billing-dev']) {
      must('kubectl', ['apply', '-f', '-'], { input: probe(namespace) });
    }
    for (const namespace of [OUTSIDE, 'billing-dev']) {
      kubectl('-n', namespace, 'wait', '--for=condition=Ready', 'pod/lab-probe', '--timeout=120s');
    }
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
    kubectl('delete', 'namespace', OUTSIDE, COPY, '--ignore-not-found', '--wait=false');
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

  test('a pod of another namespace cannot reach payment', () => {
    expect(tcpFrom(OUTSIDE, 'lab-probe', PAYMENT, 9000)).toMatch(CLOSED);
  });

  test("payments-dev's policies shut a payment-labelled pod wherever they apply, and deleting them opens it", async () => {
    // The same policy objects Argo CD keeps in payments-dev, in a namespace it does not manage, so
    // deleting them there is not undone by self-heal before kube-router has acted on it.
    const policies = kubectlJson<{ items: { metadata: { name: string }; spec: unknown }[] }>(
      '-n',
      'payments-dev',
      'get',
      'networkpolicies',
    ).items.map((p) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: p.metadata.name, namespace: COPY },
      spec: p.spec,
    }));
    expect(policies.map((p) => p.metadata.name)).toContain('default-deny-all');
    must('kubectl', ['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: policies }),
    });
    must('kubectl', ['apply', '-f', '-'], {
      input: labPod(
        COPY,
        'lab-payment',
        'app.kubernetes.io/name: payment, app.kubernetes.io/component: server',
        "require('net').createServer((socket) => socket.end('ok')).listen(9000)",
      ),
    });
    kubectl('-n', COPY, 'wait', '--for=condition=Ready', 'pod/lab-payment', '--timeout=120s');
    const ip = kubectl('-n', COPY, 'get', 'pod', 'lab-payment', '-o', 'jsonpath={.status.podIP}');
    expect(tcpFrom(OUTSIDE, 'lab-probe', ip, 9000)).toMatch(CLOSED);
    kubectl('-n', COPY, 'delete', 'networkpolicies', '--all');
    await eventually('the copy open once its policies are gone', () =>
      tcpFrom(OUTSIDE, 'lab-probe', ip, 9000) === 'open' ? true : undefined,
    );
  });

  test("Argo CD puts back payments-dev's policies when they are deleted, and payment stays shut", async () => {
    const names = ['default-deny-all', 'payment-allow-from-antaeus'];
    kubectl('-n', 'payments-dev', 'delete', 'networkpolicy', ...names);
    await eventually('the policies restored by platform-dev', () =>
      run('kubectl', ['-n', 'payments-dev', 'get', 'networkpolicy', ...names]).status === 0
        ? true
        : undefined,
    );
    await eventually('payment shut again', () =>
      CLOSED.test(tcpFrom(OUTSIDE, 'lab-probe', PAYMENT, 9000)) ? true : undefined,
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
