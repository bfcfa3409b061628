import { HttpError } from '@internal/service-kit';

/**
 * Percent-decodes a path segment exactly as @koa/router decodes the `:name` parameters of its
 * string routes (decodeURIComponent, a malformed sequence left as it is), for the values a
 * regular-expression route captures raw. So `/invoices/%31` and `/customers/%31` both mean 1.
 */
export function decodePathSegment(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * A numeric resource id from the path (already decoded). Anything that is not an integer is the client's mistake
 * (400, naming the parameter); an integer that matches nothing is a 404 for the caller to decide.
 */
export function integerId(raw: string | undefined, name = 'id'): number {
  const value = raw !== undefined && /^-?\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new HttpError(400, 'invalid_parameter', `path parameter ${name} must be an integer`, {
      parameter: name,
      value: raw,
    });
  }
  return value;
}
