import { execFileSync } from 'node:child_process';
import { repoRoot } from '@internal/test-kit';
import {
  buildImages,
  docker,
  imagesEnv,
  publishedUrl,
  removeContainers,
  waitForOk,
} from './support/images';

// Both services' images built from this checkout's HEAD by scripts/lab/images.sh (the Dockerfiles
// as committed, less their `# syntax=` line), pushed to the lab's registry on loopback, and run.
const revision = execFileSync('git', ['-C', repoRoot(), 'rev-parse', 'HEAD'], {
  encoding: 'utf8',
}).trim();
const sha = revision.slice(0, 12);
const network = `lab-images-${process.pid}`;
const payment = `lab-payment-${process.pid}`;
const antaeus = `lab-antaeus-${process.pid}`;
let registry = '';

beforeAll(() => {
  buildImages();
  registry = imagesEnv().LAB_REGISTRY!;
}, 45 * 60_000);

afterAll(() => {
  removeContainers(payment, antaeus);
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
  docker(
    'run',
    '-d',
    '--name',
    antaeus,
    '--network',
    network,
    '-p',
    '127.0.0.1::8000',
    '-e',
    'ANTAEUS_AUTH=disabled',
    '-e',
    'PAYMENT_PROVIDER_ENDPOINT=http://payment:9000/v1/charges',
    `${registry}/antaeus:${sha}`,
  );
  const paymentUrl = publishedUrl(payment, 9000);
  const antaeusUrl = publishedUrl(antaeus, 8000);
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
