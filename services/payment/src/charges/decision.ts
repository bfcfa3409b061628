import { randomFillSync } from 'node:crypto';
import type { RandomSource } from '../random/prng';
import type { ChargeRequest, Currency } from './request';

export const DECLINE_REASON = 'card_declined';

/** One approve-or-decline decision as the ledger keeps it. */
export interface ChargeDecision {
  id: string;
  /** Whose decision this is: the authenticated caller that asked for it. */
  caller: string;
  result: boolean;
  reason: typeof DECLINE_REASON | null;
  customerId: number;
  invoiceId: number | null;
  amountMinor: number;
  currency: Currency | null;
  decidedAt: string;
}

export const CHARGE_ID = /^ch_[0-9a-f]{32}$/;

// Random bytes for charge ids, drawn from the OS 4 KiB at a time: one 16-byte slice per id
// formatted as hex costs a fraction of randomUUID() plus stripping its dashes.
const ID_BYTES = 16;
const idPool = Buffer.alloc(4096);
let idOffset = idPool.length;

/** `ch_` and 128 random bits as 32 hex digits. */
export function newChargeId(): string {
  if (idOffset === idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  const id = idPool.toString('hex', idOffset, idOffset + ID_BYTES);
  idOffset += ID_BYTES;
  return `ch_${id}`;
}

/**
 * Approves with probability `successRate`: a uniform draw in [0, 1) is below the rate, so a
 * rate of 0 never approves and 1 always does.
 */
export function decide(
  request: ChargeRequest,
  caller: string,
  successRate: number,
  random: RandomSource,
): ChargeDecision {
  const result = random() < successRate;
  return {
    id: newChargeId(),
    caller,
    result,
    reason: result ? null : DECLINE_REASON,
    customerId: request.customerId,
    invoiceId: request.invoiceId ?? null,
    amountMinor: request.amountMinor,
    currency: request.currency,
    decidedAt: new Date().toISOString(),
  };
}
