import { SHARED_CALLER } from '@internal/service-kit';
import { startRedis, type RedisServer } from '@internal/test-kit';
import { setTimeout as sleep } from 'node:timers/promises';
import { decide } from '../src/charges/decision';
import { fingerprint } from '../src/idempotency/charge-once';
import { RedisChargeStore } from '../src/ledger/redis-store';
import type { ChargeStore, Claim, HeldClaim } from '../src/ledger/store';
import {
  PATCHED_BODY,
  getJson,
  type LedgerEntryBody,
  type LedgerListBody,
  assertDocumented,
  listen,
  memoryStore,
  postCharge,
  redisStore,
  testApp,
} from './support';

let redis: RedisServer;
const redisStores: RedisChargeStore[] = [];

beforeAll(async () => {
  redis = await startRedis();
}, 20_000);

afterAll(async () => {
  await Promise.all(redisStores.map((s) => s.close()));
  await redis?.stop();
});

/**
 * A factory call is one deployment: the stores it returns are its replicas, sharing one key
 * space (a fresh Redis prefix, or one in-memory store) and one pending lease.
 */
type StoreFactory = (pendingLeaseMs?: number) => () => ChargeStore;

let prefixes = 0;
const redisStoreFactory: StoreFactory = (pendingLeaseMs = 5_000) => {
  const prefix = `test${(prefixes += 1)}:`;
  return () => {
    const store = redisStore(redis.url, { keyPrefix: prefix, pendingLeaseMs });
    redisStores.push(store);
    return store;
  };
};

const sharedMemoryStoreFactory: StoreFactory = (pendingLeaseMs) => {
  const store = memoryStore(pendingLeaseMs);
  return () => store;
};

const PATCHED_PRINT = fingerprint({ customerId: 1, amountMinor: 30199, currency: 'USD' });

function held(claim: Claim): HeldClaim {
  if (claim.kind !== 'claimed') throw new Error(`expected a claim, got ${claim.kind}`);
  return claim.held;
}

const stores: Array<[string, StoreFactory]> = [
  ['in-memory store', sharedMemoryStoreFactory],
  ['Redis store', redisStoreFactory],
];

