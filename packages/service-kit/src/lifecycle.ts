import type { Context, Next } from 'koa';
import { HttpError } from './errors';

export type ReadinessCheck = () => Promise<void> | void;

/**
 * What the process knows about its own state: whether it is draining for shutdown and how
 * many requests are in flight. Health endpoints and the shutdown sequence both read it.
 */
export class Lifecycle {
  private drainingSince: number | undefined;
  private closingSince: number | undefined;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** Not ready any more, but still serving: the load balancer needs time to notice. */
  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  /** No new work: requests that still arrive are turned away so the client retries elsewhere. */
  startClosing(): void {
    this.startDraining();
    this.closingSince ??= Date.now();
  }

  get closing(): boolean {
    return this.closingSince !== undefined;
  }

  /** Resolves once no request is in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Counts a request in flight until its response is closed. While draining it asks the
   * client to reconnect (`Connection: close`); once closing it throws a 503 so the client
   * retries on another replica.
   */
  enter(ctx: Context): void {
    if (this.draining) ctx.set('Connection', 'close');
    if (this.closing) {
      throw new HttpError(
        503,
        'draining',
        'the server is shutting down; retry on another instance',
      );
    }
    this.inFlight += 1;
    // Koa writes the response after the middleware returns: the request is only done once
    // the response is closed (sent, or the client went away), or shutdown would cut it off.
    ctx.res.once('close', this.leave);
  }

  private readonly leave = (): void => {
    this.inFlight -= 1;
    if (this.inFlight === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
  };

  /** enter() as a middleware of its own. */
  track() {
    return async (ctx: Context, next: Next): Promise<void> => {
      this.enter(ctx);
      await next();
    };
  }
}

/** GET /healthz: the process is alive and its event loop answers. */
export function livenessEndpoint() {
  return async function alive(ctx: Context): Promise<void> {
    ctx.body = { status: 'ok' };
  };
}

/**
 * GET /readyz: 503 while draining or while any dependency check fails, naming the failing
 * check, so the load balancer stops sending traffic before the process goes away.
 */
export function readinessEndpoint(
  lifecycle: Lifecycle,
  checks: Record<string, ReadinessCheck> = {},
) {
  return async function ready(ctx: Context): Promise<void> {
    if (lifecycle.draining) {
      ctx.status = 503;
      ctx.body = { status: 'draining' };
      return;
    }
    const failures: Record<string, string> = {};
    await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await check();
        } catch (err) {
          failures[name] = (err as Error).message;
        }
      }),
    );
    if (Object.keys(failures).length > 0) {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', failures };
      return;
    }
    ctx.body = { status: 'ready' };
  };
}
