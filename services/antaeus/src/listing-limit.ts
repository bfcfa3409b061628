import type { Context, Middleware, Next } from 'koa';
import { HttpError } from '@internal/service-kit';

/** A listing takes about a second at worst (10k rows); a client may try again after that. */
const RETRY_AFTER_SECONDS = 1;

/**
 * At most `max` invoice and customer listings stream at once; beyond that a listing is
 * refused with 503 and `Retry-After` at once. Each one reads SQLite and serialises rows on
 * the one event loop that also answers probes and charges invoices, so many parallel full
 * listings would starve those. A slot is held until the response has been sent or the client
 * went away, not just until the handler returns, because a listing is streamed.
 */
export function listingLimit(max: number): Middleware {
  let active = 0;
  return async function limitListings(ctx: Context, next: Next): Promise<void> {
    if (active >= max) {
      ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
      throw new HttpError(
        503,
        'too_many_listings',
        `${max} listings are already being sent (ANTAEUS_MAX_CONCURRENT_LISTINGS); retry after ${RETRY_AFTER_SECONDS} s`,
      );
    }
    active += 1;
    ctx.res.once('close', () => (active -= 1));
    await next();
  };
}
