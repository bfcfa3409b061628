import type { ChargeDecision } from '../charges/decision';

/**
 * An idempotency key this request holds, in its caller's scope. The token tells this claim
 * apart from a later one on the same key (after the lease ran out), so only the current holder
 * can answer or release.
 */
export interface HeldClaim {
  caller: string;
  key: string;
  fingerprint: string;
  token: string;
}

/** What a claim on an idempotency key found. */
export type Claim =
  | { kind: 'claimed'; held: HeldClaim }
  | { kind: 'pending'; fingerprint: string }
  | { kind: 'completed'; fingerprint: string; decision: ChargeDecision };

/** One page of an invoice's decisions, oldest first; `nextOffset` when more follow. */
export interface InvoicePage {
  decisions: ChargeDecision[];
  nextOffset?: number;
}

/**
 * Where decisions live: the idempotency keys and the decision ledger, in one store so that a
 * decision and the key that produced it are written together. Every replica of the service
 * shares it when it is Redis.
 *
 * Everything is scoped to a caller (the authenticated identity, ChargeDecision.caller): two
 * callers may use the same idempotency key independently, and neither sees the other's keys
 * or decisions.
 *
 * A claim is a lease: it lapses after a short time unless answered, so a replica that dies (or
 * loses the store) between claiming and answering does not block the key. Only an answered
 * key is kept for the long idempotency TTL, and never dropped before it: a store with no room
 * for a new key throws StoreFull instead. A decision exists only once `saveAnswer` wrote it,
 * so deciding again after a lapsed lease never charges twice.
 */
export interface ChargeStore {
  /** Atomically takes `key` in `caller`'s scope for a request with `fingerprint`, or reports who holds it. */
  claim(caller: string, key: string, fingerprint: string): Promise<Claim>;
  /** Gives a held key back after a failure, so a retry can decide; a no-op once answered or lapsed. */
  release(held: HeldClaim): Promise<void>;
  /**
   * Records a decision made without an idempotency key in the ledger. Throws
   * InvoiceChargeLimitReached, writing nothing, when its invoice has no room left.
   */
  save(decision: ChargeDecision): Promise<void>;
  /**
   * Records the decision in the ledger and as the key's answer, both or neither, only while
   * `held` is still the key's current claim. False means nothing was written: the lease
   * lapsed (and perhaps another request claimed or answered the key). Throws
   * InvoiceChargeLimitReached, writing nothing, when the invoice has no room left.
   */
  saveAnswer(decision: ChargeDecision, held: HeldClaim): Promise<boolean>;
  /** The caller's decision with this id. */
  get(caller: string, chargeId: string): Promise<ChargeDecision | undefined>;
  /** Up to `limit` of the caller's decisions for one invoice, oldest first, from `offset`. */
  listForInvoice(
    caller: string,
    invoiceId: number,
    offset: number,
    limit: number,
  ): Promise<InvoicePage>;
  /** Throws, saying why, when the store cannot take a new decision now; readiness reports it. */
  checkWritable(): Promise<void>;
  close(): Promise<void>;
}
