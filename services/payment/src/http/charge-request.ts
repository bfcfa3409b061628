import Joi from 'joi';
import { HttpError } from '@internal/service-kit';
import { CURRENCIES, type ChargeRequest, type Currency } from '../charges/request';

/** The largest charge accepted, in major units; openapi.yaml states the same bound. */
export const MAX_CHARGE_VALUE = 1_000_000;

/**
 * "At most two decimals" for a binary double: value × 100 lies within rounding error of an
 * integer. 301.99 × 100 is 30198.999999999996, so an exact test would refuse real amounts.
 */
export function hasAtMostTwoDecimals(value: number): boolean {
  const cents = value * 100;
  return Math.abs(cents - Math.round(cents)) <= Math.abs(cents) * 1e-12 + 1e-9;
}

const id = Joi.number().integer().min(1).max(Number.MAX_SAFE_INTEGER);

/**
 * Types are strict (no "1" for 1): the OpenAPI schema says integer and number, and a
 * fuzzer checks that everything outside the schema is refused. Unknown fields are ignored.
 */
const chargeSchema = Joi.object({
  customer_id: id.required(),
  value: Joi.number()
    .min(0.01)
    .max(MAX_CHARGE_VALUE)
    .custom((amount: number, helpers) =>
      hasAtMostTwoDecimals(amount) ? amount : helpers.error('number.cents'),
    )
    .required(),
  currency: Joi.alternatives()
    .try(Joi.string().valid(...CURRENCIES), Joi.object().max(0))
    .required(),
  invoice_id: id,
})
  .unknown(true)
  .prefs({ convert: false, abortEarly: false, errors: { wrap: { label: false } } });

const currencyMessage = `currency must be one of ${CURRENCIES.join(', ')} or an empty object`;

/**
 * Our wording for Joi's error types, by field; other errors keep Joi's own message. Kept out
 * of the schema on purpose: Joi merges a field's `.messages()` into its preferences on every
 * validation, which tripled the cost of validating a charge.
 */
const MESSAGES: Record<string, Record<string, string>> = {
  '': { 'object.base': 'request body must be a JSON object' },
  customer_id: {
    'number.base': 'customer_id must be an integer',
    'number.unsafe': `customer_id must be at most ${Number.MAX_SAFE_INTEGER}`,
  },
  invoice_id: {
    'number.base': 'invoice_id must be an integer',
    'number.unsafe': `invoice_id must be at most ${Number.MAX_SAFE_INTEGER}`,
  },
  value: {
    'number.base': 'value must be a number',
    'number.min': 'value must be at least 0.01',
    'number.max': `value must be at most ${MAX_CHARGE_VALUE}`,
    'number.cents': 'value must have at most two decimal places',
  },
  currency: { 'alternatives.match': currencyMessage, 'alternatives.types': currencyMessage },
};

/** Validates a parsed JSON body; a 400 names every bad field. */
export function parseChargeRequest(body: unknown): ChargeRequest {
  const { value: valid, error } = chargeSchema.validate(body);
  if (error) {
    const details = error.details.map((d) => {
      const field = d.path.join('.');
      return { field: field || '(body)', message: MESSAGES[field]?.[d.type] ?? d.message };
    });
    throw new HttpError(400, 'invalid_request', details.map((d) => d.message).join('; '), details);
  }
  const request = valid as {
    customer_id: number;
    value: number;
    currency: Currency | object;
    invoice_id?: number;
  };
  return {
    customerId: request.customer_id,
    ...(request.invoice_id === undefined ? {} : { invoiceId: request.invoice_id }),
    amountMinor: Math.round(request.value * 100),
    currency: typeof request.currency === 'string' ? request.currency : null,
  };
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** A key is 1–255 printable ASCII characters; no header means the request is not idempotent. */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !IDEMPOTENCY_KEY.test(header)) {
    throw new HttpError(
      400,
      'invalid_idempotency_key',
      'Idempotency-Key must be 1 to 255 printable ASCII characters without spaces',
    );
  }
  return header;
}
