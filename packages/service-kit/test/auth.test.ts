import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import Joi from 'joi';
import Koa, { type Context, type Middleware } from 'koa';
import pino from 'pino';
import {
  ConfigError,
  SHARED_CALLER,
  authGuard,
  authMode,
  bearerTokenList,
  errorHandler,
  metricsAuthGuard,
  parseEnv,
  parseTokenEntry,
  requestContext,
  resolveBearerAuth,
} from '../src';

const GOOD = 'good-token-0123456789abcdef';
const OTHER = 'other-token-fedcba9876543210';
const NAMES = { tokens: 'DEMO_API_TOKENS', mode: 'DEMO_AUTH' };

/** A guarded app on a real loopback port, with its log lines parsed. */
async function guardedServer(tokens: string[] | 'disabled') {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean))
          lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    }),
  );
  const app = new Koa();
  app.use(requestContext(logger));
  app.use(errorHandler());
  app.use(authGuard(tokens === 'disabled' ? { disabled: true } : { tokens }));
  app.use((ctx) => {
    ctx.body = { ok: true, caller: ctx.state.caller as unknown };
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/thing`;
  return {
    lines,
    call: async (authorization?: string) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: authorization === undefined ? {} : { authorization },
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown>, res };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('bearerAuth over HTTP', () => {
  let server: Awaited<ReturnType<typeof guardedServer>>;
  beforeAll(async () => {
    server = await guardedServer([OTHER, GOOD]);
  });
  afterAll(() => server.close());

  it.each([
    ['no Authorization header', undefined, 'missing_header', 'Bearer'],
    ['a Basic credential', `Basic ${GOOD}`, 'malformed_header', 'Bearer'],
    ['an empty bearer token', 'Bearer ', 'malformed_header', 'Bearer'],
    ['an unknown token', `Bearer ${GOOD}x`, 'unknown_token', 'Bearer error="invalid_token"'],
  ])(
    'refuses %s with a JSON 401 and logs the reason, never the token',
    async (_case, authorization, reason, challenge) => {
      const before = server.lines.length;
      const { status, body, res } = await server.call(authorization);
      expect(status).toBe(401);
      expect(body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
      expect(res.headers.get('www-authenticate')).toBe(challenge);
      const logged = server.lines.slice(before);
      expect(logged).toContainEqual(
        expect.objectContaining({ msg: 'request refused: 401', reason, path: '/thing' }),
      );
      expect(JSON.stringify(logged)).not.toContain(GOOD);
    },
  );

  it('accepts every configured token (rotation), whatever the scheme case', async () => {
    expect((await server.call(`Bearer ${GOOD}`)).status).toBe(200);
    expect((await server.call(`bearer ${OTHER}`)).status).toBe(200);
  });

  it('names the caller of a named token, the same for each of its tokens (rotation)', async () => {
    const named = await guardedServer([
      `antaeus:${GOOD}`,
      `antaeus:${OTHER}`,
      'ops:third-token-0123456789',
    ]);
    try {
      expect((await named.call(`Bearer ${GOOD}`)).body.caller).toBe('antaeus');
      expect((await named.call(`Bearer ${OTHER}`)).body.caller).toBe('antaeus');
      expect((await named.call('Bearer third-token-0123456789')).body.caller).toBe('ops');
      // The name is not part of the token.
      expect((await named.call(`Bearer antaeus:${GOOD}`)).status).toBe(401);
    } finally {
      await named.close();
    }
  });

  it("identifies a bare token's caller by a hash of it, never by the token", async () => {
    const good = await server.call(`Bearer ${GOOD}`);
    const other = await server.call(`Bearer ${OTHER}`);
    expect(good.body.caller).toMatch(/^token-[0-9a-f]{16}$/);
    expect(other.body.caller).toMatch(/^token-[0-9a-f]{16}$/);
    expect(good.body.caller).not.toBe(other.body.caller);
    expect(good.body.caller).toBe(parseTokenEntry(GOOD).caller);
    expect(String(good.body.caller)).not.toContain(GOOD.slice(0, 8));
  });

  it('lets everything through only when explicitly disabled, as one shared caller', async () => {
    const open = await guardedServer('disabled');
    try {
      expect((await open.call()).status).toBe(200);
      expect((await open.call()).body.caller).toBe(SHARED_CALLER);
    } finally {
      await open.close();
    }
  });

  it('cannot be built with no token (that would refuse everyone silently)', () => {
    expect(() => authGuard({ tokens: [] })).toThrow(/at least one token/);
  });
});

describe('metricsAuthGuard', () => {
  /** Runs a guard on a request with this Authorization header: passed on (with its caller), or thrown. */
  const guarded = async (guard: Middleware, authorization: string) => {
    const ctx = { get: () => authorization, set: () => undefined, state: {} };
    let passed = false;
    await guard(ctx as unknown as Context, async () => {
      passed = true;
    });
    return { passed, caller: (ctx.state as { caller?: string }).caller };
  };

  it("opens /metrics to the service's tokens and to metrics tokens, which the service's own guard refuses", async () => {
    const auth = { tokens: [`antaeus:${GOOD}`] };
    const guard = metricsAuthGuard(auth, [`prometheus:${OTHER}`]);
    await expect(guarded(guard, `Bearer ${GOOD}`)).resolves.toEqual({
      passed: true,
      caller: 'antaeus',
    });
    await expect(guarded(guard, `Bearer ${OTHER}`)).resolves.toEqual({
      passed: true,
      caller: 'prometheus',
    });
    await expect(guarded(guard, `Bearer ${GOOD}x`)).rejects.toMatchObject({ status: 401 });
    await expect(guarded(authGuard(auth), `Bearer ${OTHER}`)).rejects.toMatchObject({
      status: 401,
    });
  });

  it('is open when authentication is disabled', async () => {
    await expect(guarded(metricsAuthGuard({ disabled: true }, []), '')).resolves.toMatchObject({
      passed: true,
    });
  });
});

describe('bearer auth configuration', () => {
  const schema = Joi.object({
    DEMO_API_TOKENS: bearerTokenList(NAMES),
    DEMO_AUTH: authMode('DEMO_AUTH'),
  });
  const resolve = (env: Record<string, string>) => {
    const parsed = parseEnv(schema, env, { secrets: ['DEMO_API_TOKENS'] });
    return resolveBearerAuth(NAMES, parsed, env);
  };

  it('reads a token list, trimmed and without duplicates', () => {
    expect(resolve({ DEMO_API_TOKENS: ` ${GOOD} ,${OTHER},${GOOD}` })).toEqual({
      tokens: [GOOD, OTHER],
    });
  });

  it('is disabled only when asked to', () => {
    expect(resolve({ DEMO_AUTH: 'disabled' })).toEqual({ disabled: true });
  });

  it('names both variables when neither is set', () => {
    const { problem } = resolve({}) as { problem: string };
    expect(problem).toMatch(/DEMO_API_TOKENS is not set/);
    expect(problem).toMatch(/DEMO_AUTH=disabled/);
  });

  it.each(['', '   ', ' \t'])(
    'treats DEMO_API_TOKENS=%j as an error, not as "disabled"',
    (value) => {
      let problem: string;
      try {
        problem = (resolve({ DEMO_API_TOKENS: value }) as { problem: string }).problem;
      } catch (err) {
        problem = (err as Error).message;
      }
      expect(problem).toMatch(/DEMO_API_TOKENS is set but empty.*DEMO_AUTH=disabled/);
    },
  );

  it('refuses a list with an empty entry, by position', () => {
    expect(() => resolve({ DEMO_API_TOKENS: `${GOOD},,` })).toThrow(ConfigError);
    expect(() => resolve({ DEMO_API_TOKENS: `${GOOD},,` })).toThrow(
      /DEMO_API_TOKENS entry 2 of 3 must be a token of 16 to 512 printable characters/,
    );
  });

  it('reads named tokens and checks the token part of each', () => {
    expect(resolve({ DEMO_API_TOKENS: `antaeus:${GOOD},antaeus:${OTHER}` })).toEqual({
      tokens: [`antaeus:${GOOD}`, `antaeus:${OTHER}`],
    });
    expect(() => resolve({ DEMO_API_TOKENS: `${GOOD},antaeus:short` })).toThrow(
      /DEMO_API_TOKENS entry 2 of 2 must be a token of 16 to 512/,
    );
  });

  it('refuses one token given to two callers', () => {
    expect(() => resolve({ DEMO_API_TOKENS: `antaeus:${GOOD},ops:${GOOD}` })).toThrow(
      /one token to two callers \(antaeus and ops\)/,
    );
  });

  it('refuses tokens together with the opt-out', () => {
    expect(resolve({ DEMO_API_TOKENS: GOOD, DEMO_AUTH: 'disabled' })).toEqual({
      problem: expect.stringMatching(/DEMO_API_TOKENS and DEMO_AUTH=disabled are both set/),
    });
  });

  it('accepts no other opt-out value', () => {
    expect(() => resolve({ DEMO_AUTH: 'off' })).toThrow(/DEMO_AUTH must be "disabled" or unset/);
  });
});
