import type { Context } from 'koa';
import { HttpError } from '@internal/service-kit';
import { IdempotencyKeyInFlight, IdempotencyKeyReused } from '../idempotency/errors';
import { InvoiceChargeLimitReached, StoreFull } from '../ledger/errors';

/** What the charge domain refuses, as the API answers it; undefined for any other error. */
export function chargeHttpError(err: unknown, ctx: Context): HttpError | undefined {
  if (err instanceof IdempotencyKeyReused) {
    return new HttpError(
      422,
      'idempotency_key_reused',
      'Idempotency-Key was already used with a different request body',
    );
  }
  if (err instanceof IdempotencyKeyInFlight) {
    // The first request is about to answer: retrying in a second usually replays its decision.
    ctx.set('Retry-After', '1');
    return new HttpError(
      409,
      'idempotency_key_in_flight',
      'a request with this Idempotency-Key is still being processed; retry shortly',
    );
  }
  if (err instanceof StoreFull) {
    // Replays of held keys still work; a new key may fit once older ones expire.
    ctx.set('Retry-After', '60');
    return new HttpError(503, 'store_full', err.message);
  }
  if (err instanceof InvoiceChargeLimitReached) {
    return new HttpError(422, 'invoice_charge_limit_reached', err.message);
  }
  return undefined;
}
