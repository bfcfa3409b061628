import { eventually, kubectl, kubectlJson, must, run } from './support/lab';
import { BILLING, ENVIRONMENTS, INTERNAL_INGRESS, PAYMENTS, catalogue } from './support/catalogue';
import {
  ANTAEUS_SELECTOR,
  PAYMENT_SELECTOR,
  REDIS_SELECTOR,
  RUNNING_ENVS,
  nodeIn,
  runningPod,
  tcpFrom,
} from './support/node';

// Every rule of the platform's NetworkPolicies, asked of kube-router on the lab's node with real
// connections between pods: the offline tests (deploy/test/network-and-platform.test.ts) only
// check the policies' structure.

// kube-router rejects what a policy does not allow (ECONNREFUSED) rather than dropping it.
const CLOSED = /^closed (ECONNREFUSED|timeout)$/;

/** The environment that exposes Antaeus to any pod, for the seed's check (deploy/platform/<env>). */
const OPEN_ENV = ENVIRONMENTS[0]!;

const OUTSIDE = 'lab-netpol-probe';
const PUBLIC_INGRESS = 'lab-netpol-public-ingress';
// payments-dev's policies, copied into a namespace Argo CD does not manage (below).
const COPY = 'lab-netpol-copy';

type Labels = Record<string, string>;
interface Probe {
  namespace: string;
  pod: string;
}

/** A restricted-compliant pod (admitted in a team namespace) running node from `image`. */
function labPod(image: string, namespace: string, name: string, labels: Labels, script: string) {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: {
      automountServiceAccountToken: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'main',
          image,
          command: ['node', '-e', script],
          resources: {
            requests: { cpu: '10m', memory: '32Mi', 'ephemeral-storage': '16Mi' },
            limits: { cpu: '100m', memory: '64Mi', 'ephemeral-storage': '16Mi' },
          },
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
        },
      ],
    },
  });
}

const IDLE = 'setInterval(() => {}, 1 << 30)';

function startProbe(image: string, namespace: string, pod: string, labels: Labels): Probe {
  must('kubectl', ['apply', '-f', '-'], { input: labPod(image, namespace, pod, labels, IDLE) });
  return { namespace, pod };
}

const ready = ({ namespace, pod }: Probe) =>
  kubectl('-n', namespace, 'wait', '--for=condition=Ready', `pod/${pod}`, '--timeout=120s');

const reach = (from: Probe, host: string, port: number) =>
  tcpFrom(from.namespace, from.pod, host, port);

const templateLabels = (namespace: string, kind: string, name: string): Labels =>
  kubectlJson<{ spec: { jobTemplate: { spec: { template: { metadata: { labels: Labels } } } } } }>(
    '-n',
    namespace,
    'get',
    kind,
    name,
  ).spec.jobTemplate.spec.template.metadata.labels;

const podLabels = (namespace: string, pod: string): Labels =>
  kubectlJson<{ metadata: { labels: Labels } }>('-n', namespace, 'get', 'pod', pod).metadata.labels;

/** The API server as pods reach it (the node's address): a host outside every pod network. */
function outsideTheCluster(): { host: string; port: number } {
  const [host, port] = kubectl(
    '-n',
    'default',
    'get',
    'endpoints',
    'kubernetes',
    '-o',
    'jsonpath={.subsets[0].addresses[0].ip} {.subsets[0].ports[0].port}',
  ).split(' ');
  return { host: host!, port: Number(port) };
}

let image: string;
let outside: Probe;
const createdNamespaces: string[] = [];

