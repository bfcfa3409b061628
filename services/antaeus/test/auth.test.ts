import { builtScript, freePort, openApiValidator, startProcess } from '@internal/test-kit';
import { loadOpenApiDocument } from '@internal/service-kit';
import { OPENAPI_FILE } from '../src/app';
import { startAppServer, type AppServer } from './support/app-server';
import { ScriptedProvider } from './support/scripted-provider';

const assertDocumented = openApiValidator(
  loadOpenApiDocument(OPENAPI_FILE) as unknown as Parameters<typeof openApiValidator>[0],
);

const OLD = 'antaeus-old-token-0123456789';
const NEW = 'antaeus-new-token-9876543210';
const SCRAPER = 'antaeus-scraper-token-01234567';

describe('Antaeus bearer authentication (ANTAEUS_API_TOKENS)', () => {
  let provider: ScriptedProvider;
  let server: AppServer;

  beforeAll(async () => {
    provider = await ScriptedProvider.start(() => ({ kind: 'decide', approve: true }));
    server = await startAppServer({
      endpoint: provider.url,
      auth: { tokens: [NEW, OLD] },
      metricsTokens: [`prometheus:${SCRAPER}`],
    });
  });

  afterAll(async () => {
    await server.close();
    await provider.stop();
  });

  async function call(method: string, path: string, authorization?: string) {
    const res = await fetch(`${server.baseUrl}${path}`, {
      method,
      headers: authorization === undefined ? {} : { authorization },
    });
    const text = await res.text();
    const body: unknown = (res.headers.get('content-type') ?? '').startsWith('application/json')
      ? JSON.parse(text)
      : text;
    return { status: res.status, body, headers: res.headers };
  }

  const refusals = () =>
    server.logLines.filter((line) => line.msg === 'request refused: 401') as Array<{
      reason: string;
      method: string;
      path: string;
    }>;

  describe.each([
    ['POST', '/rest/v1/invoices/pay'],
    ['POST', '/rest/v1/billing-runs'],
    ['GET', '/metrics'],
    ['POST', '/REST/V1/INVOICES/PAY'],
    ['GET', '/Metrics/'],
    ['DELETE', '/rest/v1/invoices/1'],
    ['PUT', '/rest/v1/customers'],
    ['POST', '/no/such/route'],
  ])('%s %s', (method, path) => {
    it.each([
      ['no Authorization header', undefined, 'missing_header'],
      ['a Basic credential', `Basic ${NEW}`, 'malformed_header'],
      ['an unknown token', `Bearer ${NEW}x`, 'unknown_token'],
    ])(
      'refuses %s with the JSON error envelope and logs the reason',
      async (_case, header, reason) => {
        const before = refusals().length;
        const res = await call(method, path, header);
        expect(res.status).toBe(401);
        expect(res.body).toEqual({
          error: { code: 'unauthorized', message: expect.any(String) },
        });
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        if (method !== 'DELETE' && method !== 'PUT' && !path.startsWith('/no/'))
          assertDocumented(method, path.toLowerCase().replace(/\/$/, ''), 401, res.body);
        expect(refusals().slice(before)).toEqual([
          expect.objectContaining({ reason, method, path }),
        ]);
      },
    );
  });

  it('accepts both tokens of a rotation on the pay endpoint, which still answers a boolean', async () => {
    for (const token of [OLD, NEW]) {
      const res = await call('POST', '/rest/v1/invoices/pay', `Bearer ${token}`);
      expect(res.status).toBe(200);
      expect(typeof res.body).toBe('boolean');
    }
    const metrics = await call('GET', '/metrics', `bearer ${NEW}`);
    expect(metrics.status).toBe(200);
  });

  it('opens /metrics, and only /metrics, to a token of ANTAEUS_METRICS_TOKENS', async () => {
    expect((await call('GET', '/metrics', `Bearer ${SCRAPER}`)).status).toBe(200);
    for (const path of ['/rest/v1/invoices/pay', '/rest/v1/billing-runs']) {
      expect([path, (await call('POST', path, `Bearer ${SCRAPER}`)).status]).toEqual([path, 401]);
    }
  });

  it('leaves the reads, health checks and the API description open by default', async () => {
    for (const path of [
      '/rest/health',
      '/healthz',
      '/readyz',
      '/openapi.json',
      '/rest/v1/customers',
      '/rest/v1/customers/1',
      '/rest/v1/invoices',
      '/rest/v1/invoices/1',
      '/rest/v1/invoices/1/charges',
      '/rest/v1/billing-runs',
    ]) {
      expect([path, (await call('GET', path)).status]).toEqual([path, 200]);
    }
  });

  it('never logs a token, presented or configured', () => {
    const logged = JSON.stringify(server.logLines);
    expect(refusals().length).toBeGreaterThan(10);
    expect(logged).not.toContain(NEW);
    expect(logged).not.toContain(OLD);
  });
});

