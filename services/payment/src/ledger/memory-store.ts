import type { ChargeDecision } from '../charges/decision';
import { InvoiceChargeLimitReached, StoreFull } from './errors';
import { FifoMap } from './fifo-map';
import type { ChargeStore, Claim, HeldClaim, InvoicePage } from './store';

interface PendingKey {
  fingerprint: string;
  token: string;
  expiresAt: number;
}

interface AnsweredKey {
  fingerprint: string;
  decision: ChargeDecision;
  expiresAt: number;
}

export interface MemoryStoreOptions {
  /** How long an answered key is kept. */
  ttlMs: number;
  /** How long a claim lasts without an answer. */
  pendingLeaseMs: number;
  maxKeys: number;
  maxLedgerEntries: number;
  /** The most decisions kept for one invoice of one caller. */
  maxPerInvoice: number;
  now?: () => number;
}

/** Keys of one caller's scope; the separator cannot occur in a caller name. */
const scoped = (caller: string, id: string | number) => `${caller}\n${id}`;

/**
 * The single-replica store. Claims lapse after `pendingLeaseMs`, answered keys after `ttlMs`,
 * and no key goes earlier: with `maxKeys` unexpired keys held, a claim on a new key throws
 * StoreFull while replays of held keys keep working. The ledger keeps the newest
 * `maxLedgerEntries` decisions (a history view: idempotency never reads it), at most
 * `maxPerInvoice` per invoice. Every method runs without awaiting, so a claim is atomic within
 * the process.
 */
export class MemoryChargeStore implements ChargeStore {
  // Two maps with one constant lifetime each keep insertion order equal to expiry order.
  private readonly pending = new FifoMap<PendingKey>();
  private readonly answered = new FifoMap<AnsweredKey>();
  private readonly ledger = new FifoMap<ChargeDecision>();
  // Each invoice's decisions in insertion order, so oldest first. Almost every invoice has
  // one decision, kept as it is: a Set per invoice was the largest allocation of a charge.
  private readonly byInvoice = new Map<string, ChargeDecision | Set<ChargeDecision>>();
  private readonly now: () => number;
  private claims = 0;

  constructor(private readonly options: MemoryStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  async claim(caller: string, key: string, fingerprint: string): Promise<Claim> {
    const now = this.now();
    this.dropExpiredKeys(now);
    const id = scoped(caller, key);
    const answer = this.answered.get(id);
    if (answer)
      return { kind: 'completed', fingerprint: answer.fingerprint, decision: answer.decision };
    const holder = this.pending.get(id);
    if (holder) return { kind: 'pending', fingerprint: holder.fingerprint };
    if (this.isFull()) throw this.full();
    const token = String((this.claims += 1));
    this.pending.set(id, { fingerprint, token, expiresAt: now + this.options.pendingLeaseMs });
    return { kind: 'claimed', held: { caller, key, fingerprint, token } };
  }

  async release(held: HeldClaim): Promise<void> {
    if (this.holds(held)) this.pending.delete(scoped(held.caller, held.key));
  }

  async save(decision: ChargeDecision): Promise<void> {
    this.requireInvoiceRoom(decision);
    this.record(decision);
  }

  async saveAnswer(decision: ChargeDecision, held: HeldClaim): Promise<boolean> {
    const now = this.now();
    const id = scoped(held.caller, held.key);
    if (!this.holds(held) || this.pending.get(id)!.expiresAt <= now) return false;
    this.requireInvoiceRoom(decision);
    this.pending.delete(id);
    this.answered.set(id, {
      fingerprint: held.fingerprint,
      decision,
      expiresAt: now + this.options.ttlMs,
    });
    this.record(decision);
    return true;
  }

  async get(caller: string, chargeId: string): Promise<ChargeDecision | undefined> {
    const decision = this.ledger.get(chargeId);
    return decision?.caller === caller ? decision : undefined;
  }

  async listForInvoice(
    caller: string,
    invoiceId: number,
    offset: number,
    limit: number,
  ): Promise<InvoicePage> {
    const all = this.decisionsOf(scoped(caller, invoiceId));
    const end = offset + limit;
    return { decisions: all.slice(offset, end), nextOffset: end < all.length ? end : undefined };
  }

  async checkWritable(): Promise<void> {
    this.dropExpiredKeys(this.now());
    if (this.isFull()) throw this.full();
  }

  async close(): Promise<void> {}

  private dropExpiredKeys(now: number): void {
    dropExpired(this.pending, now);
    dropExpired(this.answered, now);
  }

  private isFull(): boolean {
    return this.pending.size + this.answered.size >= this.options.maxKeys;
  }

  private full(): StoreFull {
    return new StoreFull(
      `${this.options.maxKeys} idempotency keys are held until their TTL (IDEMPOTENCY_MAX_KEYS); raise IDEMPOTENCY_MAX_KEYS, shorten IDEMPOTENCY_TTL_SECONDS, or set REDIS_URL`,
    );
  }

  private holds(held: HeldClaim): boolean {
    return this.pending.get(scoped(held.caller, held.key))?.token === held.token;
  }

  private decisionsOf(invoice: string): ChargeDecision[] {
    const decisions = this.byInvoice.get(invoice);
    if (decisions === undefined) return [];
    return decisions instanceof Set ? [...decisions] : [decisions];
  }

  private requireInvoiceRoom(decision: ChargeDecision): void {
    if (decision.invoiceId === null) return;
    const decisions = this.byInvoice.get(scoped(decision.caller, decision.invoiceId));
    const count = decisions === undefined ? 0 : decisions instanceof Set ? decisions.size : 1;
    if (count >= this.options.maxPerInvoice) {
      throw new InvoiceChargeLimitReached(decision.invoiceId, this.options.maxPerInvoice);
    }
  }

  private record(decision: ChargeDecision): void {
    this.ledger.set(decision.id, decision);
    if (decision.invoiceId !== null) {
      const invoice = scoped(decision.caller, decision.invoiceId);
      const decisions = this.byInvoice.get(invoice);
      if (decisions === undefined) this.byInvoice.set(invoice, decision);
      else if (decisions instanceof Set) decisions.add(decision);
      else this.byInvoice.set(invoice, new Set([decisions, decision]));
    }
    while (this.ledger.size > this.options.maxLedgerEntries) this.evictOldestDecision();
  }

  private evictOldestDecision(): void {
    const [, decision] = this.ledger.shift()!;
    if (decision.invoiceId === null) return;
    const invoice = scoped(decision.caller, decision.invoiceId);
    const decisions = this.byInvoice.get(invoice)!;
    if (!(decisions instanceof Set)) this.byInvoice.delete(invoice);
    else {
      // The oldest decision overall is also the invoice's oldest.
      decisions.delete(decision);
      if (decisions.size === 1) this.byInvoice.set(invoice, decisions.values().next().value!);
    }
  }
}

function dropExpired(keys: FifoMap<{ expiresAt: number }>, now: number): void {
  while ((keys.oldest()?.[1].expiresAt ?? Infinity) <= now) keys.shift();
}
