import type { ChargeDecision } from '../charges/decision';

/** What a claim on an idempotency key found. */
export type Claim =
  | { kind: 'claimed' }
  | { kind: 'pending'; fingerprint: string }
  | { kind: 'completed'; fingerprint: string; decision: ChargeDecision };

export interface IdempotentWrite {
  key: string;
  fingerprint: string;
}

/**
 * Where decisions live: the idempotency keys and the decision ledger, in one store so that a
 * decision and the key that produced it are written together. Every replica of the service
 * shares it when it is Redis.
 */
export interface ChargeStore {
  /** Atomically takes `key` for a request with `fingerprint`, or reports who holds it. */
  claim(key: string, fingerprint: string): Promise<Claim>;
  /** Gives a key claimed for `fingerprint` back after a failure, so a retry can decide. */
  release(key: string, fingerprint: string): Promise<void>;
  /** Records the decision in the ledger and, when given, as the answer of an idempotency key: both or neither. */
  save(decision: ChargeDecision, idempotency?: IdempotentWrite): Promise<void>;
  get(chargeId: string): Promise<ChargeDecision | undefined>;
  /** Decisions for one invoice, oldest first. */
  listForInvoice(invoiceId: number): Promise<ChargeDecision[]>;
  /** Throws when the store cannot serve; readiness reports the message. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
