import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { sleep } from '@internal/test-kit';
import { Lifecycle, errorHandler, livenessEndpoint, readinessEndpoint } from '../src';

function app(lifecycle: Lifecycle, checks = {}) {
  const router = new Router();
  router.get('/healthz', livenessEndpoint());
  router.get('/readyz', readinessEndpoint(lifecycle, checks));
  router.get('/slow', async (ctx) => {
    await sleep(100);
    ctx.body = { done: true };
  });
  const koa = new Koa();
  koa.use(errorHandler());
  koa.use(lifecycle.track());
  koa.use(router.routes());
  return koa.callback();
}

describe('Lifecycle and health endpoints', () => {
  it('is ready until draining, then readiness is 503 while liveness stays 200', async () => {
    const lifecycle = new Lifecycle();
    const callback = app(lifecycle);
    await request(callback).get('/readyz').expect(200, { status: 'ready' });
    lifecycle.startDraining();
    await request(callback).get('/readyz').expect(503, { status: 'draining' });
    const live = await request(callback).get('/healthz').expect(200);
    expect(live.headers.connection).toBe('close');
  });

  it('names each failing readiness check', async () => {
    const callback = app(new Lifecycle(), {
      store: () => {
        throw new Error('connection refused');
      },
      cache: async () => undefined,
    });
    await request(callback)
      .get('/readyz')
      .expect(503, { status: 'unavailable', failures: { store: 'connection refused' } });
  });

  it('turns new requests away with 503 once closing', async () => {
    const lifecycle = new Lifecycle();
    lifecycle.startClosing();
    const res = await request(app(lifecycle)).get('/healthz').expect(503);
    expect(res.body.error.code).toBe('draining');
  });

  it('becomes idle only after the in-flight response has been sent', async () => {
    const lifecycle = new Lifecycle();
    const server = http.createServer(app(lifecycle));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      let answered = false;
      const response = fetch(`http://127.0.0.1:${port}/slow`).then(async (r) => {
        answered = true;
        return r.json();
      });
      await sleep(30);
      expect(lifecycle.requestsInFlight).toBe(1);
      await lifecycle.idle();
      expect(lifecycle.requestsInFlight).toBe(0);
      expect(await response).toEqual({ done: true });
      expect(answered).toBe(true);
    } finally {
      server.close();
    }
  });
});
