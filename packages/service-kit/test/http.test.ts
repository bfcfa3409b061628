import { Writable } from 'node:stream';
import Koa from 'koa';
import Router from '@koa/router';
import pino from 'pino';
import request from 'supertest';
import { HttpError, errorHandler, jsonBody, methodErrors, notFound, requestContext } from '../src';

function app() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        chunk
          .toString()
          .split('\n')
          .filter(Boolean)
          .forEach((l) => lines.push(JSON.parse(l) as Record<string, unknown>));
        done();
      },
    }),
  );
  const router = new Router();
  router.post('/echo', jsonBody(64), async (ctx) => {
    ctx.body = { got: (ctx.request as { body?: unknown }).body };
  });
  router.get('/echo', async (ctx) => {
    ctx.body = 'ok';
  });
  router.get('/teapot', async () => {
    throw new HttpError(418, 'teapot', 'short and stout', { field: 'spout' });
  });
  router.get('/boom', async () => {
    throw new Error('database password is hunter2');
  });
  const koa = new Koa();
  koa.use(requestContext(logger));
  koa.use(errorHandler());
  koa.use(notFound());
  koa.use(router.routes());
  koa.use(router.allowedMethods(methodErrors));
  return { callback: koa.callback(), lines };
}

describe('errorHandler, notFound, methodErrors, jsonBody', () => {
  it('answers an unknown path with a JSON 404 naming it', async () => {
    const res = await request(app().callback).get('/nowhere').expect(404);
    expect(res.body).toEqual({
      error: { code: 'not_found', message: 'no route for GET /nowhere' },
    });
  });

  it('answers a wrong method with 405 and an Allow header listing the path’s methods', async () => {
    const res = await request(app().callback).delete('/echo').expect(405);
    expect(res.body.error.code).toBe('method_not_allowed');
    expect(String(res.headers.allow).split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
  });

  it('keeps an HttpError’s status, code, message and details', async () => {
    const res = await request(app().callback).get('/teapot').expect(418);
    expect(res.body).toEqual({
      error: { code: 'teapot', message: 'short and stout', details: { field: 'spout' } },
    });
  });

  it('turns an unexpected error into a 500 that reveals nothing, and logs it', async () => {
    const { callback, lines } = app();
    const res = await request(callback).get('/boom').expect(500);
    expect(res.body).toEqual({ error: { code: 'internal', message: 'internal server error' } });
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
    expect(lines.some((l) => l.msg === 'unhandled error')).toBe(true);
  });

  it('answers malformed JSON with 400 invalid_json', async () => {
    const res = await request(app().callback)
      .post('/echo')
      .set('Content-Type', 'application/json')
      .send('{"a":')
      .expect(400);
    expect(res.body.error.code).toBe('invalid_json');
    expect(res.body.error.message).toMatch(/request body is not valid JSON/);
  });

  it('answers a body over the limit with 413 and a non-JSON body with 415', async () => {
    const big = await request(app().callback)
      .post('/echo')
      .send({ pad: 'x'.repeat(100) })
      .expect(413);
    expect(big.body.error.code).toBe('payload_too_large');
    const text = await request(app().callback)
      .post('/echo')
      .set('Content-Type', 'text/plain')
      .send('hi')
      .expect(415);
    expect(text.body.error.message).toBe('request body must be application/json, got text/plain');
  });

  it('parses a JSON body within the limit', async () => {
    const res = await request(app().callback).post('/echo').send({ a: 1 }).expect(200);
    expect(res.body).toEqual({ got: { a: 1 } });
  });

  it('drops __proto__ keys at any depth, escaped or not, instead of refusing the body', async () => {
    const raw = '{"a":1,"x":{"__proto__":[]},"y":[{"\\u005f_proto__":{"p":1}}]}';
    const res = await request(app().callback)
      .post('/echo')
      .set('Content-Type', 'application/json')
      .send(raw)
      .expect(200);
    expect(res.text).toBe('{"got":{"a":1,"x":{},"y":[{}]}}');
    expect(({} as Record<string, unknown>).p).toBeUndefined();
  });

  it('answers a body that does not decompress as its Content-Encoding says with 400, never 500', async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const res = await request(app().callback)
        .post('/echo')
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', encoding)
        .send('{"not":"compressed"}')
        .expect(400);
      expect(res.body.error.code).toBe('invalid_body');
      expect(res.body.error.message).toMatch(/Content-Encoding/);
    }
  });

  it('answers an unknown Content-Encoding with 415', async () => {
    const res = await request(app().callback)
      .post('/echo')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'compress-me')
      .send('{}')
      .expect(415);
    expect(res.body.error.code).toBe('unsupported_media_type');
  });

  it('reads an empty body as an empty object, with or without a content type', async () => {
    const bare = await request(app().callback).post('/echo').expect(200);
    expect(bare.body).toEqual({ got: {} });
    const typed = await request(app().callback)
      .post('/echo')
      .set('Content-Type', 'application/json')
      .expect(200);
    expect(typed.body).toEqual({ got: {} });
  });

  it('answers a JSON scalar with 400 invalid_json', async () => {
    const res = await request(app().callback)
      .post('/echo')
      .set('Content-Type', 'application/json')
      .send('42')
      .expect(400);
    expect(res.body.error.code).toBe('invalid_json');
  });

  it('logs one access line per request with the final status and no headers', async () => {
    const { callback, lines } = app();
    await request(callback).get('/teapot').set('Authorization', 'Bearer secret-value').expect(418);
    const access = lines.filter((l) => l.msg === 'request');
    expect(access).toEqual([
      expect.objectContaining({ method: 'GET', path: '/teapot', status: 418 }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('secret-value');
  });
});
