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
    // Back to the seed's small data set, through Git as well.
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

    const pay = antaeus('POST', '/rest/v1/invoices/pay', 900);
    expect(pay.status).toBe(200);
    // The original's answer: whether every invoice got paid. With declines, it is false.
    expect(pay.body).toBe('false');

    const after = invoiceCounts();
    const paid = (after.PAID ?? 0) - CUSTOMERS;
    expect(after.PAID! + after.PENDING!).toBe(INVOICES);
    // payment approves with probability 0.5: the paid share's standard deviation over 99,900
    // pending invoices is 0.0016, so 0.48-0.52 is more than 12 of them either side.
    expect(paid / PENDING).toBeGreaterThan(0.48);
    expect(paid / PENDING).toBeLessThan(0.52);
    expect(approvedCharges('payments-dev') - approvedBefore).toBe(paid);
    expect(restarts(RUNNING_NAMESPACES)).toEqual([]);
  });
});
