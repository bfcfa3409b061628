import { openApiValidator, sleep } from '@internal/test-kit';
import { loadOpenApiDocument } from '@internal/service-kit';
import { OPENAPI_FILE } from '../src/app';
import { startAppServer, type AppServer } from './support/app-server';
import { ScriptedProvider } from './support/scripted-provider';

type Spec = Parameters<typeof openApiValidator>[0];
const spec = loadOpenApiDocument(OPENAPI_FILE) as unknown as Spec;
const assertDocumented = openApiValidator(spec);

describe('the Antaeus API, compatible with the original', () => {
  let provider: ScriptedProvider;
  let server: AppServer;

  beforeAll(async () => {
    provider = await ScriptedProvider.start((call) => ({
      kind: 'decide',
      approve: call.invoiceId % 2 === 0,
    }));
    server = await startAppServer({ endpoint: provider.url });
  });

  afterAll(async () => {
    await server.close();
    await provider.stop();
  });

  /** Calls the API and checks the answer against the OpenAPI document before returning it. */
  async function call(method: string, path: string) {
    const res = await fetch(`${server.baseUrl}${path}`, { method });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    const body: unknown = contentType.startsWith('application/json') ? JSON.parse(text) : text;
    assertDocumented(method, path, res.status, body);
    return { status: res.status, text, body, headers: res.headers };
  }

  test('GET /rest/health answers "ok"', async () => {
    const res = await call('GET', '/rest/health');
    expect(res.status).toBe(200);
    expect(res.text).toBe('"ok"');
  });

  test('GET /rest/v1/customers lists the seeded customers with rotating currencies', async () => {
    const res = await call('GET', '/rest/v1/customers');
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      { id: 1, currency: 'EUR' },
      { id: 2, currency: 'USD' },
    ]);
  });

  test('GET /rest/v1/customers/{id} answers one customer, and 404 "not found" when absent', async () => {
    expect((await call('GET', '/rest/v1/customers/2')).text).toBe('{"id":2,"currency":"USD"}');
    const missing = await call('GET', '/rest/v1/customers/99');
    expect(missing.status).toBe(404);
    expect(missing.text).toBe('"not found"');
  });

  test('GET /rest/v1/invoices: 10 invoices, the first of each customer PAID, two-decimal amounts', async () => {
    const res = await call('GET', '/rest/v1/invoices');
    const invoices = res.body as Array<{
      id: number;
      customerId: number;
      amount: { value: number; currency: string };
      status: string;
    }>;
    expect(invoices).toHaveLength(10);
    expect(invoices.filter((i) => i.status === 'PAID').map((i) => i.id)).toEqual([1, 6]);
    for (const invoice of invoices) {
      expect(Object.keys(invoice)).toEqual(['id', 'customerId', 'amount', 'status']);
      expect(invoice.amount.value).toBeGreaterThanOrEqual(10);
      expect(invoice.amount.value).toBeLessThanOrEqual(500);
      expect(invoice.amount.currency).toBe(invoice.customerId === 1 ? 'EUR' : 'USD');
    }
    // Every value is written with exactly two decimals, as the original's BigDecimal was.
    expect(res.text.match(/"value":[0-9.]+/g)).toHaveLength(10);
    expect(res.text.match(/"value":\d+\.\d\d,/g)).toHaveLength(10);
  });

  test('GET /rest/v1/invoices/{id} answers one invoice, and 404 "not found" when absent', async () => {
    const res = await call('GET', '/rest/v1/invoices/1');
    expect(res.text).toMatch(
      /^\{"id":1,"customerId":1,"amount":\{"value":\d+\.\d\d,"currency":"EUR"\},"status":"PAID"\}$/,
    );
    const missing = await call('GET', '/rest/v1/invoices/0');
    expect([missing.status, missing.text]).toEqual([404, '"not found"']);
  });

  test('paths match case-insensitively, as in the original', async () => {
    expect((await call('GET', '/rest/v1/Customers')).status).toBe(200);
    expect((await call('GET', '/REST/V1/INVOICES/3')).status).toBe(200);
    expect((await call('GET', '/Rest/Health')).text).toBe('"ok"');
  });

  test('a non-integer id is a 400 naming the parameter, never a 500', async () => {
    for (const path of [
      '/rest/v1/customers/abc',
      '/rest/v1/invoices/1.5',
      '/rest/v1/invoices/1e3',
      '/rest/v1/invoices/99999999999999999/charges',
    ]) {
      const res = await call('GET', path);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        error: { code: 'invalid_parameter', details: { parameter: 'id' } },
      });
    }
  });

  test('an unknown path is a JSON 404; a wrong method a 405 with Allow', async () => {
    const unknown = await fetch(`${server.baseUrl}/rest/v2/nothing`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found' } });
    const wrong = await fetch(`${server.baseUrl}/rest/v1/invoices/pay`, { method: 'GET' });
    // "pay" is not an invoice id: GET there is a wrong method, and Allow names only POST.
    expect([wrong.status, wrong.headers.get('allow')]).toEqual([405, 'POST']);
    const deleted = await fetch(`${server.baseUrl}/rest/v1/invoices`, { method: 'DELETE' });
    expect(deleted.status).toBe(405);
    expect(deleted.headers.get('allow')).toContain('GET');
    expect(await deleted.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
  });

  test('POST /rest/v1/invoices/pay answers a JSON boolean and records a billing run', async () => {
    const res = await call('POST', '/rest/v1/invoices/pay');
    expect(res.status).toBe(200);
    // Even invoice ids are approved: 2, 4, 8, 10 get paid; 3, 5, 7, 9 are declined.
    expect(res.text).toBe('false');
    const runId = res.headers.get('x-billing-run-id');
    const run = await call('GET', `/rest/v1/billing-runs/${runId}`);
    expect(run.body).toMatchObject({
      id: runId,
      trigger: 'pay',
      status: 'completed',
      pending: 8,
      attempted: 8,
      paid: 4,
      declined: 4,
      failed: 0,
      skipped: 0,
      allPaid: false,
    });
    const invoices = (await call('GET', '/rest/v1/invoices')).body as Array<{
      id: number;
      status: string;
    }>;
    expect(invoices.filter((i) => i.status === 'PAID').map((i) => i.id)).toEqual([
      1, 2, 4, 6, 8, 10,
    ]);
  });

  test('GET /rest/v1/invoices/{id}/charges lists attempts with time, key, outcome and error', async () => {
    const res = await call('GET', '/rest/v1/invoices/3/charges');
    expect(res.body).toEqual([
      expect.objectContaining({
        invoiceId: 3,
        outcome: 'declined',
        error: 'insufficient_funds',
        requests: 1,
      }),
    ]);
    const [attempt] = res.body as Array<{ idempotencyKey: string; startedAt: string }>;
    expect(provider.calls.find((c) => c.invoiceId === 3)?.idempotencyKey).toBe(
      attempt?.idempotencyKey,
    );
    expect(Date.parse(attempt?.startedAt ?? '')).not.toBeNaN();
    expect((await call('GET', '/rest/v1/invoices/1/charges')).body).toEqual([]);
    expect((await call('GET', '/rest/v1/invoices/404/charges')).status).toBe(404);
  });

  test('POST /rest/v1/billing-runs starts a run in the background; the list shows it', async () => {
    const started = await call('POST', '/rest/v1/billing-runs');
    expect(started.status).toBe(202);
    const { id } = started.body as { id: string };
    expect(started.headers.get('location')).toBe(`/rest/v1/billing-runs/${id}`);
    let run: { status: string; pending: number; declined: number } | undefined;
    for (let i = 0; i < 100 && run?.status !== 'completed'; i += 1) {
      run = (await call('GET', `/rest/v1/billing-runs/${id}`)).body as typeof run;
      await sleep(20);
    }
    expect(run).toMatchObject({ status: 'completed', pending: 4, declined: 4 });
    const list = (await call('GET', '/rest/v1/billing-runs?limit=1')).body as Array<{ id: string }>;
    expect(list.map((r) => r.id)).toEqual([id]);
    expect((await call('GET', '/rest/v1/billing-runs')).body).toHaveLength(2);
    expect((await call('GET', '/rest/v1/billing-runs?limit=0')).status).toBe(400);
    expect((await call('GET', '/rest/v1/billing-runs?limit=x')).status).toBe(400);
    expect((await call('GET', '/rest/v1/billing-runs/no-such-run')).status).toBe(404);
  });

  test('every path parameter is percent-decoded the same way', async () => {
    // %31 is "1": the regular-expression invoice route must decode it as :id routes do.
    for (const [encoded, plain] of [
      ['/rest/v1/customers/%31', '/rest/v1/customers/1'],
      ['/rest/v1/invoices/%31', '/rest/v1/invoices/1'],
      ['/rest/v1/invoices/%31%30', '/rest/v1/invoices/10'],
      ['/rest/v1/invoices/%31/charges', '/rest/v1/invoices/1/charges'],
    ]) {
      const [a, b] = [await call('GET', encoded!), await call('GET', plain!)];
      expect([encoded, a.status, a.text]).toEqual([encoded, 200, b.text]);
    }
    // Decoded, but still not an integer; a malformed escape stays as sent (like the router).
    for (const path of [
      '/rest/v1/invoices/%41',
      '/rest/v1/customers/%41',
      '/rest/v1/invoices/%ZZ',
    ]) {
      expect([path, (await call('GET', path)).status]).toEqual([path, 400]);
    }
    const run = (await call('GET', '/rest/v1/billing-runs?limit=1')).body as Array<{ id: string }>;
    const id = run[0]!.id;
    const encodedId = [...id].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    expect((await call('GET', `/rest/v1/billing-runs/${encodedId}`)).body).toMatchObject({ id });
  });

  test('health, readiness, metrics and the OpenAPI document are served', async () => {
    expect((await call('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await call('GET', '/readyz')).body).toEqual({ status: 'ready' });
    const metrics = await call('GET', '/metrics');
    expect(metrics.text).toContain('antaeus_billing_run_duration_seconds');
    expect(metrics.text).toContain('http_request_duration_seconds');
    const document = (await call('GET', '/openapi.json')).body as { openapi: string };
    expect(document.openapi).toBe('3.0.3');
  });

  test('every documented operation is served (none of them answers 404 or 405 for its route)', async () => {
    const paths = Object.entries(spec.paths);
    expect(paths.length).toBeGreaterThanOrEqual(12);
    for (const [template, operations] of paths) {
      const path = template.replace('{id}', template.includes('billing-runs') ? 'none' : '1');
      for (const method of Object.keys(operations).filter((m) => m !== 'parameters')) {
        if (method === 'post') continue; // both POSTs start billing runs, exercised above
        const res = await fetch(`${server.baseUrl}${path}`, { method: method.toUpperCase() });
        await res.arrayBuffer();
        expect([template, method, res.status === 405]).toEqual([template, method, false]);
        if (!template.includes('billing-runs/'))
          expect([template, res.status]).toEqual([template, 200]);
      }
    }
  });

  test('readiness is 503 while draining', async () => {
    server.lifecycle.startDraining();
    expect((await call('GET', '/readyz')).status).toBe(503);
  });
});
