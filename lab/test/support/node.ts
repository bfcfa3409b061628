import { BILLING, PAYMENTS, catalogue, ENVIRONMENTS, RELEASE_ENV } from './catalogue';
import { eventually, kubectl, kubectlJson, labEnv, must, run } from './lab';

/** The environments that sync by themselves, and so run on the lab's node. */
export const RUNNING_ENVS = ENVIRONMENTS.filter((env) => env !== RELEASE_ENV);
/**
 * The last environment whose pods the lab runs (staging), with its two namespaces: Antaeus's
 * database there is on a claim that outlives the pod, and Antaeus reaches payment over mutual TLS.
 */
export const STAGE = (() => {
  const env = RUNNING_ENVS[RUNNING_ENVS.length - 1]!;
  return {
    env,
    payments: catalogue.namespace(PAYMENTS, env),
    billing: catalogue.namespace(BILLING, env),
  };
})();
export const RUNNING_NAMESPACES = RUNNING_ENVS.flatMap((env) =>
  catalogue.teamNames().map((team) => catalogue.namespace(team, env)),
);

const env = labEnv();
/** Dev Antaeus from the host, through its NodePort on the node's IP, and its callers' token. */
export const ANTAEUS_URL = env.ANTAEUS_URL!;
export const ANTAEUS_TOKEN = env.ANTAEUS_TOKEN!;

interface Pod {
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec: { containers: { image: string }[] };
  status: {
    phase: string;
    podIP?: string;
    containerStatuses?: { name: string; restartCount: number; ready: boolean }[];
  };
}

export const pods = (namespace: string, selector?: string) =>
  kubectlJson<{ items: Pod[] }>(
    '-n',
    namespace,
    'get',
    'pods',
    ...(selector ? ['-l', selector] : []),
  ).items;

/** Every container restart in the namespaces, as "<namespace>/<pod>/<container>=<count>". */
export function restarts(namespaces: string[]): string[] {
  return namespaces.flatMap((namespace) =>
    pods(namespace).flatMap((pod) =>
      (pod.status.containerStatuses ?? [])
        .filter((container) => container.restartCount > 0)
        .map((c) => `${namespace}/${pod.metadata.name}/${c.name}=${c.restartCount}`),
    ),
  );
}

/** Runs a Node.js script inside a running pod's container (every image here has node). */
export function nodeIn(namespace: string, pod: string, script: string): string {
  return must('kubectl', ['-n', namespace, 'exec', pod, '--', 'node', '-e', script]).trim();
}

/**
 * Whether a TCP connection from inside the pod to host:port opens within 3 s: "open", or
 * "closed <why>". A NetworkPolicy drop shows as a timeout; a refused port as ECONNREFUSED.
 */
export function tcpFrom(namespace: string, pod: string, host: string, port: number): string {
  return nodeIn(
    namespace,
    pod,
    `const s = require('net').connect(${port}, ${JSON.stringify(host)});
     s.setTimeout(3000);
     s.on('connect', () => { console.log('open'); process.exit(0); });
     s.on('timeout', () => { console.log('closed timeout'); process.exit(0); });
     s.on('error', (e) => { console.log('closed ' + e.code); process.exit(0); });`,
  );
}

/**
 * Waits until a rollout has replaced every pod of a selector that `before` names (a terminating
 * pod still shows as Running for a while) and returns the pods that remain.
 */
export async function podsReplaced(
  namespace: string,
  selector: string,
  before: string[],
): Promise<string[]> {
  const after = await eventually(
    `no ${selector} pod of before the rollout left in ${namespace}`,
    () => {
      const names = pods(namespace, selector).map((pod) => pod.metadata.name);
      return names.some((name) => before.includes(name)) ? undefined : names;
    },
    180_000,
  );
  if (after.length === 0) throw new Error(`no ${selector} pod in ${namespace} after the rollout`);
  return after;
}

/** The first running pod of a selector. */
export function runningPod(namespace: string, selector: string): string {
  const pod = pods(namespace, selector).find((p) => p.status.phase === 'Running');
  if (!pod) throw new Error(`no running pod for ${selector} in ${namespace}`);
  return pod.metadata.name;
}

export const PAYMENT_SELECTOR = 'app.kubernetes.io/name=payment,app.kubernetes.io/component=server';
export const ANTAEUS_SELECTOR = 'app.kubernetes.io/name=antaeus,app.kubernetes.io/component=server';
export const REDIS_SELECTOR =
  'app.kubernetes.io/name=redis,app.kubernetes.io/component=idempotency-store';

