import Redis from 'ioredis';
import { startRedis, type RedisServer } from '@internal/test-kit';
import { fingerprint } from '../src/idempotency/charge-once';
import type { ChargeStore } from '../src/ledger/store';
import {
  PATCHED_BODY,
  assertDocumented,
  getJson,
  listen,
  memoryStore,
  postCharge,
  redisStore,
  testApp,
  type LedgerListBody,
  type TestAppOptions,
} from './support';

const TOKEN_A = 'caller-a-token-0123456789abcdef';
const TOKEN_B = 'caller-b-token-0123456789abcdef';
const TOKEN_A_NEXT = 'caller-a-rotated-0123456789abcd';
const NAMED_TOKENS = [`antaeus:${TOKEN_A}`, `antaeus:${TOKEN_A_NEXT}`, `ops:${TOKEN_B}`];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

let redis: RedisServer;
let admin: Redis;
const opened: Array<{ close(): Promise<unknown> }> = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
}, 20_000);

afterAll(async () => {
  await Promise.all(opened.map((o) => o.close()));
  admin?.disconnect();
  await redis?.stop();
});

let prefixes = 0;
function newRedisStore(options: Parameters<typeof redisStore>[1] = {}): ChargeStore {
  const store = redisStore(redis.url, { keyPrefix: `safety${(prefixes += 1)}:`, ...options });
  opened.push(store);
  return store;
}

async function serve(options: TestAppOptions) {
  const app = testApp(options);
  const server = await listen(app.callback);
  opened.push(server);
  return { ...app, url: server.url };
}

const ledgerOf = (url: string, invoiceId: number, token: string) =>
  fetch(`${url}/v1/charges?invoice_id=${invoiceId}`, { headers: bearer(token) }).then(
    (r) => r.json() as Promise<LedgerListBody>,
  );

