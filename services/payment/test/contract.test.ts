import request from 'supertest';
import { LEGACY_BODY, PATCHED_BODY, assertDocumented, testApp } from './support';

const CHARGE_ID = /^ch_[0-9a-f]{32}$/;

describe.each(['/', '/v1/charges'])('POST %s (the charge contract)', (route) => {
  it.each([
    ['legacy Kotlin body with currency {}', LEGACY_BODY],
    ['patched body with a currency code', PATCHED_BODY],
    [
      'body with invoice_id and unknown fields',
      { ...PATCHED_BODY, invoice_id: 4, note: 'ignored' },
    ],
  ])('answers 200 with a boolean result for the %s', async (_name, body) => {
    const { callback } = testApp();
    const res = await request(callback).post(route).send(body).expect('Content-Type', /json/);
    expect(res.status).toBe(200);
    expect(typeof res.body.result).toBe('boolean');
    expect(res.body.id).toMatch(CHARGE_ID);
    if (res.body.result) expect(res.body).not.toHaveProperty('reason');
    else expect(res.body.reason).toBe('card_declined');
    assertDocumented('POST', route, res.status, res.body);
  });

  it('ignores an unknown field holding a __proto__ key, as it ignores any unknown field', async () => {
    // Found by Schemathesis: the parser used to refuse this schema-valid body as invalid JSON.
    const res = await request(testApp().callback)
      .post(route)
      .set('Content-Type', 'application/json')
      .send('{"customer_id":1,"currency":"USD","value":10,"x":{"__proto__":[]}}');
    expect(res.status).toBe(200);
    expect(typeof res.body.result).toBe('boolean');
    assertDocumented('POST', route, res.status, res.body);
  });

  it('approves everything at rate 1 and declines everything at rate 0, with a reason', async () => {
    const approving = testApp({ successRate: 1 }).callback;
    const declining = testApp({ successRate: 0 }).callback;
    expect((await request(approving).post(route).send(LEGACY_BODY)).body).toEqual({
      result: true,
      id: expect.stringMatching(CHARGE_ID),
    });
    expect((await request(declining).post(route).send(PATCHED_BODY)).body).toEqual({
      result: false,
      id: expect.stringMatching(CHARGE_ID),
      reason: 'card_declined',
    });
  });
});

describe('PAYMENT_DECISION_DELAY_MS (a slower acquirer)', () => {
  it('holds a new decision that long and answers its replay at once', async () => {
    const { callback } = testApp({ decisionDelayMs: 1_000 });
    const charge = () =>
      request(callback).post('/v1/charges').set('Idempotency-Key', 'delay-1').send(PATCHED_BODY);
    const timed = async () => {
      const started = performance.now();
      const res = await charge();
      return { res, elapsed: performance.now() - started };
    };
    const first = await timed();
    const replay = await timed();
    expect(first.res.status).toBe(200);
    expect(first.elapsed).toBeGreaterThanOrEqual(1_000);
    expect(replay.res.headers['idempotent-replayed']).toBe('true');
    expect(replay.res.body).toEqual(first.res.body);
    expect(replay.elapsed).toBeLessThan(1_000);
  });
});

describe('the decision ledger', () => {
  it('serves a decision by id and lists decisions per invoice, oldest first', async () => {
    const { callback } = testApp();
    const ids: string[] = [];
    for (const value of [10, 20.5, 30.01]) {
      const res = await request(callback)
        .post('/v1/charges')
        .send({ currency: 'EUR', value, customer_id: 2, invoice_id: 9 });
      ids.push(res.body.id);
    }
    await request(callback)
      .post('/')
      .send({ ...LEGACY_BODY, invoice_id: 10 });

    const one = await request(callback).get(`/v1/charges/${ids[1]}`).expect(200);
    expect(one.body).toEqual({
      id: ids[1],
      result: expect.any(Boolean),
      reason: one.body.result ? null : 'card_declined',
      customer_id: 2,
      invoice_id: 9,
      amount_minor: 2050,
      currency: 'EUR',
      decided_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    assertDocumented('GET', `/v1/charges/${ids[1]}`, 200, one.body);

    const list = await request(callback).get('/v1/charges?invoice_id=9').expect(200);
    expect(list.body.invoice_id).toBe(9);
    expect(list.body.charges.map((c: { id: string }) => c.id)).toEqual(ids);
    expect(list.body.charges.map((c: { amount_minor: number }) => c.amount_minor)).toEqual([
      1000, 2050, 3001,
    ]);
    assertDocumented('GET', '/v1/charges?invoice_id=9', 200, list.body);

    const legacy = await request(callback).get('/v1/charges?invoice_id=10').expect(200);
    expect(legacy.body.charges).toHaveLength(1);
    expect(legacy.body.charges[0]).toMatchObject({ currency: null, amount_minor: 30199 });

    const none = await request(callback).get('/v1/charges?invoice_id=11').expect(200);
    expect(none.body).toEqual({ invoice_id: 11, charges: [], next_cursor: null });
  });

  it('answers 404 for an unknown charge id', async () => {
    const res = await request(testApp().callback)
      .get(`/v1/charges/ch_${'0'.repeat(32)}`)
      .expect(404);
    expect(res.body.error.code).toBe('not_found');
    assertDocumented('GET', `/v1/charges/ch_${'0'.repeat(32)}`, 404, res.body);
  });
});

describe('operations endpoints', () => {
  it('serves liveness, readiness, metrics and the OpenAPI document', async () => {
    const { callback } = testApp();
    for (const path of ['/healthz', '/readyz', '/openapi.json']) {
      const res = await request(callback).get(path).expect(200);
      assertDocumented('GET', path, 200, res.body);
    }
    const doc = await request(callback).get('/openapi.json');
    expect(doc.body.openapi).toBe('3.0.3');
    const metrics = await request(callback).get('/metrics').expect(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('echoes a sane X-Request-Id and replaces an insane one', async () => {
    const { callback } = testApp();
    const kept = await request(callback).get('/healthz').set('X-Request-Id', 'abc-123');
    expect(kept.headers['x-request-id']).toBe('abc-123');
    const replaced = await request(callback).get('/healthz').set('X-Request-Id', 'a b<script>');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('counts decisions by outcome, replays, and request durations by route, beside the configured approval rate', async () => {
    const { callback } = testApp({ successRate: 1 });
    await request(callback).post('/v1/charges').set('Idempotency-Key', 'm-1').send(PATCHED_BODY);
    await request(callback).post('/v1/charges').set('Idempotency-Key', 'm-1').send(PATCHED_BODY);
    await request(callback).post('/').send(LEGACY_BODY);
    const text = (await request(callback).get('/metrics')).text;
    expect(text).toContain('charges_total{outcome="approved"} 2');
    expect(text).toContain('charges_total{outcome="declined"} 0');
    expect(text).toContain('idempotent_replays_total 1');
    expect(text).toContain('charge_success_rate_configured 1');
    expect(text).toContain(
      'http_request_duration_seconds_count{method="POST",route="/v1/charges",status="200"} 2',
    );
    expect(text).toContain(
      'http_request_duration_seconds_count{method="POST",route="/",status="200"} 1',
    );
  });

  it('logs the unknown currency of a legacy request', async () => {
    const { callback, logLines } = testApp();
    await request(callback).post('/').send(LEGACY_BODY).expect(200);
    const warnings = logLines.map((l) => JSON.parse(l)).filter((l) => l.level === 40);
    expect(warnings).toEqual([
      expect.objectContaining({ customerId: 1, msg: expect.stringMatching(/unknown currency/) }),
    ]);
  });
});
