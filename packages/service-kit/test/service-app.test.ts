import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { jsonLineSink } from '@internal/test-kit';
import {
  HttpError,
  Lifecycle,
  createLogger,
  createMetricsRegistry,
  createServiceApp,
} from '../src';

class OutOfStock extends Error {}

function app() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'service-app-'));
  const openApiFile = path.join(dir, 'openapi.yaml');
  fs.writeFileSync(openApiFile, 'openapi: 3.0.3\ninfo:\n  title: Shop\n');
  const seen: string[] = [];
  const koa = createServiceApp({
    logger: createLogger('shop', 'info', jsonLineSink().sink),
    registry: createMetricsRegistry(),
    lifecycle: new Lifecycle(),
    openApiFile,
    readiness: { stock: () => undefined },
    metricsGuard: async (ctx) => {
      ctx.status = 401;
    },
    beforeRoutes: [
      async (ctx, next) => {
        seen.push(ctx.path);
        await next();
      },
    ],
    mapError: (err) =>
      err instanceof OutOfStock ? new HttpError(409, 'out_of_stock', 'sold out') : undefined,
    routes: (router) => {
      router.get('/items', (ctx) => {
        ctx.body = [];
      });
      router.post('/items', () => {
        throw new OutOfStock();
      });
    },
  });
  return { callback: koa.callback(), seen };
}

describe('createServiceApp', () => {
  it('serves the probes, the API description and the routes, through beforeRoutes', async () => {
    const { callback, seen } = app();
    await request(callback).get('/healthz').expect(200, { status: 'ok' });
    await request(callback).get('/readyz').expect(200, { status: 'ready' });
    await request(callback)
      .get('/openapi.json')
      .expect(200, { openapi: '3.0.3', info: { title: 'Shop' } });
    await request(callback).get('/items').expect(200, []);
    expect(seen).toEqual(['/healthz', '/readyz', '/openapi.json', '/items']);
  });

  it('guards /metrics with metricsGuard', async () => {
    await request(app().callback).get('/metrics').expect(401);
  });

  it('answers domain errors as mapError says, and wrong methods with a JSON 405', async () => {
    const { callback } = app();
    await request(callback)
      .post('/items')
      .expect(409, { error: { code: 'out_of_stock', message: 'sold out' } });
    const wrong = await request(callback).delete('/items').expect(405);
    expect(wrong.headers.allow?.split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
  });
});
