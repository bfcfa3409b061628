import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { HttpError } from '@internal/service-kit';

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/**
 * Requires `Authorization: Bearer <token>` matching one of `tokens`. Several tokens are
 * accepted at once so a token can be rotated: deploy old + new, move clients, drop the old.
 * Comparing fixed-length digests with timingSafeEqual, against every token without stopping
 * early, keeps the time independent of how much of a guess was right.
 */
export function bearerAuth(tokens: readonly string[]) {
  const accepted = tokens.map(digest);
  return async function requireBearerToken(ctx: Context, next: Next): Promise<void> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
    if (!match) {
      ctx.set('WWW-Authenticate', 'Bearer');
      throw new HttpError(
        401,
        'unauthorized',
        'missing bearer token: send Authorization: Bearer <token>',
      );
    }
    const presented = digest(match[1]!);
    let valid = false;
    for (const token of accepted) valid = timingSafeEqual(token, presented) || valid;
    if (!valid) {
      ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new HttpError(401, 'unauthorized', 'the bearer token is not valid');
    }
    await next();
  };
}
