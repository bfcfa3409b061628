import type { Context } from 'koa';
import { HttpError } from '@internal/service-kit';
import { IdempotencyKeyInFlight, IdempotencyKeyReused } from '../idempotency/errors';

/** Idempotency conflicts as the API answers them; undefined for any other error. */
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
  return undefined;
}
