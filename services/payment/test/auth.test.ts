import request from 'supertest';
import { PATCHED_BODY, assertDocumented, testApp } from './support';

const OLD = 'old-token-0123456789abcdef';
const NEW = 'new-token-fedcba9876543210';

describe('bearer token authentication', () => {
  it('accepts unauthenticated charges only with PAYMENT_AUTH=disabled (original Antaeus)', async () => {
    await request(testApp().callback).post('/').send(PATCHED_BODY).expect(200);
  });

  describe.each([
    ['POST', '/'],
    ['POST', '/v1/charges'],
    ['GET', '/v1/charges?invoice_id=1'],
    ['GET', `/v1/charges/ch_${'a'.repeat(32)}`],
  ])('%s %s with tokens configured', (method, path) => {
    const call = (callback: ReturnType<typeof testApp>['callback'], authorization?: string) => {
      const req =
        method === 'POST'
          ? request(callback).post(path).send(PATCHED_BODY)
          : request(callback).get(path);
      return authorization === undefined ? req : req.set('Authorization', authorization);
    };

    it.each([
      ['no Authorization header', undefined, 'missing bearer token', 'Bearer'],
      ['a Basic credential', 'Basic dXNlcjpwYXNz', 'missing bearer token', 'Bearer'],
      ['an empty bearer token', 'Bearer ', 'missing bearer token', 'Bearer'],
      [
        'a wrong token',
        `Bearer ${NEW}x`,
        'the bearer token is not valid',
        'Bearer error="invalid_token"',
      ],
      [
        'a prefix of the token',
        `Bearer ${NEW.slice(0, -1)}`,
        'the bearer token is not valid',
        'Bearer error="invalid_token"',
      ],
    ])('refuses %s with 401', async (_name, authorization, message, challenge) => {
      const res = await call(testApp({ apiTokens: [NEW] }).callback, authorization);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      expect(res.body.error.message).toMatch(message);
      expect(res.headers['www-authenticate']).toBe(challenge);
      assertDocumented(method, path, 401, res.body);
    });

    it('accepts the right token, whatever the scheme case', async () => {
      const { callback } = testApp({ apiTokens: [NEW] });
      expect((await call(callback, `Bearer ${NEW}`)).status).not.toBe(401);
      expect((await call(callback, `bearer ${NEW}`)).status).not.toBe(401);
    });
  });

  it('rotates: old and new tokens both work during the overlap, only the new one after', async () => {
    const during = testApp({ apiTokens: [NEW, OLD] }).callback;
    await request(during)
      .post('/v1/charges')
      .set('Authorization', `Bearer ${OLD}`)
      .send(PATCHED_BODY)
      .expect(200);
    await request(during)
      .post('/v1/charges')
      .set('Authorization', `Bearer ${NEW}`)
      .send(PATCHED_BODY)
      .expect(200);

    const after = testApp({ apiTokens: [NEW] }).callback;
    await request(after)
      .post('/v1/charges')
      .set('Authorization', `Bearer ${OLD}`)
      .send(PATCHED_BODY)
      .expect(401);
    await request(after)
      .post('/v1/charges')
      .set('Authorization', `Bearer ${NEW}`)
      .send(PATCHED_BODY)
      .expect(200);
  });

  it('leaves health and the OpenAPI document open for probes', async () => {
    const { callback } = testApp({ apiTokens: [NEW] });
    for (const path of ['/healthz', '/readyz', '/openapi.json']) {
      await request(callback).get(path).expect(200);
    }
  });

  it("guards /metrics with the callers' tokens (M6): 401 without one, 200 with one", async () => {
    const { callback } = testApp({ apiTokens: [NEW] });
    const refused = await request(callback).get('/metrics').expect(401);
    assertDocumented('GET', '/metrics', 401, refused.body);
    await request(callback)
      .get('/metrics')
      .set('Authorization', 'Bearer wrong-token-0123456789')
      .expect(401);
    const scraped = await request(callback)
      .get('/metrics')
      .set('Authorization', `Bearer ${NEW}`)
      .expect(200);
    expect(scraped.text).toContain('charges_total');
  });

  it('opens /metrics, and only /metrics, to a token of PAYMENT_METRICS_TOKENS', async () => {
    const scraper = 'scraper-token-0123456789abcdef';
    const { callback } = testApp({ apiTokens: [NEW], metricsTokens: [`prometheus:${scraper}`] });
    const bearer = `Bearer ${scraper}`;
    await request(callback).get('/metrics').set('Authorization', bearer).expect(200);
    await request(callback)
      .post('/v1/charges')
      .set('Authorization', bearer)
      .send(PATCHED_BODY)
      .expect(401);
    await request(callback)
      .get('/v1/charges?invoice_id=1')
      .set('Authorization', bearer)
      .expect(401);
  });

  it('logs the reason for each 401, never the token', async () => {
    const { callback, logLines } = testApp({ apiTokens: [NEW] });
    await request(callback).post('/v1/charges').send(PATCHED_BODY).expect(401);
    await request(callback)
      .post('/v1/charges')
      .set('Authorization', `Basic ${NEW}`)
      .send(PATCHED_BODY)
      .expect(401);
    await request(callback)
      .post('/v1/charges')
      .set('Authorization', `Bearer ${OLD}`)
      .send(PATCHED_BODY)
      .expect(401);
    const refusals = logLines
      .map((line) => JSON.parse(line) as { msg: string; reason?: string })
      .filter((line) => line.msg === 'request refused: 401');
    expect(refusals.map((line) => line.reason)).toEqual([
      'missing_header',
      'malformed_header',
      'unknown_token',
    ]);
    expect(logLines.join('\n')).not.toContain(NEW);
    expect(logLines.join('\n')).not.toContain(OLD);
  });

  it('checks the token before reading the body', async () => {
    const res = await request(testApp({ apiTokens: [NEW] }).callback)
      .post('/v1/charges')
      .set('Content-Type', 'text/plain')
      .send('not json');
    expect(res.status).toBe(401);
  });
});
