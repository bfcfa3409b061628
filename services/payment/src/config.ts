import Joi from 'joi';
import {
  ConfigError,
  authMode,
  bearerTokenList,
  envRules,
  parseEnv,
  loadTls,
  readServerLimits,
  readTlsFiles,
  resolveBearerAuth,
  serverLimitRules,
  tlsRules,
  type BearerAuthConfig,
  type ServerLimits,
  type TlsFiles,
} from '@internal/service-kit';

/** HTTPS for payment, and with a client CA mutual TLS: only clients it issued may connect. */
export const TLS_VARIABLES = {
  certFile: 'TLS_CERT_FILE',
  keyFile: 'TLS_KEY_FILE',
  caFile: 'TLS_CLIENT_CA_FILE',
};

export interface PaymentConfig {
  port: number;
  host: string;
  logLevel: string;
  successRate: number;
  /** PAYMENT_DECISION_DELAY_MS: how long a new decision takes to answer (a slower acquirer). */
  decisionDelayMs: number;
  randomSeed?: string;
  /** Accepted bearer tokens, or explicitly none (PAYMENT_AUTH=disabled). */
  auth: BearerAuthConfig;
  /** PAYMENT_METRICS_TOKENS: tokens accepted on /metrics only, for the scraper. */
  metricsTokens: string[];
  redisUrl?: string;
  redisKeyPrefix: string;
  idempotencyTtlSeconds: number;
  idempotencyPendingLeaseMs: number;
  idempotencyMaxKeys: number;
  idempotencyWaitMs: number;
  ledgerTtlSeconds: number;
  ledgerMaxEntries: number;
  ledgerMaxPerInvoice: number;
  /** The caller that owns idempotency keys and decisions written before they were scoped. */
  legacyCaller?: string;
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  bodyLimitBytes: number;
  serverLimits: ServerLimits;
  /** HTTPS (TLS_CERT_FILE, TLS_KEY_FILE) and mutual TLS (TLS_CLIENT_CA_FILE); plain HTTP when unset. */
  tls?: TlsFiles;
  /** OPS_PORT: probes and /metrics in plain HTTP beside a mutual-TLS port; unset: none. */
  opsPort?: number;
  drainDelayMs: number;
  shutdownTimeoutMs: number;
}

const DAY_SECONDS = 86_400;
const AUTH_VARIABLES = { tokens: 'PAYMENT_API_TOKENS', mode: 'PAYMENT_AUTH' };
const schema = Joi.object({
  PORT: envRules.port(9000),
  OPS_PORT: envRules.opsPort(),
  HOST: envRules.host(),
  LOG_LEVEL: envRules.logLevel(),
  PAYMENT_SUCCESS_RATE: Joi.number().min(0).max(1).default(0.5),
  // A card network's round trip, for load tests and canary drills; below the shortest graceful
  // shutdown, so a delayed answer still goes out on SIGTERM.
  PAYMENT_DECISION_DELAY_MS: Joi.number().integer().min(0).max(5_000).default(0),
  PAYMENT_RANDOM_SEED: Joi.string().max(256),
  PAYMENT_API_TOKENS: bearerTokenList(AUTH_VARIABLES),
  PAYMENT_AUTH: authMode('PAYMENT_AUTH'),
  PAYMENT_METRICS_TOKENS: bearerTokenList({
    tokens: 'PAYMENT_METRICS_TOKENS',
    mode: 'PAYMENT_AUTH',
  }),
  REDIS_URL: Joi.string().uri({ scheme: ['redis', 'rediss'] }),
  REDIS_KEY_PREFIX: Joi.string()
    .pattern(/^[A-Za-z0-9:_.-]{1,64}$/)
    .default('payment:'),
  // A caller replays an unknown outcome with the same key on its next run, which for monthly
  // billing is a month later: deployments keep keys longer than that (deploy/teams/payments).
  IDEMPOTENCY_TTL_SECONDS: Joi.number()
    .integer()
    .min(1)
    .max(400 * DAY_SECONDS)
    .default(DAY_SECONDS),
  // Above the slowest decide + save (Redis commands time out after 2 s), below the TTL.
  IDEMPOTENCY_PENDING_LEASE_MS: Joi.number()
    .integer()
    .min(100)
    .max(600_000)
    .less(Joi.ref('IDEMPOTENCY_TTL_SECONDS', { adjust: (seconds: number) => seconds * 1000 }))
    .default(5_000)
    .messages({
      'number.less':
        'IDEMPOTENCY_PENDING_LEASE_MS must be less than IDEMPOTENCY_TTL_SECONDS × 1000',
    }),
  IDEMPOTENCY_MAX_KEYS: Joi.number().integer().min(1).max(10_000_000).default(100_000),
  IDEMPOTENCY_WAIT_MS: envRules.milliseconds(2_000, 30_000),
  LEDGER_TTL_SECONDS: Joi.number()
    .integer()
    .min(60)
    .max(365 * DAY_SECONDS)
    .default(7 * DAY_SECONDS),
  LEDGER_MAX_ENTRIES: Joi.number().integer().min(1).max(10_000_000).default(50_000),
  // A real invoice is charged a few times at most; more is a client bug or abuse.
  LEDGER_MAX_PER_INVOICE: Joi.number().integer().min(1).max(10_000).default(100),
  PAYMENT_LEGACY_CALLER: Joi.string()
    .pattern(/^(shared|token-[0-9a-f]{16}|[a-z][a-z0-9-]{0,39})$/)
    .messages({
      'string.pattern.base':
        'PAYMENT_LEGACY_CALLER must be a caller name from PAYMENT_API_TOKENS (<name>:<token>), token-<16 hex digits> or shared',
    }),
  RATE_LIMIT_PER_SECOND: Joi.number().integer().min(1).max(1_000_000).default(1_000),
  RATE_LIMIT_BURST: Joi.number().integer().min(0).max(1_000_000).default(2_000),
  BODY_LIMIT_BYTES: Joi.number().integer().min(256).max(1_048_576).default(16_384),
  DRAIN_DELAY_MS: envRules.milliseconds(5_000, 120_000),
  SHUTDOWN_TIMEOUT_MS: envRules.milliseconds(10_000, 300_000),
  ...serverLimitRules(),
  ...tlsRules(TLS_VARIABLES),
});