beforeAll(() => {
  const paymentsDev = catalogue.namespace(PAYMENTS, OPEN_ENV);
  const paymentPod = runningPod(paymentsDev, PAYMENT_SELECTOR);
  // The image a running pod has, so it is in the node's cache whatever Git says right now.
  image = kubectl(
    '-n',
    paymentsDev,
    'get',
    'pod',
    paymentPod,
    '-o',
    'jsonpath={.spec.containers[0].image}',
  );
  for (const namespace of [OUTSIDE, COPY, PUBLIC_INGRESS]) {
    // An earlier run's namespaces may still be terminating.
    kubectl('wait', '--for=delete', `namespace/${namespace}`, '--timeout=180s');
    must('kubectl', ['create', 'namespace', namespace]);
    createdNamespaces.push(namespace);
  }
  // The internal controller's namespace is the lab's Traefik's (lab/scripts/traefik.sh): the
  // look-alike probes join it there.
  kubectl('get', 'namespace', INTERNAL_INGRESS.namespace);
  outside = startProbe(image, OUTSIDE, 'lab-probe', { 'app.kubernetes.io/name': 'lab-probe' });
  ready(outside);
});

afterAll(() => {
  // The controller's namespace is the lab's Traefik's: only the probes started in it go.
  const probed = [
    ...RUNNING_ENVS.map((env) => catalogue.namespace(BILLING, env)),
    INTERNAL_INGRESS.namespace,
  ];
  for (const namespace of probed) {
    kubectl(
      '-n',
      namespace,
      'delete',
      'pod',
      '-l',
      'lab-netpol-probe=true',
      '--ignore-not-found',
      '--wait=false',
    );
  }
  if (createdNamespaces.length > 0) {
    kubectl('delete', 'namespace', ...createdNamespaces, '--ignore-not-found', '--wait=false');
  }
});

describe.each(RUNNING_ENVS)('NetworkPolicy in %s, enforced by kube-router', (env) => {
  const payments = catalogue.namespace(PAYMENTS, env);
  const billing = catalogue.namespace(BILLING, env);
  const PAYMENT = `payment.${payments}.svc.cluster.local`;
  const REDIS = `payment-redis.${payments}.svc.cluster.local`;
  const ANTAEUS = `antaeus.${billing}.svc.cluster.local`;
  const probeLabel = { 'lab-netpol-probe': 'true' };
  let paymentPod: Probe;
  let antaeusPod: Probe;
  let nobody: Probe;
  let billingJob: Probe;
  let antaeusLookalike: Probe;
  let controller: Probe;
  let controllerNeighbour: Probe;
  let publicController: Probe;

  beforeAll(() => {
    paymentPod = { namespace: payments, pod: runningPod(payments, PAYMENT_SELECTOR) };
    antaeusPod = { namespace: billing, pod: runningPod(billing, ANTAEUS_SELECTOR) };
    const antaeusLabels = podLabels(billing, antaeusPod.pod);
    const suffix = `-${env}`;
    const probes = [
      (nobody = startProbe(image, billing, 'lab-probe', {
        'app.kubernetes.io/name': 'lab-probe',
        ...probeLabel,
      })),
      (billingJob = startProbe(image, billing, 'lab-billing-job', {
        ...templateLabels(billing, 'cronjob', 'antaeus-monthly-billing'),
        ...probeLabel,
      })),
      (antaeusLookalike = startProbe(image, OUTSIDE, `lab-antaeus${suffix}`, antaeusLabels)),
      (controller = startProbe(image, INTERNAL_INGRESS.namespace, `lab-controller${suffix}`, {
        ...INTERNAL_INGRESS.podLabels,
        ...probeLabel,
      })),
      (controllerNeighbour = startProbe(
        image,
        INTERNAL_INGRESS.namespace,
        `lab-neighbour${suffix}`,
        {
          'app.kubernetes.io/name': 'lab-neighbour',
          ...probeLabel,
        },
      )),
      (publicController = startProbe(
        image,
        PUBLIC_INGRESS,
        `lab-controller${suffix}`,
        INTERNAL_INGRESS.podLabels,
      )),
    ];
    probes.forEach(ready);
  });

  test('payment: only Antaeus of the same environment reaches it', () => {
    expect(reach(antaeusPod, PAYMENT, 9000)).toBe('open');
    for (const other of [nobody, billingJob, antaeusLookalike, controller, publicController]) {
      expect([other, reach(other, PAYMENT, 9000)]).toEqual([other, expect.stringMatching(CLOSED)]);
    }
  });

  test('Redis: only payment reaches it', () => {
    expect(runningPod(payments, REDIS_SELECTOR)).toBeTruthy();
    expect(reach(paymentPod, REDIS, 6379)).toBe('open');
    for (const other of [antaeusPod, billingJob, controller, outside]) {
      expect([other, reach(other, REDIS, 6379)]).toEqual([other, expect.stringMatching(CLOSED)]);
    }
  });

  test('egress: payment reaches only Redis and DNS, Antaeus and its jobs only payment and DNS', () => {
    const { host, port } = outsideTheCluster();
    // The control: a pod no policy selects reaches that address.
    expect(reach(outside, host, port)).toBe('open');
    for (const pod of [paymentPod, antaeusPod, billingJob]) {
      expect([pod, reach(pod, host, port)]).toEqual([pod, expect.stringMatching(CLOSED)]);
    }
    expect(reach(paymentPod, ANTAEUS, 8000)).toMatch(CLOSED);
    expect(reach(antaeusPod, REDIS, 6379)).toMatch(CLOSED);
    for (const pod of [paymentPod, antaeusPod]) {
      const resolved = nodeIn(
        pod.namespace,
        pod.pod,
        `require('dns').promises.lookup(${JSON.stringify(PAYMENT)}).then((a) => console.log(a.address))`,
      );
      expect(resolved).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    }
  });

  test(`Antaeus: its jobs and the internal controller reach it; anyone else only in ${OPEN_ENV}`, () => {
    expect(reach(controller, ANTAEUS, 8000)).toBe('open');
    expect(reach(billingJob, ANTAEUS, 8000)).toBe('open');
    const expected = env === OPEN_ENV ? 'open' : expect.stringMatching(CLOSED);
    for (const other of [publicController, controllerNeighbour, outside]) {
      expect([other, reach(other, ANTAEUS, 8000)]).toEqual([other, expected]);
    }
  });
});

