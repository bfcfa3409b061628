import type { ChargeDecision } from '../charges/decision';
import type { ChargeStore, Claim, IdempotentWrite } from './store';

interface KeyEntry {
  fingerprint: string;
  decision?: ChargeDecision;
  expiresAt: number;
}

export interface MemoryStoreOptions {
  ttlMs: number;
  maxKeys: number;
  maxLedgerEntries: number;
  now?: () => number;
}

/**
 * The single-replica store. Keys expire after `ttlMs` and at most `maxKeys` are kept (the
 * oldest go first); the ledger keeps the newest `maxLedgerEntries` decisions. Every method
 * runs without awaiting, so a claim is atomic within the process.
 */
export class MemoryChargeStore implements ChargeStore {
  private readonly keys = new Map<string, KeyEntry>();
  private readonly ledger = new Map<string, ChargeDecision>();
  private readonly byInvoice = new Map<number, Set<string>>();
  private readonly now: () => number;

  constructor(private readonly options: MemoryStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  async claim(key: string, fingerprint: string): Promise<Claim> {
    this.dropExpiredKeys();
    const entry = this.keys.get(key);
    if (entry) {
      return entry.decision
        ? { kind: 'completed', fingerprint: entry.fingerprint, decision: entry.decision }
        : { kind: 'pending', fingerprint: entry.fingerprint };
    }
    // A constant TTL keeps insertion order equal to expiry order, so the oldest key goes first.
    while (this.keys.size >= this.options.maxKeys) this.keys.delete(this.keys.keys().next().value!);
    this.keys.set(key, { fingerprint, expiresAt: this.now() + this.options.ttlMs });
    return { kind: 'claimed' };
  }

  async release(key: string, fingerprint: string): Promise<void> {
    const entry = this.keys.get(key);
    if (entry && entry.fingerprint === fingerprint && !entry.decision) this.keys.delete(key);
  }

  async save(decision: ChargeDecision, idempotency?: IdempotentWrite): Promise<void> {
    if (idempotency) {
      this.keys.set(idempotency.key, {
        fingerprint: idempotency.fingerprint,
        decision,
        expiresAt: this.now() + this.options.ttlMs,
      });
    }
    this.ledger.set(decision.id, decision);
    if (decision.invoiceId !== null) {
      const ids = this.byInvoice.get(decision.invoiceId) ?? new Set<string>();
      ids.add(decision.id);
      this.byInvoice.set(decision.invoiceId, ids);
    }
    while (this.ledger.size > this.options.maxLedgerEntries) this.evictOldestDecision();
  }

  async get(chargeId: string): Promise<ChargeDecision | undefined> {
    return this.ledger.get(chargeId);
  }

  async listForInvoice(invoiceId: number): Promise<ChargeDecision[]> {
    return [...(this.byInvoice.get(invoiceId) ?? [])].map((id) => this.ledger.get(id)!);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  private dropExpiredKeys(): void {
    const now = this.now();
    for (const [key, entry] of this.keys) {
      if (entry.expiresAt > now) break;
      this.keys.delete(key);
    }
  }

  private evictOldestDecision(): void {
    const [id, decision] = this.ledger.entries().next().value!;
    this.ledger.delete(id);
    if (decision.invoiceId === null) return;
    const ids = this.byInvoice.get(decision.invoiceId);
    ids?.delete(id);
    if (ids?.size === 0) this.byInvoice.delete(decision.invoiceId);
  }
}
