import { decide, type ChargeDecision } from '../src/charges/decision';
import { MemoryChargeStore } from '../src/idempotency/memory-store';

let clock = 0;
const store = (maxKeys = 3, maxLedgerEntries = 4) =>
  new MemoryChargeStore({ ttlMs: 1_000, maxKeys, maxLedgerEntries, now: () => clock });

const decision = (invoiceId?: number): ChargeDecision =>
  decide(
    { customerId: 1, amountMinor: 100, currency: 'USD', ...(invoiceId ? { invoiceId } : {}) },
    1,
    () => 0,
  );

beforeEach(() => {
  clock = 0;
});

describe('in-memory store', () => {
  it('forgets a key after its TTL', async () => {
    const s = store();
    await s.claim('k', 'f');
    await s.save(decision(), { key: 'k', fingerprint: 'f' });
    clock = 999;
    expect((await s.claim('k', 'f')).kind).toBe('completed');
    clock = 1_000;
    expect(await s.claim('k', 'f')).toEqual({ kind: 'claimed' });
  });

  it('keeps at most maxKeys keys, dropping the oldest', async () => {
    const s = store(3);
    for (const key of ['a', 'b', 'c', 'd']) await s.claim(key, 'f');
    expect(await s.claim('a', 'f')).toEqual({ kind: 'claimed' });
    expect(await s.claim('d', 'f')).toEqual({ kind: 'pending', fingerprint: 'f' });
  });

  it('keeps the newest maxLedgerEntries decisions and their invoice index consistent', async () => {
    const s = store(3, 4);
    const saved = [decision(1), decision(2), decision(1), decision(), decision(1), decision(2)];
    for (const d of saved) await s.save(d);
    expect(await s.get(saved[0]!.id)).toBeUndefined();
    expect(await s.get(saved[1]!.id)).toBeUndefined();
    expect(await s.get(saved[5]!.id)).toEqual(saved[5]);
    expect((await s.listForInvoice(1)).map((d) => d.id)).toEqual([saved[2]!.id, saved[4]!.id]);
    expect((await s.listForInvoice(2)).map((d) => d.id)).toEqual([saved[5]!.id]);
  });

  it('releases only a pending key held for the same fingerprint', async () => {
    const s = store();
    await s.claim('k', 'f');
    await s.release('k', 'other');
    expect((await s.claim('k', 'f')).kind).toBe('pending');
    await s.release('k', 'f');
    expect(await s.claim('k', 'f')).toEqual({ kind: 'claimed' });
  });
});
