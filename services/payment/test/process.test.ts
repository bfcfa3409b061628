import net from 'node:net';
import {
  authUnlessTokens,
  builtScript,
  openSocket,
  sleep,
  slowHeaderClient,
  startBuiltService,
  startProcess,
  waitForClose,
  type ManagedProcess,
} from '@internal/test-kit';
import { PATCHED_BODY, SERVICE_DIR, postCharge } from './support';

async function startServer(env: Record<string, string>) {
  const service = await startBuiltService(
    'payment',
    { ...authUnlessTokens('payment', env), ...env },
    { cwd: SERVICE_DIR },
  );
  return { proc: service.process, url: service.baseUrl, port: service.port };
}

async function runToExit(
  env: Record<string, string>,
): Promise<{ code: number | string; output: string }> {
  const proc = await startProcess({
    command: process.execPath,
    args: [builtScript('payment')],
    cwd: SERVICE_DIR,
    env,
  });
  const code = await Promise.race([proc.exited, sleep(10_000).then(() => 'still running')]);
  if (code === 'still running') await proc.stop('SIGKILL');
  return { code, output: proc.output() };
}

describe('startup configuration (built server)', () => {
  it.each([
    [
      { PAYMENT_SUCCESS_RATE: '2' },
      /PAYMENT_SUCCESS_RATE must be less than or equal to 1 \(got 2\)/,
    ],
    [{ PORT: 'nine-thousand' }, /PORT must be a number/],
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL must be a valid uri/],
    [
      { IDEMPOTENCY_TTL_SECONDS: '0' },
      /IDEMPOTENCY_TTL_SECONDS must be greater than or equal to 1/,
    ],
  ])('exits 1 on %j with a message naming the variable', async (env, message) => {
    const { code, output } = await runToExit(env);
    expect(code).toBe(1);
    expect(output).toMatch(/invalid configuration/);
    expect(output).toMatch(message);
  });

  it('does not print a bad token or a Redis password', async () => {
    const { code, output } = await runToExit({
      PAYMENT_API_TOKENS: 'tiny-secret',
      REDIS_URL: 'http://user:hunter2-password@redis',
    });
    expect(code).toBe(1);
    expect(output).toMatch(/PAYMENT_API_TOKENS entry 1 of 1/);
    expect(output).toMatch(/REDIS_URL must be a valid uri/);
    expect(output).not.toContain('tiny-secret');
    expect(output).not.toContain('hunter2');
  });

  it('refuses to start without tokens unless PAYMENT_AUTH=disabled, naming both', async () => {
    for (const env of [{}, { PAYMENT_API_TOKENS: '   ' }] as Array<Record<string, string>>) {
      const { code, output } = await runToExit(env);
      expect(code).toBe(1);
      expect(output).toMatch(/PAYMENT_API_TOKENS/);
      expect(output).toMatch(/PAYMENT_AUTH=disabled/);
    }
  });

  it('warns at startup when charges are unauthenticated by choice', async () => {
    const { proc } = await startServer({ DRAIN_DELAY_MS: '0', PAYMENT_AUTH: 'disabled' });
    await proc.stop();
    expect(proc.output()).toMatch(/PAYMENT_AUTH=disabled: charge endpoints accept unauthenticated/);
  });
});

