import { execFileSync } from 'node:child_process';
import { repoRoot } from '@internal/test-kit';
import {
  buildImages,
  containerLog,
  docker,
  imagesEnv,
  publishedUrl,
  removeContainers,
  waitForOk,
} from './support/images';

// Both services' images built from this checkout's HEAD by lab/scripts/images.sh (the Dockerfiles
// as committed, less their `# syntax=` line), pushed to the lab's registry on loopback, and run.
const revision = execFileSync('git', ['-C', repoRoot(), 'rev-parse', 'HEAD'], {
  encoding: 'utf8',
}).trim();
const sha = revision.slice(0, 12);
const network = `lab-images-${process.pid}`;
const payment = `lab-payment-${process.pid}`;
const antaeus = `lab-antaeus-${process.pid}`;
const limited = `lab-antaeus-limited-${process.pid}`;
let registry = '';

/** Starts an antaeus container on the test network, payment as its provider; its loopback URL. */
function runAntaeus(name: string, ...options: string[]): string {
  docker(
    'run',
    '-d',
    '--name',
    name,
    '--network',
    network,
    '-p',
    '127.0.0.1::8000',
    ...options,
    '-e',
    'ANTAEUS_AUTH=disabled',
    '-e',
    'PAYMENT_PROVIDER_ENDPOINT=http://payment:9000/v1/charges',
    `${registry}/antaeus:${sha}`,
  );
  return publishedUrl(name, 8000);
}

beforeAll(() => {
  buildImages();
  registry = imagesEnv().LAB_REGISTRY!;
}, 45 * 60_000);

afterAll(() => {
  removeContainers(payment, antaeus, limited);
  try {
    docker('network', 'rm', network);
  } catch {
    // never created
  }
});

test.each(['payment', 'antaeus'])(
  '%s: pushed to the lab registry as <service>:<commit>, built from that commit',
  async (service) => {
    const env = imagesEnv();
    expect(env[`LAB_IMAGE_${service.toUpperCase()}`]).toBe(`${registry}/${service}:${sha}`);
    const response = await fetch(`http://${registry}/v2/${service}/tags/list`);
    expect(response.status).toBe(200);
    const tags = (await response.json()) as { name: string; tags: string[] };
    expect(tags.name).toBe(service);
    expect(tags.tags).toContain(sha);
    const labels = JSON.parse(
      docker(
        'image',
        'inspect',
        '--format',
        '{{json .Config.Labels}}',
        `${registry}/${service}:${sha}`,
      ),
    ) as Record<string, string>;
    expect(labels['org.opencontainers.image.revision']).toBe(revision);
    expect(labels['org.opencontainers.image.title']).toBe(service);
  },
);

test('both images run as the non-root UID 10001 and answer /readyz; antaeus bills through payment', async () => {
  docker('network', 'create', network);
  // From the registry, as a node would pull them.
  for (const service of ['payment', 'antaeus']) docker('pull', `${registry}/${service}:${sha}`);
  docker(
    'run',
    '-d',
    '--name',
    payment,
    '--network',
    network,
    '--network-alias',
    'payment',
    '-p',
    '127.0.0.1::9000',
    '-e',
    'PAYMENT_AUTH=disabled',
    '-e',
    'PAYMENT_SUCCESS_RATE=1',
    `${registry}/payment:${sha}`,
  );
  const antaeusUrl = runAntaeus(antaeus);
  const paymentUrl = publishedUrl(payment, 9000);
  await waitForOk(`${paymentUrl}/readyz`, payment);
  await waitForOk(`${antaeusUrl}/readyz`, antaeus);

  for (const container of [payment, antaeus]) {
    expect(docker('inspect', '--format', '{{.Config.User}}', container)).toBe('10001:10001');
    // The service process itself, as the kernel sees it.
    expect(
      docker(
        'exec',
        container,
        'node',
        '-e',
        'process.stdout.write(`${process.getuid()}:${process.getgid()}`)',
      ),
    ).toBe('10001:10001');
    const processUid = docker(
      'exec',
      container,
      'sh',
      '-c',
      "awk '/^Uid:/ { print $2 }' /proc/1/status",
    );
    expect(processUid).toBe('10001');
  }

  // A billing run over the seed: every pending invoice paid through the payment container.
  const started = await fetch(`${antaeusUrl}/rest/v1/billing-runs`, { method: 'POST' });
  expect(started.status).toBe(202);
  const run = (await started.json()) as { id: string };
  let status = '';
  let body: { status: string; pending: number; paid: number; allPaid: boolean } | undefined;
  for (let i = 0; i < 120 && status !== 'completed'; i++) {
    body = (await (
      await fetch(`${antaeusUrl}/rest/v1/billing-runs/${run.id}`)
    ).json()) as typeof body;
    status = body!.status;
    if (status !== 'completed') await new Promise((resolve) => setTimeout(resolve, 500));
  }
  expect(body).toMatchObject({ status: 'completed', allPaid: true });
  expect(body!.paid).toBeGreaterThan(0);
});

