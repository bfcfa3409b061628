import { backoffDelayMs } from '../src/payment-client/backoff';
import {
  PaymentClient,
  retryAfterMs,
  type PaymentClientOptions,
} from '../src/payment-client/client';
import { ScriptedProvider, type Script } from './support/scripted-provider';

const charge = { invoiceId: 7, customerId: 2, amountMinor: 15030, currency: 'USD' as const };

describe('the payment client', () => {
  let provider: ScriptedProvider;
  let client: PaymentClient;

  async function setUp(script: () => Script, options: Partial<PaymentClientOptions> = {}) {
    provider = await ScriptedProvider.start(script);
    client = new PaymentClient({
      endpoint: provider.url,
      timeoutMs: 200,
      maxRetries: 2,
      retryBaseDelayMs: 1,
      retryMaxDelayMs: 5,
      retryAfterMaxMs: 5_000,
      chargeBudgetMs: 60_000,
      maxSockets: 4,
      ...options,
    });
  }

  afterEach(async () => {
    client.close();
    await provider.stop();
  });

  test('sends the charge contract: customer, two-decimal value, currency as a string, invoice, key', async () => {
    await setUp(() => ({ kind: 'decide', approve: true }));
    expect(await client.charge(charge, 'key-1')).toEqual({
      kind: 'approved',
      chargeId: 'ch_key-1',
      requests: 1,
    });
    const [call] = provider.calls;
    expect(call?.rawBody).toBe('{"customer_id":2,"value":150.30,"currency":"USD","invoice_id":7}');
    expect(call?.idempotencyKey).toBe('key-1');
    expect(call?.authorization).toBeUndefined();
  });

  test('sends the bearer token when one is configured', async () => {
    await setUp(() => ({ kind: 'decide', approve: false }), { apiToken: 'token-123' });
    expect(await client.charge(charge, 'key-2')).toMatchObject({
      kind: 'declined',
      reason: 'insufficient_funds',
    });
    expect(provider.calls[0]?.authorization).toBe('Bearer token-123');
  });

  test('keeps connections alive: 20 charges in a row use one connection', async () => {
    await setUp(() => ({ kind: 'decide', approve: true }));
    for (let i = 0; i < 20; i += 1) await client.charge(charge, `key-${i}`);
    expect(new Set(provider.calls.map((c) => c.connection))).toEqual(new Set([1]));
  });

  test('a timeout is retried with the same key, and after the last retry the outcome is unknown', async () => {
    await setUp(() => ({ kind: 'hang' }));
    const started = Date.now();
    const outcome = await client.charge(charge, 'slow-key');
    expect(outcome).toEqual({ kind: 'unknown', error: 'timed out after 200 ms', requests: 3 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(provider.calls.map((c) => c.idempotencyKey)).toEqual([
      'slow-key',
      'slow-key',
      'slow-key',
    ]);
  });

  test('a decline and a 4xx are final: no retry', async () => {
    await setUp(() => ({
      kind: 'status',
      status: 422,
      body: '{"error":{"code":"idempotency_mismatch","message":"key reused"}}',
    }));
    expect(await client.charge(charge, 'k')).toEqual({
      kind: 'rejected',
      status: 422,
      error: 'HTTP 422: key reused',
      requests: 1,
    });
    expect(provider.calls).toHaveLength(1);
  });

  test('a 200 without a boolean result is malformed, and retried', async () => {
    await setUp(() => ({ kind: 'status', status: 200, body: '{"ok":true}' }));
    const outcome = await client.charge(charge, 'k');
    expect(outcome).toMatchObject({ kind: 'unknown', requests: 3 });
    expect((outcome as { error: string }).error).toMatch(
      /malformed answer \(HTTP 200, no boolean "result"\)/,
    );
  });

  describe('a 429 from the provider', () => {
    const rateLimited = (retryAfter?: string): Script => ({
      kind: 'status',
      status: 429,
      body: '{"error":{"code":"rate_limited","message":"slow down"}}',
      headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter },
    });

    test('waits at least Retry-After each time, uses up no retry, and keeps the key', async () => {
      // Three 429s: with maxRetries 2, more than the failures a charge may have.
      await setUp(
        () => (provider.calls.length <= 3 ? rateLimited('1') : { kind: 'decide', approve: true }),
        { random: () => 0 },
      );
      const started = Date.now();
      const outcome = await client.charge(charge, 'limited-key');
      expect(outcome).toEqual({ kind: 'approved', chargeId: 'ch_limited-key', requests: 4 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 1000);
      expect(provider.calls.map((c) => c.idempotencyKey)).toEqual(Array(4).fill('limited-key'));
    });

    test('waits no longer than retryAfterMaxMs however long the provider asks', async () => {
      await setUp(
        () =>
          provider.calls.length <= 1 ? rateLimited('3600') : { kind: 'decide', approve: true },
        { retryAfterMaxMs: 200 },
      );
      const started = Date.now();
      expect(await client.charge(charge, 'k')).toMatchObject({ kind: 'approved', requests: 2 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    test('gives up, outcome unknown, before a retry could outlast the claim', async () => {
      await setUp(() => rateLimited('1'), { random: () => 0, chargeBudgetMs: 1_500 });
      const outcome = await client.charge(charge, 'k');
      // At 0 and after 1 s; a third request would start after 2 s, past the 1.5 s claim.
      expect(outcome).toEqual({
        kind: 'unknown',
        error: "HTTP 429: slow down; not retried: the invoice's claim would run out first",
        requests: 2,
      });
    });

    test('reads Retry-After as seconds or as an HTTP date', () => {
      const now = Date.parse('2026-12-04T10:00:00Z');
      expect(retryAfterMs('2', now)).toBe(2_000);
      expect(retryAfterMs('Fri, 04 Dec 2026 10:00:05 GMT', now)).toBe(5_000);
      expect(retryAfterMs('soon', now)).toBeUndefined();
      expect(retryAfterMs(undefined, now)).toBeUndefined();
    });
  });

  test('a stopping billing run does not retry', async () => {
    await setUp(() => ({ kind: 'status', status: 503 }));
    const stopping = new AbortController();
    stopping.abort();
    const outcome = await client.charge(charge, 'k', stopping.signal);
    expect(outcome).toMatchObject({ kind: 'unknown', requests: 1 });
    expect((outcome as { error: string }).error).toMatch(/not retried: shutting down$/);
  });
});

describe('backoff', () => {
  test('grows exponentially up to the cap, with the jitter below it', () => {
    const top = () => 0.999_999;
    const options = { baseDelayMs: 100, maxDelayMs: 1_000, random: top };
    expect([0, 1, 2, 3, 4, 10].map((retry) => backoffDelayMs(retry, options))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(backoffDelayMs(3, { ...options, random: () => 0 })).toBe(0);
  });
});
