/**
 * The store has no room for another idempotency key: refusing the request is the only answer
 * that never forgets a key before its TTL (forgetting one could decide a retried charge twice).
 */
export class StoreFull extends Error {
  override name = 'StoreFull';
  constructor(readonly remedy: string) {
    super(`the decision store is full: ${remedy}`);
  }
}

/**
 * The invoice already has as many decisions as the ledger keeps for one: a real invoice is
 * charged a few times at most, so more is a client bug or abuse, refused before deciding.
 */
export class InvoiceChargeLimitReached extends Error {
  override name = 'InvoiceChargeLimitReached';
  constructor(
    readonly invoiceId: number,
    readonly limit: number,
  ) {
    super(
      `invoice ${invoiceId} already has ${limit} charge decisions, the most kept for one invoice`,
    );
  }
}
