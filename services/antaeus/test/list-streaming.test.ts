import http from 'node:http';
import { invoiceJson, type Invoice } from '../src/invoices/repository';
import { LIST_STEP_ROWS, MAX_LIST_LIMIT } from '../src/list-stream';
import { startAppServer, type AppServer } from './support/app-server';
import { ScriptedProvider } from './support/scripted-provider';

/** GET over a real socket; the raw body bytes and headers. */
function get(baseUrl: string, path: string) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>(
    (resolve, reject) => {
      http
        .get(`${baseUrl}${path}`, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
            }),
          );
        })
        .on('error', reject);
    },
  );
}

/** What the lists answered before they were streamed: the whole table, serialised at once. */
function wholeTable(server: AppServer) {
  const invoices = server.db
    .prepare(
      'SELECT id, customer_id AS customerId, amount_minor AS amountMinor, currency, status FROM invoices ORDER BY id',
    )
    .all() as Invoice[];
  const customers = server.db
    .prepare('SELECT id, currency FROM customers ORDER BY id')
    .all() as Array<{ id: number }>;
  return {
    invoices,
    customers,
    invoicesText: `[${invoices.map(invoiceJson).join(',')}]`,
    customersText: JSON.stringify(customers),
  };
}

describe.each([
  // The default seed, and a table spanning several read steps with a partial last one.
  { customers: 2, invoicesPerCustomer: 5 },
  { customers: 7, invoicesPerCustomer: Math.ceil((LIST_STEP_ROWS * 2.5) / 7) },
])('streamed lists over $customers customers × $invoicesPerCustomer invoices', (seed) => {
  let provider: ScriptedProvider;
  let server: AppServer;

  beforeAll(async () => {
    provider = await ScriptedProvider.start(() => ({ kind: 'decide', approve: true }));
    server = await startAppServer({ endpoint: provider.url, ...seed });
  });

  afterAll(async () => {
    await server.close();
    await provider.stop();
  });

  test('answer byte for byte what serialising the whole table gives', async () => {
    const expected = wholeTable(server);
    const invoices = await get(server.baseUrl, '/rest/v1/invoices');
    expect(invoices.status).toBe(200);
    expect(invoices.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(invoices.body.toString('utf8')).toBe(expected.invoicesText);
    const customers = await get(server.baseUrl, '/rest/v1/customers');
    expect(customers.status).toBe(200);
    expect(customers.body.toString('utf8')).toBe(expected.customersText);
  });

  test('limit and after page through the table by id, each page a slice of the whole', async () => {
    const { invoices } = wholeTable(server);
    const limit = 3;
    const pages: string[] = [];
    let after = 0;
    for (;;) {
      const page = await get(server.baseUrl, `/rest/v1/invoices?limit=${limit}&after=${after}`);
      expect(page.status).toBe(200);
      const rows = JSON.parse(page.body.toString('utf8')) as Invoice[];
      expect(rows.length).toBeLessThanOrEqual(limit);
      if (rows.length === 0) break;
      pages.push(...rows.map((row) => JSON.stringify(row)));
      after = rows[rows.length - 1]!.id;
      if (pages.length > invoices.length) throw new Error('paging does not end');
    }
    expect(pages).toEqual(invoices.map((row) => JSON.stringify(JSON.parse(invoiceJson(row)))));
  });

  test('after alone skips to the ids above it; limit alone takes the first rows', async () => {
    const { invoices, customers } = wholeTable(server);
    const middle = invoices[Math.floor(invoices.length / 2)]!.id;
    const rest = await get(server.baseUrl, `/rest/v1/invoices?after=${middle}`);
    expect(rest.body.toString('utf8')).toBe(
      `[${invoices
        .filter((row) => row.id > middle)
        .map(invoiceJson)
        .join(',')}]`,
    );
    const first = await get(server.baseUrl, '/rest/v1/customers?limit=1');
    expect(first.body.toString('utf8')).toBe(JSON.stringify(customers.slice(0, 1)));
    const beyond = await get(server.baseUrl, `/rest/v1/invoices?after=${invoices.at(-1)!.id}`);
    expect(beyond.body.toString('utf8')).toBe('[]');
  });
});

describe('list query parameters', () => {
  let provider: ScriptedProvider;
  let server: AppServer;

  beforeAll(async () => {
    provider = await ScriptedProvider.start(() => ({ kind: 'decide', approve: true }));
    server = await startAppServer({ endpoint: provider.url });
  });

  afterAll(async () => {
    await server.close();
    await provider.stop();
  });

  test.each([
    ['limit', 'limit=0'],
    ['limit', `limit=${MAX_LIST_LIMIT + 1}`],
    ['limit', 'limit=-1'],
    ['limit', 'limit=1.5'],
    ['limit', 'limit=ten'],
    ['limit', 'limit='],
    ['limit', 'limit=1&limit=2'],
    ['after', 'after=-1'],
    ['after', 'after=abc'],
    ['after', 'after=99999999999999999'],
    ['after', 'after=1&after=2'],
  ])('a bad %s (%s) is 400 naming the parameter, for both lists', async (name, query) => {
    for (const list of ['invoices', 'customers']) {
      const res = await get(server.baseUrl, `/rest/v1/${list}?${query}`);
      expect(res.status).toBe(400);
      const body = JSON.parse(res.body.toString('utf8')) as {
        error: { code: string; message: string; details: { parameter: string } };
      };
      expect(body.error.code).toBe('invalid_parameter');
      expect(body.error.details.parameter).toBe(name);
      expect(body.error.message).toContain(`query parameter ${name}`);
    }
  });
});
