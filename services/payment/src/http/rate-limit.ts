import type Redis from 'ioredis';
import type { Context, Middleware, Next } from 'koa';
import { Counter, type Registry } from 'prom-client';
import {
  BurstyRateLimiter,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type IRateLimiterOptions,
} from 'rate-limiter-flexible';
import { HttpError } from '@internal/service-kit';

export interface RateLimitOptions {
  /** Charges per second a caller may make, sustained. */
  perSecond: number;
  /** Charges a caller may make beyond that at once. */
  burst: number;
  /** Shares the counts between replicas; per process without it. */
  redis?: Redis;
  keyPrefix: string;
  registry: Registry;
}

/**
 * How long a caller's burst allowance takes to come back: ten times the time the burst takes
 * at the sustained rate, so bursting all the time adds at most a tenth to that rate.
 */
export function burstWindowSeconds(perSecond: number, burst: number): number {
  return Math.max(1, Math.ceil((10 * burst) / perSecond));
}

/**
 * Limits each caller's charges (by `ctx.state.caller`, which the auth guard sets) to
 * `perSecond`, plus `burst` more at once: beyond that 429 with `Retry-After`, before anything
 * is decided. The counters live in Redis when given, so the limit holds across replicas. When
 * the counters cannot be read the charge is refused with 503, never let through unlimited.
 */
export function chargeRateLimit(options: RateLimitOptions): Middleware {
  const limiter = (keyPrefix: string, points: number, duration: number) => {
    const settings: IRateLimiterOptions = { keyPrefix, points, duration };
    return options.redis
      ? new RateLimiterRedis({ ...settings, storeClient: options.redis })
      : new RateLimiterMemory(settings);
  };
  const sustained = limiter(`${options.keyPrefix}rate`, options.perSecond, 1);
  const limit =
    options.burst === 0
      ? sustained
      : new BurstyRateLimiter(
          sustained,
          limiter(
            `${options.keyPrefix}burst`,
            options.burst,
            burstWindowSeconds(options.perSecond, options.burst),
          ),
        );
  const limited = new Counter({
    name: 'charges_rate_limited_total',
    help: 'Charge requests refused with 429 because their caller exceeded its rate limit',
    registers: [options.registry],
  });
  return async function limitChargeRate(ctx: Context, next: Next): Promise<void> {
    try {
      await limit.consume(ctx.state.caller as string);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) {
        ctx.state.log.error({ err }, 'rate limiter store failed');
        throw new HttpError(
          503,
          'store_unavailable',
          'the rate limiter is unavailable; retry later',
        );
      }
      limited.inc();
      const seconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      ctx.set('Retry-After', String(seconds));
      throw new HttpError(
        429,
        'rate_limited',
        `this caller exceeded ${options.perSecond} charges per second (burst ${options.burst}); retry after ${seconds} s`,
      );
    }
    await next();
  };
}
