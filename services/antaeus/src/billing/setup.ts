import type { Database } from 'better-sqlite3';
import type { Logger } from '@internal/service-kit';
import type { Config } from '../config';
import { PaymentClient } from '../payment-client/client';
import { BillingEngine } from './engine';
import type { BillingMetrics } from './metrics';
import { BillingStore } from './store';

/** The payment client and billing engine as the configuration describes them. */
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
    onExchange: metrics?.paymentExchange,
  });
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
