import http from 'node:http';
import { tempDatabaseFile } from './support/harness';
import { getJson, startAntaeus, type RunningService } from './support/processes';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * POSTs `bytes` of JSON-ish filler, with a Content-Length or chunked, writing with
 * backpressure until the whole body is sent or the server has answered.
 */
function postLarge(url: string, bytes: number, { chunked }: { chunked: boolean }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(chunked ? {} : { 'content-length': String(bytes) }),
      },
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        req.destroy();
      });
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    const write = () => {
      while (!answered && sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      if (!answered) req.end();
    };
    write();
  });
}

describe('Antaeus under abusive clients (built service)', () => {
  let antaeus: RunningService;

  beforeAll(async () => {
    antaeus = await startAntaeus({
      DATABASE_PATH: tempDatabaseFile(),
      SEED_CUSTOMERS: '100',
      SEED_INVOICES_PER_CUSTOMER: '100',
      // Nothing listens there: a billing run that started would show in billing-runs.
      PAYMENT_PROVIDER_ENDPOINT: 'http://127.0.0.1:9/v1/charges',
    });
  }, 60_000);

  afterAll(() => antaeus.process.stop());

  test('20 parallel listings of 10k invoices: beyond the cap 503 with Retry-After, /healthz stays fast', async () => {
    const healthLatencies: number[] = [];
    let listing = true;
    const probe = (async () => {
      while (listing) {
        const started = performance.now();
        const res = await fetch(`${antaeus.baseUrl}/healthz`);
        await res.arrayBuffer();
        expect(res.status).toBe(200);
        healthLatencies.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const answers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await fetch(`${antaeus.baseUrl}/rest/v1/invoices`);
        return {
          status: res.status,
          retryAfter: res.headers.get('retry-after'),
          text: await res.text(),
        };
      }),
    );
    listing = false;
    await probe;

    const refused = answers.filter((a) => a.status === 503);
    const listed = answers.filter((a) => a.status === 200);
    expect(refused.length).toBeGreaterThan(0);
    expect(listed.length).toBeGreaterThanOrEqual(4);
    expect(refused.length + listed.length).toBe(20);
    for (const answer of refused) {
      expect(answer.retryAfter).toBe('1');
      expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'too_many_listings' } });
    }
    for (const answer of listed) expect(JSON.parse(answer.text)).toHaveLength(10_000);
    expect(healthLatencies.length).toBeGreaterThan(0);
    expect(Math.max(...healthLatencies)).toBeLessThan(500);
  });

  test.each([
    ['/rest/v1/invoices/pay', false],
    ['/rest/v1/invoices/pay', true],
    ['/rest/v1/billing-runs', false],
    ['/rest/v1/billing-runs', true],
  ])('POST %s with a 20 MB body (chunked: %s) is 413 and starts no run', async (path, chunked) => {
    const answer = await postLarge(`${antaeus.baseUrl}${path}`, 20 * 1024 * 1024, { chunked });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({
      error: { code: 'payload_too_large', message: expect.any(String) },
    });
    expect(await getJson(`${antaeus.baseUrl}/rest/v1/billing-runs`)).toEqual([]);
  });
});
