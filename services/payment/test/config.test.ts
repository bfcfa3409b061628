import { ConfigError } from '@internal/service-kit';
import { loadConfig } from '../src/config';

describe('configuration', () => {
  const DISABLED = { PAYMENT_AUTH: 'disabled' };

  it('has documented defaults (authentication explicitly disabled)', () => {
    expect(loadConfig(DISABLED)).toEqual({
      port: 9000,
      host: '0.0.0.0',
      logLevel: 'info',
      successRate: 0.5,
      decisionDelayMs: 0,
      randomSeed: undefined,
      auth: { disabled: true },
      metricsTokens: [],
      redisUrl: undefined,
      redisKeyPrefix: 'payment:',
      idempotencyTtlSeconds: 86_400,
      idempotencyPendingLeaseMs: 5_000,
      idempotencyMaxKeys: 100_000,
      idempotencyWaitMs: 2_000,
      ledgerTtlSeconds: 604_800,
      ledgerMaxEntries: 50_000,
      ledgerMaxPerInvoice: 100,
      legacyCaller: undefined,
      rateLimitPerSecond: 1_000,
      rateLimitBurst: 2_000,
      bodyLimitBytes: 16_384,
      drainDelayMs: 5_000,
      shutdownTimeoutMs: 10_000,
      serverLimits: {
        headersTimeoutMs: 15_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
        maxConnections: 1_024,
        connectionMaxAgeMs: 30_000,
      },
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '9100',
      OPS_PORT: '9101',
      LOG_LEVEL: 'warn',
      PAYMENT_SUCCESS_RATE: '0.25',
      PAYMENT_DECISION_DELAY_MS: '250',
      PAYMENT_RANDOM_SEED: 'seed',
      PAYMENT_API_TOKENS: ' aaaaaaaaaaaaaaaa , bbbbbbbbbbbbbbbb,aaaaaaaaaaaaaaaa',
      PAYMENT_METRICS_TOKENS: 'prometheus:cccccccccccccccc',
      REDIS_URL: 'redis://redis:6379/0',
      REDIS_KEY_PREFIX: 'pay:',
      IDEMPOTENCY_TTL_SECONDS: '60',
      IDEMPOTENCY_PENDING_LEASE_MS: '2500',
      IDEMPOTENCY_MAX_KEYS: '10',
      IDEMPOTENCY_WAIT_MS: '0',
      LEDGER_TTL_SECONDS: '3600',
      LEDGER_MAX_ENTRIES: '20',
      LEDGER_MAX_PER_INVOICE: '5',
      PAYMENT_LEGACY_CALLER: 'antaeus',
      RATE_LIMIT_PER_SECOND: '50',
      RATE_LIMIT_BURST: '0',
      BODY_LIMIT_BYTES: '1024',
      DRAIN_DELAY_MS: '0',
      SHUTDOWN_TIMEOUT_MS: '500',
      HTTP_HEADERS_TIMEOUT_MS: '4000',
      HTTP_REQUEST_TIMEOUT_MS: '8000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000',
      HTTP_MAX_CONNECTIONS: '64',
    });
    expect(config).toMatchObject({
      ledgerMaxPerInvoice: 5,
      legacyCaller: 'antaeus',
      rateLimitPerSecond: 50,
      rateLimitBurst: 0,
      serverLimits: {
        headersTimeoutMs: 4_000,
        requestTimeoutMs: 8_000,
        keepAliveTimeoutMs: 1_000,
        maxConnections: 64,
      },
      port: 9100,
      opsPort: 9101,
      successRate: 0.25,
      decisionDelayMs: 250,
      auth: { tokens: ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb'] },
      metricsTokens: ['prometheus:cccccccccccccccc'],
      redisUrl: 'redis://redis:6379/0',
      idempotencyTtlSeconds: 60,
      idempotencyPendingLeaseMs: 2_500,
      idempotencyWaitMs: 0,
      drainDelayMs: 0,
    });
  });

  it.each([
    ['PORT', '70000', /PORT must be less than or equal to 65535/],
    ['OPS_PORT', '9000', /OPS_PORT must differ from PORT/],
    ['OPS_PORT', 'ops', /OPS_PORT must be a number/],
    ['PAYMENT_SUCCESS_RATE', '1.5', /PAYMENT_SUCCESS_RATE must be less than or equal to 1/],
    ['PAYMENT_SUCCESS_RATE', 'half', /PAYMENT_SUCCESS_RATE must be a number/],
    [
      'PAYMENT_DECISION_DELAY_MS',
      '6000',
      /PAYMENT_DECISION_DELAY_MS must be less than or equal to 5000/,
    ],
    [
      'PAYMENT_DECISION_DELAY_MS',
      '-1',
      /PAYMENT_DECISION_DELAY_MS must be greater than or equal to 0/,
    ],
    [
      'REDIS_URL',
      'http://redis:6379',
      /REDIS_URL must be a valid uri with a scheme matching the redis\|rediss pattern/,
    ],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of/],
    ['IDEMPOTENCY_MAX_KEYS', '0', /IDEMPOTENCY_MAX_KEYS must be greater than or equal to 1/],
    [
      'IDEMPOTENCY_PENDING_LEASE_MS',
      '50',
      /IDEMPOTENCY_PENDING_LEASE_MS must be greater than or equal to 100/,
    ],
    ['IDEMPOTENCY_PENDING_LEASE_MS', '2.5', /IDEMPOTENCY_PENDING_LEASE_MS must be an integer/],
    ['BODY_LIMIT_BYTES', '10', /BODY_LIMIT_BYTES must be greater than or equal to 256/],
    ['SHUTDOWN_TIMEOUT_MS', '-1', /SHUTDOWN_TIMEOUT_MS must be greater than or equal to 0/],
    ['RATE_LIMIT_PER_SECOND', '0', /RATE_LIMIT_PER_SECOND must be greater than or equal to 1/],
    ['RATE_LIMIT_BURST', 'lots', /RATE_LIMIT_BURST must be a number/],
    ['LEDGER_MAX_PER_INVOICE', '0', /LEDGER_MAX_PER_INVOICE must be greater than or equal to 1/],
    ['PAYMENT_LEGACY_CALLER', 'Antaeus!', /PAYMENT_LEGACY_CALLER must be a caller name/],
    ['HTTP_MAX_CONNECTIONS', '0', /HTTP_MAX_CONNECTIONS must be greater than or equal to 1/],
    ['HTTP_HEADERS_TIMEOUT_MS', 'slow', /HTTP_HEADERS_TIMEOUT_MS must be a number/],
  ])('refuses %s=%s naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('takes the Redis password in REDIS_URL, as the manifests compose it, and never echoes it', () => {
    // deploy/teams/payments/payment/base/deployment.yaml: redis://:$(REDIS_PASSWORD)@payment-redis:6379
    // with a 64-hex password from the Secret payment-redis (delivery seal-environment).
    const password = 'f'.repeat(64);
    const url = `redis://:${password}@payment-redis:6379`;
    expect(loadConfig({ ...DISABLED, REDIS_URL: url }).redisUrl).toBe(url);
    let error: Error | undefined;
    try {
      loadConfig({ ...DISABLED, REDIS_URL: `redis://:${password}@payment redis:6379` });
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(/REDIS_URL must be a valid uri/);
    expect(error?.message).not.toContain(password);
  });

  it('refuses a short token by its position, never echoing it', () => {
    const secret = 'short-secret';
    let error: Error | undefined;
    try {
      loadConfig({ PAYMENT_API_TOKENS: `aaaaaaaaaaaaaaaa,${secret}` });
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(
      /PAYMENT_API_TOKENS entry 2 of 2 must be a token of 16 to 512 printable characters/,
    );
    expect(error?.message).not.toContain(secret);
  });

  it('refuses a pending lease that would outlive the answered key', () => {
    expect(() =>
      loadConfig({ IDEMPOTENCY_TTL_SECONDS: '5', IDEMPOTENCY_PENDING_LEASE_MS: '5000' }),
    ).toThrow(
      'IDEMPOTENCY_PENDING_LEASE_MS must be less than IDEMPOTENCY_TTL_SECONDS × 1000 (got 5000)',
    );
    expect(
      loadConfig({
        ...DISABLED,
        IDEMPOTENCY_TTL_SECONDS: '5',
        IDEMPOTENCY_PENDING_LEASE_MS: '4999',
      }).idempotencyPendingLeaseMs,
    ).toBe(4_999);
  });

  describe('fails closed', () => {
    const problem = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error(`loadConfig(${JSON.stringify(env)}) did not refuse`);
    };

    it('refuses to start with neither PAYMENT_API_TOKENS nor PAYMENT_AUTH, naming both', () => {
      expect(problem({})).toMatch(/PAYMENT_API_TOKENS is not set.*PAYMENT_AUTH=disabled/);
    });

    it.each(['', ' ', ' \t '])('treats PAYMENT_API_TOKENS=%j as an error, not as no auth', (v) => {
      expect(problem({ PAYMENT_API_TOKENS: v })).toMatch(/PAYMENT_API_TOKENS is set but empty/);
    });

    it.each([',', ' , ', `${'a'.repeat(16)},`])(
      'refuses PAYMENT_API_TOKENS=%j (an empty entry)',
      (v) => {
        expect(problem({ PAYMENT_API_TOKENS: v })).toMatch(/PAYMENT_API_TOKENS entry \d of \d/);
      },
    );

    it('refuses any PAYMENT_AUTH but "disabled", and tokens together with it', () => {
      expect(problem({ PAYMENT_AUTH: 'off' })).toMatch(/PAYMENT_AUTH must be "disabled" or unset/);
      expect(problem({ PAYMENT_AUTH: 'disabled', PAYMENT_API_TOKENS: 'a'.repeat(16) })).toMatch(
        /PAYMENT_API_TOKENS and PAYMENT_AUTH=disabled are both set/,
      );
    });
  });

  it('reports every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'x', PAYMENT_SUCCESS_RATE: '-1' })).toThrow(
      /PORT[\s\S]*PAYMENT_SUCCESS_RATE/,
    );
  });
});