describe.each(stores)('idempotency with the %s', (_name, factory) => {
  it('replays the stored decision for the same key and body, without a new decision', async () => {
    const newStore = factory();
    const { callback, registry } = testApp({ store: newStore() });
    const server = await listen(callback);
    try {
      const body = { ...PATCHED_BODY, invoice_id: 1 };
      const first = await postCharge(`${server.url}/v1/charges`, body, {
        'Idempotency-Key': 'inv-1-attempt-1',
      });
      // The legacy path and a body with extra fields and 301.990 are the same request.
      const again = await postCharge(
        `${server.url}/`,
        { ...body, value: 301.99, extra: true },
        {
          'Idempotency-Key': 'inv-1-attempt-1',
        },
      );
      expect(first.status).toBe(200);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      const ledger = await getJson<LedgerListBody>(`${server.url}/v1/charges?invoice_id=1`);
      expect(ledger.charges).toHaveLength(1);
      const metrics = await registry.metrics();
      expect(metrics).toContain('idempotent_replays_total 1');
    } finally {
      await server.close();
    }
  });

  it('answers 422 when the key comes back with another body', async () => {
    const { callback } = testApp({ store: factory()() });
    const server = await listen(callback);
    try {
      await postCharge(`${server.url}/v1/charges`, PATCHED_BODY, {
        'Idempotency-Key': 'k-conflict',
      });
      const res = await postCharge(
        `${server.url}/v1/charges`,
        { ...PATCHED_BODY, value: 12 },
        {
          'Idempotency-Key': 'k-conflict',
        },
      );
      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        error: {
          code: 'idempotency_key_reused',
          message: 'Idempotency-Key was already used with a different request body',
        },
      });
      assertDocumented('POST', '/v1/charges', 422, res.body);
    } finally {
      await server.close();
    }
  });

  it('makes exactly one decision for 40 concurrent requests with one key across two replicas', async () => {
    const newStore = factory();
    const replicas = await Promise.all(
      [testApp({ store: newStore(), seed: 'a' }), testApp({ store: newStore(), seed: 'b' })].map(
        (r) => listen(r.callback),
      ),
    );
    try {
      const body = { ...PATCHED_BODY, invoice_id: 77 };
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          postCharge(`${replicas[i % 2]!.url}/v1/charges`, body, {
            'Idempotency-Key': 'concurrent-77',
          }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(40).fill(200));
      expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
      expect(answers.filter((a) => a.headers.get('idempotent-replayed') === null)).toHaveLength(1);
      for (const replica of replicas) {
        const ledger = await getJson<LedgerListBody>(`${replica.url}/v1/charges?invoice_id=77`);
        expect(ledger.charges.map((c) => c.id)).toEqual([answers[0]!.body.id]);
      }
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  it('answers 409 with Retry-After while another request holds the key, and decides once it is released', async () => {
    const store = factory()();
    const { callback } = testApp({ store, idempotencyWaitMs: 150 });
    const server = await listen(callback);
    try {
      // Another replica claimed the key and has not decided yet.
      const claim = held(await store.claim(SHARED_CALLER, 'held-key', PATCHED_PRINT));
      const started = Date.now();
      const busy = await postCharge(`${server.url}/v1/charges`, PATCHED_BODY, {
        'Idempotency-Key': 'held-key',
      });
      expect(busy.status).toBe(409);
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      expect(busy.headers.get('retry-after')).toBe('1');
      assertDocumented('POST', '/v1/charges', 409, busy.body);
      // Another body with the held key is a conflict at once, not a wait.
      const other = await postCharge(
        `${server.url}/v1/charges`,
        { ...PATCHED_BODY, value: 1 },
        {
          'Idempotency-Key': 'held-key',
        },
      );
      expect(other.status).toBe(422);

      await store.release(claim);
      const decided = await postCharge(`${server.url}/v1/charges`, PATCHED_BODY, {
        'Idempotency-Key': 'held-key',
      });
      expect(decided.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('lets the claim of a replica that died before deciding lapse, then decides once', async () => {
    const store = factory(300)();
    const { callback } = testApp({ store, idempotencyWaitMs: 100 });
    const server = await listen(callback);
    try {
      const body = { ...PATCHED_BODY, invoice_id: 31 };
      const print = fingerprint({
        customerId: 1,
        invoiceId: 31,
        amountMinor: 30199,
        currency: 'USD',
      });
      // The dead replica's claim: never answered, never released.
      await store.claim(SHARED_CALLER, 'orphaned', print);
      const headers = { 'Idempotency-Key': 'orphaned' };
      expect((await postCharge(`${server.url}/v1/charges`, body, headers)).status).toBe(409);
      await sleep(300);
      const decided = await postCharge(`${server.url}/v1/charges`, body, headers);
      expect(decided.status).toBe(200);
      expect(decided.headers.get('idempotent-replayed')).toBeNull();
      const replay = await postCharge(`${server.url}/v1/charges`, body, headers);
      expect(replay.body).toEqual(decided.body);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      const ledger = await getJson<LedgerListBody>(`${server.url}/v1/charges?invoice_id=31`);
      expect(ledger.charges.map((c) => c.id)).toEqual([decided.body.id]);
    } finally {
      await server.close();
    }
  });

  it('a request waiting on a stalled claim decides itself once the lease lapses', async () => {
    const store = factory(200)();
    const { callback } = testApp({ store, idempotencyWaitMs: 2_000 });
    const server = await listen(callback);
    try {
      await store.claim(SHARED_CALLER, 'stalled', PATCHED_PRINT);
      const started = Date.now();
      const res = await postCharge(`${server.url}/v1/charges`, PATCHED_BODY, {
        'Idempotency-Key': 'stalled',
      });
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      await server.close();
    }
  });

  it('drops the answer of a holder whose lease lapsed: the decision of the new holder stands', async () => {
    const store = factory(200)();
    const { callback } = testApp({ store });
    const server = await listen(callback);
    try {
      const body = { ...PATCHED_BODY, invoice_id: 32 };
      const print = fingerprint({
        customerId: 1,
        invoiceId: 32,
        amountMinor: 30199,
        currency: 'USD',
      });
      const slow = held(await store.claim(SHARED_CALLER, 'slow', print));
      await sleep(250);
      const decided = await postCharge(`${server.url}/v1/charges`, body, {
        'Idempotency-Key': 'slow',
      });
      expect(decided.status).toBe(200);
      // The slow replica finally saves its own decision: refused, nothing written.
      const late = decide(
        { customerId: 1, invoiceId: 32, amountMinor: 30199, currency: 'USD' },
        SHARED_CALLER,
        1,
        () => 0,
      );
      expect(await store.saveAnswer(late, slow)).toBe(false);
      await store.release(slow);
      expect(await store.get(SHARED_CALLER, late.id)).toBeUndefined();
      const ledger = await getJson<LedgerListBody>(`${server.url}/v1/charges?invoice_id=32`);
      expect(ledger.charges.map((c) => c.id)).toEqual([decided.body.id]);
      const replay = await postCharge(`${server.url}/v1/charges`, body, {
        'Idempotency-Key': 'slow',
      });
      expect(replay.body).toEqual(decided.body);
    } finally {
      await server.close();
    }
  });

  it('keeps an answered key far beyond the pending lease', async () => {
    const store = factory(100)();
    const { callback } = testApp({ store });
    const server = await listen(callback);
    try {
      const headers = { 'Idempotency-Key': 'kept' };
      const first = await postCharge(`${server.url}/v1/charges`, PATCHED_BODY, headers);
      await sleep(250);
      const again = await postCharge(`${server.url}/v1/charges`, PATCHED_BODY, headers);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    } finally {
      await server.close();
    }
  });

  it('never releases a key that already has its answer', async () => {
    const store = factory()();
    const claim = held(await store.claim(SHARED_CALLER, 'answered', PATCHED_PRINT));
    const answer = decide(
      { customerId: 1, amountMinor: 30199, currency: 'USD' },
      SHARED_CALLER,
      1,
      () => 0,
    );
    expect(await store.saveAnswer(answer, claim)).toBe(true);
    await store.release(claim);
    expect(await store.claim(SHARED_CALLER, 'answered', PATCHED_PRINT)).toEqual({
      kind: 'completed',
      fingerprint: PATCHED_PRINT,
      decision: answer,
    });
  });
});

describe('the Redis store', () => {
  it('shares the ledger between replicas: each sees the decisions the other made', async () => {
    const newStore = redisStoreFactory();
    const [a, b] = await Promise.all(
      [testApp({ store: newStore() }), testApp({ store: newStore() })].map((r) =>
        listen(r.callback),
      ),
    );
    try {
      const onA = await postCharge(`${a!.url}/v1/charges`, { ...PATCHED_BODY, invoice_id: 5 });
      const onB = await postCharge(`${b!.url}/`, { ...PATCHED_BODY, invoice_id: 5 });
      const fromB = await getJson<LedgerEntryBody>(`${b!.url}/v1/charges/${onA.body.id}`);
      expect(fromB.id).toBe(onA.body.id);
      const listFromA = await getJson<LedgerListBody>(`${a!.url}/v1/charges?invoice_id=5`);
      expect(listFromA.charges.map((c) => c.id)).toEqual([onA.body.id, onB.body.id]);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  it('reports an unreachable Redis as 503 on charges and readiness, never as a decision, and counts it', async () => {
    const lonely = await startRedis();
    const store = redisStore(lonely.url, { keyPrefix: 'gone:' });
    redisStores.push(store);
    const { callback, registry } = testApp({ store });
    const server = await listen(callback);
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      await lonely.stop();
      const charge = await postCharge(`${server.url}/v1/charges`, PATCHED_BODY);
      expect(charge.status).toBe(503);
      expect(charge.body).toEqual({
        error: {
          code: 'store_unavailable',
          message: 'the decision store is unavailable; retry later',
        },
      });
      assertDocumented('POST', '/v1/charges', 503, charge.body);
      const metrics = await registry.metrics();
      expect(metrics).toContain('charge_store_failures_total{reason="unavailable"} 1');
      expect(metrics).toContain('charges_total{outcome="approved"} 0');
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { failures: Record<string, string> };
      expect(body.failures.store).toEqual(expect.any(String));
      assertDocumented('GET', '/readyz', 503, body);
    } finally {
      await server.close();
    }
  }, 20_000);
});
