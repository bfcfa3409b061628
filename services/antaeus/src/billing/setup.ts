import type { Database } from 'better-sqlite3';
import { loadTls, watchTls, type Logger } from '@internal/service-kit';
import { PAYMENT_TLS_VARIABLES, type Config } from '../config';
import { PaymentClient } from '../payment-client/client';
import { BillingEngine } from './engine';
import type { BillingMetrics } from './metrics';
import { BillingStore } from './store';

/**
 * The payment client and billing engine as the configuration describes them. With TLS to
 * payment, renewed certificate files are picked up while Antaeus runs.
 */
export function createBilling(
  config: Config,
  db: Database,
  logger: Logger,
  metrics?: BillingMetrics,
) {
  const client = new PaymentClient({
    endpoint: config.paymentProviderEndpoint,
    apiToken: config.paymentApiToken,
    timeoutMs: config.paymentTimeoutMs,
    maxRetries: config.paymentMaxRetries,
    retryBaseDelayMs: config.paymentRetryBaseDelayMs,
    retryMaxDelayMs: config.paymentRetryMaxDelayMs,
    retryAfterMaxMs: config.paymentRetryAfterMaxMs,
    chargeBudgetMs: config.billingClaimLeaseMs,
    maxSockets: config.billingConcurrency,
    tls: config.paymentTls && loadTls(config.paymentTls, PAYMENT_TLS_VARIABLES),
    onExchange: metrics?.paymentExchange,
  });
  // For the life of the process: the watch timer does not keep it alive.
  if (config.paymentTls) {
    watchTls(config.paymentTls, PAYMENT_TLS_VARIABLES, (renewed) => client.useTls(renewed), logger);
  }
  const engine = new BillingEngine({
    store: new BillingStore(db),
    client,
    concurrency: config.billingConcurrency,
    claimLeaseMs: config.billingClaimLeaseMs,
    logger,
    metrics,
  });
  return { client, engine };
}
