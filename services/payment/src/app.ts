import path from 'node:path';
import Koa from 'koa';
import Router from '@koa/router';
import type { Registry } from 'prom-client';
import {
  Lifecycle,
  authGuard,
  livenessEndpoint,
  loadOpenApiDocument,
  methodErrors,
  metricsEndpoint,
  openApiEndpoint,
  readinessEndpoint,
  serviceMiddleware,
  type Logger,
} from '@internal/service-kit';
import type { PaymentConfig } from './config';
import type { ChargeStore } from './idempotency/store';
import type { RandomSource } from './random/prng';
import { registerChargeRoutes } from './charges/routes';

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
  const router = new Router();
  router.get('/healthz', livenessEndpoint());
  router.get('/readyz', readinessEndpoint(deps.lifecycle, { store: () => deps.store.ping() }));
  router.get('/metrics', metricsEndpoint(deps.registry));
  router.get('/openapi.json', openApiEndpoint(loadOpenApiDocument(OPENAPI_FILE)));
  registerChargeRoutes(router, {
    store: deps.store,
    successRate: config.successRate,
    random: deps.random,
    idempotencyWaitMs: config.idempotencyWaitMs,
    bodyLimitBytes: config.bodyLimitBytes,
    guard: authGuard(config.auth),
    registry: deps.registry,
  });

  const app = new Koa();
  // Request id and access log, duration histogram, JSON errors, in-flight tracking, and the
  // JSON 404 for a path no route matched (after allowedMethods ran), as one middleware.
  app.use(
    serviceMiddleware({ logger: deps.logger, registry: deps.registry, lifecycle: deps.lifecycle }),
  );
  app.use(router.routes());
  app.use(router.allowedMethods(methodErrors));
  return app;
}
