import pino, { type Logger } from 'pino';

export type { Logger };

/** Field names whose values are credentials, censored at the top level and one level down. */
const SECRET_FIELDS = new Set(['authorization', 'token', 'tokens', 'apiToken']);
const CENSORED = '[redacted]';

type Fields = Record<string, unknown>;

// Looks the names up rather than listing the object's keys, so a large array or buffer costs nothing.
function hasSecretField(object: object): boolean {
  for (const name of SECRET_FIELDS) if (Object.hasOwn(object, name)) return true;
  return false;
}

/** A copy of `object` (keeping an error's class, message and stack) with its secret fields censored. */
function censoredCopy(object: object): Fields {
  const copy = Object.assign(
    Object.create(Object.getPrototypeOf(object) as object),
    object,
  ) as Fields;
  if (object instanceof Error) {
    copy.message = object.message;
    copy.stack = object.stack;
  }
  for (const key of Object.keys(copy)) if (SECRET_FIELDS.has(key)) copy[key] = CENSORED;
  return copy;
}

/**
 * Censors secret fields in a log line's own fields and in objects one level down, copying
 * only what changes, so the common line costs a scan of its keys. pino's path-based `redact`
 * does the same job but, with wildcard paths, more than doubled the cost of every line.
 */
export function censorSecrets(fields: Fields): Fields {
  let censored: Fields | undefined;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    let replacement = value;
    if (SECRET_FIELDS.has(key)) replacement = CENSORED;
    else if (typeof value === 'object' && value !== null && hasSecretField(value)) {
      replacement = censoredCopy(value);
    }
    if (replacement !== value) (censored ??= { ...fields })[key] = replacement;
  }
  return censored ?? fields;
}

let stampedMs = Number.NaN;
let stamp = '';

/**
 * pino's isoTime, formatted once per millisecond: the same `,"time":"…"` text, without a Date
 * and toISOString() for every line. Under load a dozen lines share a millisecond, and the
 * formatting was a quarter of the access line's cost.
 */
export function isoTimeStamp(): string {
  const now = Date.now();
  if (now !== stampedMs) {
    stampedMs = now;
    stamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return stamp;
}

/** How long a log line may wait in the buffer before it is written. */
export const LOG_FLUSH_INTERVAL_MS = 100;

/**
 * Standard output, buffered: lines are collected and written together (synchronously) once
 * 4 KiB have gathered or every LOG_FLUSH_INTERVAL_MS, and whatever is left is written when
 * the process exits (process.exit included). Under load this turns one write syscall per
 * request into one per 20-odd lines, the largest single cost the access log had; only a
 * process killed outright (SIGKILL, a native crash) can lose its last 100 ms of lines.
 */
export function bufferedStdout(): pino.DestinationStream {
  const stream = pino.destination({
    dest: 1,
    sync: true,
    minLength: 4096,
    periodicFlush: LOG_FLUSH_INTERVAL_MS,
  });
  if (!flushOnExit) flushOnExit = process.once('exit', flushAll);
  unflushed.add(stream);
  stream.once('close', () => unflushed.delete(stream));
  return stream;
}

// Every buffered destination, written out by one exit listener (one per logger would trip
// Node's listener-leak warning in a process that creates many loggers, such as a test run).
const unflushed = new Set<ReturnType<typeof pino.destination>>();
let flushOnExit: NodeJS.Process | undefined;
function flushAll(): void {
  for (const stream of unflushed) stream.flushSync();
  unflushed.clear();
}

/**
 * JSON logs to stdout (or `destination`), buffered as bufferedStdout() says. Credentials
 * never reach a log line: fields named like one are censored in every line and in every
 * child logger's bindings, and request logging records no headers at all.
 */
export function createLogger(
  service: string,
  level = 'info',
  destination: pino.DestinationStream = bufferedStdout(),
): Logger {
  const logger = pino(
    {
      level,
      base: { service },
      timestamp: isoTimeStamp,
      formatters: { level: (label) => ({ level: label }), log: censorSecrets },
    },
    destination,
  );
  // pino applies no formatter to a child's bindings. A child inherits from its parent, so
  // every descendant creates its own children through this override as well.
  const createChild = logger.child;
  logger.child = function censoredChild(this: Logger, bindings, options) {
    return createChild.call(this, censorSecrets(bindings), options);
  } as Logger['child'];
  return logger;
}
