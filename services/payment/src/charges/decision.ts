import { randomUUID } from 'node:crypto';
import type { RandomSource } from '../random/prng';
import type { ChargeRequest, Currency } from './request';

export const DECLINE_REASON = 'card_declined';

/** One approve-or-decline decision as the ledger keeps it. */
export interface ChargeDecision {
  id: string;
  result: boolean;
  reason: typeof DECLINE_REASON | null;
  customerId: number;
  invoiceId: number | null;
  amountMinor: number;
  currency: Currency | null;
  decidedAt: string;
}

export const CHARGE_ID = /^ch_[0-9a-f]{32}$/;

/**
 * Approves with probability `successRate`: a uniform draw in [0, 1) is below the rate, so a
 * rate of 0 never approves and 1 always does.
 */
export function decide(
  request: ChargeRequest,
  successRate: number,
  random: RandomSource,
): ChargeDecision {
  const result = random() < successRate;
  return {
    id: `ch_${randomUUID().replace(/-/g, '')}`,
    result,
    reason: result ? null : DECLINE_REASON,
    customerId: request.customerId,
    invoiceId: request.invoiceId ?? null,
    amountMinor: request.amountMinor,
    currency: request.currency,
    decidedAt: new Date().toISOString(),
  };
}

/** The answer to a charge request: what Antaeus reads (`result`) plus the id and reason. */
export function chargeResponse(decision: ChargeDecision) {
  return decision.result
    ? { result: true, id: decision.id }
    : { result: false, id: decision.id, reason: decision.reason };
}

/** The ledger view served by GET /v1/charges/{id} and GET /v1/charges?invoice_id=. */
export function ledgerEntry(decision: ChargeDecision) {
  return {
    id: decision.id,
    result: decision.result,
    reason: decision.reason,
    customer_id: decision.customerId,
    invoice_id: decision.invoiceId,
    amount_minor: decision.amountMinor,
    currency: decision.currency,
    decided_at: decision.decidedAt,
  };
}
