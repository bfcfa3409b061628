import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../src/errors';
import { checkPayOutcome, distribution, smoke, smokeOptions, SmokeFailure } from '../src/smoke';

describe('smokeOptions', () => {
  it('takes an http(s) URL without its trailing slash, the timeout and the token', () => {
    const options = smokeOptions(
      'https://host:8443/base/',
      { SMOKE_TIMEOUT_SECONDS: '5', ANTAEUS_TOKEN: 't' },
      () => undefined,
    );
    expect(options).toMatchObject({
      baseUrl: 'https://host:8443/base',
      timeoutSeconds: 5,
      token: 't',
    });
    expect(smokeOptions('http://h', {}, () => undefined)).toMatchObject({
      timeoutSeconds: 120,
      token: undefined,
    });
  });

  it.each([
    ['localhost:8000', {}, "'localhost:8000' is not an http:// or https:// URL"],
    ['http://h x', {}, "'http://h x' is not an http:// or https:// URL"],
    [
      'http://h',
      { SMOKE_TIMEOUT_SECONDS: '0' },
      "SMOKE_TIMEOUT_SECONDS must be a positive integer, got '0'",
    ],
    [
      'http://h',
      { SMOKE_TIMEOUT_SECONDS: '2s' },
      "SMOKE_TIMEOUT_SECONDS must be a positive integer, got '2s'",
    ],
  ])('refuses %j %j as a usage error naming the value', (url, env, message) => {
    expect(() => smokeOptions(url, env, () => undefined)).toThrow(new UsageError(message));
  });
});

describe('the distribution of invoices', () => {
  it('counts PAID and PENDING', () => {
    expect(
      distribution([{ status: 'PAID' }, { status: 'PENDING' }, { status: 'PENDING' }]),
    ).toEqual({ paid: 1, pending: 2, total: 3 });
  });

  it.each([[{}], [[{ status: 'FAILED' }]], [[null]]])('refuses %j', (invoices) => {
    expect(() => distribution(invoices)).toThrow(SmokeFailure);
  });

  it.each([
    [
      { paid: 2, pending: 8, total: 10 },
      { paid: 2, pending: 8, total: 11 },
      false,
      /changed the number of invoices \(10 -> 11\)/,
    ],
    [
      { paid: 2, pending: 8, total: 10 },
      { paid: 1, pending: 9, total: 10 },
      false,
      /went from PAID back to PENDING/,
    ],
    [
      { paid: 2, pending: 8, total: 10 },
      { paid: 6, pending: 4, total: 10 },
      true,
      /pay answered true, but 4 invoices are still PENDING/,
    ],
    [
      { paid: 2, pending: 8, total: 10 },
      { paid: 10, pending: 0, total: 10 },
      false,
      /pay answered false, but no invoice is PENDING/,
    ],
    [
      { paid: 2, pending: 8, total: 10 },
      { paid: 2, pending: 8, total: 10 },
      false,
      /none of the 8 pending invoices got paid/,
    ],
  ])('fails %j -> %j (pay %s)', (before, after, paid, message) => {
    expect(() => checkPayOutcome(before, after, paid)).toThrow(message);
  });

  it('accepts a partial success and a full one', () => {
    expect(() =>
      checkPayOutcome(
        { paid: 2, pending: 8, total: 10 },
        { paid: 6, pending: 4, total: 10 },
        false,
      ),
    ).not.toThrow();
    expect(() =>
      checkPayOutcome(
        { paid: 2, pending: 8, total: 10 },
        { paid: 10, pending: 0, total: 10 },
        true,
      ),
    ).not.toThrow();
  });
});

describe('smoke against a stand-in API', () => {
  let server: http.Server;
  let baseUrl: string;
  let invoices: { status: string }[];
  let authorizations: (string | undefined)[];
  beforeEach(async () => {
    invoices = [{ status: 'PAID' }, ...Array.from({ length: 4 }, () => ({ status: 'PENDING' }))];
    authorizations = [];
    server = http.createServer((request, response) => {
      authorizations.push(request.headers.authorization);
      const json = (status: number, body: unknown) =>
        response
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify(body));
      if (request.url === '/rest/health') return json(200, 'ok');
      if (request.url === '/rest/v1/customers') return json(200, [{ id: 1 }]);
      if (request.url === '/rest/v1/invoices') return json(200, invoices);
      if (request.url === '/rest/v1/invoices/pay' && request.method === 'POST') {
        if (request.headers.authorization !== 'Bearer secret')
          return json(401, { error: 'unauthorized' });
        invoices = invoices.map((invoice, index) => (index < 3 ? { status: 'PAID' } : invoice));
        return json(200, false);
      }
      return json(404, {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => new Promise((resolve) => server.close(resolve)));

  it('reports each step and the paid share, sending the token as a bearer header', async () => {
    const lines: string[] = [];
    await smoke({ baseUrl, timeoutSeconds: 5, token: 'secret', log: (line) => lines.push(line) });
    expect(lines).toEqual([
      'health: ok',
      'customers: 1',
      'before: PAID 1, PENDING 4 of 5 invoices',
      'pay: false',
      'after: PAID 3, PENDING 2 of 5 invoices',
      'smoke: OK: 2 of 4 pending invoices paid (3 of 5 PAID)',
    ]);
    expect(new Set(authorizations)).toEqual(new Set(['Bearer secret']));
  });

  it('says which token to set when the pay call is refused', async () => {
    await expect(smoke({ baseUrl, timeoutSeconds: 5, log: () => undefined })).rejects.toThrow(
      /smoke: FAIL: POST http:\/\/127\.0\.0\.1:\d+\/rest\/v1\/invoices\/pay answered HTTP 401: set ANTAEUS_TOKEN/,
    );
  });

  it('fails when nothing answers', async () => {
    await expect(
      smoke({ baseUrl: 'http://127.0.0.1:9', timeoutSeconds: 2, log: () => undefined }),
    ).rejects.toThrow('smoke: FAIL: GET http://127.0.0.1:9/rest/health: no answer');
  });
});
