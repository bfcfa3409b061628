import path from 'node:path';
import Koa from 'koa';
import Router from '@koa/router';
import type { Registry } from 'prom-client';
import type { Database } from 'better-sqlite3';
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
  type BearerAuthConfig,
  type Logger,
} from '@internal/service-kit';
import { billingRoutes } from './billing/routes';
import type { BillingEngine } from './billing/engine';
import { BillingStore } from './billing/store';
import { callerAuth } from './caller-auth';
import { CustomerRepository } from './customers/repository';
import { customerRoutes } from './customers/routes';
import { InvoiceRepository } from './invoices/repository';
import { invoiceRoutes } from './invoices/routes';
import { sendJson } from './json';

export interface AppDependencies {
  db: Database;
  engine: BillingEngine;
  logger: Logger;
  lifecycle: Lifecycle;
  registry: Registry;
  /** Bearer tokens for mutating endpoints and /metrics, or explicitly none (ANTAEUS_AUTH=disabled). */
  auth: BearerAuthConfig;
  /** ANTAEUS_PROTECT_READS: the read endpoints need a token too. */
  protectReads?: boolean;
}

/** openapi.yaml sits next to src/ and dist/, so the same path works from both. */
export const OPENAPI_FILE = path.join(__dirname, '..', 'openapi.yaml');

/** Builds the Koa application; listening and signals are server.ts's business. */
export function createApp({
  db,
  engine,
  logger,
  lifecycle,
  registry,
  auth,
  protectReads = false,
}: AppDependencies): Koa {
  const invoices = new InvoiceRepository(db);
  // Paths match case-insensitively, as the original's Javalin routes did.
  const router = new Router({ sensitive: false });

  router.get('/rest/health', (ctx) => sendJson(ctx, 200, 'ok'));
  router.get('/healthz', livenessEndpoint());
  router.get(
    '/readyz',
    readinessEndpoint(lifecycle, { database: () => void db.prepare('SELECT 1').get() }),
  );
  // Metrics name runs, outcomes and timings: a token is required even though it is a GET.
  router.get('/metrics', authGuard(auth), metricsEndpoint(registry));
  router.get('/openapi.json', openApiEndpoint(loadOpenApiDocument(OPENAPI_FILE)));
  customerRoutes(router, new CustomerRepository(db));
  billingRoutes(router, { engine, store: new BillingStore(db), invoices });
  invoiceRoutes(router, invoices);

  const app = new Koa();
  // Request id and access log, duration histogram, JSON errors, in-flight tracking and the
  // JSON 404 for a path nothing answered, around everything below.
  app.use(serviceMiddleware({ logger, registry, lifecycle }));
  app.use(callerAuth({ auth, protectReads }));
  app.use(router.routes());
  app.use(router.allowedMethods(methodErrors));
  return app;
}
