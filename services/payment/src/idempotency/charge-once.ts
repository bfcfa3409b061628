import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChargeDecision } from '../charges/decision';
import type { ChargeRequest } from '../charges/request';
import { IdempotencyKeyInFlight, IdempotencyKeyReused } from './errors';
import type { ChargeStore, HeldClaim } from '../ledger/store';

const POLL_MS = 10;

/** Identifies "the same body": the validated fields, so ignored extras and 10 vs 10.0 do not count. */
export function fingerprint(request: ChargeRequest): string {
  const canonical = [
    request.customerId,
    request.invoiceId ?? null,
    request.amountMinor,
    request.currency,
  ];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

export interface ChargeOutcome {
  decision: ChargeDecision;
  replayed: boolean;
}

/** Saves a decision as the held key's answer; on failure gives the key back so a retry can decide. */
async function saveAnswer(store: ChargeStore, decision: ChargeDecision, held: HeldClaim) {
  try {
    return await store.saveAnswer(decision, held);
  } catch (err) {
    await store.release(held).catch(() => undefined);
    throw err;
  }
}

/**
 * Makes at most one decision per key of a caller: the first claimant decides and saves; a later request
 * with the same body gets the stored decision, one with another body IdempotencyKeyReused. A request arriving
 * while the first is still deciding waits up to `waitMs` for its answer (or for the first's
 * lease to lapse, when it may decide itself), then gets IdempotencyKeyInFlight.
 */
export async function chargeOnce(
  store: ChargeStore,
  caller: string,
  key: string,
  request: ChargeRequest,
  waitMs: number,
  decideNow: () => ChargeDecision,
): Promise<ChargeOutcome> {
  const print = fingerprint(request);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const claim = await store.claim(caller, key, print);
    if (claim.kind === 'claimed') {
      const decision = decideNow();
      if (await saveAnswer(store, decision, claim.held)) return { decision, replayed: false };
      // The lease lapsed before the save, which therefore wrote nothing: this decision never
      // existed and nobody saw it, so the next claim finds the key's answer or decides anew.
    } else {
      if (claim.fingerprint !== print) {
        throw new IdempotencyKeyReused(key);
      }
      if (claim.kind === 'completed') return { decision: claim.decision, replayed: true };
    }
    if (Date.now() >= deadline) {
      throw new IdempotencyKeyInFlight(key);
    }
    if (claim.kind === 'pending') await sleep(POLL_MS);
  }
}
