export const CURRENCIES = ['EUR', 'USD', 'DKK', 'SEK', 'GBP'] as const;
export type Currency = (typeof CURRENCIES)[number];

/**
 * The decimal text of an amount held in minor units, always with two places ("10.50"), as the
 * original's BigDecimal serialised it. Used both as a JSON number literal and in charge requests.
 */
export function formatMinorUnits(minor: number): string {
  if (!Number.isSafeInteger(minor) || minor < 0) {
    throw new RangeError(`amount must be a non-negative integer of minor units, got ${minor}`);
  }
  return `${Math.trunc(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
}
