import BetterSqlite3 from 'better-sqlite3';
import { invariantViolations } from './support/invariant';
import { pendingInvoiceIds, tempDatabaseFile } from './support/harness';
import { getJson, startAntaeus, type RunningService } from './support/processes';
import { ScriptedProvider } from './support/scripted-provider';
import { seededRandom } from './support/seeded-random';

interface Run {
  id: string;
  status: string;
  pending: number;
  attempted: number;
  paid: number;
  declined: number;
  skipped: number;
}

const TOKEN = 'concurrency-test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

async function post(url: string) {
  const res = await fetch(url, { method: 'POST', headers: AUTH });
  return {
    status: res.status,
    headers: res.headers,
    body: JSON.parse(await res.text()) as unknown,
  };
}

/**
 * Two Antaeus replicas share one SQLite file. Only one billing run may be active on it at a
 * time: concurrent pay calls on both replicas join the one run, and an explicit start is
 * refused with 409 while it lasts, unless it asks to join.
 */
describe('one active billing run per database, across processes', () => {
  let provider: ScriptedProvider;
  const replicas: RunningService[] = [];
  let dbFile: string;
  let initiallyPending: number[];

  // Slow enough that every concurrent call arrives while the run is still going.
  let delayMs = 5;

  beforeAll(async () => {
    const random = seededRandom(7);
    provider = await ScriptedProvider.start(() => ({
      kind: 'decide',
      approve: random() < 0.5,
      delayMs,
    }));
    dbFile = tempDatabaseFile();
    const env = {
      DATABASE_PATH: dbFile,
      PAYMENT_PROVIDER_ENDPOINT: provider.url,
      SEED_CUSTOMERS: '25',
      SEED_INVOICES_PER_CUSTOMER: '41',
      BILLING_CONCURRENCY: '8',
      ANTAEUS_API_TOKENS: TOKEN,
    };
    replicas.push(await startAntaeus(env));
    replicas.push(await startAntaeus(env));
    const db = new BetterSqlite3(dbFile, { readonly: true });
    try {
      initiallyPending = pendingInvoiceIds(db);
    } finally {
      db.close();
    }
    expect(initiallyPending).toHaveLength(1_000);
  });

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.process.stop()));
    await provider?.stop();
  });

  test('30 concurrent authenticated pay calls on two replicas create exactly one run', async () => {
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        post(`${replicas[i % 2]!.baseUrl}/rest/v1/invoices/pay`),
      ),
    );
    // Every call got the original's answer: 200 and a JSON boolean, the same one for all.
    expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
    expect(new Set(answers.map((a) => typeof a.body))).toEqual(new Set(['boolean']));
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    const runIds = new Set(answers.map((a) => a.headers.get('x-billing-run-id')));
    expect(runIds.size).toBe(1);
    expect(answers.filter((a) => a.headers.get('x-billing-run-joined') === 'true')).toHaveLength(
      29,
    );

    const runs = await getJson<Run[]>(`${replicas[0]!.baseUrl}/rest/v1/billing-runs`);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ id: [...runIds][0], status: 'completed', pending: 1_000 });
    expect(runs[0]!.attempted).toBe(1_000);
    const approvals = provider.approvalsByInvoice();
    expect(Math.max(...[...approvals.values()].map((keys) => keys.length))).toBe(1);
    expect(runs[0]!.paid).toBe(approvals.size);
    expect(invariantViolations(dbFile, initiallyPending, provider.ledger())).toEqual([]);
  });

  test('POST /rest/v1/billing-runs is refused with 409 naming the active run, unless it joins', async () => {
    // About 500 invoices left at 8 in flight: over a second, for the six calls below.
    delayMs = 20;
    const [first, second] = replicas.map((r) => r.baseUrl) as [string, string];
    const started = await post(`${first}/rest/v1/billing-runs`);
    expect(started.status).toBe(202);
    const id = (started.body as Run).id;

    // From the other process too: the active run lives in the shared database.
    for (const base of [first, second]) {
      const refused = await post(`${base}/rest/v1/billing-runs`);
      expect(refused.status).toBe(409);
      expect(refused.body).toEqual({
        error: {
          code: 'billing_run_active',
          message: expect.stringContaining(id),
          details: { activeRunId: id, location: `/rest/v1/billing-runs/${id}` },
        },
      });
      const joined = await post(`${base}/rest/v1/billing-runs?join=true`);
      expect(joined.status).toBe(200);
      expect((joined.body as Run).id).toBe(id);
      expect(joined.headers.get('location')).toBe(`/rest/v1/billing-runs/${id}`);
    }
    expect((await post(`${second}/rest/v1/billing-runs?join=maybe`)).status).toBe(400);

    // The legacy endpoint joins it as well and answers its result.
    const paid = await post(`${second}/rest/v1/invoices/pay`);
    expect(paid.status).toBe(200);
    expect(paid.headers.get('x-billing-run-id')).toBe(id);
    expect(paid.headers.get('x-billing-run-joined')).toBe('true');
    const run = await getJson<Run>(`${first}/rest/v1/billing-runs/${id}`);
    expect(run.status).toBe('completed');
    expect(paid.body).toBe(run.paid === run.pending);

    // Once it is over, a new run starts.
    const next = await post(`${second}/rest/v1/billing-runs`);
    expect(next.status).toBe(202);
    expect((next.body as Run).id).not.toBe(id);
  });
});
