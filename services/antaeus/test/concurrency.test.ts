import BetterSqlite3 from 'better-sqlite3';
import { invariantViolations } from './support/invariant';
import { pendingInvoiceIds, tempDatabaseFile } from './support/harness';
import { getJson, pay, startAntaeus, type RunningService } from './support/processes';
import { ScriptedProvider } from './support/scripted-provider';
import { seededRandom } from './support/seeded-random';

interface Run {
  pending: number;
  attempted: number;
  paid: number;
  declined: number;
  skipped: number;
}

/**
 * Two Antaeus replicas share one SQLite file, and six pay calls race over 1,025 invoices. Each
 * invoice may be declined by one run and retried by another, but never approved twice.
 */
describe('concurrent billing runs over a shared database', () => {
  let provider: ScriptedProvider;
  const replicas: RunningService[] = [];

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.process.stop()));
    await provider?.stop();
  });

  test('six simultaneous pay calls on two replicas: at most one approval per invoice', async () => {
    const random = seededRandom(7);
    provider = await ScriptedProvider.start(() => ({
      kind: 'decide',
      approve: random() < 0.5,
      delayMs: 2,
    }));
    const dbFile = tempDatabaseFile();
    const env = {
      DATABASE_PATH: dbFile,
      PAYMENT_PROVIDER_ENDPOINT: provider.url,
      SEED_CUSTOMERS: '25',
      SEED_INVOICES_PER_CUSTOMER: '41',
      BILLING_CONCURRENCY: '8',
    };
    replicas.push(await startAntaeus(env));
    replicas.push(await startAntaeus(env));
    const initiallyPending = (() => {
      const db = new BetterSqlite3(dbFile, { readonly: true });
      try {
        return pendingInvoiceIds(db);
      } finally {
        db.close();
      }
    })();
    expect(initiallyPending).toHaveLength(1_000);

    const answers = await Promise.all(
      replicas.flatMap((r) => [pay(r.baseUrl), pay(r.baseUrl), pay(r.baseUrl)]),
    );
    expect(answers.every((a) => typeof a === 'boolean')).toBe(true);

    const runs = await getJson<Run[]>(`${replicas[0]!.baseUrl}/rest/v1/billing-runs`);
    expect(runs).toHaveLength(6);
    for (const run of runs) expect(run.attempted + run.skipped).toBe(run.pending);
    // The runs really overlapped: together they skipped what others held or had paid.
    expect(runs.reduce((sum, r) => sum + r.skipped, 0)).toBeGreaterThan(0);
    const approvals = provider.approvalsByInvoice();
    expect(Math.max(...[...approvals.values()].map((keys) => keys.length))).toBe(1);
    expect(runs.reduce((sum, r) => sum + r.paid, 0)).toBe(approvals.size);
    expect(invariantViolations(dbFile, initiallyPending, provider.ledger())).toEqual([]);
  });
});