/**
 * A payment pod's charges_total for one outcome, read from its own /metrics with the first
 * token of its own PAYMENT_API_TOKENS (metrics need a caller's token, as charges do), on its ops
 * port where it has one (its service port then demands a client certificate).
 */
function charges(namespace: string, pod: string, outcome: 'approved' | 'declined'): number {
  const metrics = nodeIn(
    namespace,
    pod,
    `const token = process.env.PAYMENT_API_TOKENS.split(',')[0].replace(/^[a-z][a-z0-9-]{0,39}:/, '');
     const port = process.env.OPS_PORT || process.env.PORT || 9000;
     fetch('http://127.0.0.1:' + port + '/metrics', { headers: { authorization: 'Bearer ' + token } })
       .then((r) => r.text()).then((t) => console.log(t))`,
  );
  const line = new RegExp(`^charges_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(metrics);
  if (!line) throw new Error(`no charges_total{outcome="${outcome}"} in ${pod}'s metrics`);
  return Number(line[1]);
}

/** Charges a payment pod decided, approved or declined. */
export const chargesServed = (namespace: string, pod: string) =>
  charges(namespace, pod, 'approved') + charges(namespace, pod, 'declined');

/** Approved charges summed over every running payment pod of a namespace. */
export function approvedCharges(namespace: string): number {
  return pods(namespace, PAYMENT_SELECTOR)
    .filter((pod) => pod.status.phase === 'Running')
    .reduce((sum, pod) => sum + charges(namespace, pod.metadata.name, 'approved'), 0);
}

/**
 * A GET to payment from the Antaeus pod of `billingNamespace`, at the origin of its
 * PAYMENT_PROVIDER_ENDPOINT, connecting as Antaeus does: over HTTPS with its client certificate
 * and CA when it has them. `withoutCertificate` leaves the client certificate out (the CA stays);
 * `protocol` overrides the endpoint's. Answers the status, or "error <code>" when the connection
 * failed.
 */
export function paymentFromAntaeus(
  billingNamespace: string,
  path: string,
  token: string,
  options: { withoutCertificate?: boolean; protocol?: 'http:' | 'https:' } = {},
): string {
  return nodeIn(
    billingNamespace,
    runningPod(billingNamespace, ANTAEUS_SELECTOR),
    `const fs = require('fs');
     const url = new URL(${JSON.stringify(path)}, process.env.PAYMENT_PROVIDER_ENDPOINT);
     ${options.protocol ? `url.protocol = '${options.protocol}';` : ''}
     const file = (name) => process.env[name] && fs.readFileSync(process.env[name]);
     const tls = url.protocol === 'https:' ? {
       ca: file('PAYMENT_TLS_CA_FILE'),
       ${options.withoutCertificate ? '' : "cert: file('PAYMENT_TLS_CERT_FILE'), key: file('PAYMENT_TLS_KEY_FILE'),"}
     } : {};
     require(url.protocol.slice(0, -1))
       .get(url, { headers: { authorization: 'Bearer ${token}' }, timeout: 5000, ...tls }, (r) => {
         r.resume();
         console.log(r.statusCode);
       })
       .on('timeout', function () { this.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })); })
       .on('error', (e) => console.log('error ' + (e.code || e.message)));`,
  );
}

/** An HTTP call to dev Antaeus from the host, with its callers' token. */
export function antaeus(
  method: string,
  urlPath: string,
  maxSeconds = 60,
): { status: number; body: string } {
  const result = run(
    'curl',
    [
      '-sS',
      '--max-time',
      String(maxSeconds),
      '-X',
      method,
      '-H',
      `Authorization: Bearer ${ANTAEUS_TOKEN}`,
      '-w',
      '\n%{http_code}',
      `${ANTAEUS_URL}${urlPath}`,
    ],
    { timeoutMs: (maxSeconds + 10) * 1000 },
  );
  if (result.status !== 0) throw new Error(`curl ${method} ${urlPath}: ${result.stderr}`);
  const cut = result.stdout.lastIndexOf('\n');
  return { status: Number(result.stdout.slice(cut + 1)), body: result.stdout.slice(0, cut) };
}

export const deploymentImage = (namespace: string, name: string) =>
  kubectl(
    '-n',
    namespace,
    'get',
    'deployment',
    name,
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}',
  );
