import http from 'node:http';

export interface Upstream {
  name: string;
  port: number;
}

/** One request the balancer handled, as its client saw it and as far as the replica got. */
export interface Exchange {
  /** The replica that produced the answer; 'balancer' when no replica could be reached. */
  replica: string;
  method: string;
  path: string;
  /** The status the client got. */
  status: number;
  /** Set when the status was made up by the balancer: the replica's connection failed. */
  transportError?: string;
  /** For a 5xx from a replica: the `error.code` of its JSON body, to tell causes apart. */
  errorCode?: string;
  /** Wall time from choosing the replica to the end of its answer, in milliseconds. */
  durationMs: number;
  endedAt: number;
}

export interface LoadBalancer {
  url: string;
  port: number;
  exchanges: Exchange[];
  /** Which replicas the last readiness probe found ready. */
  ready(): string[];
  close(): Promise<void>;
}

export interface LoadBalancerOptions {
  upstreams: Upstream[];
  /** Polled on each replica; a replica leaves the rotation when it answers anything but 200. */
  readinessPath: string;
  probeIntervalMs?: number;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function errorCodeOf(body: Buffer): string {
  try {
    return String(
      (JSON.parse(body.toString('utf8')) as { error?: { code?: unknown } }).error?.code,
    );
  } catch {
    return 'not JSON';
  }
}

/**
 * A loopback stand-in for a Kubernetes Service with readiness-gated endpoints: round robin over
 * the replicas whose readiness probe passed, a retry on another replica only when the connection
 * was refused (nothing was sent, so retrying is safe), and a 502 when a replica dies mid-answer.
 * Every exchange is recorded with the replica that answered, so a test can blame a 5xx on the
 * process that was killed, or on no one.
 */
export async function startLoadBalancer(options: LoadBalancerOptions): Promise<LoadBalancer> {
  const { upstreams, readinessPath, probeIntervalMs = 100 } = options;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const exchanges: Exchange[] = [];
  const readiness = new Map(upstreams.map((u) => [u.name, true]));
  let next = 0;

  const probe = (u: Upstream) =>
    fetch(`http://127.0.0.1:${u.port}${readinessPath}`, { signal: AbortSignal.timeout(1_000) })
      .then(async (res) => {
        await res.arrayBuffer();
        return res.status === 200;
      })
      .catch(() => false)
      .then((ok) => readiness.set(u.name, ok));
  const prober = setInterval(() => void Promise.all(upstreams.map(probe)), probeIntervalMs);

  /** The replicas to try in order: ready ones from the round-robin position first. */
  function candidates(): Upstream[] {
    const start = next++ % upstreams.length;
    const ordered = upstreams.map((_, i) => upstreams[(start + i) % upstreams.length]!);
    const ready = ordered.filter((u) => readiness.get(u.name));
    return ready.length > 0 ? ready : ordered;
  }

  function forward(
    req: http.IncomingMessage,
    body: Buffer,
    upstream: Upstream,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const upstreamReq = http.request(
        {
          host: '127.0.0.1',
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: `127.0.0.1:${upstream.port}` },
          agent,
        },
        (res) => {
          readBody(res).then(
            (answer) =>
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: answer }),
            reject,
          );
        },
      );
      upstreamReq.on('error', reject);
      upstreamReq.end(body);
    });
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      let lastError = '';
      for (const upstream of candidates()) {
        const started = performance.now();
        try {
          const answer = await forward(req, body, upstream);
          const headers = { ...answer.headers };
          delete headers['transfer-encoding'];
          delete headers.connection;
          delete headers['keep-alive'];
          res.writeHead(answer.status, headers).end(answer.body);
          exchanges.push({
            replica: upstream.name,
            method: req.method ?? '',
            path: req.url ?? '',
            status: answer.status,
            ...(answer.status >= 500 ? { errorCode: errorCodeOf(answer.body) } : {}),
            durationMs: performance.now() - started,
            endedAt: Date.now(),
          });
          return;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
          lastError = `${upstream.name}: ${code}`;
          if (code === 'ECONNREFUSED') {
            readiness.set(upstream.name, false);
            continue;
          }
          // The replica took the request and died: whether it acted on it is unknown.
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'bad_gateway', message: lastError } }));
          exchanges.push({
            replica: upstream.name,
            method: req.method ?? '',
            path: req.url ?? '',
            status: 502,
            transportError: code,
            durationMs: performance.now() - started,
            endedAt: Date.now(),
          });
          return;
        }
      }
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'no_upstream', message: lastError } }));
      exchanges.push({
        replica: 'balancer',
        method: req.method ?? '',
        path: req.url ?? '',
        status: 503,
        transportError: lastError,
        durationMs: 0,
        endedAt: Date.now(),
      });
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    exchanges,
    ready: () => upstreams.filter((u) => readiness.get(u.name)).map((u) => u.name),
    async close() {
      clearInterval(prober);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
