import { decide, type ChargeDecision } from '../src/charges/decision';
import { MemoryChargeStore } from '../src/ledger/memory-store';
import type { Claim, HeldClaim } from '../src/ledger/store';

let clock = 0;
const store = (maxKeys = 3, maxLedgerEntries = 4) =>
  new MemoryChargeStore({
    ttlMs: 1_000,
    pendingLeaseMs: 100,
    maxKeys,
    maxLedgerEntries,
    now: () => clock,
  });

const decision = (invoiceId?: number): ChargeDecision =>
  decide(
    { customerId: 1, amountMinor: 100, currency: 'USD', ...(invoiceId ? { invoiceId } : {}) },
    1,
    () => 0,
  );

function held(claim: Claim): HeldClaim {
  if (claim.kind !== 'claimed') throw new Error(`expected a claim, got ${claim.kind}`);
  return claim.held;
}

beforeEach(() => {
  clock = 0;
});

describe('in-memory store', () => {
  it('keeps an answered key for its TTL, well past the pending lease', async () => {
    const s = store();
    expect(await s.saveAnswer(decision(), held(await s.claim('k', 'f')))).toBe(true);
    clock = 999;
    expect((await s.claim('k', 'f')).kind).toBe('completed');
    clock = 1_000;
    expect((await s.claim('k', 'f')).kind).toBe('claimed');
  });

  it('lets a claim lapse after the lease, so a dead holder does not block the key', async () => {
    const s = store();
    await s.claim('k', 'f');
    clock = 99;
    expect(await s.claim('k', 'f')).toEqual({ kind: 'pending', fingerprint: 'f' });
    clock = 100;
    expect((await s.claim('k', 'f')).kind).toBe('claimed');
  });

  it('refuses the answer of a lapsed claim, taken over or not, and writes nothing', async () => {
    const s = store();
    const first = held(await s.claim('k', 'f'));
    clock = 100;
    const late = decision(1);
    expect(await s.saveAnswer(late, first)).toBe(false);

    const second = held(await s.claim('k', 'f'));
    expect(await s.saveAnswer(decision(1), first)).toBe(false);
    const kept = decision(1);
    expect(await s.saveAnswer(kept, second)).toBe(true);
    expect(await s.get(late.id)).toBeUndefined();
    expect((await s.listForInvoice(1)).map((d) => d.id)).toEqual([kept.id]);
    expect(await s.claim('k', 'f')).toEqual({
      kind: 'completed',
      fingerprint: 'f',
      decision: kept,
    });
  });

  it('releases a key only for the claim holding it, never an answered one', async () => {
    const s = store();
    const first = held(await s.claim('k', 'f'));
    clock = 100;
    const second = held(await s.claim('k', 'f'));
    await s.release(first);
    expect((await s.claim('k', 'f')).kind).toBe('pending');
    await s.release(second);
    const third = held(await s.claim('k', 'f'));
    await s.saveAnswer(decision(), third);
    await s.release(third);
    expect((await s.claim('k', 'f')).kind).toBe('completed');
  });

  it('keeps at most maxKeys keys, dropping the oldest answer before any claim', async () => {
    const s = store(3);
    await s.saveAnswer(decision(), held(await s.claim('answered', 'f')));
    for (const key of ['a', 'b', 'c']) await s.claim(key, 'f');
    expect((await s.claim('answered', 'f')).kind).toBe('claimed');
    expect((await s.claim('a', 'f')).kind).toBe('claimed');
    expect(await s.claim('c', 'f')).toEqual({ kind: 'pending', fingerprint: 'f' });
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

  it('lists an invoice going from one decision to several and back, oldest first', async () => {
    const s = store(3, 2);
    const ids = (invoiceId: number) => s.listForInvoice(invoiceId).then((l) => l.map((d) => d.id));
    const [first, second, third] = [decision(7), decision(7), decision(7)];
    await s.save(first!);
    expect(await ids(7)).toEqual([first!.id]);
    await s.save(second!);
    expect(await ids(7)).toEqual([first!.id, second!.id]);
    // The ledger holds two: a third evicts the first, then invoice 8's decisions evict the rest.
    await s.save(third!);
    expect(await ids(7)).toEqual([second!.id, third!.id]);
    await s.save(decision(8));
    expect(await ids(7)).toEqual([third!.id]);
    await s.save(decision(8));
    expect(await ids(7)).toEqual([]);
    expect(await ids(8)).toHaveLength(2);
  });
});