describe.each<[string, () => ChargeStore]>([
  ['in-memory store', () => memoryStore()],
  ['Redis store', () => newRedisStore()],
])('per-caller scope (M1) with the %s', (_name, newStore) => {
  it("gives each caller its own idempotency keys: B neither gets A's decision nor learns A used the key", async () => {
    const { url } = await serve({ store: newStore(), apiTokens: NAMED_TOKENS });
    const body = { ...PATCHED_BODY, invoice_id: 41 };
    const key = { 'Idempotency-Key': 'invoice-41' };
    const a = await postCharge(`${url}/v1/charges`, body, { ...key, ...bearer(TOKEN_A) });
    const b = await postCharge(`${url}/v1/charges`, body, { ...key, ...bearer(TOKEN_B) });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body.id).not.toBe(a.body.id);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    // Another body under A's key is B's own first use, not a 422 that would reveal A's.
    const bOther = await postCharge(
      `${url}/v1/charges`,
      { ...body, value: 5 },
      { 'Idempotency-Key': 'invoice-41-b', ...bearer(TOKEN_B) },
    );
    expect(bOther.status).toBe(200);
    const bReused = await postCharge(
      `${url}/v1/charges`,
      { ...body, value: 7 },
      { ...key, ...bearer(TOKEN_B) },
    );
    expect(bReused.status).toBe(422);
    // A's own replay still finds A's decision, under either of its tokens (rotation).
    const aAgain = await postCharge(`${url}/v1/charges`, body, {
      ...key,
      ...bearer(TOKEN_A_NEXT),
    });
    expect(aAgain.body).toEqual(a.body);
    expect(aAgain.headers.get('idempotent-replayed')).toBe('true');
  });

  it("keeps each caller's ledger its own: no reading another's charge or invoice", async () => {
    const { url } = await serve({ store: newStore(), apiTokens: NAMED_TOKENS });
    const a = await postCharge(
      `${url}/v1/charges`,
      { ...PATCHED_BODY, invoice_id: 42 },
      bearer(TOKEN_A),
    );
    const byB = await fetch(`${url}/v1/charges/${String(a.body.id)}`, { headers: bearer(TOKEN_B) });
    expect(byB.status).toBe(404);
    const byA = await fetch(`${url}/v1/charges/${String(a.body.id)}`, { headers: bearer(TOKEN_A) });
    expect(byA.status).toBe(200);
    expect((await ledgerOf(url, 42, TOKEN_B)).charges).toEqual([]);
    expect((await ledgerOf(url, 42, TOKEN_A_NEXT)).charges.map((c) => c.id)).toEqual([a.body.id]);
  });

  it('puts every caller in one scope when authentication is disabled', async () => {
    const { url } = await serve({ store: newStore() });
    const key = { 'Idempotency-Key': 'shared-key' };
    const first = await postCharge(`${url}/v1/charges`, PATCHED_BODY, key);
    const second = await postCharge(`${url}/`, PATCHED_BODY, key);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('keys written before scoping (Redis, PAYMENT_LEGACY_CALLER)', () => {
  /** The record an earlier version stored under the unscoped key, answered. */
  async function writeLegacyAnswer(prefix: string, key: string) {
    const decision = {
      id: 'ch_0123456789abcdef0123456789abcdef',
      result: true,
      reason: null,
      customerId: 1,
      invoiceId: null,
      amountMinor: 30199,
      currency: 'USD',
      decidedAt: '2026-11-30T00:00:00.000Z',
    };
    const print = fingerprint({ customerId: 1, amountMinor: 30199, currency: 'USD' });
    await admin.set(
      `${prefix}idempotency:${key}`,
      JSON.stringify({ fingerprint: print, decision }),
    );
    await admin.set(`${prefix}charge:${decision.id}`, JSON.stringify(decision));
    return decision;
  }

  it('replays them for the legacy caller only, so an upgrade never decides a replayed charge again', async () => {
    const prefix = 'legacy1:';
    const old = await writeLegacyAnswer(prefix, 'before-upgrade');
    const store = newRedisStore({ keyPrefix: prefix, legacyCaller: 'antaeus' });
    const { url } = await serve({ store, apiTokens: NAMED_TOKENS });
    const key = { 'Idempotency-Key': 'before-upgrade' };
    const replay = await postCharge(`${url}/v1/charges`, PATCHED_BODY, {
      ...key,
      ...bearer(TOKEN_A),
    });
    expect(replay.body).toEqual({ result: true, id: old.id });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const byId = await fetch(`${url}/v1/charges/${old.id}`, { headers: bearer(TOKEN_A) });
    expect(byId.status).toBe(200);
    // Another caller neither replays nor reads it.
    const other = await postCharge(`${url}/v1/charges`, PATCHED_BODY, {
      ...key,
      ...bearer(TOKEN_B),
    });
    expect(other.body.id).not.toBe(old.id);
    expect((await fetch(`${url}/v1/charges/${old.id}`, { headers: bearer(TOKEN_B) })).status).toBe(
      404,
    );
  });

  it('are not read at all without PAYMENT_LEGACY_CALLER', async () => {
    const prefix = 'legacy2:';
    const old = await writeLegacyAnswer(prefix, 'before-upgrade');
    const { url } = await serve({
      store: newRedisStore({ keyPrefix: prefix }),
      apiTokens: NAMED_TOKENS,
    });
    const res = await postCharge(`${url}/v1/charges`, PATCHED_BODY, {
      'Idempotency-Key': 'before-upgrade',
      ...bearer(TOKEN_A),
    });
    expect(res.body.id).not.toBe(old.id);
  });
});

describe('a full store (M2) refuses new keys and never forgets an answered one', () => {
  it('in memory: 503 store_full naming IDEMPOTENCY_MAX_KEYS, replays still answered, counted as full, readiness 503 until room', async () => {
    const { url, registry } = await serve({ store: memoryStore(5_000, 5) });
    const keyed = (i: number) => ({ 'Idempotency-Key': `key-${i}` });
    const body = (i: number) => ({ ...PATCHED_BODY, invoice_id: 100 + i });
    const answers = [];
    for (let i = 1; i <= 5; i += 1)
      answers.push(await postCharge(`${url}/v1/charges`, body(i), keyed(i)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);

    for (const i of [6, 7]) {
      const refused = await postCharge(`${url}/v1/charges`, body(i), keyed(i));
      expect(refused.status).toBe(503);
      expect(refused.body).toEqual({
        error: { code: 'store_full', message: expect.stringMatching(/IDEMPOTENCY_MAX_KEYS/) },
      });
      expect(refused.headers.get('retry-after')).toBe('60');
      assertDocumented('POST', '/v1/charges', 503, refused.body);
    }
    const replay = await postCharge(`${url}/v1/charges`, body(2), keyed(2));
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual(answers[1]!.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(
      (await getJson<LedgerListBody>(`${url}/v1/charges?invoice_id=102`)).charges,
    ).toHaveLength(1);
    const metrics = await registry.metrics();
    expect(metrics).toContain('charge_store_failures_total{reason="full"} 2');
    expect(metrics).toContain('charge_store_failures_total{reason="unavailable"} 0');

    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      status: 'unavailable',
      failures: { store: expect.stringMatching(/store is full/) },
    });
  });

  it('in Redis at maxmemory (noeviction): 503 store_full, replays answered, readiness goes and comes back (M4)', async () => {
    const prefix = 'full:';
    const { url } = await serve({ store: newRedisStore({ keyPrefix: prefix }) });
    const first = await postCharge(`${url}/v1/charges`, PATCHED_BODY, {
      'Idempotency-Key': 'kept',
    });
    expect(first.status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // Fill a real Redis up to a small maxmemory.
    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', String((await usedMemory()) + 2 * 1024 * 1024));
    const filler = 'x'.repeat(64 * 1024);
    let fillers = 0;
    try {
      for (;;) {
        await admin.set(`filler:${fillers}`, filler);
        fillers += 1;
        if (fillers > 1_000) throw new Error('Redis never reached its maxmemory');
      }
    } catch (err) {
      expect(String(err)).toMatch(/OOM/);
    }
    // A refused write frees its own request buffer, which can leave Redis a few KB under the
    // limit: put the limit just below what the data holds, as a full Redis is.
    await admin.config('SET', 'maxmemory', String((await usedMemory()) - 256 * 1024));
    try {
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({
        status: 'unavailable',
        failures: { store: expect.stringMatching(/maxmemory/) },
      });
      const refused = await postCharge(`${url}/v1/charges`, PATCHED_BODY, {
        'Idempotency-Key': 'new-while-full',
      });
      expect(refused.status).toBe(503);
      expect(refused.body.error).toEqual({
        code: 'store_full',
        message: expect.stringMatching(/maxmemory/),
      });
      const replay = await postCharge(`${url}/v1/charges`, PATCHED_BODY, {
        'Idempotency-Key': 'kept',
      });
      expect(replay.status).toBe(200);
      expect(replay.body).toEqual(first.body);
    } finally {
      for (let i = 0; i < fillers; i += 1) await admin.del(`filler:${i}`);
      await admin.config('SET', 'maxmemory', '0');
    }
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const after = await postCharge(`${url}/v1/charges`, PATCHED_BODY, {
      'Idempotency-Key': 'new-while-full',
    });
    expect(after.status).toBe(200);
  }, 30_000);

  it('reports a read-only Redis replica as not ready, and ready again once it is writable (M4)', async () => {
    const primary = await startRedis();
    const replica = await startRedis();
    const replicaAdmin = new Redis(replica.url);
    try {
      const store = redisStore(replica.url, { keyPrefix: 'ro:' });
      opened.push(store);
      const { url } = await serve({ store });
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      await replicaAdmin.replicaof('127.0.0.1', primary.port);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(JSON.stringify(await ready.json())).toMatch(/READONLY/);
      await replicaAdmin.replicaof('NO', 'ONE');
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    } finally {
      replicaAdmin.disconnect();
      await Promise.all([primary.stop(), replica.stop()]);
    }
  }, 30_000);
});

/** The one-second windows of the limiter that the time since `started` reaches into. */
const secondsTouched = (started: number) => Math.ceil((Date.now() - started) / 1_000) + 1;

describe('per-caller rate limit (M3)', () => {
  const burstOf = (url: string, count: number, token: string, invoiceBase: number) =>
    Promise.all(
      Array.from({ length: count }, (_, i) =>
        postCharge(
          `${url}/v1/charges`,
          { ...PATCHED_BODY, invoice_id: invoiceBase + i },
          bearer(token),
        ),
      ),
    );

  it('answers 429 with Retry-After beyond the rate and burst, deciding nothing, and limits each caller alone', async () => {
    const { url, registry } = await serve({
      store: memoryStore(),
      apiTokens: NAMED_TOKENS,
      rateLimitPerSecond: 2,
      rateLimitBurst: 6,
    });
    const started = Date.now();
    const answers = await burstOf(url, 30, TOKEN_A, 1_000);
    const ok = answers.filter((a) => a.status === 200);
    const limited = answers.filter((a) => a.status === 429);
    expect(ok.length + limited.length).toBe(30);
    // 2 a second plus the burst of 6 (which comes back only after 30 s): 8, and 2 more for
    // every further second the requests took on a loaded machine.
    expect(ok.length).toBeGreaterThanOrEqual(8);
    expect(ok.length).toBeLessThanOrEqual(6 + 2 * secondsTouched(started));
    for (const refused of limited) {
      expect(refused.body.error).toEqual({
        code: 'rate_limited',
        message: expect.stringMatching(/2 charges per second \(burst 6\)/),
      });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      assertDocumented('POST', '/v1/charges', 429, refused.body);
    }
    // Nothing was decided for a refused charge.
    const decided = await Promise.all(
      answers.map((_, i) => ledgerOf(url, 1_000 + i, TOKEN_A).then((l) => l.charges.length)),
    );
    expect(decided.reduce((a, b) => a + b, 0)).toBe(ok.length);
    // Another caller has its own allowance.
    expect((await burstOf(url, 1, TOKEN_B, 2_000))[0]!.status).toBe(200);
    expect(await registry.metrics()).toContain(`charges_rate_limited_total ${limited.length}`);
  });

  it('is shared by replicas through Redis', async () => {
    const limiterRedis = new Redis(redis.url);
    opened.push({ close: async () => limiterRedis.disconnect() });
    const shared = { rateLimitPerSecond: 1, rateLimitBurst: 9, redisKeyPrefix: 'shared-rl:' };
    const replicas = await Promise.all([
      serve({ store: newRedisStore(), apiTokens: NAMED_TOKENS, redis: limiterRedis, ...shared }),
      serve({ store: newRedisStore(), apiTokens: NAMED_TOKENS, redis: limiterRedis, ...shared }),
    ]);
    const started = Date.now();
    const answers = (
      await Promise.all(replicas.map((r, i) => burstOf(r.url, 20, TOKEN_A, 3_000 + i * 100)))
    ).flat();
    const ok = answers.filter((a) => a.status === 200).length;
    // Together: 1 a second plus a burst of 9. Each replica counting alone would let 10 through
    // each, 20 in all.
    expect(ok).toBeGreaterThanOrEqual(10);
    expect(ok).toBeLessThanOrEqual(9 + secondsTouched(started));
    expect(ok).toBeLessThan(20);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(40 - ok);
  });
});

describe('bounded ledger (M3)', () => {
  describe.each<[string, () => ChargeStore]>([
    ['in-memory store', () => memoryStore()],
    ['Redis store', () => newRedisStore({ maxPerInvoice: 4 })],
  ])('with the %s', (name, newStore) => {
    it('pages an invoice with limit and cursor', async () => {
      const { url } = await serve({ store: newStore() });
      const ids: string[] = [];
      for (let i = 0; i < 4; i += 1) {
        ids.push(
          String(
            (await postCharge(`${url}/v1/charges`, { ...PATCHED_BODY, invoice_id: 55 })).body.id,
          ),
        );
      }
      const first = await getJson<LedgerListBody & { next_cursor: string | null }>(
        `${url}/v1/charges?invoice_id=55&limit=3`,
      );
      expect(first.charges.map((c) => c.id)).toEqual(ids.slice(0, 3));
      expect(first.next_cursor).toEqual(expect.any(String));
      assertDocumented('GET', '/v1/charges?invoice_id=55&limit=3', 200, first);
      const second = await getJson<LedgerListBody & { next_cursor: string | null }>(
        `${url}/v1/charges?invoice_id=55&limit=3&cursor=${first.next_cursor}`,
      );
      expect(second.charges.map((c) => c.id)).toEqual(ids.slice(3));
      expect(second.next_cursor).toBeNull();
      const all = await getJson<LedgerListBody>(`${url}/v1/charges?invoice_id=55`);
      expect(all.charges).toHaveLength(4);
    });

    it.each([
      ['limit=0', /limit must be one integer from 1 to 100/],
      ['limit=101', /limit must be one integer from 1 to 100/],
      ['cursor=abc', /cursor must be a next_cursor value/],
    ])('refuses %s with a 400 naming the parameter', async (query, message) => {
      const { url } = await serve({ store: newStore() });
      const res = await fetch(`${url}/v1/charges?invoice_id=1&${query}`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(message);
      assertDocumented('GET', `/v1/charges?invoice_id=1&${query}`, 400, body);
    });

    if (name === 'Redis store') {
      it('refuses a decision beyond LEDGER_MAX_PER_INVOICE with 422, deciding nothing', async () => {
        const { url } = await serve({ store: newStore() });
        for (let i = 0; i < 4; i += 1) {
          expect(
            (await postCharge(`${url}/v1/charges`, { ...PATCHED_BODY, invoice_id: 56 })).status,
          ).toBe(200);
        }
        const refused = await postCharge(
          `${url}/v1/charges`,
          { ...PATCHED_BODY, invoice_id: 56 },
          { 'Idempotency-Key': 'fifth' },
        );
        expect(refused.status).toBe(422);
        expect(refused.body.error).toEqual({
          code: 'invoice_charge_limit_reached',
          message: 'invoice 56 already has 4 charge decisions, the most kept for one invoice',
        });
        assertDocumented('POST', '/v1/charges', 422, refused.body);
        expect(
          (await getJson<LedgerListBody>(`${url}/v1/charges?invoice_id=56`)).charges,
        ).toHaveLength(4);
        // The refused key was given back: it is not stuck pending.
        const again = await postCharge(
          `${url}/v1/charges`,
          { ...PATCHED_BODY, invoice_id: 56 },
          { 'Idempotency-Key': 'fifth' },
        );
        expect(again.status).toBe(422);
      });
    }
  });
});
