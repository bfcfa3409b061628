import type { ChargeDecision } from '../charges/decision';

/**
 * An idempotency key this request holds. The token tells this claim apart from a later one on
 * the same key (after the lease ran out), so only the current holder can answer or release.
 */
export interface HeldClaim {
  key: string;
  fingerprint: string;
  token: string;
}

/** What a claim on an idempotency key found. */
export type Claim =
  | { kind: 'claimed'; held: HeldClaim }
  | { kind: 'pending'; fingerprint: string }
  | { kind: 'completed'; fingerprint: string; decision: ChargeDecision };

/**
 * Where decisions live: the idempotency keys and the decision ledger, in one store so that a
 * decision and the key that produced it are written together. Every replica of the service
 * shares it when it is Redis.
 *
 * A claim is a lease: it lapses after a short time unless answered, so a replica that dies (or
 * loses the store) between claiming and answering does not block the key. Only an answered
 * key is kept for the long idempotency TTL. A decision exists only once `saveAnswer` wrote it,
 * so deciding again after a lapsed lease never charges twice.
 */
export interface ChargeStore {
  /** Atomically takes `key` for a request with `fingerprint`, or reports who holds it. */
  claim(key: string, fingerprint: string): Promise<Claim>;
  /** Gives a held key back after a failure, so a retry can decide; a no-op once answered or lapsed. */
  release(held: HeldClaim): Promise<void>;
  /** Records a decision made without an idempotency key in the ledger. */
  save(decision: ChargeDecision): Promise<void>;
  /**
   * Records the decision in the ledger and as the key's answer, both or neither, only while
   * `held` is still the key's current claim. False means nothing was written: the lease
   * lapsed (and perhaps another request claimed or answered the key).
   */
  saveAnswer(decision: ChargeDecision, held: HeldClaim): Promise<boolean>;
  get(chargeId: string): Promise<ChargeDecision | undefined>;
  /** Decisions for one invoice, oldest first. */
  listForInvoice(invoiceId: number): Promise<ChargeDecision[]>;
  /** Throws when the store cannot serve; readiness reports the message. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
