import type { ChargeDecision } from '../charges/decision';
import { FifoMap } from './fifo-map';
import type { ChargeStore, Claim, HeldClaim } from './store';

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
  now?: () => number;
}

/**
 * The single-replica store. Claims lapse after `pendingLeaseMs`, answered keys after `ttlMs`;
 * at most `maxKeys` keys are kept (the oldest answer goes first, a claim only when no answer is
 * left). The ledger keeps the newest `maxLedgerEntries` decisions. Every method runs without
 * awaiting, so a claim is atomic within the process.
 */
export class MemoryChargeStore implements ChargeStore {
  // Two maps with one constant lifetime each keep insertion order equal to expiry order.
  private readonly pending = new FifoMap<PendingKey>();
  private readonly answered = new FifoMap<AnsweredKey>();
  private readonly ledger = new FifoMap<ChargeDecision>();
  // Each invoice's decisions in insertion order, so oldest first. Almost every invoice has
  // one decision, kept as it is: a Set per invoice was the largest allocation of a charge.
  private readonly byInvoice = new Map<number, ChargeDecision | Set<ChargeDecision>>();
  private readonly now: () => number;
  private claims = 0;

  constructor(private readonly options: MemoryStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  async claim(key: string, fingerprint: string): Promise<Claim> {
    const now = this.now();
    dropExpired(this.pending, now);
    dropExpired(this.answered, now);
    const answer = this.answered.get(key);
    if (answer)
      return { kind: 'completed', fingerprint: answer.fingerprint, decision: answer.decision };
    const holder = this.pending.get(key);
    if (holder) return { kind: 'pending', fingerprint: holder.fingerprint };
    while (this.pending.size + this.answered.size >= this.options.maxKeys) this.evictOldestKey();
    const token = String((this.claims += 1));
    this.pending.set(key, { fingerprint, token, expiresAt: now + this.options.pendingLeaseMs });
    return { kind: 'claimed', held: { key, fingerprint, token } };
  }

  async release(held: HeldClaim): Promise<void> {
    if (this.holds(held)) this.pending.delete(held.key);
  }

  async save(decision: ChargeDecision): Promise<void> {
    this.record(decision);
  }

  async saveAnswer(decision: ChargeDecision, held: HeldClaim): Promise<boolean> {
    const now = this.now();
    if (!this.holds(held) || this.pending.get(held.key)!.expiresAt <= now) return false;
    this.pending.delete(held.key);
    this.answered.set(held.key, {
      fingerprint: held.fingerprint,
      decision,
      expiresAt: now + this.options.ttlMs,
    });
    this.record(decision);
    return true;
  }

  async get(chargeId: string): Promise<ChargeDecision | undefined> {
    return this.ledger.get(chargeId);
  }

  async listForInvoice(invoiceId: number): Promise<ChargeDecision[]> {
    const decisions = this.byInvoice.get(invoiceId);
    if (decisions === undefined) return [];
    return decisions instanceof Set ? [...decisions] : [decisions];
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  private holds(held: HeldClaim): boolean {
    return this.pending.get(held.key)?.token === held.token;
  }

  private record(decision: ChargeDecision): void {
    this.ledger.set(decision.id, decision);
    if (decision.invoiceId !== null) {
      const decisions = this.byInvoice.get(decision.invoiceId);
      if (decisions === undefined) this.byInvoice.set(decision.invoiceId, decision);
      else if (decisions instanceof Set) decisions.add(decision);
      else this.byInvoice.set(decision.invoiceId, new Set([decisions, decision]));
    }
    while (this.ledger.size > this.options.maxLedgerEntries) this.evictOldestDecision();
  }

  /** Losing an answer only risks a second decision if that key comes back; a claim's holder just decides again. */
  private evictOldestKey(): void {
    (this.answered.size > 0 ? this.answered : this.pending).shift();
  }

  private evictOldestDecision(): void {
    const [, decision] = this.ledger.shift()!;
    if (decision.invoiceId === null) return;
    const decisions = this.byInvoice.get(decision.invoiceId)!;
    if (!(decisions instanceof Set)) this.byInvoice.delete(decision.invoiceId);
    else {
      // The oldest decision overall is also the invoice's oldest.
      decisions.delete(decision);
      if (decisions.size === 1)
        this.byInvoice.set(decision.invoiceId, decisions.values().next().value!);
    }
  }
}

function dropExpired(keys: FifoMap<{ expiresAt: number }>, now: number): void {
  while ((keys.oldest()?.[1].expiresAt ?? Infinity) <= now) keys.shift();
}