/**
 * Reads and validates the environment; throws ConfigError naming every bad variable.
 * Authentication fails closed: without PAYMENT_API_TOKENS the service starts only with
 * PAYMENT_AUTH=disabled.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): PaymentConfig {
  const raw = parseEnv(schema, env, {
    secrets: ['PAYMENT_API_TOKENS', 'PAYMENT_METRICS_TOKENS', 'REDIS_URL'],
  }) as Record<string, unknown>;
  const auth = resolveBearerAuth(AUTH_VARIABLES, raw, env);
  if ('problem' in auth) throw new ConfigError([auth.problem]);
  const tls = readTlsFiles(raw, TLS_VARIABLES, { caNeedsCert: true });
  // Read now, so that a missing file or an expired certificate stops the start, named.
  if (tls) loadTls(tls, TLS_VARIABLES);
  return {
    port: raw.PORT as number,
    opsPort: raw.OPS_PORT as number | undefined,
    host: raw.HOST as string,
    logLevel: raw.LOG_LEVEL as string,
    successRate: raw.PAYMENT_SUCCESS_RATE as number,
    decisionDelayMs: raw.PAYMENT_DECISION_DELAY_MS as number,
    randomSeed: raw.PAYMENT_RANDOM_SEED as string | undefined,
    auth,
    metricsTokens: (raw.PAYMENT_METRICS_TOKENS as string[] | undefined) ?? [],
    redisUrl: raw.REDIS_URL as string | undefined,
    redisKeyPrefix: raw.REDIS_KEY_PREFIX as string,
    idempotencyTtlSeconds: raw.IDEMPOTENCY_TTL_SECONDS as number,
    idempotencyPendingLeaseMs: raw.IDEMPOTENCY_PENDING_LEASE_MS as number,
    idempotencyMaxKeys: raw.IDEMPOTENCY_MAX_KEYS as number,
    idempotencyWaitMs: raw.IDEMPOTENCY_WAIT_MS as number,
    ledgerTtlSeconds: raw.LEDGER_TTL_SECONDS as number,
    ledgerMaxEntries: raw.LEDGER_MAX_ENTRIES as number,
    ledgerMaxPerInvoice: raw.LEDGER_MAX_PER_INVOICE as number,
    legacyCaller: raw.PAYMENT_LEGACY_CALLER as string | undefined,
    rateLimitPerSecond: raw.RATE_LIMIT_PER_SECOND as number,
    rateLimitBurst: raw.RATE_LIMIT_BURST as number,
    bodyLimitBytes: raw.BODY_LIMIT_BYTES as number,
    serverLimits: readServerLimits(raw),
    tls,
    drainDelayMs: raw.DRAIN_DELAY_MS as number,
    shutdownTimeoutMs: raw.SHUTDOWN_TIMEOUT_MS as number,
  };
}
