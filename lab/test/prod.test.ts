import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import {
  LAB_REPO,
  application,
  argocd,
  commitAndPush,
  eventually,
  kubectl,
  kubectlJson,
  refresh,
  unhealthyResources,
} from './support/lab';
import {
  ANTAEUS_SELECTOR,
  PAYMENT_SELECTOR,
  approvedCharges,
  nodeIn,
  runningPod,
} from './support/node';

// Prod in the lab: lab:up built both images, bumped dev to them with their registry digest,
// promoted them dev -> staging -> prod with `delivery promote` (the promotion workflow's command)
// and synced prod by hand, as a release-group member may at any hour. Prod must run the very
// image that was built and promoted, and bill through prod payment.

const PROD = [
  { team: 'payments', service: 'payment', namespace: 'payments-prod', selector: PAYMENT_SELECTOR },
  { team: 'billing', service: 'antaeus', namespace: 'billing-prod', selector: ANTAEUS_SELECTOR },
];

const overlayPath = (team: string, service: string) =>
  path.join(LAB_REPO, 'deploy/teams', team, service, 'overlays/prod/kustomization.yaml');

/** The prod overlay's images: entry of the service, as promote.sh wrote it. */
function prodImage(team: string, service: string): { newTag: string; digest?: string } {
  const overlay = YAML.parse(fs.readFileSync(overlayPath(team, service), 'utf8')) as {
    images: { name: string; newTag: string; digest?: string }[];
  };
  const entry = overlay.images.find((image) => image.name.endsWith(`/${service}`));
  if (!entry) throw new Error(`no images: entry for ${service} in its prod overlay`);
  return entry;
}

interface Pod {
  metadata: { name: string };
  spec: { containers: { name: string; image: string }[] };
  status: {
    phase: string;
    containerStatuses?: { name: string; imageID: string; ready: boolean }[];
  };
}

/** Synced by a finished operation, and every resource Healthy. */
function prodAppState(app: string): string[] {
  const status = application(app).status;
  return [
    `sync ${status?.sync?.status}, operation ${status?.operationState?.phase}, health ${status?.health?.status}`,
    ...unhealthyResources(app),
  ];
}

describe('prod runs what was promoted to it', () => {
  test.each(PROD.map(({ service }) => `${service}-prod`))(
    '%s is Synced and Healthy',
    async (app) => {
      await eventually(`${app} synced and healthy`, () => {
        const state = prodAppState(app);
        if (state.join() !== 'sync Synced, operation Succeeded, health Healthy')
          throw new Error(state.join('; '));
        return true;
      });
    },
  );

  test.each(PROD)(
    '$namespace: every $service pod runs the digest in the prod overlay',
    ({ team, service, namespace, selector }) => {
      const { newTag, digest } = prodImage(team, service);
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const pods = kubectlJson<{ items: Pod[] }>(
        '-n',
        namespace,
        'get',
        'pods',
        '-l',
        selector,
      ).items;
      expect(pods.length).toBeGreaterThan(0);
      for (const pod of pods) {
        const container = pod.spec.containers.find((c) => c.name === service)!;
        const status = pod.status.containerStatuses?.find((c) => c.name === service);
        // What was asked for (tag and digest, as kustomize renders it) and what the node pulled.
        expect(container.image).toMatch(new RegExp(`/${service}:${newTag}@${digest}$`));
        expect({ pod: pod.metadata.name, phase: pod.status.phase, ready: status?.ready }).toEqual({
          pod: pod.metadata.name,
          phase: 'Running',
          ready: true,
        });
        expect(status?.imageID).toMatch(new RegExp(`/${service}@${digest}$`));
      }
    },
  );
});

