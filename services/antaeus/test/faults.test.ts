import { invariantViolations, type InvariantOptions } from './support/invariant';
import { createHarness, type Harness } from './support/harness';
import { seededRandom } from './support/seeded-random';
import { ScriptedProvider, type ChargeCall, type Script } from './support/scripted-provider';

/**
 * Billing against a provider that misbehaves in one chosen way per scenario. After every run the
 * invariant must hold: each PAID invoice has exactly one approval at the provider, each PENDING
 * one none, and every key the provider saw is in the attempt history.
 */
describe('billing against a faulty provider', () => {
  let provider: ScriptedProvider;
  let harness: Harness;

  async function setUp(
    script: (call: ChargeCall) => Script,
    options: Partial<Parameters<typeof createHarness>[0]> = {},
  ) {
    provider = await ScriptedProvider.start(script);
    harness = createHarness({ endpoint: provider.url, timeoutMs: 300, ...options });
  }

  afterEach(async () => {
    harness?.close();
    await provider?.stop();
  });

  function expectInvariant(options: InvariantOptions = {}) {
    const violations = invariantViolations(
      harness.dbFile,
      harness.initiallyPending,
      provider.ledger(),
      options,
    );
    expect(violations).toEqual([]);
  }

  const status = (id: number) =>
    harness.db.prepare('SELECT status FROM invoices WHERE id = ?').pluck().get(id) as string;

  test('declines are recorded, the run goes on, and the next run uses new keys', async () => {
    await setUp(() => ({ kind: 'decide', approve: false }));
    const first = await harness.engine.start('api').finished;
    expect(first).toMatchObject({
      status: 'completed',
      pending: 8,
      attempted: 8,
      declined: 8,
      paid: 0,
      failed: 0,
    });
    expectInvariant();
    const second = await harness.engine.start('api').finished;
    expect(second.declined).toBe(8);
    const keys = harness.store.attemptsOf(2).map((a) => a.idempotencyKey);
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(2);
    expect(harness.store.attemptsOf(2).map((a) => [a.outcome, a.error])).toEqual([
      ['declined', 'insufficient_funds'],
      ['declined', 'insufficient_funds'],
    ]);
    expectInvariant();
  });

  test('503s are retried with the same key until the provider decides', async () => {
    await setUp((call) =>
      call.keyUse <= 2 ? { kind: 'status', status: 503 } : { kind: 'decide', approve: true },
    );
    const run = await harness.engine.start('api').finished;
    expect(run).toMatchObject({ paid: 8, failed: 0 });
    for (const id of harness.initiallyPending) {
      const [attempt] = harness.store.attemptsOf(id);
      expect(attempt).toMatchObject({ outcome: 'approved', requests: 3 });
      expect(
        new Set(provider.calls.filter((c) => c.invoiceId === id).map((c) => c.idempotencyKey)),
      ).toEqual(new Set([attempt?.idempotencyKey]));
    }
    expectInvariant();
  });

  test('a provider down through every retry leaves invoices PENDING, and the next run reuses their keys', async () => {
    await setUp(() => ({ kind: 'status', status: 503 }));
    const failing = await harness.engine.start('api').finished;
    expect(failing).toMatchObject({ status: 'completed', attempted: 8, failed: 8, paid: 0 });
    expect(harness.store.attemptsOf(2)[0]).toMatchObject({ outcome: 'unknown', requests: 4 });
    expect(harness.store.attemptsOf(2)[0]?.error).toMatch(/HTTP 503/);
    expectInvariant();

    provider.script = () => ({ kind: 'decide', approve: true });
    const recovered = await harness.engine.start('api').finished;
    expect(recovered.paid).toBe(8);
    const [lost, replayed] = harness.store.attemptsOf(2);
    expect(replayed?.idempotencyKey).toBe(lost?.idempotencyKey);
    expectInvariant();
  });

  test.each([
    ['the connection is reset', 'reset'],
    ['the answer never comes (timeout)', 'hang'],
    ['the answer is malformed', 'malformed'],
    ['a 503 replaces the answer', 'status-503'],
  ] as const)(
    'an approval is lost once because %s: the retry replays it, one charge only',
    async (_name, deliver) => {
      await setUp((call) => ({
        kind: 'decide',
        approve: true,
        deliver: call.keyUse === 1 ? deliver : 'ok',
      }));
      const run = await harness.engine.start('api').finished;
      expect(run).toMatchObject({ paid: 8, failed: 0 });
      expect(harness.initiallyPending.every((id) => status(id) === 'PAID')).toBe(true);
      expect(harness.store.attemptsOf(2)[0]?.requests).toBe(2);
      expectInvariant();
    },
  );

  test('an approval whose answer is lost on every retry is replayed by the next run, never charged again', async () => {
    await setUp(() => ({ kind: 'decide', approve: true, deliver: 'hang' }), {
      timeoutMs: 100,
      maxRetries: 1,
    });
    const lost = await harness.engine.start('api').finished;
    expect(lost).toMatchObject({ paid: 0, failed: 8 });
    // The provider did charge: until the next run, these invoices are approved but still PENDING.
    expect(provider.approvalsByInvoice().size).toBe(8);

    provider.script = () => ({ kind: 'decide', approve: false });
    const next = await harness.engine.start('api').finished;
    // The new script would decline, but the replayed keys return the original approvals.
    expect(next).toMatchObject({ paid: 8, declined: 0 });
    expectInvariant();
  });

  test('connection resets before any decision are retried', async () => {
    await setUp((call) =>
      call.keyUse === 1 ? { kind: 'reset' } : { kind: 'decide', approve: true },
    );
    expect((await harness.engine.start('api').finished).paid).toBe(8);
    expectInvariant();
  });

  test('slow answers within the timeout are waited for, with bounded concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    await setUp(
      () => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        setTimeout(() => (inFlight -= 1), 150);
        return { kind: 'decide', approve: true, delayMs: 150 };
      },
      { concurrency: 3, customers: 4, invoicesPerCustomer: 4, timeoutMs: 1_000 },
    );
    const run = await harness.engine.start('api').finished;
    expect(run).toMatchObject({ pending: 12, paid: 12 });
    expect(peak).toBe(3);
    expect(provider.calls).toHaveLength(12);
    expectInvariant();
  });

  test('a 409 (same key in flight) is retried; a 400 is not, and the next run uses a new key', async () => {
    await setUp((call) =>
      call.invoiceId % 2 === 0
        ? call.keyUse === 1
          ? { kind: 'status', status: 409 }
          : { kind: 'decide', approve: true }
        : {
            kind: 'status',
            status: 400,
            body: '{"error":{"code":"invalid_request","message":"value is invalid"}}',
          },
    );
    const run = await harness.engine.start('api').finished;
    expect(run).toMatchObject({ paid: 4, failed: 4 });
    const [rejected] = harness.store.attemptsOf(3);
    expect(rejected).toMatchObject({
      outcome: 'rejected',
      requests: 1,
      error: 'HTTP 400: value is invalid',
    });
    await harness.engine.start('api').finished;
    const keys = harness.store.attemptsOf(3).map((a) => a.idempotencyKey);
    expect(new Set(keys).size).toBe(2);
    expectInvariant();
  });

  test('a random mix of every fault over 300 invoices and several runs keeps the invariant (seeded)', async () => {
    const random = seededRandom(42);
    const faults: Array<() => Script> = [
      () => ({ kind: 'decide', approve: true }),
      () => ({ kind: 'decide', approve: false }),
      () => ({ kind: 'decide', approve: true, deliver: 'reset' }),
      () => ({ kind: 'decide', approve: true, deliver: 'hang' }),
      () => ({ kind: 'decide', approve: true, deliver: 'malformed' }),
      () => ({ kind: 'decide', approve: random() < 0.5, delayMs: 30 }),
      () => ({ kind: 'status', status: 503 }),
      () => ({ kind: 'status', status: 500 }),
      () => ({ kind: 'reset' }),
      () => ({ kind: 'hang' }),
    ];
    await setUp(() => faults[Math.floor(random() * faults.length)]!(), {
      customers: 30,
      invoicesPerCustomer: 11,
      concurrency: 16,
      timeoutMs: 80,
      maxRetries: 2,
    });
    expect(harness.initiallyPending).toHaveLength(300);
    for (let run = 0; run < 4; run += 1) {
      const result = await harness.engine.start('api').finished;
      expect(result.attempted + result.skipped).toBe(result.pending);
      expect(result.paid + result.declined + result.failed).toBe(result.attempted);
      expectInvariant({ allowUnresolvedApprovals: true });
    }
    // A healthy provider resolves every unknown outcome by replaying its key.
    provider.script = () => ({ kind: 'decide', approve: false });
    await harness.engine.start('api').finished;
    expectInvariant();
    // Every attempt is in the history: one row per invoice each run reached.
    const attemptRows = harness.db
      .prepare('SELECT COUNT(*) FROM charge_attempts')
      .pluck()
      .get() as number;
    const attemptedInRuns = harness.db
      .prepare('SELECT SUM(attempted) FROM billing_runs')
      .pluck()
      .get() as number;
    expect(attemptRows).toBe(attemptedInRuns);
  });
});
