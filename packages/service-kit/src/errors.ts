import type { Context, Next } from 'koa';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** An error meant for the client, answered as the standard JSON envelope. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const codeByStatus: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  503: 'unavailable',
};

/** Errors from Koa, its body parser and http-errors carry a 4xx `status` and `expose`. */
function clientError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  const e = err as { status?: number; expose?: boolean; type?: string; message?: string };
  if (typeof e?.status !== 'number' || e.status < 400 || e.status >= 500) return undefined;
  // raw-body tags parse failures; co-body (under jsonBody) throws a SyntaxError with status 400.
  if (e.type === 'entity.parse.failed' || (err instanceof SyntaxError && e.status === 400)) {
    return new HttpError(400, 'invalid_json', `request body is not valid JSON: ${e.message}`);
  }
  if (e.type === 'entity.too.large') {
    return new HttpError(413, 'payload_too_large', 'request body is larger than the allowed limit');
  }
  return new HttpError(
    e.status,
    codeByStatus[e.status] ?? 'client_error',
    e.message ?? 'bad request',
  );
}

/**
 * The methods of every route matching the path. @koa/router's throwing allowedMethods() does
 * not set `Allow`, which a 405 must carry, so it is derived from the matched routes here.
 */
function allowedMethods(ctx: Context): string {
  const matched = (ctx as Context & { matched?: Array<{ methods: string[] }> }).matched ?? [];
  return [...new Set(matched.flatMap((layer) => layer.methods))].join(', ');
}

/**
 * Answers a failure as JSON. Client mistakes keep their 4xx; anything else is logged with its
 * stack and answered with a 500 that reveals nothing internal.
 */
export function answerError(ctx: Context, err: unknown): void {
  const known = clientError(err);
  if (known) {
    ctx.status = known.status;
    if (known.status === 405) ctx.set('Allow', allowedMethods(ctx));
    ctx.body = {
      error: {
        code: known.code,
        message: known.message,
        ...(known.details === undefined ? {} : { details: known.details }),
      },
    } satisfies ErrorBody;
    return;
  }
  ctx.state.log?.error({ err }, 'unhandled error');
  ctx.status = 500;
  ctx.body = {
    error: { code: 'internal', message: 'internal server error' },
  } satisfies ErrorBody;
}

/**
 * Turns every failure below it into a JSON answer (answerError; place it inside requestContext
 * and httpMetrics so they log and count the final status).
 */
export function errorHandler() {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      answerError(ctx, err);
    }
  };
}

/** Nothing answered the request: the JSON 404 naming it, or undefined when something did. */
export function unansweredError(ctx: Context): HttpError | undefined {
  return ctx.status === 404 && ctx.body === undefined
    ? new HttpError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`)
    : undefined;
}

/** Last in the chain: nothing matched the path. */
export function notFound() {
  return async function routeNotFound(ctx: Context, next: Next): Promise<void> {
    await next();
    const unanswered = unansweredError(ctx);
    if (unanswered) throw unanswered;
  };
}

/** Options for @koa/router's allowedMethods() so a wrong method is a JSON 405 with `Allow`. */
export const methodErrors = {
  throw: true,
  methodNotAllowed: () =>
    new HttpError(405, 'method_not_allowed', 'method not allowed for this path'),
  notImplemented: () => new HttpError(405, 'method_not_allowed', 'method not supported'),
};
