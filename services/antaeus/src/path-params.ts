import { HttpError } from '@internal/service-kit';

/**
 * A numeric resource id from the path. Anything that is not an integer is the client's mistake
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