// The Deployment's limits (deploy/teams/billing/antaeus/base/deployment.yaml: 512Mi, one CPU)
// through a billing run over 10,000 invoices with read traffic on the list and one customer
// beside it, which is how better-sqlite3 12 on Node 24 crash-looped (exit 139, `Assertion failed:
// (env) != nullptr` from a Statement destructor during GC; see services/antaeus/Dockerfile).
// Uses the payment container of the test above.
test('antaeus under its 512Mi limit: a 10,000-invoice billing run with read traffic, no crash or restart', async () => {
  const url = runAntaeus(
    limited,
    ...['--memory', '512m', '--memory-swap', '512m', '--cpus', '1', '--restart', 'on-failure'],
    ...['-e', 'SEED_CUSTOMERS=2000', '-e', 'SEED_INVOICES_PER_CUSTOMER=5', '-e', 'LOG_LEVEL=warn'],
  );
  await waitForOk(`${url}/readyz`, limited, 120);

  const started = await fetch(`${url}/rest/v1/billing-runs`, { method: 'POST' });
  expect(started.status).toBe(202);
  const { id } = (await started.json()) as { id: string };
  let run: { status: string; paid: number; allPaid: boolean } | undefined;
  let reads = 0;
  const failures: string[] = [];
  const deadline = Date.now() + 8 * 60_000;
  while (Date.now() < deadline) {
    // Read traffic while the run bills: the whole invoice list and one customer, then the run.
    for (const path of ['/rest/v1/invoices', '/rest/v1/customers/1']) {
      try {
        const response = await fetch(`${url}${path}`);
        await response.arrayBuffer();
        if (response.status === 200) reads++;
        else failures.push(`${path}: HTTP ${response.status}`);
      } catch (error) {
        failures.push(`${path}: ${String(error)}`);
      }
    }
    try {
      run = (await (await fetch(`${url}/rest/v1/billing-runs/${id}`)).json()) as typeof run;
    } catch (error) {
      failures.push(`run: ${String(error)}`);
    }
    if (run?.status === 'completed') break;
  }
  const state = JSON.parse(docker('inspect', '--format', '{{json .State}}', limited)) as {
    Running: boolean;
    OOMKilled: boolean;
  };
  const [restarts, memory] = docker(
    'inspect',
    '--format',
    '{{.RestartCount}} {{.HostConfig.Memory}}',
    limited,
  ).split(' ');
  const log = containerLog(limited);
  expect({
    failures: failures.slice(0, 5),
    running: state.Running,
    oomKilled: state.OOMKilled,
    restarts,
    log: log.includes('Assertion failed') ? log : '',
  }).toEqual({
    failures: [],
    running: true,
    oomKilled: false,
    restarts: '0',
    log: '',
  });
  expect(memory).toBe(String(512 * 1024 * 1024));
  expect(run).toMatchObject({ status: 'completed', allPaid: true, paid: 8000 });
  expect(reads).toBeGreaterThan(10);
});
