import Joi from 'joi';
import {
  ConfigError,
  authMode,
  bearerTokenList,
  envRules,
  loadTls,
  parseEnv,
  readServerLimits,
  readTlsFiles,
  resolveBearerAuth,
  serverLimitRules,
  tlsRules,
  type BearerAuthConfig,
  type ServerLimits,
  type TlsFiles,
} from '@internal/service-kit';

/** Antaeus's side of TLS to payment: the CA payment's certificate must chain to, and its own. */
export const PAYMENT_TLS_VARIABLES = {
  caFile: 'PAYMENT_TLS_CA_FILE',
  certFile: 'PAYMENT_TLS_CERT_FILE',
  keyFile: 'PAYMENT_TLS_KEY_FILE',
};

export interface Config {
  port: number;
  host: string;
  logLevel: string;
  paymentProviderEndpoint: string;
  paymentApiToken: string | undefined;
  paymentTimeoutMs: number;
  paymentMaxRetries: number;
  paymentRetryBaseDelayMs: number;
  paymentRetryMaxDelayMs: number;
  paymentRetryAfterMaxMs: number;
  /** TLS to an https:// payment endpoint: the CA to verify it, and the client certificate. */
  paymentTls: TlsFiles | undefined;
  databasePath: string;
  databaseBusyTimeoutMs: number;
  databaseResetOnStart: boolean;
  seedCustomers: number;
  seedInvoicesPerCustomer: number;
  billingConcurrency: number;
  billingClaimLeaseMs: number;
  drainDelayMs: number;
  shutdownTimeoutMs: number;
}

/** What the HTTP server needs on top: who may call it. */
export interface ServerConfig extends Config {
  /** Who may call mutating endpoints and /metrics: bearer tokens, or explicitly anyone. */
  auth: BearerAuthConfig;
  /** ANTAEUS_METRICS_TOKENS: tokens accepted on /metrics only, for the scraper. */
  metricsTokens: string[];
  /** Also require a token on the read endpoints (customers, invoices, billing runs). */
  protectReads: boolean;
  /** Invoice and customer listings streamed at once; more are answered 503. */
  maxConcurrentListings: number;
  /** Deadlines and the connection cap against slow and greedy clients (HTTP_*). */
  limits: ServerLimits;
}

interface Env {
  PORT: number;
  HOST: string;
  LOG_LEVEL: string;
  PAYMENT_PROVIDER_ENDPOINT: string;
  PAYMENT_API_TOKEN?: string;
  PAYMENT_TIMEOUT_MS: number;
  PAYMENT_MAX_RETRIES: number;
  PAYMENT_RETRY_BASE_DELAY_MS: number;
  PAYMENT_RETRY_MAX_DELAY_MS: number;
  PAYMENT_RETRY_AFTER_MAX_MS: number;
  PAYMENT_TLS_CA_FILE?: string;
  PAYMENT_TLS_CERT_FILE?: string;
  PAYMENT_TLS_KEY_FILE?: string;
  DATABASE_PATH: string;
  DATABASE_BUSY_TIMEOUT_MS: number;
  DATABASE_RESET_ON_START: boolean;
  SEED_CUSTOMERS: number;
  SEED_INVOICES_PER_CUSTOMER: number;
  BILLING_CONCURRENCY: number;
  BILLING_CLAIM_LEASE_MS: number;
  DRAIN_DELAY_MS: number;
  SHUTDOWN_TIMEOUT_MS: number;
  ANTAEUS_API_TOKENS?: string[];
  ANTAEUS_AUTH?: string;
  ANTAEUS_METRICS_TOKENS?: string[];
  ANTAEUS_PROTECT_READS: boolean;
  ANTAEUS_MAX_CONCURRENT_LISTINGS: number;
  HTTP_HEADERS_TIMEOUT_MS: number;
  HTTP_REQUEST_TIMEOUT_MS: number;
  HTTP_KEEP_ALIVE_TIMEOUT_MS: number;
  HTTP_MAX_CONNECTIONS: number;
}

const MAX_SEED_INVOICES = 1_000_000;
const AUTH_VARIABLES = { tokens: 'ANTAEUS_API_TOKENS', mode: 'ANTAEUS_AUTH' };

