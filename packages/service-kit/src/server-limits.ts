import http from 'node:http';
import https from 'node:https';
import Joi from 'joi';
import { ConfigError, parseEnv } from './config';

/** How long and how many connections a client may hold, against slow and greedy clients. */
export interface ServerLimits {
  /** The whole request line and headers must arrive within this (else 408 and close). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (else 408 and close). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this many open ones are closed as soon as they are accepted. */
  maxConnections: number;
  /**
   * A connection's answers after this long since its first request carry `Connection: close`, so
   * keep-alive clients reconnect and the Service spreads them again over the pods it has now.
   */
  connectionMaxAgeMs: number;
}

/**
 * A client that trickles its headers is cut after about 15 s, a body after 30 s; both are far
 * above what a real client on a cluster network needs. Keep-alive stays Node's 5 s. 1024
 * connections is well above both services' real callers and well below a pod's file limit. A
 * busy keep-alive connection is never idle, so without a maximum age a client that keeps charging
 * never reaches a pod started after it connected (a canary's, a scaled-up one's); 30 s brings it
 * there within half a minute for one new handshake per connection and half-minute.
 */
export const SERVER_LIMIT_DEFAULTS: ServerLimits = {
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
  connectionMaxAgeMs: 30_000,
};

const VARIABLES = {
  headersTimeoutMs: 'HTTP_HEADERS_TIMEOUT_MS',
  requestTimeoutMs: 'HTTP_REQUEST_TIMEOUT_MS',
  keepAliveTimeoutMs: 'HTTP_KEEP_ALIVE_TIMEOUT_MS',
  maxConnections: 'HTTP_MAX_CONNECTIONS',
  connectionMaxAgeMs: 'HTTP_CONNECTION_MAX_AGE_MS',
} as const;

/**
 * Node takes 0 to mean "no limit"; these variables exist to set one, so the smallest value is
 * 100 ms (a limit, if a tight one) and the largest an hour.
 */
const timeout = (fallback: number) =>
  Joi.number().integer().min(100).max(3_600_000).default(fallback);

/** The Joi rules of the variables, to spread into a service's own Joi.object schema. */
export function serverLimitRules() {
  return {
    [VARIABLES.headersTimeoutMs]: timeout(SERVER_LIMIT_DEFAULTS.headersTimeoutMs),
    [VARIABLES.requestTimeoutMs]: timeout(SERVER_LIMIT_DEFAULTS.requestTimeoutMs),
    [VARIABLES.keepAliveTimeoutMs]: timeout(SERVER_LIMIT_DEFAULTS.keepAliveTimeoutMs),
    [VARIABLES.maxConnections]: Joi.number()
      .integer()
      .min(1)
      .max(1_000_000)
      .default(SERVER_LIMIT_DEFAULTS.maxConnections),
    [VARIABLES.connectionMaxAgeMs]: timeout(SERVER_LIMIT_DEFAULTS.connectionMaxAgeMs),
  };
}

/**
 * The limits from the environment (raw strings) or from a schema's validated output (numbers),
 * with every problem reported at once by variable name, the relations between them included.
 */
export function readServerLimits(raw: Record<string, unknown>): ServerLimits {
  const values = parseEnv(Joi.object(serverLimitRules()), raw as NodeJS.ProcessEnv) as Record<
    string,
    number
  >;
  const limits = Object.fromEntries(
    Object.entries(VARIABLES).map(([field, variable]) => [field, values[variable]]),
  ) as unknown as ServerLimits;
  const problems: string[] = [];
  // Node checks the headers deadline only while the request is incomplete, which the request
  // deadline also covers: a longer headers timeout would never apply.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    problems.push(
      `${VARIABLES.headersTimeoutMs} (${limits.headersTimeoutMs}) must not exceed ${VARIABLES.requestTimeoutMs} (${limits.requestTimeoutMs})`,
    );
  }
  // Node's recommendation: an idle connection is closed by keep-alive before a client that
  // reuses it at the last moment could be cut by the headers deadline instead.
  if (limits.keepAliveTimeoutMs >= limits.headersTimeoutMs) {
    problems.push(
      `${VARIABLES.keepAliveTimeoutMs} (${limits.keepAliveTimeoutMs}) must be less than ${VARIABLES.headersTimeoutMs} (${limits.headersTimeoutMs})`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return limits;
}

/**
 * Node enforces the headers and request deadlines on a timer, every
 * `connectionsCheckingInterval` (30 s by default, which would let a slow client hold a
 * connection far past a 15 s deadline). A quarter of the headers timeout, at most a second,
 * cuts a client within 25% of its deadline for the cost of one walk over the open connections.
 */
export function checkingIntervalMs(limits: ServerLimits): number {
  return Math.min(1_000, Math.ceil(limits.headersTimeoutMs / 4));
}

/**
 * The listener, with `Connection: close` on every answer of a connection older than the limit
 * (its age counted from its first request: a TLS socket is not the TCP socket the server saw).
 */
function withConnectionMaxAge(listener: http.RequestListener, maxAgeMs: number) {
  const firstRequestAt = new WeakMap<object, number>();
  return (request: http.IncomingMessage, response: http.ServerResponse) => {
    const now = Date.now();
    let since = firstRequestAt.get(request.socket);
    if (since === undefined) {
      since = now;
      firstRequestAt.set(request.socket, now);
    }
    if (now - since >= maxAgeMs) response.setHeader('Connection', 'close');
    listener(request, response);
  };
}

/** An HTTP server for `listener` that enforces the limits; HTTPS with `tls`. */
export function createLimitedServer(
  plainListener: http.RequestListener,
  limits: ServerLimits,
  tls?: https.ServerOptions,
): http.Server {
  const listener = withConnectionMaxAge(plainListener, limits.connectionMaxAgeMs);
  const options: http.ServerOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: checkingIntervalMs(limits),
  };
  // An https.Server is an http.Server for everything serve() does with it (listen, close,
  // closeIdleConnections, 'drop'); only the TLS context differs.
  const server = tls
    ? (https.createServer({ ...options, ...tls }, listener) as unknown as http.Server)
    : http.createServer(options, listener);
  server.maxConnections = limits.maxConnections;
  return server;
}
