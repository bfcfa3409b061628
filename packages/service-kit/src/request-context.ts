import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from './logger';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives the request its id (a sane incoming `X-Request-Id`, else a new UUID), echoes it, and
 * offers a logger bound to it on `ctx.state.log`. Returns the id.
 */
export function startRequest(ctx: Context, logger: Logger): string {
  const incoming = ctx.get('x-request-id');
  const requestId = SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  ctx.set('X-Request-Id', requestId);
  ctx.state.requestId = requestId;
  // Most requests log only their access line, so the child logger is made on first use.
  let log: Logger | undefined;
  Object.defineProperty(ctx.state, 'log', {
    get: () => (log ??= logger.child({ requestId })),
    enumerable: true,
  });
  return requestId;
}

/** The one access log line of a request, with any fields a handler put in `ctx.state.accessLog`. */
export function logRequest(
  logger: Logger,
  ctx: Context,
  requestId: string,
  durationMs: number,
): void {
  logger.info(
    {
      requestId,
      ...ctx.state.accessLog,
      method: ctx.method,
      path: ctx.path,
      status: ctx.status,
      durationMs: Math.round(durationMs * 100) / 100,
    },
    'request',
  );
}

/**
 * Gives every request an id (startRequest) and writes one access log line per request, with
 * any fields a handler put in `ctx.state.accessLog` (one line per request is cheaper than two).
 */
export function requestContext(logger: Logger) {
  return async function withRequestContext(ctx: Context, next: Next): Promise<void> {
    const requestId = startRequest(ctx, logger);
    const started = performance.now();
    try {
      await next();
    } finally {
      logRequest(logger, ctx, requestId, performance.now() - started);
    }
  };
}
