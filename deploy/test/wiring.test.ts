import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  freePort,
  sleep,
  startProcess,
  startRedis,
  type ManagedProcess,
  type RedisServer,
} from '@internal/test-kit';
import {
  ROOT,
  containerEnv,
  find,
  podTemplate,
  renderEnv,
  type Container,
  type Probe,
} from './support/manifests';

/**
 * Runs the dev environment's two services as local processes with the environment their
 * manifests give them, and checks the wiring end to end. What a cluster would provide is mapped
 * onto this machine: each Service DNS name to the loopback port its pod listens on, each
 * container port to a free loopback port (PORT follows), each volume mount to a temporary
 * directory, each Secret to a test value. PAYMENT_RANDOM_SEED, which the manifests leave unset,
 * makes the approvals reproducible so the assertions on the paid share cannot flake.
 */

const objects = () => renderEnv('dev');

/** Where a Service of the rendered manifests is reachable on this machine. */
const localServices = new Map<string, number>();
const serviceKey = (name: string, namespace: string, port: number) =>
  `${name}.${namespace}:${port}`;

/** Maps a URL naming a cluster Service (short or fully qualified) to its loopback port. */
function toLoopback(url: string, namespace: string): string {
  const parsed = new URL(url);
  const [name, serviceNamespace = namespace] = parsed.hostname.split('.');
  const port = Number(parsed.port);
  const local = localServices.get(serviceKey(name!, serviceNamespace, port));
  if (local === undefined)
    throw new Error(`${url}: no Service ${serviceNamespace}/${name} on port ${port} is running`);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(local);
  return parsed.toString();
}

/** Registers every port of the Service(s) selecting `container`'s pod as served at `localPort`. */
function publish(
  namespace: string,
  serviceName: string,
  container: Container,
  localPort: number,
): void {
  const service = find(objects(), 'Service', serviceName, namespace).spec as {
    ports: { port: number; targetPort: number | string }[];
  };
  for (const { port, targetPort } of service.ports) {
    const containerPort =
      typeof targetPort === 'number'
        ? targetPort
        : container.ports?.find((p) => p.name === targetPort)?.containerPort;
    expect(containerPort).toBe(container.ports?.[0]?.containerPort);
    localServices.set(serviceKey(serviceName, namespace, port), localPort);
  }
}

/** The kubelet's view of an HTTP probe: any status from 200 to 399 passes. */
async function probeOnce(probe: Probe, container: Container, localPort: number): Promise<boolean> {
  const { httpGet } = probe;
  if (!httpGet) throw new Error(`${container.name}: only HTTP probes are exercised here`);
  const declared =
    typeof httpGet.port === 'number'
      ? httpGet.port
      : container.ports?.find((p) => p.name === httpGet.port)?.containerPort;
  expect(declared).toBe(container.ports?.[0]?.containerPort);
  try {
    const response = await fetch(`http://127.0.0.1:${localPort}${httpGet.path}`, {
      signal: AbortSignal.timeout(2_000),
    });
    await response.arrayBuffer();
    return response.status >= 200 && response.status < 400;
  } catch {
    return false;
  }
}

/** Polls a probe at its period until it passes or its failure threshold runs out. */
async function probeUntilPass(
  probe: Probe,
  container: Container,
  localPort: number,
): Promise<void> {
  const attempts = probe.failureThreshold ?? 3;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    if (await probeOnce(probe, container, localPort)) return;
    await sleep((probe.periodSeconds ?? 10) * 1000);
  }
  throw new Error(`${container.name}: ${probe.httpGet?.path} failed ${attempts} times`);
}

interface RunningPod {
  process: ManagedProcess;
  container: Container;
  localPort: number;
  gracePeriodSeconds: number;
}