describe('NetworkPolicy objects, removed and restored', () => {
  const payments = catalogue.namespace(PAYMENTS, OPEN_ENV);
  const PAYMENT = `payment.${payments}.svc.cluster.local`;

  test(`${payments}'s policies shut a payment-labelled pod wherever they apply, and deleting them opens it`, async () => {
    // The same policy objects Argo CD keeps in payments-dev, in a namespace it does not manage, so
    // deleting them there is not undone by self-heal before kube-router has acted on it.
    const policies = kubectlJson<{ items: { metadata: { name: string }; spec: unknown }[] }>(
      '-n',
      payments,
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
        image,
        COPY,
        'lab-payment',
        { 'app.kubernetes.io/name': 'payment', 'app.kubernetes.io/component': 'server' },
        "require('net').createServer((socket) => socket.end('ok')).listen(9000)",
      ),
    });
    ready({ namespace: COPY, pod: 'lab-payment' });
    const ip = kubectl('-n', COPY, 'get', 'pod', 'lab-payment', '-o', 'jsonpath={.status.podIP}');
    expect(reach(outside, ip, 9000)).toMatch(CLOSED);
    kubectl('-n', COPY, 'delete', 'networkpolicies', '--all');
    await eventually('the copy open once its policies are gone', () =>
      reach(outside, ip, 9000) === 'open' ? true : undefined,
    );
  });

  test(`Argo CD puts back ${payments}'s policies when they are deleted, and payment stays shut`, async () => {
    const names = ['default-deny-all', 'payment-allow-from-antaeus'];
    kubectl('-n', payments, 'delete', 'networkpolicy', ...names);
    await eventually('the policies restored by the platform app', () =>
      run('kubectl', ['-n', payments, 'get', 'networkpolicy', ...names]).status === 0
        ? true
        : undefined,
    );
    await eventually('payment shut again', () =>
      CLOSED.test(reach(outside, PAYMENT, 9000)) ? true : undefined,
    );
  });
});
