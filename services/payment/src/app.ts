import path from 'node:path';
import type Koa from 'koa';
import type { Registry } from 'prom-client';
import { Lifecycle, authGuard, createServiceApp, type Logger } from '@internal/service-kit';
import type { PaymentConfig } from './config';
import type { ChargeStore } from './ledger/store';
import type { RandomSource } from './random/prng';
import { chargeHttpError } from './http/charge-errors';
import { registerChargeRoutes } from './http/charge-routes';

export const OPENAPI_FILE = path.join(__dirname, '..', 'openapi.yaml');

export type AppConfig = Pick<
  PaymentConfig,
  'successRate' | 'auth' | 'idempotencyWaitMs' | 'bodyLimitBytes'
>;

export interface AppDependencies {
  store: ChargeStore;
  random: RandomSource;
  logger: Logger;
  lifecycle: Lifecycle;
  registry: Registry;
}

/** The payment provider as a Koa app; server.ts gives it a port. */
export function createApp(config: AppConfig, deps: AppDependencies): Koa {
  return createServiceApp({
    logger: deps.logger,
    registry: deps.registry,
    lifecycle: deps.lifecycle,
    openApiFile: OPENAPI_FILE,
    mapError: chargeHttpError,
    readiness: { store: () => deps.store.ping() },
    routes: (router) =>
      registerChargeRoutes(router, {
        store: deps.store,
        successRate: config.successRate,
        random: deps.random,
        idempotencyWaitMs: config.idempotencyWaitMs,
        bodyLimitBytes: config.bodyLimitBytes,
        guard: authGuard(config.auth),
        registry: deps.registry,
      }),
  });
}