describe('a billing run in prod', () => {
  const file = overlayPath('billing', 'antaeus');
  const original = fs.readFileSync(file, 'utf8');
  const CUSTOMERS = 100;
  const INVOICES_PER_CUSTOMER = 10;
  const INVOICES = CUSTOMERS * INVOICES_PER_CUSTOMER;
  const PENDING = INVOICES - CUSTOMERS;

  /**
   * Commits and pushes the overlay, then syncs antaeus-prod by hand, which the project allows at
   * any hour, with prune: prod's automated sync never prunes, so the ConfigMap the change replaces
   * goes only this way (inside the window Argo CD may start a sync itself: that one is waited for).
   */
  async function deployProd(content: string, message: string) {
    fs.writeFileSync(file, content);
    const head = commitAndPush(message);
    refresh('antaeus-prod');
    await eventually(
      `antaeus-prod synced to ${head.slice(0, 7)}`,
      () => {
        const status = application('antaeus-prod').status;
        if (status?.operationState?.phase === 'Running') return undefined;
        if (
          status?.sync?.status === 'Synced' &&
          status.operationState?.syncResult?.revision === head
        )
          return true;
        const sync = argocd(['app', 'sync', 'antaeus-prod', '--async', '--prune']);
        if (sync.status !== 0 && !/another operation is already in progress/.test(sync.stderr))
          throw new Error(`argocd app sync antaeus-prod: ${sync.stderr}`);
        return undefined;
      },
      300_000,
    );
    kubectl('-n', 'billing-prod', 'rollout', 'status', 'deployment/antaeus', '--timeout=300s');
  }

  afterAll(async () => {
    if (fs.readFileSync(file, 'utf8') !== original) {
      await deployProd(original, 'lab test: prod Antaeus back to its configuration');
    }
  });

  /** Antaeus's own API from inside its prod pod, with a caller token of prod's Secret. */
  function prodAntaeus(method: string, urlPath: string): { status: number; body: string } {
    const token = Buffer.from(
      kubectl(
        '-n',
        'billing-prod',
        'get',
        'secret',
        'antaeus-api-tokens',
        '-o',
        'jsonpath={.data.tokens}',
      ),
      'base64',
    )
      .toString()
      .split(',')[0]!;
    const pod = runningPod('billing-prod', ANTAEUS_SELECTOR);
    const out = nodeIn(
      'billing-prod',
      pod,
      `fetch('http://127.0.0.1:8000${urlPath}', { method: '${method}', headers: { authorization: 'Bearer ${token}' } })
         .then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })))`,
    );
    return JSON.parse(out) as { status: number; body: string };
  }

  function invoiceCounts(): Record<string, number> {
    const { status, body } = prodAntaeus('GET', '/rest/v1/invoices');
    expect(status).toBe(200);
    const counts: Record<string, number> = {};
    for (const invoice of JSON.parse(body) as { status: string }[]) {
      counts[invoice.status] = (counts[invoice.status] ?? 0) + 1;
    }
    return counts;
  }

  test(`pays about half of ${INVOICES.toLocaleString('en')} invoices through prod payment`, async () => {
    // A prod change through Git: a seed large enough to measure "about half" on, on a fresh
    // database (prod's SQLite volume keeps whatever it had otherwise).
    const seeded = original.replace(
      /( {6}- PAYMENT_PROVIDER_ENDPOINT=.*\n)/,
      `$1      - SEED_CUSTOMERS=${CUSTOMERS}\n      - SEED_INVOICES_PER_CUSTOMER=${INVOICES_PER_CUSTOMER}\n      - DATABASE_RESET_ON_START=1\n`,
    );
    expect(seeded).not.toBe(original);
    await deployProd(seeded, `lab test: prod Antaeus seeds ${INVOICES} invoices`);
    expect(
      await eventually('the seeded prod invoices', () => {
        const counts = invoiceCounts();
        return counts.PENDING === PENDING ? counts : undefined;
      }),
    ).toEqual({ PAID: CUSTOMERS, PENDING });
    const approvedBefore = approvedCharges('payments-prod');

    const start = prodAntaeus('POST', '/rest/v1/billing-runs');
    expect(start.status).toBe(202);
    const runId = (JSON.parse(start.body) as { id: string }).id;
    const run = await eventually(`prod billing run ${runId} finished`, () => {
      const state = JSON.parse(prodAntaeus('GET', `/rest/v1/billing-runs/${runId}`).body) as {
        status: string;
        failed: number;
        paid: number;
      };
      return state.status === 'running' ? undefined : state;
    });
    expect(run).toMatchObject({ status: 'completed', failed: 0 });

    const after = invoiceCounts();
    const paid = (after.PAID ?? 0) - CUSTOMERS;
    expect(after.PAID! + after.PENDING!).toBe(INVOICES);
    // payment approves with probability 0.5: over 900 invoices the paid share's standard
    // deviation is 0.017, so 0.4-0.6 is six of them either side.
    expect(paid / PENDING).toBeGreaterThan(0.4);
    expect(paid / PENDING).toBeLessThan(0.6);
    expect(run.paid).toBe(paid);
    expect(approvedCharges('payments-prod') - approvedBefore).toBe(paid);
  });
});
