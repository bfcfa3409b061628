import { randomUUID } from 'node:crypto';
import Koa from 'koa';
import Router from '@koa/router';
import coBody from 'co-body';

/**
 * The framework floor the benchmark compares against: Koa 3, @koa/router and co-body parsing
 * the same JSON body and answering a decision of the same shape, with nothing else (no
 * validation, store, metrics, log line or request id).
 */
const router = new Router();
router.post('/v1/charges', async (ctx) => {
  const body = (await coBody.json(ctx, { limit: '16kb', strict: true })) as {
    customer_id?: unknown;
  };
  ctx.body = { result: body.customer_id !== undefined, id: `ch_${randomUUID().replace(/-/g, '')}` };
});

const app = new Koa();
app.use(router.routes());
app.use(router.allowedMethods());

const server = app.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
