import BetterSqlite3 from 'better-sqlite3';
import { sleep } from '@internal/test-kit';
import { invariantViolations } from './support/invariant';
import { pendingInvoiceIds, tempDatabaseFile } from './support/harness';
import { getJson, pay, startAntaeus, type RunningService } from './support/processes';
import { ScriptedProvider } from './support/scripted-provider';
import { seededRandom } from './support/seeded-random';

const LEASE_MS = 1_500;

describe('crash recovery', () => {
  let provider: ScriptedProvider;
  let antaeus: RunningService | undefined;

  afterAll(async () => {
    await antaeus?.process.stop();
    await provider?.stop();
  });

  test('Antaeus killed with SIGKILL mid-run, restarted on the same file, run again: never charged twice', async () => {
    const random = seededRandom(2024);
    // Slow answers: when the kill comes, several charges are decided at the provider but unrecorded.
    provider = await ScriptedProvider.start(() => ({
      kind: 'decide',
      approve: random() < 0.5,
      delayMs: 150,
    }));
    const dbFile = tempDatabaseFile();
    const env = {
      DATABASE_PATH: dbFile,
      PAYMENT_PROVIDER_ENDPOINT: provider.url,
      SEED_CUSTOMERS: '10',
      SEED_INVOICES_PER_CUSTOMER: '21',
      BILLING_CONCURRENCY: '8',
      PAYMENT_TIMEOUT_MS: '500',
      PAYMENT_MAX_RETRIES: '1',
      PAYMENT_RETRY_MAX_DELAY_MS: '100',
      BILLING_CLAIM_LEASE_MS: String(LEASE_MS),
    };
    antaeus = await startAntaeus(env);
    const db = new BetterSqlite3(dbFile, { readonly: true });
    const initiallyPending = pendingInvoiceIds(db);
    db.close();
    expect(initiallyPending).toHaveLength(200);

    const interrupted = pay(antaeus.baseUrl).catch((err: Error) => err);
    while (provider.calls.length < 40) await sleep(10);
    await antaeus.process.stop('SIGKILL');
    // The pay call's connection died with the process.
    expect(await interrupted).toMatchObject({ message: 'fetch failed' });
    const decidedBeforeCrash = provider.decisions.size;

    antaeus = await startAntaeus(env);
    // The dead run's claims hold until their lease runs out; then everything is claimable again.
    await sleep(LEASE_MS + 100);
    await pay(antaeus.baseUrl);

    expect(invariantViolations(dbFile, initiallyPending, provider.ledger())).toEqual([]);
    // Charges in flight at the kill were resumed with their keys: the provider replayed them.
    const replayed = provider.calls.filter((c) => c.keyUse > 1);
    expect(replayed.length).toBeGreaterThan(0);
    expect(replayed.length).toBeLessThanOrEqual(decidedBeforeCrash);
    const abandoned = await getJson<Array<{ outcome: string; error: string | null }>>(
      `${antaeus.baseUrl}/rest/v1/invoices/${replayed[0]!.invoiceId}/charges`,
    );
    expect(abandoned[0]).toMatchObject({
      outcome: 'unknown',
      error: expect.stringMatching(/^abandoned/),
    });
    const runs = await getJson<Array<{ status: string; trigger: string }>>(
      `${antaeus.baseUrl}/rest/v1/billing-runs`,
    );
    expect(runs.map((r) => r.status)).toEqual(['completed', 'interrupted']);
  });
});
