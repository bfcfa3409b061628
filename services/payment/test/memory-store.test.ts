import { decide, type ChargeDecision } from '../src/charges/decision';
import { InvoiceChargeLimitReached, StoreFull } from '../src/ledger/errors';
import { MemoryChargeStore } from '../src/ledger/memory-store';
import type { Claim, HeldClaim } from '../src/ledger/store';

let clock = 0;
const CALLER = 'antaeus';
const store = (maxKeys = 3, maxLedgerEntries = 4, maxPerInvoice = 10) =>
  new MemoryChargeStore({
    ttlMs: 1_000,
    pendingLeaseMs: 100,
    maxKeys,
    maxLedgerEntries,
    maxPerInvoice,
    now: () => clock,
  });

const decision = (invoiceId?: number, caller = CALLER): ChargeDecision =>
  decide(
    { customerId: 1, amountMinor: 100, currency: 'USD', ...(invoiceId ? { invoiceId } : {}) },
    caller,
    1,
    () => 0,
  );

const ids = async (s: MemoryChargeStore, invoiceId: number, caller = CALLER) =>
  (await s.listForInvoice(caller, invoiceId, 0, 100)).decisions.map((d) => d.id);

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
    expect(await s.saveAnswer(decision(), held(await s.claim(CALLER, 'k', 'f')))).toBe(true);
    clock = 999;
    expect((await s.claim(CALLER, 'k', 'f')).kind).toBe('completed');
    clock = 1_000;
    expect((await s.claim(CALLER, 'k', 'f')).kind).toBe('claimed');
  });

  it('lets a claim lapse after the lease, so a dead holder does not block the key', async () => {
    const s = store();
    await s.claim(CALLER, 'k', 'f');
    clock = 99;
    expect(await s.claim(CALLER, 'k', 'f')).toEqual({ kind: 'pending', fingerprint: 'f' });
    clock = 100;
    expect((await s.claim(CALLER, 'k', 'f')).kind).toBe('claimed');
  });

  it('refuses the answer of a lapsed claim, taken over or not, and writes nothing', async () => {
    const s = store();
    const first = held(await s.claim(CALLER, 'k', 'f'));
    clock = 100;
    const late = decision(1);
    expect(await s.saveAnswer(late, first)).toBe(false);

    const second = held(await s.claim(CALLER, 'k', 'f'));
    expect(await s.saveAnswer(decision(1), first)).toBe(false);
    const kept = decision(1);
    expect(await s.saveAnswer(kept, second)).toBe(true);
    expect(await s.get(CALLER, late.id)).toBeUndefined();
    expect(await ids(s, 1)).toEqual([kept.id]);
    expect(await s.claim(CALLER, 'k', 'f')).toEqual({
      kind: 'completed',
      fingerprint: 'f',
      decision: kept,
    });
  });

  it('releases a key only for the claim holding it, never an answered one', async () => {
    const s = store();
    const first = held(await s.claim(CALLER, 'k', 'f'));
    clock = 100;
    const second = held(await s.claim(CALLER, 'k', 'f'));
    await s.release(first);
    expect((await s.claim(CALLER, 'k', 'f')).kind).toBe('pending');
    await s.release(second);
    const third = held(await s.claim(CALLER, 'k', 'f'));
    await s.saveAnswer(decision(), third);
    await s.release(third);
    expect((await s.claim(CALLER, 'k', 'f')).kind).toBe('completed');
  });

  it('when full refuses new keys (StoreFull, naming the setting) and replays held ones until their TTL', async () => {
    const s = store(3);
    const answered = decision();
    await s.saveAnswer(answered, held(await s.claim(CALLER, 'answered', 'f')));
    for (const key of ['a', 'b']) await s.claim(CALLER, key, 'f');
    await expect(s.claim(CALLER, 'c', 'f')).rejects.toThrow(StoreFull);
    await expect(s.claim(CALLER, 'c', 'f')).rejects.toThrow(/IDEMPOTENCY_MAX_KEYS/);
    await expect(s.checkWritable()).rejects.toThrow(/store is full/);
    expect(await s.claim(CALLER, 'answered', 'f')).toEqual({
      kind: 'completed',
      fingerprint: 'f',
      decision: answered,
    });
    expect(await s.claim(CALLER, 'a', 'f')).toEqual({ kind: 'pending', fingerprint: 'f' });
    // The claims lapse after their lease: room for a new key, and writable again.
    clock = 100;
    await expect(s.checkWritable()).resolves.toBeUndefined();
    expect((await s.claim(CALLER, 'c', 'f')).kind).toBe('claimed');
    // The answer goes only at its TTL.
    clock = 999;
    expect((await s.claim(CALLER, 'answered', 'f')).kind).toBe('completed');
  });

  it('scopes keys and decisions to their caller', async () => {
    const s = store();
    const mine = decision(5);
    await s.saveAnswer(mine, held(await s.claim(CALLER, 'k', 'f')));
    expect((await s.claim('other', 'k', 'g')).kind).toBe('claimed');
    expect(await s.get('other', mine.id)).toBeUndefined();
    expect(await ids(s, 5, 'other')).toEqual([]);
    expect(await ids(s, 5)).toEqual([mine.id]);
  });

  it('refuses a decision for an invoice that has maxPerInvoice, writing nothing', async () => {
    const s = store(10, 10, 2);
    await s.save(decision(9));
    await s.save(decision(9));
    const third = decision(9);
    await expect(s.save(third)).rejects.toThrow(InvoiceChargeLimitReached);
    const claim = held(await s.claim(CALLER, 'k', 'f'));
    await expect(s.saveAnswer(decision(9), claim)).rejects.toThrow(/invoice 9 already has 2/);
    expect(await s.get(CALLER, third.id)).toBeUndefined();
    expect(await ids(s, 9)).toHaveLength(2);
    // Another caller's invoice 9 is another invoice.
    await expect(s.save(decision(9, 'other'))).resolves.toBeUndefined();
  });

  it('pages an invoice oldest first', async () => {
    const s = store(10, 10);
    const saved = [decision(4), decision(4), decision(4)];
    for (const d of saved) await s.save(d);
    expect(await s.listForInvoice(CALLER, 4, 0, 2)).toEqual({
      decisions: saved.slice(0, 2),
      nextOffset: 2,
    });
    expect(await s.listForInvoice(CALLER, 4, 2, 2)).toEqual({ decisions: saved.slice(2) });
  });

  it('keeps the newest maxLedgerEntries decisions and their invoice index consistent', async () => {
    const s = store(3, 4);
    const saved = [decision(1), decision(2), decision(1), decision(), decision(1), decision(2)];
    for (const d of saved) await s.save(d);
    expect(await s.get(CALLER, saved[0]!.id)).toBeUndefined();
    expect(await s.get(CALLER, saved[1]!.id)).toBeUndefined();
    expect(await s.get(CALLER, saved[5]!.id)).toEqual(saved[5]);
    expect(await ids(s, 1)).toEqual([saved[2]!.id, saved[4]!.id]);
    expect(await ids(s, 2)).toEqual([saved[5]!.id]);
  });

  it('lists an invoice going from one decision to several and back, oldest first', async () => {
    const s = store(3, 2);
    const [first, second, third] = [decision(7), decision(7), decision(7)];
    await s.save(first!);
    expect(await ids(s, 7)).toEqual([first!.id]);
    await s.save(second!);
    expect(await ids(s, 7)).toEqual([first!.id, second!.id]);
    // The ledger holds two: a third evicts the first, then invoice 8's decisions evict the rest.
    await s.save(third!);
    expect(await ids(s, 7)).toEqual([second!.id, third!.id]);
    await s.save(decision(8));
    expect(await ids(s, 7)).toEqual([third!.id]);
    await s.save(decision(8));
    expect(await ids(s, 7)).toEqual([]);
    expect(await ids(s, 8)).toHaveLength(2);
  });
});
