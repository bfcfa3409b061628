import { HttpError } from '@internal/service-kit';
import { BillingRunActive, BillingShuttingDown } from './errors';

/** The billing engine's errors as the API answers them; undefined for any other error. */
export function billingHttpError(err: unknown): HttpError | undefined {
  if (err instanceof BillingRunActive) {
    const location = `/rest/v1/billing-runs/${err.active.id}`;
    return new HttpError(
      409,
      'billing_run_active',
      `${err.message}; wait for it (GET ${location}) or join it with ?join=true`,
      { activeRunId: err.active.id, location },
    );
  }
  if (err instanceof BillingShuttingDown) return new HttpError(503, 'shutting_down', err.message);
  return undefined;
}
