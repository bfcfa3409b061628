import { createHash, timingSafeEqual } from 'node:crypto';
import Joi from 'joi';
import type { Context, Middleware, Next } from 'koa';
import { HttpError } from './errors';

/**
 * How a service authenticates its callers: a list of accepted bearer tokens, or explicitly
 * nothing (`<SERVICE>_AUTH=disabled`, the local compatibility mode). There is no third state:
 * a service that was given neither refuses to start.
 */
export type BearerAuthConfig = { tokens: string[] } | { disabled: true };

/**
 * The caller every request shares when authentication is disabled: without tokens there is
 * nobody to tell apart, so idempotency keys and ledger entries form one scope.
 */
export const SHARED_CALLER = 'shared';

/**
 * A token list entry `<name>:<token>` names its caller, so the caller's identity survives a
 * rotation (`antaeus:OLD,antaeus:NEW`); a bare token's caller is a hash of the token.
 */
const NAMED_TOKEN = /^([a-z][a-z0-9-]{0,39}):(.*)$/s;

/** The variables one service configures its bearer authentication with. */
export interface BearerAuthVariables {
  /** Comma-separated accepted tokens, e.g. PAYMENT_API_TOKENS. */
  tokens: string;
  /** `disabled` turns authentication off, e.g. PAYMENT_AUTH. */
  mode: string;
}

const TOKEN = /^[\x21-\x7e]{16,512}$/;

const emptyTokenList = (names: BearerAuthVariables) =>
  `${names.tokens} is set but empty: an empty token list is an error, not a way to turn authentication off; give at least one token, or unset it and set ${names.mode}=disabled`;

/**
 * Joi rule for a comma-separated token list (several at once for rotation). A list with an
 * empty entry, whitespace-only included, is an error rather than "no authentication".
 */
export function bearerTokenList(names: BearerAuthVariables) {
  const variable = names.tokens;
  return Joi.string().custom((raw: string, helpers) => {
    if (raw.trim() === '') return helpers.message({ custom: emptyTokenList(names) });
    const tokens = raw.split(',').map((token) => token.trim());
    const bad = tokens.findIndex((token) => !TOKEN.test(parseTokenEntry(token).token));
    if (bad >= 0) {
      // The value is a secret: the message names the position, never the token.
      return helpers.message({
        custom: `${variable} entry ${bad + 1} of ${tokens.length} must be a token of 16 to 512 printable characters without spaces or commas, optionally named as <name>:<token>`,
      });
    }
    const callers = new Map<string, string>();
    for (const entry of tokens.map(parseTokenEntry)) {
      const other = callers.get(entry.token);
      if (other !== undefined && other !== entry.caller) {
        return helpers.message({
          custom: `${variable} gives one token to two callers (${other} and ${entry.caller}): a token must identify one caller`,
        });
      }
      callers.set(entry.token, entry.caller);
    }
    return [...new Set(tokens)];
  }, 'comma-separated bearer tokens');
}

/** Joi rule for the opt-out variable: `disabled` is its only value. */
export function authMode(variable: string) {
  return Joi.string()
    .valid('disabled')
    .messages({ 'any.only': `${variable} must be "disabled" or unset` });
}

/**
 * Decides the authentication from the variables `parsed` (parseEnv's result, where
 * bearerTokenList has made the tokens an array) and `env` (as set: parseEnv treats an empty
 * value as unset, but an empty token list is a mistake to report, not a way to turn
 * authentication off). Returns a problem naming both variables instead of a configuration
 * when the environment asks for neither, or for both.
 */
export function resolveBearerAuth(
  names: BearerAuthVariables,
  parsed: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): BearerAuthConfig | { problem: string } {
  const tokens = parsed[names.tokens] as string[] | undefined;
  const disabled = parsed[names.mode] === 'disabled';
  const raw = env[names.tokens];
  if (raw !== undefined && raw.trim() === '') {
    return { problem: emptyTokenList(names) };
  }
  if (tokens !== undefined && disabled) {
    return {
      problem: `${names.tokens} and ${names.mode}=disabled are both set: keep the tokens and unset ${names.mode}, or the other way round`,
    };
  }
  if (tokens !== undefined) return { tokens };
  if (disabled) return { disabled: true };
  return {
    problem: `${names.tokens} is not set: give the accepted bearer tokens (comma-separated), or set ${names.mode}=disabled to run without authentication (local use only)`,
  };
}

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/** One accepted token and the caller it identifies. */
export interface TokenEntry {
  /** The configured name, or `token-` and 16 hex digits of the token's SHA-256: never the token. */
  caller: string;
  token: string;
}

/** Splits a token list entry into its caller and its token. */
export function parseTokenEntry(entry: string): TokenEntry {
  const named = NAMED_TOKEN.exec(entry);
  if (named) return { caller: named[1]!, token: named[2]! };
  return { caller: `token-${digest(entry).toString('hex', 0, 8)}`, token: entry };
}

/** Why a request was refused; logged, never the token. */
export type AuthFailure = 'missing_header' | 'malformed_header' | 'unknown_token';

function refuse(ctx: Context, reason: AuthFailure): never {
  ctx.state.log?.warn({ reason, method: ctx.method, path: ctx.path }, 'request refused: 401');
  if (reason === 'unknown_token') {
    ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
    throw new HttpError(401, 'unauthorized', 'the bearer token is not valid');
  }
  ctx.set('WWW-Authenticate', 'Bearer');
  throw new HttpError(
    401,
    'unauthorized',
    'missing bearer token: send Authorization: Bearer <token>',
  );
}

/**
 * Requires `Authorization: Bearer <token>` matching one of `tokens` (list entries, named or
 * bare), and sets `ctx.state.caller` to the caller that token identifies. Several tokens are
 * accepted at once so a token can be rotated: deploy old + new, move clients, drop the old.
 * Comparing fixed-length digests with timingSafeEqual, against every token without stopping
 * early, keeps the time independent of how much of a guess was right. Each refusal is logged
 * with its reason on the request's logger.
 */
export function bearerAuth(tokens: readonly string[]): Middleware {
  if (tokens.length === 0) throw new Error('bearerAuth needs at least one token');
  const accepted = tokens.map(parseTokenEntry).map((entry) => ({
    caller: entry.caller,
    digest: digest(entry.token),
  }));
  return async function requireBearerToken(ctx: Context, next: Next): Promise<void> {
    const header = ctx.get('authorization');
    if (header === '') refuse(ctx, 'missing_header');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) refuse(ctx, 'malformed_header');
    const presented = digest(match[1]!);
    let caller: string | undefined;
    for (const token of accepted) {
      if (timingSafeEqual(token.digest, presented)) caller ??= token.caller;
    }
    if (caller === undefined) refuse(ctx, 'unknown_token');
    ctx.state.caller = caller;
    await next();
  };
}

const open: Middleware = (ctx, next) => {
  ctx.state.caller = SHARED_CALLER;
  return next();
};

/** The guard a configuration asks for: bearerAuth, or a pass-through when disabled. */
export function authGuard(config: BearerAuthConfig): Middleware {
  return 'tokens' in config ? bearerAuth(config.tokens) : open;
}

/**
 * The guard of GET /metrics: the service's own tokens, and `metricsTokens`, which open /metrics
 * and nothing else (`<SERVICE>_METRICS_TOKENS`), so a scraper's token cannot charge or start
 * anything. Open when authentication is disabled.
 */
export function metricsAuthGuard(
  config: BearerAuthConfig,
  metricsTokens: readonly string[],
): Middleware {
  return 'tokens' in config ? bearerAuth([...config.tokens, ...metricsTokens]) : open;
}