/** Starts a Deployment's container from services/<name>/dist with the environment its manifest gives it. */
async function startPod(
  namespace: string,
  deployment: string,
  env: (values: Record<string, string>) => Record<string, string>,
  secretValues: Record<string, string>,
  scratch: string,
): Promise<RunningPod> {
  const { spec } = podTemplate(objects(), 'Deployment', deployment);
  const container = spec.containers[0]!;
  const { values, secrets } = containerEnv(objects(), namespace, container);
  for (const [variable, ref] of Object.entries(secrets)) {
    const value = secretValues[`${ref.name}/${ref.key}`];
    if (value === undefined)
      throw new Error(`no test value for Secret ${namespace}/${ref.name} key ${ref.key}`);
    values[variable] = value;
  }
  // A mounted volume is a fresh directory; a variable naming a path under it is rewritten.
  const original = { ...values };
  for (const mount of container.volumeMounts ?? []) {
    const local = fs.mkdtempSync(path.join(scratch, `${deployment}-${mount.name}-`));
    for (const [key, value] of Object.entries(original)) {
      if (value.startsWith(`${mount.mountPath}/`))
        values[key] = path.join(local, value.slice(mount.mountPath.length));
    }
  }
  const localPort = await freePort();
  expect(Number(values.PORT)).toBe(container.ports?.[0]?.containerPort);
  values.PORT = String(localPort);
  const started = await startProcess({
    command: process.execPath,
    args: [path.join(ROOT, 'services', deployment, 'dist/server.js')],
    cwd: scratch,
    env: env(values),
  });
  const pod = {
    process: started,
    container,
    localPort,
    gracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 30,
  };
  try {
    await probeUntilPass(container.startupProbe!, container, localPort);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- ${deployment} output ---\n${started.output()}`);
  }
  return pod;
}

describe('the dev environment wired as its manifests describe it', () => {
  let scratch: string;
  let redis: RedisServer;
  let payment: RunningPod;
  let antaeus: RunningPod;
  const token = randomBytes(24).toString('hex');
  const antaeusToken = randomBytes(24).toString('hex');
  const secrets = {
    'payment-api-tokens/tokens': `antaeus:${token}`,
    'payment-api-token/token': token,
    'antaeus-api-tokens/tokens': antaeusToken,
  };

  beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-wiring-'));
    redis = await startRedis();
    publish(
      'payments-dev',
      'payment-redis',
      podTemplate(objects(), 'StatefulSet', 'payment-redis').spec.containers[0]!,
      redis.port,
    );

    payment = await startPod(
      'payments-dev',
      'payment',
      (values) => ({
        ...values,
        REDIS_URL: toLoopback(values.REDIS_URL!, 'payments-dev'),
        PAYMENT_RANDOM_SEED: 'deploy-wiring',
      }),
      secrets,
      scratch,
    );
    publish('payments-dev', 'payment', payment.container, payment.localPort);

    antaeus = await startPod(
      'billing-dev',
      'antaeus',
      (values) => ({
        ...values,
        PAYMENT_PROVIDER_ENDPOINT: toLoopback(values.PAYMENT_PROVIDER_ENDPOINT!, 'billing-dev'),
      }),
      secrets,
      scratch,
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all([payment?.process.stop(), antaeus?.process.stop()]);
    await redis?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it.each(['payment', 'antaeus'])('%s passes its readiness and liveness probes', async (name) => {
    const pod = name === 'payment' ? payment : antaeus;
    expect(await probeOnce(pod.container.readinessProbe!, pod.container, pod.localPort)).toBe(true);
    expect(await probeOnce(pod.container.livenessProbe!, pod.container, pod.localPort)).toBe(true);
  });

  it('payment uses the Redis its REDIS_URL names', () => {
    expect(payment.process.output()).toMatch(/"store":"redis"/);
  });

  it('payment refuses a charge without the token Antaeus is given', async () => {
    const response = await fetch(`http://127.0.0.1:${payment.localPort}/v1/charges`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer_id: 1, value: 10, currency: 'USD' }),
    });
    expect(response.status).toBe(401);
  });

  it('Antaeus refuses the pay call without one of its tokens, and smoke.sh says which to set', () => {
    const smoke = spawnSync(
      'bash',
      [path.join(ROOT, 'scripts/smoke.sh'), `http://127.0.0.1:${antaeus.localPort}`],
      { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ANTAEUS_TOKEN: '' } },
    );
    expect(smoke.status).toBe(1);
    expect(smoke.stderr).toMatch(
      /POST \S+\/rest\/v1\/invoices\/pay answered HTTP 401: set ANTAEUS_TOKEN/,
    );
  });

  it('passes scripts/smoke.sh: 2 of 10 invoices PAID before, a plausible share after one pay call', () => {
    const smoke = spawnSync(
      'bash',
      [path.join(ROOT, 'scripts/smoke.sh'), `http://127.0.0.1:${antaeus.localPort}`],
      {
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, ANTAEUS_TOKEN: antaeusToken },
      },
    );
    const output = `${smoke.stdout}${smoke.stderr}`;
    if (smoke.status !== 0) {
      throw new Error(
        `smoke.sh exited ${smoke.status}:\n${output}\n--- antaeus ---\n${antaeus.process.output()}\n--- payment ---\n${payment.process.output()}`,
      );
    }
    expect(output).toMatch(/^before: PAID 2, PENDING 8 of 10 invoices$/m);
    // The token reached curl through a file descriptor: smoke.sh never prints it.
    expect(output).not.toContain(antaeusToken);
    const paidAfter = Number(
      /^after: PAID (\d+), PENDING (\d+) of 10 invoices$/m.exec(output)?.[1],
    );
    // 8 charges at 50%: none or all 8 approved is a 1-in-128 event; the seed fixes the draw, so
    // a result outside 3..9 PAID means the wiring or the approval rate is wrong.
    expect(paidAfter).toBeGreaterThanOrEqual(3);
    expect(paidAfter).toBeLessThanOrEqual(9);
  }, 130_000);

  it.each(['antaeus', 'payment'])(
    '%s drains and exits cleanly within its terminationGracePeriodSeconds after SIGTERM',
    async (name) => {
      const pod = name === 'payment' ? payment : antaeus;
      const started = Date.now();
      const code = await pod.process.stop('SIGTERM', pod.gracePeriodSeconds * 1000);
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(pod.gracePeriodSeconds * 1000);
    },
    60_000,
  );
});
