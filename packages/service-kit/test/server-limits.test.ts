import net from 'node:net';
import Koa from 'koa';
import {
  jsonLineSink,
  openSocket,
  slowHeaderClient,
  sleep,
  waitForClose,
} from '@internal/test-kit';
import {
  ConfigError,
  Lifecycle,
  SERVER_LIMIT_DEFAULTS,
  createLogger,
  readServerLimits,
  serve,
  type RunningServer,
  type ServerLimits,
} from '../src';

describe('readServerLimits', () => {
  it('defaults cut a slow-header client within about 20 s', () => {
    expect(readServerLimits({})).toEqual(SERVER_LIMIT_DEFAULTS);
    expect(SERVER_LIMIT_DEFAULTS.headersTimeoutMs).toBeLessThanOrEqual(20_000);
  });

  it('reads the five variables', () => {
    expect(
      readServerLimits({
        HTTP_HEADERS_TIMEOUT_MS: '2000',
        HTTP_REQUEST_TIMEOUT_MS: '3000',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000',
        HTTP_MAX_CONNECTIONS: '7',
        HTTP_CONNECTION_MAX_AGE_MS: '9000',
      }),
    ).toEqual({
      headersTimeoutMs: 2000,
      requestTimeoutMs: 3000,
      keepAliveTimeoutMs: 1000,
      maxConnections: 7,
      connectionMaxAgeMs: 9000,
    });
  });

  it.each([
    [
      'HTTP_HEADERS_TIMEOUT_MS',
      '0',
      /HTTP_HEADERS_TIMEOUT_MS must be greater than or equal to 100/,
    ],
    ['HTTP_HEADERS_TIMEOUT_MS', 'soon', /HTTP_HEADERS_TIMEOUT_MS must be a number \(got "soon"\)/],
    [
      'HTTP_REQUEST_TIMEOUT_MS',
      '-5',
      /HTTP_REQUEST_TIMEOUT_MS must be greater than or equal to 100/,
    ],
    ['HTTP_REQUEST_TIMEOUT_MS', '1.5', /HTTP_REQUEST_TIMEOUT_MS must be an integer/],
    ['HTTP_KEEP_ALIVE_TIMEOUT_MS', '0', /HTTP_KEEP_ALIVE_TIMEOUT_MS must be greater than or equal/],
    ['HTTP_KEEP_ALIVE_TIMEOUT_MS', 'x', /HTTP_KEEP_ALIVE_TIMEOUT_MS must be a number/],
    ['HTTP_MAX_CONNECTIONS', '0', /HTTP_MAX_CONNECTIONS must be greater than or equal to 1/],
    ['HTTP_MAX_CONNECTIONS', 'many', /HTTP_MAX_CONNECTIONS must be a number \(got "many"\)/],
    [
      'HTTP_CONNECTION_MAX_AGE_MS',
      '50',
      /HTTP_CONNECTION_MAX_AGE_MS must be greater than or equal to 100/,
    ],
    ['HTTP_CONNECTION_MAX_AGE_MS', 'ever', /HTTP_CONNECTION_MAX_AGE_MS must be a number/],
  ])('refuses %s=%s, naming it', (variable, value, message) => {
    const read = () => readServerLimits({ [variable]: value });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(message);
  });

  it('refuses a headers timeout above the request timeout', () => {
    expect(() =>
      readServerLimits({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' }),
    ).toThrow('HTTP_HEADERS_TIMEOUT_MS (20000) must not exceed HTTP_REQUEST_TIMEOUT_MS (10000)');
  });

  it('refuses a keep-alive timeout not below the headers timeout', () => {
    expect(() =>
      readServerLimits({ HTTP_HEADERS_TIMEOUT_MS: '4000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '4000' }),
    ).toThrow('HTTP_KEEP_ALIVE_TIMEOUT_MS (4000) must be less than HTTP_HEADERS_TIMEOUT_MS (4000)');
  });

  it('accepts the numbers a service schema already converted', () => {
    expect(readServerLimits({ HTTP_MAX_CONNECTIONS: 9 }).maxConnections).toBe(9);
  });
});

describe('serve() with limits, on a real socket', () => {
  let running: RunningServer | undefined;
  const { sink, lines } = jsonLineSink();

  async function start(limits: Partial<ServerLimits>): Promise<number> {
    const app = new Koa();
    app.use(async (ctx) => {
      // Answer only once the whole request has arrived, as a JSON route does.
      for await (const chunk of ctx.req) void chunk;
      ctx.body = { ok: true };
    });
    running = await serve({
      app,
      port: 0,
      host: '127.0.0.1',
      logger: createLogger('limits-test', 'warn', sink),
      lifecycle: new Lifecycle(),
      drainDelayMs: 0,
      shutdownTimeoutMs: 1_000,
      limits: { ...SERVER_LIMIT_DEFAULTS, ...limits },
    });
    return running.port;
  }

  afterEach(async () => {
    await running?.shutdown('test over');
    running = undefined;
  });

  it('cuts every client that trickles its headers, at the headers timeout', async () => {
    const port = await start({ headersTimeoutMs: 1_000, keepAliveTimeoutMs: 500 });
    const clients = await Promise.all(Array.from({ length: 5 }, () => slowHeaderClient(port)));
    const cuts = await Promise.all(clients.map((c) => c.closed));
    for (const cut of cuts) {
      // The deadline, plus at most one check interval (a quarter of it) and scheduling slack.
      expect(cut.afterMs).toBeGreaterThanOrEqual(950);
      expect(cut.afterMs).toBeLessThan(2_000);
      expect(cut.received).toMatch(/^HTTP\/1\.1 408 /);
    }
  });

  it('cuts a client that trickles its body, at the request timeout', async () => {
    const port = await start({
      headersTimeoutMs: 1_000,
      requestTimeoutMs: 2_000,
      keepAliveTimeoutMs: 500,
    });
    const socket = await openSocket(port);
    const started = Date.now();
    socket.write('POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n');
    const trickle = setInterval(() => socket.write('x'), 200);
    const cut = await waitForClose(socket, started);
    clearInterval(trickle);
    expect(cut.afterMs).toBeGreaterThanOrEqual(1_950);
    expect(cut.afterMs).toBeLessThan(3_000);
    expect(cut.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const port = await start({ headersTimeoutMs: 3_000, keepAliveTimeoutMs: 300 });
    const socket = await openSocket(port);
    socket.write('GET / HTTP/1.1\r\nHost: test\r\n\r\n');
    let answeredAt = 0;
    socket.once('data', () => (answeredAt = Date.now()));
    const cut = await waitForClose(socket, Date.now());
    expect(cut.received).toMatch(/^HTTP\/1\.1 200 /);
    // Node closes the socket a grace period (keepAliveTimeoutBuffer, 1 s) after the advertised
    // timeout; Node's own default of 5 s would take far longer.
    const idleMs = cut.at - answeredAt;
    expect(idleMs).toBeGreaterThanOrEqual(250);
    expect(idleMs).toBeLessThan(2_500);
  });

  it('answers Connection: close on a connection older than HTTP_CONNECTION_MAX_AGE_MS, then closes it', async () => {
    const port = await start({ connectionMaxAgeMs: 300 });
    const socket = await openSocket(port);
    const young = await requestOn(socket);
    expect(young).toMatch(/^HTTP\/1\.1 200 /);
    expect(young).toMatch(/^Connection: keep-alive\r$/im);
    await sleep(350);
    socket.write('GET / HTTP/1.1\r\nHost: test\r\n\r\n');
    const old = await waitForClose(socket, Date.now());
    expect(old.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(old.received).toMatch(/^Connection: close\r$/im);
    expect(old.afterMs).toBeLessThan(1_000);
  });

  it('closes connections beyond HTTP_MAX_CONNECTIONS while the others are served', async () => {
    const port = await start({ maxConnections: 3 });
    const held = await Promise.all([0, 1, 2].map(() => openSocket(port)));
    // An answered request proves the server counts each connection before the fourth comes.
    for (const socket of held) expect(await requestOn(socket)).toMatch(/^HTTP\/1\.1 200 /);

    const fourth = await openSocket(port);
    fourth.write('GET / HTTP/1.1\r\nHost: test\r\n\r\n');
    const refused = await waitForClose(fourth, Date.now());
    expect(refused.received).toBe('');
    expect(refused.afterMs).toBeLessThan(1_000);

    for (const socket of held) expect(await requestOn(socket)).toMatch(/^HTTP\/1\.1 200 /);
    held[0]!.destroy();
    await sleep(100);
    const next = await openSocket(port);
    expect(await requestOn(next)).toMatch(/^HTTP\/1\.1 200 /);
    for (const socket of [...held, next]) socket.destroy();

    expect(lines).toContainEqual(
      expect.objectContaining({ msg: expect.stringMatching(/HTTP_MAX_CONNECTIONS/), dropped: 1 }),
    );
  });
});

/** One GET on an open keep-alive socket; the first chunk of the answer. */
function requestOn(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    socket.write('GET / HTTP/1.1\r\nHost: test\r\n\r\n');
  });
}
