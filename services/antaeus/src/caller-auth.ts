import { authGuard, type BearerAuthConfig } from '@internal/service-kit';
import type { Context, Middleware, Next } from 'koa';

/** Methods that change nothing; every other method needs a token. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Paths that stay open even when reads are protected: the probes the kubelet calls without
 * credentials, the original's health check, and the API description. Matched exactly (the
 * router's case-insensitivity and optional trailing slash included), so any other spelling is
 * guarded rather than opened.
 */
const ALWAYS_OPEN = /^\/(?:rest\/health|healthz|readyz|openapi\.json)\/?$/i;
/**
 * Reads guarded by their own route, which accepts more tokens than the API's: /metrics also opens
 * to ANTAEUS_METRICS_TOKENS (the scraper's), so protected reads must leave it to that guard, or the
 * scraper's token is refused here first. Matched as ALWAYS_OPEN is.
 */
const OWN_GUARD = /^\/metrics\/?$/i;

export interface CallerAuthOptions {
  auth: BearerAuthConfig;
  /** ANTAEUS_PROTECT_READS: GET customers, invoices and billing runs need a token too. */
  protectReads: boolean;
}

/**
 * Antaeus's callers: every mutating request (POST /rest/v1/invoices/pay, POST
 * /rest/v1/billing-runs and any method but GET, HEAD and OPTIONS, on any path, so a route added
 * later is covered without anyone remembering to) needs a bearer token; reads need one only
 * when the deployment protects them. /metrics is guarded by its own route (metricsGuard).
 */
export function callerAuth({ auth, protectReads }: CallerAuthOptions): Middleware {
  const guard = authGuard(auth);
  return async function authenticateCaller(ctx: Context, next: Next): Promise<void> {
    const read = READ_METHODS.has(ctx.method);
    if (!read || (protectReads && !ALWAYS_OPEN.test(ctx.path) && !OWN_GUARD.test(ctx.path)))
      await guard(ctx, next);
    else await next();
  };
}