const schema = Joi.object<Env>({
  PORT: envRules.port(8000),
  HOST: envRules.host(),
  LOG_LEVEL: envRules.logLevel(),
  PAYMENT_PROVIDER_ENDPOINT: Joi.string()
    .uri({ scheme: ['http', 'https'] })
    .default('http://localhost:9000/v1/charges')
    .messages({
      'string.uriCustomScheme': 'PAYMENT_PROVIDER_ENDPOINT must be an http:// or https:// URL',
    }),
  PAYMENT_API_TOKEN: Joi.string().pattern(/^\S+$/).messages({
    'string.pattern.base': 'PAYMENT_API_TOKEN must not contain whitespace',
  }),
  PAYMENT_TIMEOUT_MS: envRules.milliseconds(5_000).min(1),
  PAYMENT_MAX_RETRIES: Joi.number().integer().min(0).max(10).default(3),
  PAYMENT_RETRY_BASE_DELAY_MS: envRules.milliseconds(100, 60_000),
  PAYMENT_RETRY_MAX_DELAY_MS: envRules.milliseconds(2_000, 60_000),
  PAYMENT_RETRY_AFTER_MAX_MS: envRules.milliseconds(10_000, 600_000).min(100),
  DATABASE_PATH: Joi.string().default('data/antaeus.db'),
  DATABASE_BUSY_TIMEOUT_MS: envRules.milliseconds(5_000, 120_000),
  DATABASE_RESET_ON_START: Joi.boolean().truthy('1').falsy('0').default(false),
  SEED_CUSTOMERS: Joi.number().integer().min(0).max(MAX_SEED_INVOICES).default(2),
  SEED_INVOICES_PER_CUSTOMER: Joi.number().integer().min(0).max(MAX_SEED_INVOICES).default(5),
  BILLING_CONCURRENCY: Joi.number().integer().min(1).max(512).default(16),
  BILLING_CLAIM_LEASE_MS: envRules.milliseconds(120_000, 86_400_000).min(100),
  DRAIN_DELAY_MS: envRules.milliseconds(5_000, 120_000),
  SHUTDOWN_TIMEOUT_MS: envRules.milliseconds(20_000, 600_000),
  ANTAEUS_API_TOKENS: bearerTokenList(AUTH_VARIABLES),
  ANTAEUS_AUTH: authMode('ANTAEUS_AUTH'),
  ANTAEUS_METRICS_TOKENS: bearerTokenList({
    tokens: 'ANTAEUS_METRICS_TOKENS',
    mode: 'ANTAEUS_AUTH',
  }),
  ANTAEUS_PROTECT_READS: Joi.boolean().truthy('1').falsy('0').default(false),
  ANTAEUS_MAX_CONCURRENT_LISTINGS: Joi.number().integer().min(1).max(1_000).default(4),
  ...serverLimitRules(),
  ...tlsRules(PAYMENT_TLS_VARIABLES),
});

/**
 * The longest one charge can take: every request timing out, with the longest backoff between.
 * A claim must outlive it, or a second run could take over an invoice whose charge is still
 * in flight (harmless thanks to the idempotency key, but wasteful and confusing in the history).
 */
export function worstCaseChargeMs(c: Config): number {
  return (
    c.paymentTimeoutMs * (c.paymentMaxRetries + 1) + c.paymentRetryMaxDelayMs * c.paymentMaxRetries
  );
}

/**
 * Reads and validates the environment; every problem is reported at once, by variable name.
 * The billing settings only, for the billing CLI against the database; the server uses
 * loadServerConfig.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const { config, problems } = parse(env);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * The server's configuration: the billing settings and who may call it. Authentication fails
 * closed: without ANTAEUS_API_TOKENS Antaeus starts only with ANTAEUS_AUTH=disabled.
 */
export function loadServerConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const { config, problems, e } = parse(env);
  const auth = resolveBearerAuth(AUTH_VARIABLES, e as unknown as Record<string, unknown>, env);
  if ('problem' in auth) problems.push(auth.problem);
  else if (e.ANTAEUS_PROTECT_READS && 'disabled' in auth) {
    problems.push('ANTAEUS_PROTECT_READS=true needs ANTAEUS_API_TOKENS, not ANTAEUS_AUTH=disabled');
  }
  const limits = collectProblems(problems, () =>
    readServerLimits(e as unknown as Record<string, unknown>),
  );
  if (problems.length > 0 || 'problem' in auth || !limits) throw new ConfigError(problems);
  return {
    ...config,
    auth,
    metricsTokens: e.ANTAEUS_METRICS_TOKENS ?? [],
    protectReads: e.ANTAEUS_PROTECT_READS,
    maxConcurrentListings: e.ANTAEUS_MAX_CONCURRENT_LISTINGS,
    limits,
  };
}

