import {
  Lifecycle,
  createLogger,
  createMetricsRegistry,
  runMain,
  serve,
} from '@internal/service-kit';
import { createApp } from './app';
import { createBillingMetrics } from './billing/metrics';
import { createBilling } from './billing/setup';
import { loadServerConfig } from './config';
import { openDatabase } from './db/database';
import { seedIfEmpty, wipeAndReseed } from './db/seed';
import { withoutUserinfo } from './safe-url';

async function main(): Promise<void> {
  const config = loadServerConfig();
  const logger = createLogger('antaeus', config.logLevel);
  const db = openDatabase(config.databasePath, { busyTimeoutMs: config.databaseBusyTimeoutMs });
  const seed = {
    customers: config.seedCustomers,
    invoicesPerCustomer: config.seedInvoicesPerCustomer,
  };
  if (config.databaseResetOnStart) {
    wipeAndReseed(db, seed);
    logger.info({ database: config.databasePath, ...seed }, 'database wiped and reseeded');
  } else if (seedIfEmpty(db, seed)) {
    logger.info({ database: config.databasePath, ...seed }, 'empty database seeded');
  }

  const registry = createMetricsRegistry();
  const metrics = createBillingMetrics(registry);
  const { client, engine } = createBilling(config, db, logger, metrics);
  const lifecycle = new Lifecycle();
  if ('disabled' in config.auth) {
    logger.warn(
      'ANTAEUS_AUTH=disabled: anyone who can reach Antaeus may start billing runs (local compatibility mode only)',
    );
  }
  const app = createApp({
    db,
    engine,
    logger,
    lifecycle,
    registry,
    auth: config.auth,
    metricsTokens: config.metricsTokens,
    protectReads: config.protectReads,
    maxConcurrentListings: config.maxConcurrentListings,
  });

  // Billing stops claiming invoices as soon as shutdown begins, so the requests waiting on a
  // run finish within the drain instead of holding the process until the deadline.
  const engineStopped = new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const)
      process.once(signal, () => void engine.shutdown().then(resolve));
  });
  await serve({
    app,
    port: config.port,
    host: config.host,
    logger,
    lifecycle,
    drainDelayMs: config.drainDelayMs,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    limits: config.limits,
    onClose: async () => {
      await engineStopped;
      client.close();
      db.close();
    },
  });
  logger.info(
    {
      paymentProviderEndpoint: withoutUserinfo(config.paymentProviderEndpoint),
      concurrency: config.billingConcurrency,
    },
    'antaeus ready',
  );
}

runMain(main);
