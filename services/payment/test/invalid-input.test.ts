import request from 'supertest';
import { PATCHED_BODY, assertDocumented, testApp } from './support';

const json = (body: unknown) => JSON.stringify(body);
const without = (field: string) =>
  Object.fromEntries(Object.entries(PATCHED_BODY).filter(([key]) => key !== field));

type Case = [name: string, body: string, status: number, code: string, message: RegExp];

const cases: Case[] = [
  [
    'missing customer_id',
    json(without('customer_id')),
    400,
    'invalid_request',
    /customer_id is required/,
  ],
  ['missing value', json(without('value')), 400, 'invalid_request', /value is required/],
  ['missing currency', json(without('currency')), 400, 'invalid_request', /currency is required/],
  [
    'customer_id as a string',
    json({ ...PATCHED_BODY, customer_id: '1' }),
    400,
    'invalid_request',
    /customer_id must be an integer/,
  ],
  [
    'customer_id 0',
    json({ ...PATCHED_BODY, customer_id: 0 }),
    400,
    'invalid_request',
    /customer_id must be greater than or equal to 1/,
  ],
  [
    'fractional customer_id',
    json({ ...PATCHED_BODY, customer_id: 1.5 }),
    400,
    'invalid_request',
    /customer_id must be an integer/,
  ],
  [
    'customer_id beyond 2^53',
    json({ ...PATCHED_BODY, customer_id: 2 ** 60 }),
    400,
    'invalid_request',
    /customer_id must be/,
  ],
  [
    'invoice_id negative',
    json({ ...PATCHED_BODY, invoice_id: -3 }),
    400,
    'invalid_request',
    /invoice_id must be greater than or equal to 1/,
  ],
  [
    'value as a string',
    json({ ...PATCHED_BODY, value: '10.00' }),
    400,
    'invalid_request',
    /value must be a number/,
  ],
  [
    'value 0',
    json({ ...PATCHED_BODY, value: 0 }),
    400,
    'invalid_request',
    /value must be at least 0.01/,
  ],
  [
    'negative value',
    json({ ...PATCHED_BODY, value: -5 }),
    400,
    'invalid_request',
    /value must be at least 0.01/,
  ],
  [
    'value above the bound',
    json({ ...PATCHED_BODY, value: 1_000_000.01 }),
    400,
    'invalid_request',
    /value must be at most 1000000/,
  ],
  [
    'value with three decimals',
    json({ ...PATCHED_BODY, value: 10.001 }),
    400,
    'invalid_request',
    /at most two decimal places/,
  ],
  [
    'unknown currency code',
    json({ ...PATCHED_BODY, currency: 'XYZ' }),
    400,
    'invalid_request',
    /currency must be one of EUR, USD, DKK, SEK, GBP or an empty object/,
  ],
  [
    'lower-case currency',
    json({ ...PATCHED_BODY, currency: 'usd' }),
    400,
    'invalid_request',
    /currency must be one of/,
  ],
  [
    'non-empty currency object',
    json({ ...PATCHED_BODY, currency: { code: 'USD' } }),
    400,
    'invalid_request',
    /currency must be one of/,
  ],
  [
    'null currency',
    json({ ...PATCHED_BODY, currency: null }),
    400,
    'invalid_request',
    /currency must be one of/,
  ],
  [
    'a JSON array',
    json([PATCHED_BODY]),
    400,
    'invalid_request',
    /request body must be a JSON object/,
  ],
  [
    'an empty JSON object',
    '{}',
    400,
    'invalid_request',
    /customer_id is required.*value is required.*currency is required/,
  ],
  ['malformed JSON', '{"customer_id": 1,', 400, 'invalid_json', /not valid JSON/],
  ['a bare JSON string', '"hello"', 400, 'invalid_json', /not valid JSON/],
];

describe.each(['/', '/v1/charges'])('POST %s refuses invalid input', (route) => {
  it.each(cases)('%s → %i %s', async (_name, body, status, code, message) => {
    const res = await request(testApp().callback)
      .post(route)
      .set('Content-Type', 'application/json')
      .send(body);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message).toMatch(message);
    assertDocumented('POST', route, res.status, res.body);
  });

  it('names every bad field in details', async () => {
    const res = await request(testApp().callback)
      .post(route)
      .send({ customer_id: 'x', value: 1.234, currency: 'ABC' })
      .expect(400);
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toEqual([
      'customer_id',
      'value',
      'currency',
    ]);
  });

  it('refuses a body that is not JSON with 415', async () => {
    const res = await request(testApp().callback)
      .post(route)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('customer_id=1&value=10&currency=USD')
      .expect(415);
    expect(res.body.error.message).toMatch(/must be application\/json/);
    assertDocumented('POST', route, 415, res.body);
  });

  it('refuses a body over BODY_LIMIT_BYTES with 413', async () => {
    const res = await request(testApp({ bodyLimitBytes: 1_024 }).callback)
      .post(route)
      .send({ ...PATCHED_BODY, padding: 'x'.repeat(2_000) })
      .expect(413);
    expect(res.body.error.code).toBe('payload_too_large');
    assertDocumented('POST', route, 413, res.body);
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(256)],
    ['with a space', 'two words'],
  ])('refuses an Idempotency-Key that is %s', async (_name, key) => {
    const res = await request(testApp().callback)
      .post(route)
      .set('Idempotency-Key', key)
      .send(PATCHED_BODY)
      .expect(400);
    expect(res.body.error.message).toMatch(/Idempotency-Key must be 1 to 255 printable ASCII/);
  });
});

describe('reading the ledger refuses invalid input', () => {
  it.each([
    ['no invoice_id', '/v1/charges'],
    ['a non-numeric invoice_id', '/v1/charges?invoice_id=abc'],
    ['invoice_id 0', '/v1/charges?invoice_id=0'],
    ['a fractional invoice_id', '/v1/charges?invoice_id=1.5'],
    ['two invoice_ids', '/v1/charges?invoice_id=1&invoice_id=2'],
    ['an invoice_id beyond 2^53', '/v1/charges?invoice_id=99999999999999999'],
  ])('%s → 400', async (_name, url) => {
    const res = await request(testApp().callback).get(url).expect(400);
    expect(res.body.error.message).toMatch(
      /invoice_id query parameter is required and must be one positive integer/,
    );
    assertDocumented('GET', url, 400, res.body);
  });

  it('refuses a malformed charge id with 400', async () => {
    const res = await request(testApp().callback).get('/v1/charges/not-an-id').expect(400);
    expect(res.body.error.message).toMatch(/charge id must look like ch_/);
    assertDocumented('GET', '/v1/charges/not-an-id', 400, res.body);
  });
});

describe('routing errors', () => {
  it('answers an unknown path with a JSON 404', async () => {
    const res = await request(testApp().callback).get('/v2/nothing').expect(404);
    expect(res.body.error).toEqual({ code: 'not_found', message: 'no route for GET /v2/nothing' });
  });

  it.each([
    ['DELETE', '/v1/charges', ['GET', 'HEAD', 'POST']],
    ['PUT', '/', ['POST']],
    ['PATCH', '/v1/charges/ch_00000000000000000000000000000000', ['GET', 'HEAD']],
    ['POST', '/healthz', ['GET', 'HEAD']],
  ])('answers %s %s with 405 and Allow', async (method, path, allowed) => {
    const res = await request(testApp().callback)[method.toLowerCase() as 'put'](path).expect(405);
    expect(res.body.error.code).toBe('method_not_allowed');
    expect(String(res.headers.allow).split(', ').sort()).toEqual(allowed);
  });
});
