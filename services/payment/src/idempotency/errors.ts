/** Another request already holds or answered this idempotency key. */
export abstract class IdempotencyConflict extends Error {}

/** The key was first used with a different request body. */
export class IdempotencyKeyReused extends IdempotencyConflict {
  override name = 'IdempotencyKeyReused';
  constructor(readonly key: string) {
    super(`idempotency key ${key} was already used with a different request`);
  }
}

/** The key's first request is still deciding, past the time this one may wait for it. */
export class IdempotencyKeyInFlight extends IdempotencyConflict {
  override name = 'IdempotencyKeyInFlight';
  constructor(readonly key: string) {
    super(`idempotency key ${key} is still held by the request deciding it`);
  }
}
