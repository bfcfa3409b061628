import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import type Redis from 'ioredis';
import pino from 'pino';
import { Lifecycle, createMetricsRegistry, loadOpenApiDocument } from '@internal/service-kit';
import { openApiValidator } from '@internal/test-kit';
import { OPENAPI_FILE, createApp, type AppConfig } from '../src/app';
import { MemoryChargeStore } from '../src/ledger/memory-store';
import { RedisChargeStore, connectRedis, type RedisStoreOptions } from '../src/ledger/redis-store';
import type { ChargeStore } from '../src/ledger/store';
import { createRandomSource } from '../src/random/prng';

export const SERVICE_DIR = path.join(__dirname, '..');

export const LEGACY_BODY = { currency: {}, value: 301.99, customer_id: 1 };
export const PATCHED_BODY = { currency: 'USD', value: 301.99, customer_id: 1 };

export const assertDocumented = openApiValidator(
  loadOpenApiDocument(OPENAPI_FILE) as Parameters<typeof openApiValidator>[0],
);

export function memoryStore(pendingLeaseMs = 5_000, maxKeys = 1_000): MemoryChargeStore {
  return new MemoryChargeStore({
    ttlMs: 60_000,
    pendingLeaseMs,
    maxKeys,
    maxLedgerEntries: 10_000,
    maxPerInvoice: 100,
  });
}

/** A Redis store on its own connection to `url`; close() closes that connection. */
export function redisStore(
  url: string,
  options: Partial<Omit<RedisStoreOptions, 'redis'>> = {},
): RedisChargeStore {
  return new RedisChargeStore({
    redis: connectRedis(url),
    keyPrefix: 'test:',
    idempotencyTtlSeconds: 60,
    pendingLeaseMs: 5_000,
    ledgerTtlSeconds: 600,
    maxPerInvoice: 100,
    ...options,
  });
}

/** Log lines the app wrote, parsed, so tests can look at what was logged. */
export function capturedLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

export interface TestAppOptions extends Partial<Omit<AppConfig, 'auth'>> {
  /** Accepted bearer tokens; without them the app runs as with PAYMENT_AUTH=disabled. */
  apiTokens?: string[];
  store?: ChargeStore;
  /** Where the rate limit counts, shared by apps given the same one; in-process without. */
  redis?: Redis;
  seed?: string;
}

/** The app as server.ts builds it, on an in-memory store unless told otherwise. */
export function testApp(options: TestAppOptions = {}) {
  const { logger, lines } = capturedLogger();
  const lifecycle = new Lifecycle();
  const registry = createMetricsRegistry();
  const store = options.store ?? memoryStore();
  const app = createApp(
    {
      successRate: options.successRate ?? 0.5,
      decisionDelayMs: options.decisionDelayMs ?? 0,
      auth: options.apiTokens ? { tokens: options.apiTokens } : { disabled: true },
      metricsTokens: options.metricsTokens ?? [],
      idempotencyWaitMs: options.idempotencyWaitMs ?? 2_000,
      bodyLimitBytes: options.bodyLimitBytes ?? 16_384,
      // High enough that only the tests of the limit meet it.
      rateLimitPerSecond: options.rateLimitPerSecond ?? 100_000,
      rateLimitBurst: options.rateLimitBurst ?? 100_000,
      redisKeyPrefix: options.redisKeyPrefix ?? 'test:',
    },
    {
      store,
      redis: options.redis,
      random: createRandomSource(options.seed ?? 'test-seed'),
      logger,
      lifecycle,
      registry,
    },
  );
  return { app, store, lifecycle, registry, logLines: lines, callback: app.callback() };
}

/** Serves `callback` on a loopback port, for tests that need real concurrent connections. */
export async function listen(callback: http.RequestListener) {
  const server = http.createServer(callback);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function postCharge(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as Record<string, unknown>,
  };
}

export interface LedgerEntryBody {
  id: string;
  result: boolean;
  amount_minor: number;
  invoice_id: number | null;
}

export interface LedgerListBody {
  invoice_id: number;
  charges: LedgerEntryBody[];
}

export async function getJson<T>(url: string): Promise<T> {
  return (await fetch(url).then((r) => r.json())) as T;
}