/** Opens a charge request whose body is only half sent, so it stays in flight until `finish`. */
async function halfSentCharge(port: number) {
  const body = JSON.stringify({ ...PATCHED_BODY, invoice_id: 31 });
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  let response = '';
  socket.on('data', (chunk) => (response += chunk.toString()));
  // A server that gives up on the request resets the connection; that is an outcome, not a crash.
  socket.on('error', (err) => (response += `\n[socket error: ${err.message}]`));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(
    `POST /v1/charges HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
  );
  return {
    finish: async () => {
      socket.write(body.slice(10));
      await ended;
      return response;
    },
  };
}

describe('graceful shutdown (built server, SIGTERM)', () => {
  let server: { proc: ManagedProcess; url: string; port: number };

  afterEach(async () => {
    await server?.proc.stop('SIGKILL');
  });

  it('turns readiness 503, lets the in-flight charge finish, and exits 0', async () => {
    server = await startServer({ DRAIN_DELAY_MS: '600', SHUTDOWN_TIMEOUT_MS: '5000' });
    const inFlight = await halfSentCharge(server.port);
    await sleep(100);
    server.proc.child.kill('SIGTERM');
    await sleep(150);

    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'draining' });
    // Still draining: new work is served while endpoints stop routing to us.
    expect((await postCharge(`${server.url}/v1/charges`, PATCHED_BODY)).status).toBe(200);

    await sleep(800); // past the drain delay: the listener is closed, only our request remains
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    const response = await inFlight.finish();
    expect(response).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(response).toMatch(/"result":(true|false)/);
    expect(await server.proc.exited).toBe(0);
    expect(server.proc.output()).toMatch(/"msg":"stopped"/);
  });

  it('gives up on a request that outlives SHUTDOWN_TIMEOUT_MS and still exits 0', async () => {
    server = await startServer({ DRAIN_DELAY_MS: '0', SHUTDOWN_TIMEOUT_MS: '300' });
    await halfSentCharge(server.port);
    // Let the server read the headers, so the request is in flight when SIGTERM arrives.
    await sleep(200);
    const started = Date.now();
    server.proc.child.kill('SIGTERM');
    expect(await server.proc.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(server.proc.output()).toMatch(/shutdown deadline reached/);
  });
});

describe('logs (built server)', () => {
  it('never contain tokens or card-like data from requests', async () => {
    const token = 'rotating-token-0123456789-abcdef';
    const pan = '4111111111111111';
    const { proc, url } = await startServer({
      PAYMENT_API_TOKENS: token,
      LOG_LEVEL: 'trace',
      DRAIN_DELAY_MS: '0',
    });
    const auth = { Authorization: `Bearer ${token}` };
    expect(
      (
        await postCharge(
          `${url}/v1/charges`,
          { ...PATCHED_BODY, card_number: pan, cvv: '123' },
          auth,
        )
      ).status,
    ).toBe(200);
    expect((await postCharge(`${url}/`, { ...PATCHED_BODY, customer_id: pan }, auth)).status).toBe(
      400,
    );
    expect(
      (
        await postCharge(`${url}/v1/charges`, PATCHED_BODY, {
          Authorization: `Bearer ${token}-wrong`,
        })
      ).status,
    ).toBe(401);
    expect(
      (await postCharge(`${url}/v1/charges`, PATCHED_BODY, { ...auth, 'Idempotency-Key': pan }))
        .status,
    ).toBe(200);
    await proc.stop();
    const output = proc.output();
    expect(output).toMatch(/"chargeId":"ch_[0-9a-f]{32}","result":(true|false)/);
    expect(output).not.toContain(token);
    expect(output).not.toContain(pan);
    expect(output).not.toContain('cvv');
  });
});

describe('server limits of the built service (M5)', () => {
  it('cuts clients that trickle their headers at HTTP_HEADERS_TIMEOUT_MS and holds HTTP_MAX_CONNECTIONS', async () => {
    const { proc, url, port } = await startServer({
      LOG_LEVEL: 'warn',
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '500',
      HTTP_MAX_CONNECTIONS: '6',
    });
    try {
      const clients = await Promise.all(Array.from({ length: 6 }, () => slowHeaderClient(port)));
      // The cap is reached: another connection is closed at once, without an answer.
      const started = Date.now();
      const over = await waitForClose(await openSocket(port), started);
      expect(over.received).toBe('');
      expect(over.afterMs).toBeLessThan(900);
      for (const cut of await Promise.all(clients.map((c) => c.closed))) {
        expect(cut.received).toMatch(/^HTTP\/1\.1 408 /);
        expect(cut.afterMs).toBeGreaterThanOrEqual(950);
        expect(cut.afterMs).toBeLessThan(2_500);
      }
      // Once they are cut, there is room again.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await proc.stop();
    }
  });
});