describe('ANTAEUS_PROTECT_READS', () => {
  let provider: ScriptedProvider;
  let server: AppServer;

  beforeAll(async () => {
    provider = await ScriptedProvider.start(() => ({ kind: 'decide', approve: true }));
    server = await startAppServer({
      endpoint: provider.url,
      auth: { tokens: [NEW] },
      metricsTokens: [`prometheus:${SCRAPER}`],
      protectReads: true,
    });
  });

  afterAll(async () => {
    await server.close();
    await provider.stop();
  });

  const get = async (path: string, token?: string) => {
    const res = await fetch(`${server.baseUrl}${path}`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    await res.arrayBuffer();
    return res.status;
  };

  it.each([
    '/rest/v1/customers',
    '/rest/v1/customers/1',
    '/rest/v1/invoices',
    '/REST/v1/Invoices/1',
    '/rest/v1/invoices/1/charges',
    '/rest/v1/billing-runs',
    '/rest/v1/billing-runs/none',
  ])('guards GET %s too', async (path) => {
    expect(await get(path)).toBe(401);
    expect(await get(path, NEW)).not.toBe(401);
  });

  // Staging and prod protect reads and are scraped with the metrics token (lab/test/monitoring.test.ts).
  it.each(['/metrics', '/METRICS/'])(
    'leaves GET %s to its own guard: the scraper token opens it, and nothing else',
    async (path) => {
      expect(await get(path)).toBe(401);
      expect(await get(path, SCRAPER)).toBe(200);
      expect(await get(path, NEW)).toBe(200);
      expect(await get('/rest/v1/invoices', SCRAPER)).toBe(401);
    },
  );

  it.each(['/rest/health', '/healthz', '/readyz', '/openapi.json'])(
    'keeps GET %s open for probes and tools',
    async (path) => {
      expect(await get(path)).toBe(200);
    },
  );
});

describe('Antaeus startup without authentication settings', () => {
  const runToExit = async (env: Record<string, string>) => {
    const proc = await startProcess({
      command: process.execPath,
      args: [builtScript('antaeus')],
      env: { PORT: String(await freePort()), DATABASE_PATH: ':memory:', ...env },
    });
    return { code: await proc.exited, output: proc.output() };
  };

  it('refuses to start, naming ANTAEUS_API_TOKENS and ANTAEUS_AUTH', async () => {
    const { code, output } = await runToExit({});
    expect(code).toBe(1);
    expect(output).toMatch(/ANTAEUS_API_TOKENS is not set/);
    expect(output).toMatch(/ANTAEUS_AUTH=disabled/);
  });

  it('refuses an empty token list and never prints a token', async () => {
    const secret = 'a-secret-token-that-is-long-enough';
    for (const tokens of ['  ', `${secret},`]) {
      const { code, output } = await runToExit({ ANTAEUS_API_TOKENS: tokens });
      expect(code).toBe(1);
      expect(output).toMatch(/ANTAEUS_API_TOKENS/);
      expect(output).not.toContain(secret);
    }
  });
});
