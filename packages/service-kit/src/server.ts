import type http from 'node:http';
import type https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type Koa from 'koa';
import type { ErrorBody } from './errors';
import type { Logger } from './logger';
import type { Lifecycle } from './lifecycle';
import { SERVER_LIMIT_DEFAULTS, createLimitedServer, type ServerLimits } from './server-limits';
import { loadTls, watchTls, type TlsFiles, type TlsMaterial, type TlsVariables } from './tls';

/** The server's side of TLS: its certificate and key, and the CA its clients' certificates come from. */
export interface ServerTls {
  files: TlsFiles;
  names: TlsVariables;
  /** How often the files are checked for a renewal. */
  reloadIntervalMs?: number;
}

export interface ServeOptions {
  app: Koa;
  port: number;
  host?: string;
  logger: Logger;
  lifecycle: Lifecycle;
  /** How long to keep serving after readiness turns 503, so endpoints stop routing to us. */
  drainDelayMs: number;
  /** Upper bound for in-flight requests to finish once the listener is closed. */
  shutdownTimeoutMs: number;
  /** Releases what the app holds (database, Redis) after the last request. */
  onClose?: () => Promise<void> | void;
  /** Deadlines and the connection cap (readServerLimits); SERVER_LIMIT_DEFAULTS when absent. */
  limits?: ServerLimits;
  /**
   * HTTPS instead of HTTP; with a CA file every client must present a certificate it issued
   * (mutual TLS), refused at the handshake otherwise. Renewed files are picked up without a
   * restart: new handshakes use them, open connections finish on the old ones.
   */
  tls?: ServerTls;
  /**
   * A second port, plain HTTP, for the platform: the kubelet's probes and Prometheus's scrape
   * reach /healthz, /readyz and /metrics (still behind its token) there without a client
   * certificate, which the main port demands at the handshake under mutual TLS. Every other
   * path is 404 on it, so no charge can take this way around the handshake.
   */
  opsPort?: number;
}

/** What the ops port serves: the app's own answers for these paths, nothing else. */
export const OPS_PATHS = ['/healthz', '/readyz', '/metrics'];

/** The ops port's listener: OPS_PATHS to the app, anything else a JSON 404 naming the port. */
function opsListener(app: Koa): http.RequestListener {
  const callback = app.callback();
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://ops').pathname;
    if (OPS_PATHS.includes(path)) {
      void callback(req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
    res.end(
      JSON.stringify({
        error: {
          code: 'not_found',
          message: `the ops port serves only ${OPS_PATHS.join(', ')}; ${path} is on the service port`,
        },
      } satisfies ErrorBody),
    );
  };
}

function tlsContext(material: TlsMaterial): https.ServerOptions {
  return { cert: material.cert, key: material.key, ca: material.ca };
}

export interface RunningServer {
  server: http.Server;
  port: number;
  /** The ops port bound, when `opsPort` was given. */
  opsPort?: number;
  /** The shutdown sequence; resolves when everything is closed. */
  shutdown(reason: string): Promise<void>;
}

/**
 * Listens, and on SIGTERM or SIGINT shuts down gracefully: readiness fails, requests keep
 * being served for `drainDelayMs`, the listener closes, in-flight requests get up to
 * `shutdownTimeoutMs` to finish, resources are released and the process exits 0.
 */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const { app, logger, lifecycle } = options;
  const limits = options.limits ?? SERVER_LIMIT_DEFAULTS;
  const tls = options.tls && loadTls(options.tls.files, options.tls.names);
  const server = createLimitedServer(
    app.callback(),
    limits,
    tls && {
      ...tlsContext(tls),
      minVersion: 'TLSv1.2',
      requestCert: tls.ca !== undefined,
      rejectUnauthorized: tls.ca !== undefined,
    },
  );
  const stopWatching =
    options.tls &&
    watchTls(
      options.tls.files,
      options.tls.names,
      (renewed) => (server as unknown as https.Server).setSecureContext(tlsContext(renewed)),
      logger,
      options.tls.reloadIntervalMs,
    );
  logDroppedConnections(server, logger, limits.maxConnections);
  const opsServer =
    options.opsPort === undefined ? undefined : createLimitedServer(opsListener(app), limits);
  const port = await listen(server, options.port, options.host);
  const opsPort = opsServer && (await listen(opsServer, options.opsPort!, options.host));
  logger.info(
    { port, opsPort, tls: tls ? (tls.ca ? 'mutual' : 'server') : 'off', notAfter: tls?.notAfter },
    'listening',
  );

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> =>
    (shuttingDown ??= (async () => {
      logger.info({ reason, inFlight: lifecycle.requestsInFlight }, 'draining');
      lifecycle.startDraining();
      await sleep(options.drainDelayMs);
      lifecycle.startClosing();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const finished = await Promise.race([
        lifecycle.idle().then(() => true),
        sleep(options.shutdownTimeoutMs).then(() => false),
      ]);
      if (!finished) {
        logger.warn(
          { inFlight: lifecycle.requestsInFlight },
          'shutdown deadline reached; closing connections',
        );
      }
      server.closeAllConnections();
      stopWatching?.();
      await closed;
      // Readiness answered 503 here through the drain; the probes stop with the process.
      if (opsServer) {
        const opsClosed = new Promise<void>((resolve) => opsServer.close(() => resolve()));
        opsServer.closeAllConnections();
        await opsClosed;
      }
      await options.onClose?.();
      logger.info('stopped');
    })());

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      shutdown(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  return { server, port, opsPort, shutdown };
}

/** Listens on host:port (every interface by default) and resolves with the port bound. */
async function listen(server: http.Server, port: number, host = '0.0.0.0'): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return (server.address() as { port: number }).port;
}

const DROP_LOG_INTERVAL_MS = 10_000;

/**
 * A connection over the cap is closed before any request is read, so no access log line shows
 * it: a warning says so, at most one per interval during a flood, counting the ones between.
 */
function logDroppedConnections(server: http.Server, logger: Logger, maxConnections: number): void {
  let lastWarning = -Infinity;
  let dropped = 0;
  server.on('drop', () => {
    dropped += 1;
    if (Date.now() - lastWarning < DROP_LOG_INTERVAL_MS) return;
    logger.warn({ dropped, maxConnections }, 'connection refused: HTTP_MAX_CONNECTIONS reached');
    lastWarning = Date.now();
    dropped = 0;
  });
}

/** Runs `main`, and turns a startup failure (bad configuration, say) into a message and exit 1. */
export function runMain(main: () => Promise<unknown>): void {
  main().catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
}
