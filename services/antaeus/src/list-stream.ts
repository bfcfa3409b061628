import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ParsedUrlQuery } from 'node:querystring';
import type { Context } from 'koa';
import { HttpError } from '@internal/service-kit';

/** The largest page a client may ask for with `limit`. */
export const MAX_LIST_LIMIT = 10_000;
/** Rows read from SQLite per step of a streamed list; the next step waits for the client. */
export const LIST_STEP_ROWS = 1_000;

/** `limit` (rows, optional: all of them) and `after` (an id, exclusive; 0 starts at the first row). */
export interface ListQuery {
  limit?: number;
  after: number;
}

function integerParameter(
  query: ParsedUrlQuery,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new HttpError(
      400,
      'invalid_parameter',
      `query parameter ${name} must be one integer from ${min} to ${max}`,
      { parameter: name, value: raw },
    );
  }
  return value;
}

/** Reads `?limit=&after=` (keyset pagination by id); a bad or repeated value is a 400 naming it. */
export function parseListQuery(query: ParsedUrlQuery): ListQuery {
  const limit = integerParameter(query, 'limit', 1, MAX_LIST_LIMIT);
  const after = integerParameter(query, 'after', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  return limit === undefined ? { after } : { limit, after };
}

/** Rows with an id above `after`, in id order, at most `limit` of them (a statement's iterate()). */
export type PageReader<Row extends { id: number }> = (
  after: number,
  limit: number,
) => IterableIterator<Row>;

/**
 * The JSON array text of the rows `query` selects, a step of LIST_STEP_ROWS rows at a time.
 * Each step reads its rows to the end before yielding, so no SQLite statement stays open while
 * the client is slow (better-sqlite3 would refuse every other query on the connection, billing
 * included); the next step starts after the last id sent. The text is exactly what
 * `[rows.map(toJson).join(',')]` gives.
 */
export function* jsonArrayChunks<Row extends { id: number }>(
  read: PageReader<Row>,
  toJson: (row: Row) => string,
  query: ListQuery,
): Generator<string> {
  let after = query.after;
  let remaining = query.limit ?? Infinity;
  let separator = '';
  yield '[';
  while (remaining > 0) {
    const step = Math.min(LIST_STEP_ROWS, remaining);
    let text = '';
    let count = 0;
    for (const row of read(after, step)) {
      text += separator + toJson(row);
      separator = ',';
      after = row.id;
      count += 1;
    }
    if (count > 0) yield text;
    if (count < step) break;
    remaining -= count;
  }
  yield ']';
}

/**
 * The chunks, with a turn of the event loop after each. Readable.from pulls the next chunk in
 * a microtask while the socket takes writes without pushing back (loopback, a fast client), so
 * without this a whole listing ran as one block: parallel listings went one after another and
 * every probe and charge answer waited behind them all.
 */
async function* yieldingEachStep(chunks: Iterable<string>): AsyncGenerator<string> {
  for (const chunk of chunks) {
    yield chunk;
    await nextTurn();
  }
}

/**
 * Answers a list endpoint as a streamed JSON array: memory stays at about one step of rows
 * whatever the table size, and a slow client only slows its own stream (backpressure: the
 * next step is read when the socket has taken the previous one).
 */
export function sendJsonArray<Row extends { id: number }>(
  ctx: Context,
  read: PageReader<Row>,
  toJson: (row: Row) => string,
): void {
  const query = parseListQuery(ctx.query);
  ctx.status = 200;
  ctx.type = 'application/json';
  ctx.body = Readable.from(yieldingEachStep(jsonArrayChunks(read, toJson, query)), {
    highWaterMark: 1,
  });
}
