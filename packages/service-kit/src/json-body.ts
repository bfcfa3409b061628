import coBody from 'co-body';
import type { Context, Next } from 'koa';
import { HttpError } from './errors';

/**
 * co-body's own option (absent from its type definitions): `remove` deletes `__proto__` keys
 * at any depth after parsing. The default, `error`, would refuse a valid body over a key in a
 * field the service ignores anyway, and keeping the key would let a later deep merge set a
 * prototype.
 */
type JsonOptions = coBody.Options & { onProtoPoisoning: 'error' | 'remove' | 'ignore' };

/**
 * co-body's own errors carry a 4xx status; a body that fails to decompress (garbage under
 * `Content-Encoding: gzip`, say) surfaces as a bare zlib error, which is still the client's.
 */
function undecodableBody(err: unknown): never {
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) throw err;
  throw new HttpError(
    400,
    'invalid_body',
    `request body could not be decoded as its Content-Encoding says: ${(err as Error).message}`,
  );
}

/** A length above 0, or a chunked body (whose length shows only once read). */
function hasBody(ctx: Context): boolean {
  return Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';
}

/**
 * Parses JSON request bodies up to `limit` (bytes, or a string such as '16kb') into
 * `ctx.request.body` ({} for an empty body). A body of any other content type is refused with
 * 415 instead of being silently ignored, so a client never gets a decision on data we did not
 * read. Malformed JSON (and a top-level value that is not an object or array) is 400, a body
 * over the limit 413; the error handler names which.
 */
export function jsonBody(limit: string | number = '16kb') {
  const options: JsonOptions = {
    limit,
    encoding: 'utf-8',
    strict: true,
    onProtoPoisoning: 'remove',
  };
  return async function parseJsonBody(ctx: Context, next: Next): Promise<void> {
    const request = ctx.request as Context['request'] & { body?: unknown };
    // The usual exact header skips type-is parsing it; variants (charset, case) still match.
    const isJson = ctx.get('content-type') === 'application/json' || ctx.is('application/json');
    if (!hasBody(ctx)) {
      request.body = {};
    } else if (isJson) {
      request.body = (await coBody.json(ctx, options).catch(undecodableBody)) as unknown;
    } else {
      throw new HttpError(
        415,
        'unsupported_media_type',
        `request body must be application/json, got ${ctx.get('content-type') || 'no content type'}`,
      );
    }
    await next();
  };
}

/**
 * For services whose routes read no body: a body up to `limit` is read and dropped, a larger
 * one is refused with 413 before any route runs, so a huge upload is never mistaken for a
 * valid call (it started a billing run in Antaeus). A Content-Length over the limit is refused
 * without reading; a chunked body as soon as it passes the limit.
 */
export function bodyLimit(limit: string | number) {
  return async function refuseLargeBody(ctx: Context, next: Next): Promise<void> {
    if (hasBody(ctx)) await coBody.text(ctx, { limit, encoding: 'utf-8' }).catch(undecodableBody);
    await next();
  };
}
