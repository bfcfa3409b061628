import path from 'node:path';
import type Koa from 'koa';
import type { Registry } from 'prom-client';
import type { Database } from 'better-sqlite3';
import {
  Lifecycle,
  bodyLimit,
  createServiceApp,
  metricsAuthGuard,
  type BearerAuthConfig,
  type Logger,
} from '@internal/service-kit';
import { billingRoutes } from './billing/routes';
import type { BillingEngine } from './billing/engine';
import { billingHttpError } from './billing/http-errors';
import { BillingStore } from './billing/store';
import { callerAuth } from './caller-auth';
import { CustomerRepository } from './customers/repository';
import { customerRoutes } from './customers/routes';
import { InvoiceRepository } from './invoices/repository';
import { invoiceRoutes } from './invoices/routes';
import { sendJson } from './json';
import { listingLimit } from './listing-limit';

export interface AppDependencies {
  db: Database;
  engine: BillingEngine;
  logger: Logger;
  lifecycle: Lifecycle;
  registry: Registry;
  /** Bearer tokens for mutating endpoints and /metrics, or explicitly none (ANTAEUS_AUTH=disabled). */
  auth: BearerAuthConfig;
  /** ANTAEUS_METRICS_TOKENS: accepted on /metrics only. */
  metricsTokens?: readonly string[];
  /** ANTAEUS_PROTECT_READS: the read endpoints need a token too. */
  protectReads?: boolean;
  /** ANTAEUS_MAX_CONCURRENT_LISTINGS: invoice and customer listings streamed at once. */
  maxConcurrentListings?: number;
}

/** No route reads a body; the original's clients send none, others at most `{}`. */
const MAX_IGNORED_BODY = '1kb';
/** ANTAEUS_MAX_CONCURRENT_LISTINGS's default. */
export const DEFAULT_MAX_CONCURRENT_LISTINGS = 4;

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
  metricsTokens = [],
  protectReads = false,
  maxConcurrentListings = DEFAULT_MAX_CONCURRENT_LISTINGS,
}: AppDependencies): Koa {
  const invoices = new InvoiceRepository(db);
  const listings = listingLimit(maxConcurrentListings);
  return createServiceApp({
    logger,
    registry,
    lifecycle,
    openApiFile: OPENAPI_FILE,
    mapError: billingHttpError,
    readiness: { database: () => void db.prepare('SELECT 1').get() },
    // Metrics name runs, outcomes and timings: a token is required even though it is a GET.
    metricsGuard: metricsAuthGuard(auth, metricsTokens),
    // Paths match case-insensitively, as the original's Javalin routes did.
    routerOptions: { sensitive: false },
    beforeRoutes: [callerAuth({ auth, protectReads }), bodyLimit(MAX_IGNORED_BODY)],
    routes: (router) => {
      router.get('/rest/health', (ctx) => sendJson(ctx, 200, 'ok'));
      customerRoutes(router, new CustomerRepository(db), listings);
      billingRoutes(router, { engine, store: new BillingStore(db), invoices });
      invoiceRoutes(router, invoices, listings);
    },
  });
}
