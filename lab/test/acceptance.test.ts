import fs from 'node:fs';
import path from 'node:path';
import { LAB_REPO, commitAndPush, eventually, kubectl, refresh, application } from './support/lab';
import { RUNNING_NAMESPACES, antaeus, approvedCharges, restarts } from './support/node';

// The seed's acceptance on real pods: both services deployed by Argo CD, Antaeus reached from
// outside the cluster through its NodePort, the billing run paying about half the invoices, and
// the provider's own count of approvals matching. At 100,000 invoices, with no pod restarting.

const CUSTOMERS = 100;
const INVOICES_PER_CUSTOMER = 1_000;
const INVOICES = CUSTOMERS * INVOICES_PER_CUSTOMER;
// The seed marks each customer's first invoice PAID, as the original does; the rest are pending.
const PENDING = INVOICES - CUSTOMERS;
const OVERLAY = path.join(LAB_REPO, 'deploy/teams/billing/antaeus/overlays/dev/kustomization.yaml');

interface Invoice {
  id: number;
  status: 'PENDING' | 'PAID';
}

function invoiceCounts(): Record<string, number> {
  const { status, body } = antaeus('GET', '/rest/v1/invoices', 120);
  expect(status).toBe(200);
  const counts: Record<string, number> = {};
  for (const invoice of JSON.parse(body) as Invoice[]) {
    counts[invoice.status] = (counts[invoice.status] ?? 0) + 1;
  }
  return counts;
}

/** Waits until Argo CD has synced antaeus-dev to the lab repository's HEAD and the pod rolled. */
async function rolledOut(head: string) {
  refresh('antaeus-dev');
  await eventually(
    `antaeus-dev synced to ${head.slice(0, 7)}`,
    () => {
      const app = application('antaeus-dev');
      return app.status?.sync?.revision === head && app.status.sync.status === 'Synced'
        ? true
        : undefined;
    },
    240_000,
  );
  kubectl('-n', 'billing-dev', 'rollout', 'status', 'deployment/antaeus', '--timeout=300s');
}

describe('in-cluster acceptance (dev, through the NodePort)', () => {
  const original = fs.readFileSync(OVERLAY, 'utf8');

  afterAll(async () => {
    // Back to the seed's small data set, through Git as well, if a failure left it changed.
    if (fs.readFileSync(OVERLAY, 'utf8') === original) return;
    fs.writeFileSync(OVERLAY, original);
    await rolledOut(commitAndPush('lab test: dev Antaeus back to its default seed'));
  });

  test(`a billing run over ${INVOICES.toLocaleString('en')} invoices pays about half, as many as payment approved, with no restart`, async () => {
    // A change a team makes in Git: dev Antaeus seeds 100 customers with 1,000 invoices each.
    const seeded = original.replace(
      /( {6}- PAYMENT_PROVIDER_ENDPOINT=.*\n)/,
      `$1      - SEED_CUSTOMERS=${CUSTOMERS}\n      - SEED_INVOICES_PER_CUSTOMER=${INVOICES_PER_CUSTOMER}\n`,
    );
    expect(seeded).not.toBe(original);
    fs.writeFileSync(OVERLAY, seeded);
    await rolledOut(commitAndPush(`lab test: dev Antaeus seeds ${INVOICES} invoices`));
    const before = await eventually('the seeded invoices', () => {
      const counts = invoiceCounts();
      return counts.PENDING === PENDING ? counts : undefined;
    });
    expect(before).toEqual({ PAID: CUSTOMERS, PENDING });
    expect(restarts(RUNNING_NAMESPACES)).toEqual([]);
    const approvedBefore = approvedCharges('payments-dev');

    // A run this size takes a minute or more: started in the background (202) and polled, so no
    // HTTP exchange sits idle on the NodePort for its whole length (one that did, under a loaded
    // CI machine, never got its answer). The original's synchronous pay call is the next test.
    const start = antaeus('POST', '/rest/v1/billing-runs');
    expect(start.status).toBe(202);
    const runId = (JSON.parse(start.body) as { id: string }).id;
    const run = await eventually(
      `billing run ${runId} finished`,
      () => {
        const poll = antaeus('GET', `/rest/v1/billing-runs/${runId}`);
        const state = JSON.parse(poll.body) as { status: string; failed: number; paid: number };
        return state.status === 'running' ? undefined : state;
      },
      900_000,
    );
    expect(run).toMatchObject({ status: 'completed', failed: 0 });

    const after = invoiceCounts();
    const paid = (after.PAID ?? 0) - CUSTOMERS;
    expect(after.PAID! + after.PENDING!).toBe(INVOICES);
    // payment approves with probability 0.5: the paid share's standard deviation over 99,900
    // pending invoices is 0.0016, so 0.48-0.52 is more than 12 of them either side.
    expect(paid / PENDING).toBeGreaterThan(0.48);
    expect(paid / PENDING).toBeLessThan(0.52);
    expect(approvedCharges('payments-dev') - approvedBefore).toBe(paid);
    expect(run.paid).toBe(paid);
    expect(restarts(RUNNING_NAMESPACES)).toEqual([]);
  });

  test('the original contract: POST /rest/v1/invoices/pay on the default seed pays what payment approves', async () => {
    fs.writeFileSync(OVERLAY, original);
    await rolledOut(commitAndPush('lab test: dev Antaeus back to its default seed'));
    const before = await eventually('the default seed', () => {
      const counts = invoiceCounts();
      return (counts.PAID ?? 0) + (counts.PENDING ?? 0) > 0 ? counts : undefined;
    });
    const approvedBefore = approvedCharges('payments-dev');
    const pay = antaeus('POST', '/rest/v1/invoices/pay', 120);
    expect(pay.status).toBe(200);
    // The original's answer: a JSON boolean, whether every invoice got paid.
    expect(['true', 'false']).toContain(pay.body);
    const after = invoiceCounts();
    const newlyPaid = (after.PAID ?? 0) - (before.PAID ?? 0);
    expect(approvedCharges('payments-dev') - approvedBefore).toBe(newlyPaid);
    expect(pay.body).toBe(String((after.PENDING ?? 0) === 0));
  });
});
