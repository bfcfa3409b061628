import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { jsonLineSink } from '@internal/test-kit';
import {
  HttpError,
  Lifecycle,
  createLogger,
  createMetricsRegistry,
  methodErrors,
  serviceMiddleware,
} from '../src';

function app() {
  const { sink, lines } = jsonLineSink();
  const logger = createLogger('svc', 'info', sink);
  const registry = createMetricsRegistry();
  const lifecycle = new Lifecycle();
  const router = new Router();
  router.get('/ok', async (ctx) => {
    ctx.state.accessLog = { orderId: 7 };
    ctx.body = { ok: true };
  });
  router.get('/teapot', async () => {
    throw new HttpError(418, 'teapot', 'short and stout');
  });
  router.get('/boom', async () => {
    throw new Error('secret detail');
  });
  const koa = new Koa();
  koa.use(serviceMiddleware({ logger, registry, lifecycle }));
  koa.use(router.routes());
  koa.use(router.allowedMethods(methodErrors));
  return { callback: koa.callback(), lines, registry, lifecycle };
}

describe('serviceMiddleware', () => {
  it('echoes a sane request id, logs one access line with the handler’s fields, and times the route', async () => {
    const { callback, lines, registry } = app();
    const res = await request(callback).get('/ok').set('X-Request-Id', 'abc-123').expect(200);
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'request',
        requestId: 'abc-123',
        orderId: 7,
        method: 'GET',
        path: '/ok',
        status: 200,
        durationMs: expect.any(Number),
      }),
    ]);
    expect(await registry.metrics()).toContain(
      'http_request_duration_seconds_count{method="GET",route="/ok",status="200"} 1',
    );
  });

  it('answers errors, unknown paths and wrong methods as JSON, and logs their final status', async () => {
    const { callback, lines } = app();
    await request(callback)
      .get('/teapot')
      .expect(418, {
        error: { code: 'teapot', message: 'short and stout' },
      });
    const boom = await request(callback).get('/boom').expect(500);
    expect(JSON.stringify(boom.body)).not.toContain('secret');
    await request(callback)
      .get('/nowhere')
      .expect(404, {
        error: { code: 'not_found', message: 'no route for GET /nowhere' },
      });
    const wrong = await request(callback).post('/ok').expect(405);
    expect(wrong.headers.allow).toContain('GET');
    const statuses = lines.filter((l) => l.msg === 'request').map((l) => l.status);
    expect(statuses).toEqual([418, 500, 404, 405]);
  });

  it('asks clients to reconnect while draining and answers 503 once closing', async () => {
    const { callback, lifecycle } = app();
    lifecycle.startDraining();
    const draining = await request(callback).get('/ok').expect(200);
    expect(draining.headers.connection).toBe('close');
    lifecycle.startClosing();
    const closing = await request(callback).get('/ok').expect(503);
    expect(closing.body.error.code).toBe('draining');
    expect(lifecycle.requestsInFlight).toBe(0);
  });
});
