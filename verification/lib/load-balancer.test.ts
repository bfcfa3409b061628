import http from 'node:http';
import { freePort, sleep } from '@internal/test-kit';
import { startLoadBalancer, type LoadBalancer } from './load-balancer';

/** A replica stand-in: answers with its name, or however `behave` decides. */
async function replica(
  name: string,
  behave: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) =>
    res.end(name),
  ready = () => true,
): Promise<{ port: number; server: http.Server }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/readyz') {
      res.statusCode = ready() ? 200 : 503;
      res.end();
      return;
    }
    behave(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

const balance = (replicas: Record<string, number>, probeIntervalMs?: number) =>
  startLoadBalancer({
    upstreams: Object.entries(replicas).map(([name, port]) => ({ name, port })),
    readinessPath: '/readyz',
    probeIntervalMs,
  });

const get = async (lb: LoadBalancer, path = '/v1/charges') => {
  const res = await fetch(`${lb.url}${path}`);
  return { status: res.status, body: await res.text() };
};

describe('the test load balancer', () => {
  const servers: http.Server[] = [];
  let lb: LoadBalancer | undefined;
  afterEach(async () => {
    await lb?.close();
    servers.splice(0).forEach((s) => s.close());
  });

  it('alternates between ready replicas and records who answered', async () => {
    const a = await replica('a');
    const b = await replica('b');
    servers.push(a.server, b.server);
    lb = await balance({ a: a.port, b: b.port });
    const bodies = [];
    for (let i = 0; i < 4; i += 1) bodies.push((await get(lb)).body);
    expect(bodies.sort()).toEqual(['a', 'a', 'b', 'b']);
    expect(lb.exchanges.map((e) => `${e.replica}:${e.status}`).sort()).toEqual([
      'a:200',
      'a:200',
      'b:200',
      'b:200',
    ]);
  });

  it('retries on the other replica when a connection is refused, so the client sees no error', async () => {
    const up = await replica('up');
    servers.push(up.server);
    lb = await balance({ down: await freePort(), up: up.port }, 60_000);
    for (let i = 0; i < 4; i += 1) expect(await get(lb)).toEqual({ status: 200, body: 'up' });
    expect(lb.exchanges.every((e) => e.replica === 'up')).toBe(true);
  });

  it('answers 502, blaming the replica, when it dies in the middle of a request', async () => {
    const dying = await replica('dying', (req) => req.socket.destroy());
    servers.push(dying.server);
    lb = await balance({ dying: dying.port });
    expect((await get(lb)).status).toBe(502);
    expect(lb.exchanges).toEqual([
      expect.objectContaining({ replica: 'dying', status: 502, transportError: 'ECONNRESET' }),
    ]);
  });

  it('takes a replica out of rotation once its readiness probe fails', async () => {
    let drainingReady = true;
    const draining = await replica('draining', undefined, () => drainingReady);
    const steady = await replica('steady');
    servers.push(draining.server, steady.server);
    lb = await balance({ draining: draining.port, steady: steady.port }, 20);
    drainingReady = false;
    await sleep(200);
    expect(lb.ready()).toEqual(['steady']);
    for (let i = 0; i < 4; i += 1) expect((await get(lb)).body).toBe('steady');
  });

  it('keeps the error code of a replica 5xx', async () => {
    const failing = await replica('failing', (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'store_unavailable', message: 'down' } }));
    });
    servers.push(failing.server);
    lb = await balance({ failing: failing.port });
    expect((await get(lb)).status).toBe(503);
    expect(lb.exchanges[0]).toMatchObject({ status: 503, errorCode: 'store_unavailable' });
  });
});