/**
 * The TLS files for payment, read once here so that a missing file, a wrong CA or an expired
 * certificate stops the start with a message naming the variable.
 */
function paymentTlsFiles(raw: Record<string, unknown>, endpoint: string): TlsFiles | undefined {
  const files = readTlsFiles(raw, PAYMENT_TLS_VARIABLES, { caNeedsCert: false });
  if (!files) return undefined;
  if (!endpoint.startsWith('https://')) {
    throw new ConfigError([
      'PAYMENT_TLS_CA_FILE, PAYMENT_TLS_CERT_FILE and PAYMENT_TLS_KEY_FILE need an https:// PAYMENT_PROVIDER_ENDPOINT',
    ]);
  }
  loadTls(files, PAYMENT_TLS_VARIABLES);
  return files;
}

/** `read()`'s value, or undefined with its ConfigError's problems added to `problems`. */
function collectProblems<T>(problems: string[], read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
    return undefined;
  }
}

function parse(env: NodeJS.ProcessEnv): { config: Config; problems: string[]; e: Env } {
  const e = parseEnv(schema, env, {
    secrets: ['PAYMENT_API_TOKEN', 'ANTAEUS_API_TOKENS', 'ANTAEUS_METRICS_TOKENS'],
  });
  const problems: string[] = [];
  const paymentTls = collectProblems(problems, () =>
    paymentTlsFiles(e as unknown as Record<string, unknown>, e.PAYMENT_PROVIDER_ENDPOINT),
  );
  const config: Config = {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    paymentProviderEndpoint: e.PAYMENT_PROVIDER_ENDPOINT,
    paymentApiToken: e.PAYMENT_API_TOKEN,
    paymentTimeoutMs: e.PAYMENT_TIMEOUT_MS,
    paymentMaxRetries: e.PAYMENT_MAX_RETRIES,
    paymentRetryBaseDelayMs: e.PAYMENT_RETRY_BASE_DELAY_MS,
    paymentRetryMaxDelayMs: e.PAYMENT_RETRY_MAX_DELAY_MS,
    paymentRetryAfterMaxMs: e.PAYMENT_RETRY_AFTER_MAX_MS,
    paymentTls,
    databasePath: e.DATABASE_PATH,
    databaseBusyTimeoutMs: e.DATABASE_BUSY_TIMEOUT_MS,
    databaseResetOnStart: e.DATABASE_RESET_ON_START,
    seedCustomers: e.SEED_CUSTOMERS,
    seedInvoicesPerCustomer: e.SEED_INVOICES_PER_CUSTOMER,
    billingConcurrency: e.BILLING_CONCURRENCY,
    billingClaimLeaseMs: e.BILLING_CLAIM_LEASE_MS,
    drainDelayMs: e.DRAIN_DELAY_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
  if (config.paymentRetryBaseDelayMs > config.paymentRetryMaxDelayMs) {
    problems.push(
      `PAYMENT_RETRY_BASE_DELAY_MS (${config.paymentRetryBaseDelayMs}) must not exceed PAYMENT_RETRY_MAX_DELAY_MS (${config.paymentRetryMaxDelayMs})`,
    );
  }
  if (config.seedCustomers * config.seedInvoicesPerCustomer > MAX_SEED_INVOICES) {
    problems.push(
      `SEED_CUSTOMERS × SEED_INVOICES_PER_CUSTOMER must be at most ${MAX_SEED_INVOICES} (got ${config.seedCustomers * config.seedInvoicesPerCustomer})`,
    );
  }
  const worstCase = worstCaseChargeMs(config);
  if (config.billingClaimLeaseMs <= worstCase) {
    problems.push(
      `BILLING_CLAIM_LEASE_MS (${config.billingClaimLeaseMs}) must exceed the longest possible charge, ${worstCase} ms (PAYMENT_TIMEOUT_MS × (PAYMENT_MAX_RETRIES + 1) + PAYMENT_RETRY_MAX_DELAY_MS × PAYMENT_MAX_RETRIES)`,
    );
  }
  return { config, problems, e };
}
