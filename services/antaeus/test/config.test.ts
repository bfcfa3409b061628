import { ConfigError } from '@internal/service-kit';
import { loadConfig, loadServerConfig } from '../src/config';

function problems(env: Record<string, string>, load = loadConfig): string[] {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('the configuration was accepted');
}

describe('configuration', () => {
  test('defaults match the original: port 8000, payment on localhost:9000, 2 × 5 seed', () => {
    expect(loadConfig({})).toMatchObject({
      port: 8000,
      paymentProviderEndpoint: 'http://localhost:9000/v1/charges',
      paymentApiToken: undefined,
      seedCustomers: 2,
      seedInvoicesPerCustomer: 5,
      billingConcurrency: 16,
      databaseResetOnStart: false,
    });
  });

  test('a bad PAYMENT_API_TOKEN is named but its value never echoed', () => {
    const token = 'do-not-print this-token';
    const found = problems({ PAYMENT_API_TOKEN: token });
    expect(found.join('\n')).toMatch(/PAYMENT_API_TOKEN/);
    expect(found.join('\n')).not.toContain('do-not-print');
  });

  test('values are read from the environment', () => {
    expect(
      loadConfig({
        PORT: '8080',
        PAYMENT_PROVIDER_ENDPOINT: 'https://payment.payments-dev.svc:9000/',
        PAYMENT_API_TOKEN: 'secret-token',
        DATABASE_PATH: '/data/antaeus.db',
        DATABASE_RESET_ON_START: 'true',
        BILLING_CONCURRENCY: '64',
      }),
    ).toMatchObject({
      port: 8080,
      paymentProviderEndpoint: 'https://payment.payments-dev.svc:9000/',
      paymentApiToken: 'secret-token',
      databasePath: '/data/antaeus.db',
      databaseResetOnStart: true,
      billingConcurrency: 64,
    });
  });

  test('every bad variable is reported at once, by name', () => {
    const found = problems({
      PAYMENT_PROVIDER_ENDPOINT: 'payment:9000',
      BILLING_CONCURRENCY: '0',
      PAYMENT_TIMEOUT_MS: 'soon',
      SEED_CUSTOMERS: '-1',
      PORT: '70000',
    });
    expect(found).toHaveLength(5);
    for (const name of [
      'PAYMENT_PROVIDER_ENDPOINT',
      'BILLING_CONCURRENCY',
      'PAYMENT_TIMEOUT_MS',
      'SEED_CUSTOMERS',
      'PORT',
    ]) {
      expect(found.some((p) => p.includes(name))).toBe(true);
    }
  });

  test('a claim lease shorter than the longest possible charge is refused with the arithmetic', () => {
    const [problem] = problems({
      PAYMENT_TIMEOUT_MS: '10000',
      PAYMENT_MAX_RETRIES: '5',
      BILLING_CLAIM_LEASE_MS: '30000',
    });
    expect(problem).toMatch(
      /BILLING_CLAIM_LEASE_MS \(30000\) must exceed the longest possible charge, 70000 ms/,
    );
  });

  test('inconsistent retry delays and oversized seeds are refused', () => {
    expect(
      problems({ PAYMENT_RETRY_BASE_DELAY_MS: '5000', PAYMENT_RETRY_MAX_DELAY_MS: '100' })[0],
    ).toMatch(
      /PAYMENT_RETRY_BASE_DELAY_MS \(5000\) must not exceed PAYMENT_RETRY_MAX_DELAY_MS \(100\)/,
    );
    expect(problems({ SEED_CUSTOMERS: '10000', SEED_INVOICES_PER_CUSTOMER: '1000' })[0]).toMatch(
      /SEED_CUSTOMERS × SEED_INVOICES_PER_CUSTOMER must be at most 1000000/,
    );
  });

  describe('the server fails closed', () => {
    const TOKEN = 'antaeus-token-0123456789abcdef';

    test('neither ANTAEUS_API_TOKENS nor ANTAEUS_AUTH: refused, naming both', () => {
      expect(problems({}, loadServerConfig).join('\n')).toMatch(
        /ANTAEUS_API_TOKENS is not set.*ANTAEUS_AUTH=disabled/,
      );
    });

    test.each(['', '  ', ',', `${TOKEN},`])('ANTAEUS_API_TOKENS=%j is an error', (value) => {
      const found = problems({ ANTAEUS_API_TOKENS: value }, loadServerConfig).join('\n');
      expect(found).toMatch(/ANTAEUS_API_TOKENS (is set but empty|entry \d of \d)/);
      expect(found).not.toContain(TOKEN);
    });

    test('tokens, the explicit opt-out, and protected reads', () => {
      expect(loadServerConfig({ ANTAEUS_API_TOKENS: ` ${TOKEN} ` })).toMatchObject({
        auth: { tokens: [TOKEN] },
        metricsTokens: [],
        protectReads: false,
      });
      expect(
        loadServerConfig({
          ANTAEUS_API_TOKENS: TOKEN,
          ANTAEUS_METRICS_TOKENS: `prometheus:${TOKEN}x`,
        }).metricsTokens,
      ).toEqual([`prometheus:${TOKEN}x`]);
      expect(loadServerConfig({ ANTAEUS_AUTH: 'disabled' }).auth).toEqual({ disabled: true });
      expect(
        loadServerConfig({ ANTAEUS_API_TOKENS: TOKEN, ANTAEUS_PROTECT_READS: 'true' }).protectReads,
      ).toBe(true);
      expect(
        problems({ ANTAEUS_AUTH: 'disabled', ANTAEUS_PROTECT_READS: 'true' }, loadServerConfig),
      ).toEqual([expect.stringMatching(/ANTAEUS_PROTECT_READS=true needs ANTAEUS_API_TOKENS/)]);
      expect(problems({ ANTAEUS_AUTH: 'off' }, loadServerConfig).join()).toMatch(
        /ANTAEUS_AUTH must be "disabled" or unset/,
      );
    });

    test('the billing CLI against the database needs no server authentication', () => {
      expect(() => loadConfig({})).not.toThrow();
    });
  });
});

