import {
  Lifecycle,
  createLogger,
  createMetricsRegistry,
  runMain,
  serve,
} from '@internal/service-kit';
import type Redis from 'ioredis';
import { createApp } from './app';
import { TLS_VARIABLES, loadConfig, type PaymentConfig } from './config';
import { MemoryChargeStore } from './ledger/memory-store';
import { RedisChargeStore, connectRedis } from './ledger/redis-store';
import type { ChargeStore } from './ledger/store';
import { createRandomSource } from './random/prng';

function createStore(config: PaymentConfig, redis: Redis | undefined): ChargeStore {
  if (redis) {
    return new RedisChargeStore({
      redis,
      keyPrefix: config.redisKeyPrefix,
      idempotencyTtlSeconds: config.idempotencyTtlSeconds,
      pendingLeaseMs: config.idempotencyPendingLeaseMs,
      ledgerTtlSeconds: config.ledgerTtlSeconds,
      maxPerInvoice: config.ledgerMaxPerInvoice,
      legacyCaller: config.legacyCaller,
    });
  }
  return new MemoryChargeStore({
    ttlMs: config.idempotencyTtlSeconds * 1000,
    pendingLeaseMs: config.idempotencyPendingLeaseMs,
    maxKeys: config.idempotencyMaxKeys,
    maxLedgerEntries: config.ledgerMaxEntries,
    maxPerInvoice: config.ledgerMaxPerInvoice,
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
  const redis = config.redisUrl ? connectRedis(config.redisUrl) : undefined;
  const store = createStore(config, redis);
  logger.info(
    {
      store: config.redisUrl ? 'redis' : 'memory',
      successRate: config.successRate,
      seeded: config.randomSeed !== undefined,
      acceptedTokens: 'tokens' in config.auth ? config.auth.tokens.length : 0,
      rateLimit: { perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst },
    },
    'starting payment service',
  );
  const lifecycle = new Lifecycle();
  const app = createApp(config, {
    store,
    redis,
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
    limits: config.serverLimits,
    tls: config.tls && { files: config.tls, names: TLS_VARIABLES },
    opsPort: config.opsPort,
    onClose: () => store.close(),
  });
});
