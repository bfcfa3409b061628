export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  random?: () => number;
}

/**
 * "Full jitter" exponential backoff: a uniformly random wait below base × 2^retry (capped), so
 * many invoices failing together do not retry in lock-step against a recovering provider.
 */
export function backoffDelayMs(
  retry: number,
  { baseDelayMs, maxDelayMs, random = Math.random }: BackoffOptions,
): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}
