import type { ChargeDecision } from '../charges/decision';

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