describe('server limits and capacity', () => {
  const open = { ANTAEUS_AUTH: 'disabled' };

  test('defaults: limits that cut a slow client, 4 listings at once, Retry-After waits up to 10 s', () => {
    expect(loadServerConfig(open)).toMatchObject({
      limits: {
        headersTimeoutMs: 15_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
        maxConnections: 1024,
        connectionMaxAgeMs: 30_000,
      },
      maxConcurrentListings: 4,
      paymentRetryAfterMaxMs: 10_000,
    });
  });

  test('values are read from the environment', () => {
    expect(
      loadServerConfig({
        ...open,
        HTTP_HEADERS_TIMEOUT_MS: '1000',
        HTTP_REQUEST_TIMEOUT_MS: '2000',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '500',
        HTTP_MAX_CONNECTIONS: '3',
        ANTAEUS_MAX_CONCURRENT_LISTINGS: '2',
        PAYMENT_RETRY_AFTER_MAX_MS: '3000',
      }),
    ).toMatchObject({
      limits: {
        headersTimeoutMs: 1000,
        requestTimeoutMs: 2000,
        keepAliveTimeoutMs: 500,
        maxConnections: 3,
      },
      maxConcurrentListings: 2,
      paymentRetryAfterMaxMs: 3000,
    });
  });

  test.each([
    ['HTTP_HEADERS_TIMEOUT_MS', 'slow'],
    ['HTTP_REQUEST_TIMEOUT_MS', '0'],
    ['HTTP_KEEP_ALIVE_TIMEOUT_MS', '-1'],
    ['HTTP_MAX_CONNECTIONS', '0'],
    ['ANTAEUS_MAX_CONCURRENT_LISTINGS', '0'],
    ['ANTAEUS_MAX_CONCURRENT_LISTINGS', 'all'],
    ['PAYMENT_RETRY_AFTER_MAX_MS', '10'],
  ])('%s=%s is refused, by name', (variable, value) => {
    const found = problems({ ...open, [variable]: value }, loadServerConfig);
    expect(found).toEqual([expect.stringContaining(variable)]);
  });

  test('limits that contradict each other are reported with the other problems', () => {
    const found = problems(
      {
        ANTAEUS_AUTH: 'disabled',
        ANTAEUS_PROTECT_READS: 'true',
        HTTP_HEADERS_TIMEOUT_MS: '40000',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '50000',
      },
      loadServerConfig,
    );
    expect(found).toEqual([
      expect.stringMatching(/ANTAEUS_PROTECT_READS=true needs ANTAEUS_API_TOKENS/),
      'HTTP_HEADERS_TIMEOUT_MS (40000) must not exceed HTTP_REQUEST_TIMEOUT_MS (30000)',
      'HTTP_KEEP_ALIVE_TIMEOUT_MS (50000) must be less than HTTP_HEADERS_TIMEOUT_MS (40000)',
    ]);
  });
});
