import { tempDatabaseFile } from './support/harness';
import { invariantViolations } from './support/invariant';
import {
  getJson,
  pay,
  startAntaeus,
  startPaymentService,
  type RunningService,
} from './support/processes';

interface Ledger {
  charges: Array<{ result: boolean; invoice_id: number }>;
}

/** The value of an unlabelled or labelled Prometheus sample, 0 when absent. */
async function metric(baseUrl: string, sample: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/**
 * The real payment service limiting its caller (RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST) far
 * below what Antaeus's 16 charges in flight ask of it: Antaeus must wait out every 429 and
 * still get exactly one decision per invoice.
 */
describe('billing against a rate-limited payment service', () => {
  const started: RunningService[] = [];

  afterAll(() => Promise.all(started.map((s) => s.process.stop())));

  test('60 pending invoices at 20 charges/s (burst 5): all decided exactly once, after 429s', async () => {
    const payment = await startPaymentService({
      PAYMENT_SUCCESS_RATE: '0.5',
      PAYMENT_RANDOM_SEED: 'rate-limit-test',
      RATE_LIMIT_PER_SECOND: '20',
      RATE_LIMIT_BURST: '5',
    });
    started.push(payment);
    const dbFile = tempDatabaseFile();
    const antaeus = await startAntaeus({
      DATABASE_PATH: dbFile,
      PAYMENT_PROVIDER_ENDPOINT: `${payment.baseUrl}/v1/charges`,
      SEED_CUSTOMERS: '6',
      SEED_INVOICES_PER_CUSTOMER: '11',
      BILLING_CONCURRENCY: '16',
    });
    started.push(antaeus);
    const pending = (
      await getJson<Array<{ id: number; status: string }>>(`${antaeus.baseUrl}/rest/v1/invoices`)
    )
      .filter((invoice) => invoice.status === 'PENDING')
      .map((invoice) => invoice.id);
    expect(pending).toHaveLength(60);

    await pay(antaeus.baseUrl);

    const approvals = new Map<number, number>();
    for (const id of pending) {
      const ledger = await getJson<Ledger>(`${payment.baseUrl}/v1/charges?invoice_id=${id}`);
      // One decision per invoice: a 429 decided nothing, and every retry replayed one key.
      expect({ id, decisions: ledger.charges.length }).toEqual({ id, decisions: 1 });
      approvals.set(id, ledger.charges.filter((c) => c.result).length);
      const attempts = await getJson<Array<{ outcome: string; requests: number }>>(
        `${antaeus.baseUrl}/rest/v1/invoices/${id}/charges`,
      );
      expect(attempts).toHaveLength(1);
      expect(['approved', 'declined']).toContain(attempts[0]?.outcome);
    }
    // The client did meet the limit, on both sides' counts.
    expect(await metric(payment.baseUrl, 'charges_rate_limited_total')).toBeGreaterThan(0);
    expect(
      await metric(
        antaeus.baseUrl,
        'antaeus_payment_request_duration_seconds_count{result="rate_limited"}',
      ),
    ).toBeGreaterThan(0);

    expect(
      invariantViolations(dbFile, pending, { approvals: (id) => approvals.get(id) ?? 0 }),
    ).toEqual([]);
  }, 60_000);
});
