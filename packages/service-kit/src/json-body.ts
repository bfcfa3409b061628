import { bodyParser } from '@koa/bodyparser';
import type { Context, Next } from 'koa';
import { HttpError } from './errors';

/**
 * Parses JSON request bodies up to `limit` (bytes, or a string such as '16kb'). A body of any other content type is refused with
 * 415 instead of being silently ignored, so a client never gets a decision on data we did not read.
 */
export function jsonBody(limit: string | number = '16kb') {
  const parse = bodyParser({ enableTypes: ['json'], jsonLimit: limit, encoding: 'utf-8' });
  return async function parseJsonBody(ctx: Context, next: Next): Promise<void> {
    const hasBody =
      Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';
    if (hasBody && !ctx.is('application/json')) {
      throw new HttpError(
        415,
        'unsupported_media_type',
        `request body must be application/json, got ${ctx.get('content-type') || 'no content type'}`,
      );
    }
    await parse(ctx, next);
  };
}
