import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from './logger';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A request's `ctx.state`: its id, and a logger bound to it, made on first use (most requests
 * log only their access line). A class rather than a getter defined on Koa's plain object per
 * request, which cost a descriptor, a closure and the object's fast shape every time.
 */
class RequestState {
  private bound: Logger | undefined;
  accessLog?: Record<string, unknown>;

  constructor(
    private readonly logger: Logger,
    readonly requestId: string,
  ) {}

  get log(): Logger {
    return (this.bound ??= this.logger.child({ requestId: this.requestId }));
  }
}

/**
 * Gives the request its id (a sane incoming `X-Request-Id`, else a new UUID), echoes it, and
 * offers a logger bound to it on `ctx.state.log`. Returns the id.
 */
export function startRequest(ctx: Context, logger: Logger): string {
  const incoming = ctx.get('x-request-id');
  const requestId = SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  ctx.set('X-Request-Id', requestId);
  ctx.state = Object.assign(new RequestState(logger, requestId), ctx.state);
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
