export const CURRENCIES = ['EUR', 'USD', 'DKK', 'SEK', 'GBP'] as const;
export type Currency = (typeof CURRENCIES)[number];

/** A validated charge request, money in integer minor units. */
export interface ChargeRequest {
  customerId: number;
  invoiceId?: number;
  amountMinor: number;
  /** null for the unmodified Kotlin client, which serialises its currency enum as `{}`. */
  currency: Currency | null;
}
