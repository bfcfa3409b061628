import {
  Lifecycle,
  createLogger,
  createMetricsRegistry,
  runMain,
  serve,
} from '@internal/service-kit';
import { createApp } from './app';
import { loadConfig, type PaymentConfig } from './config';
import { MemoryChargeStore } from './ledger/memory-store';
import { RedisChargeStore } from './ledger/redis-store';
import type { ChargeStore } from './ledger/store';
import { createRandomSource } from './random/prng';

function createStore(config: PaymentConfig): ChargeStore {
  if (config.redisUrl) {
    return new RedisChargeStore({
      url: config.redisUrl,
      keyPrefix: config.redisKeyPrefix,
      idempotencyTtlSeconds: config.idempotencyTtlSeconds,
      pendingLeaseMs: config.idempotencyPendingLeaseMs,
      ledgerTtlSeconds: config.ledgerTtlSeconds,
    });
  }
  return new MemoryChargeStore({
    ttlMs: config.idempotencyTtlSeconds * 1000,
    pendingLeaseMs: config.idempotencyPendingLeaseMs,
    maxKeys: config.idempotencyMaxKeys,
    maxLedgerEntries: config.ledgerMaxEntries,
  });
}

runMain(async () => {
  const config = loadConfig();
  const logger = createLogger('payment', config.logLevel);
  if ('disabled' in config.auth) {
    logger.warn(
      'PAYMENT_AUTH=disabled: charge endpoints accept unauthenticated requests (local compatibility mode only)',
    );
  }
  const store = createStore(config);
  logger.info(
    {
      store: config.redisUrl ? 'redis' : 'memory',
      successRate: config.successRate,
      seeded: config.randomSeed !== undefined,
      acceptedTokens: 'tokens' in config.auth ? config.auth.tokens.length : 0,
    },
    'starting payment service',
  );
  const lifecycle = new Lifecycle();
  const app = createApp(config, {
    store,
    random: createRandomSource(config.randomSeed),
    logger,
    lifecycle,
    registry: createMetricsRegistry(),
  });
  await serve({
    app,
    port: config.port,
    host: config.host,
    logger,
    lifecycle,
    drainDelayMs: config.drainDelayMs,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    onClose: () => store.close(),
  });
});
