import type { ParsedUrlQuery } from 'node:querystring';
import { HttpError } from '@internal/service-kit';

/** The most decisions one page of GET /v1/charges holds; openapi.yaml states the same. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 50;

const POSITIVE_INTEGER = /^[1-9][0-9]{0,15}$/;
// The cursor is opaque to clients: an offset into the invoice's list, which only grows.
const CURSOR = /^o([0-9]{1,6})$/;

export interface ListPage {
  invoiceId: number;
  offset: number;
  limit: number;
}

export const pageCursor = (offset: number) => `o${offset}`;

function invalid(field: string, message: string): never {
  throw new HttpError(400, 'invalid_request', `${field} ${message}`, [{ field, message }]);
}

function positiveInteger(raw: string | string[] | undefined): number | undefined {
  return typeof raw === 'string' && POSITIVE_INTEGER.test(raw) && Number.isSafeInteger(Number(raw))
    ? Number(raw)
    : undefined;
}

/** invoice_id (required), limit (1..MAX_PAGE_SIZE) and cursor (from next_cursor) of a listing. */
export function parseListPage(query: ParsedUrlQuery): ListPage {
  const invoiceId = positiveInteger(query.invoice_id);
  if (invoiceId === undefined) {
    invalid('invoice_id', 'query parameter is required and must be one positive integer');
  }
  let limit = DEFAULT_PAGE_SIZE;
  if (query.limit !== undefined) {
    const asked = positiveInteger(query.limit);
    if (asked === undefined || asked > MAX_PAGE_SIZE) {
      invalid('limit', `must be one integer from 1 to ${MAX_PAGE_SIZE}`);
    }
    limit = asked;
  }
  let offset = 0;
  if (query.cursor !== undefined) {
    const cursor = typeof query.cursor === 'string' ? CURSOR.exec(query.cursor) : null;
    if (!cursor) invalid('cursor', 'must be a next_cursor value from an earlier page');
    offset = Number(cursor[1]);
  }
  return { invoiceId, offset, limit };
}
