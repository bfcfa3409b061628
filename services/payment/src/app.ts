import path from 'node:path';
import type Koa from 'koa';
import type Redis from 'ioredis';
import type { Registry } from 'prom-client';
import {
  Lifecycle,
  authGuard,
  createServiceApp,
  metricsAuthGuard,
  type Logger,
} from '@internal/service-kit';
import type { PaymentConfig } from './config';
import type { ChargeStore } from './ledger/store';
import type { RandomSource } from './random/prng';
import { chargeHttpError } from './http/charge-errors';
import { registerChargeRoutes } from './http/charge-routes';
import { chargeRateLimit } from './http/rate-limit';

export const OPENAPI_FILE = path.join(__dirname, '..', 'openapi.yaml');

export type AppConfig = Pick<
  PaymentConfig,
  | 'successRate'
  | 'decisionDelayMs'
  | 'auth'
  | 'metricsTokens'
  | 'idempotencyWaitMs'
  | 'bodyLimitBytes'
  | 'rateLimitPerSecond'
  | 'rateLimitBurst'
  | 'redisKeyPrefix'
>;

export interface AppDependencies {
  store: ChargeStore;
  /** Shares the rate limit between replicas; the store's connection when it is Redis. */
  redis?: Redis;
  random: RandomSource;
  logger: Logger;
  lifecycle: Lifecycle;
  registry: Registry;
}

/**
 * The payment provider as a Koa app; server.ts gives it a port. Metrics need a token too (a
 * caller's, or one of PAYMENT_METRICS_TOKENS, which opens nothing else): they count decisions
 * and callers' traffic.
 */
export function createApp(config: AppConfig, deps: AppDependencies): Koa {
  const guard = authGuard(config.auth);
  return createServiceApp({
    logger: deps.logger,
    registry: deps.registry,
    lifecycle: deps.lifecycle,
    openApiFile: OPENAPI_FILE,
    mapError: chargeHttpError,
    readiness: { store: () => deps.store.checkWritable() },
    metricsGuard: metricsAuthGuard(config.auth, config.metricsTokens),
    routes: (router) =>
      registerChargeRoutes(router, {
        store: deps.store,
        successRate: config.successRate,
        decisionDelayMs: config.decisionDelayMs,
        random: deps.random,
        idempotencyWaitMs: config.idempotencyWaitMs,
        bodyLimitBytes: config.bodyLimitBytes,
        guard,
        limit: chargeRateLimit({
          perSecond: config.rateLimitPerSecond,
          burst: config.rateLimitBurst,
          redis: deps.redis,
          keyPrefix: config.redisKeyPrefix,
          registry: deps.registry,
        }),
        registry: deps.registry,
      }),
  });
}
