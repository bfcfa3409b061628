import { randomUUID } from 'node:crypto';
import Redis, { type RedisOptions } from 'ioredis';
import type { ChargeDecision } from '../charges/decision';
import { InvoiceChargeLimitReached, StoreFull } from './errors';
import type { ChargeStore, Claim, HeldClaim, InvoicePage } from './store';

/** One connection for the store and the rate limiter, with short timeouts: a caller retries. */
export function connectRedis(url: string): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 2,
    commandTimeout: 2_000,
    connectTimeout: 2_000,
    // A dead connection is torn down after this long instead of ioredis's 2 s default.
    disconnectTimeout: 200,
  } as RedisOptions);
  // Connection trouble surfaces through failed commands and readiness; without a listener
  // ioredis would print every reconnect attempt as an unhandled error.
  redis.on('error', () => undefined);
  return redis;
}

export interface RedisStoreOptions {
  redis: Redis;
  keyPrefix: string;
  /** How long an answered key is kept. */
  idempotencyTtlSeconds: number;
  /** How long a claim lasts without an answer. */
  pendingLeaseMs: number;
  ledgerTtlSeconds: number;
  /** The most decisions kept for one invoice of one caller. */
  maxPerInvoice: number;
  /**
   * The caller that owns the keys written before keys were scoped (PAYMENT_LEGACY_CALLER):
   * its claims also find an unscoped key, and its reads a decision without a caller, so an
   * upgrade does not decide a replayed charge again.
   */
  legacyCaller?: string;
}

interface StoredKey {
  fingerprint: string;
  /** Set while pending: which claim holds the key. */
  token?: string;
  /** Set once answered. */
  decision?: ChargeDecision;
}

/** The exact string a claim stores, so scripts can tell whether the key still holds it. */
const pendingRecord = (held: HeldClaim) =>
  JSON.stringify({ fingerprint: held.fingerprint, token: held.token } satisfies StoredKey);

/**
 * KEYS: the scoped key, then the key to look at before claiming it (itself, or the unscoped
 * key of before scoping). Returns the record found, or nil after storing ours with its lease:
 * one round trip, no race.
 */
const CLAIM_SCRIPT = `
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
if KEYS[2] ~= KEYS[1] then
  existing = redis.call('GET', KEYS[2])
  if existing then return existing end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`;

/**
 * KEYS: charge, invoice list, idempotency key. ARGV: decision, ledger TTL, charge id to index
 * under the invoice ('' without invoice), key record ('' without key), key TTL, the pending
 * record the key must still hold, the most decisions one invoice keeps. One script, so the
 * ledger entry, the invoice index and the key's answer appear together for every replica, and
 * only for the claim that holds the key: after a lapsed lease it writes nothing and returns 0;
 * for an invoice with no room left, -1.
 */
const SAVE_SCRIPT = `
if ARGV[4] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[6] then return 0 end
if ARGV[3] ~= '' and redis.call('LLEN', KEYS[2]) >= tonumber(ARGV[7]) then return -1 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if ARGV[3] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[5])
end
return 1
`;

/** Deletes the key only while it still holds our pending record, never an answered one. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

type ScriptedRedis = Redis & {
  claimKey(key: string, lookFirst: string, record: string, leaseMs: number): Promise<string | null>;
  saveDecision(
    chargeKey: string,
    invoiceKey: string,
    idempotencyKey: string,
    decision: string,
    ledgerTtlSeconds: number,
    indexedChargeId: string,
    keyRecord: string,
    keyTtlSeconds: number,
    heldRecord: string,
    maxPerInvoice: number,
  ): Promise<number>;
  releaseKey(key: string, pendingRecord: string): Promise<number>;
};

/** Redis refusing a write for lack of memory (maxmemory with noeviction), as the store's StoreFull. */
function storeFullFromOom(err: unknown): never {
  if (err instanceof Error && err.message.includes('OOM command not allowed')) {
    throw new StoreFull(
      'Redis refuses writes at its maxmemory (noeviction keeps every key until its TTL); raise maxmemory, or shorten IDEMPOTENCY_TTL_SECONDS and LEDGER_TTL_SECONDS',
    );
  }
  throw err;
}

/**
 * The store shared by replicas: idempotency keys and the ledger in Redis, via ioredis. Keys
 * of a caller live under its name; a decision carries its caller, which reads compare.
 */
export class RedisChargeStore implements ChargeStore {
  private readonly redis: ScriptedRedis;

  constructor(private readonly options: RedisStoreOptions) {
    const { redis } = options;
    redis.defineCommand('claimKey', { numberOfKeys: 2, lua: CLAIM_SCRIPT });
    redis.defineCommand('saveDecision', { numberOfKeys: 3, lua: SAVE_SCRIPT });
    redis.defineCommand('releaseKey', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
    this.redis = redis as ScriptedRedis;
  }

  async claim(caller: string, key: string, fingerprint: string): Promise<Claim> {
    // Unique across replicas, so no two claims on one key ever share a token.
    const held: HeldClaim = { caller, key, fingerprint, token: randomUUID() };
    const scopedKey = this.idempotencyKey(caller, key);
    const existing = await this.redis
      .claimKey(
        scopedKey,
        caller === this.options.legacyCaller ? this.unscopedIdempotencyKey(key) : scopedKey,
        pendingRecord(held),
        this.options.pendingLeaseMs,
      )
      .catch(storeFullFromOom);
    if (existing === null) return { kind: 'claimed', held };
    const record = JSON.parse(existing) as StoredKey;
    return record.decision
      ? { kind: 'completed', fingerprint: record.fingerprint, decision: record.decision }
      : { kind: 'pending', fingerprint: record.fingerprint };
  }

  async release(held: HeldClaim): Promise<void> {
    await this.redis.releaseKey(this.idempotencyKey(held.caller, held.key), pendingRecord(held));
  }

  async save(decision: ChargeDecision): Promise<void> {
    await this.writeDecision(decision);
  }

  async saveAnswer(decision: ChargeDecision, held: HeldClaim): Promise<boolean> {
    return (await this.writeDecision(decision, held)) === 1;
  }

  async get(caller: string, chargeId: string): Promise<ChargeDecision | undefined> {
    const stored = await this.redis.get(this.chargeKey(chargeId));
    if (stored === null) return undefined;
    const decision = JSON.parse(stored) as ChargeDecision;
    const owner = decision.caller ?? this.options.legacyCaller;
    return owner === caller ? decision : undefined;
  }

  async listForInvoice(
    caller: string,
    invoiceId: number,
    offset: number,
    limit: number,
  ): Promise<InvoicePage> {
    // One more than asked tells whether another page follows.
    const ids = await this.redis.lrange(this.invoiceKey(caller, invoiceId), offset, offset + limit);
    const more = ids.length > limit;
    const page = more ? ids.slice(0, limit) : ids;
    const stored =
      page.length === 0 ? [] : await this.redis.mget(page.map((id) => this.chargeKey(id)));
    // A decision older than the ledger TTL is gone while its id may linger in the index.
    const decisions = stored
      .filter((s): s is string => s !== null)
      .map((s) => JSON.parse(s) as ChargeDecision);
    return more ? { decisions, nextOffset: offset + limit } : { decisions };
  }

  async checkWritable(): Promise<void> {
    // A ping succeeds on a full or read-only Redis: only a write tells whether charges can be saved.
    await this.redis
      .set(`${this.options.keyPrefix}readiness-probe`, '1', 'PX', 60_000)
      .catch(storeFullFromOom);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private async writeDecision(decision: ChargeDecision, held?: HeldClaim): Promise<number> {
    const answered: StoredKey | undefined = held && { fingerprint: held.fingerprint, decision };
    const written = await this.redis
      .saveDecision(
        this.chargeKey(decision.id),
        this.invoiceKey(decision.caller, decision.invoiceId ?? 0),
        held ? this.idempotencyKey(held.caller, held.key) : this.options.keyPrefix,
        JSON.stringify(decision),
        this.options.ledgerTtlSeconds,
        decision.invoiceId === null ? '' : decision.id,
        answered ? JSON.stringify(answered) : '',
        this.options.idempotencyTtlSeconds,
        held ? pendingRecord(held) : '',
        this.options.maxPerInvoice,
      )
      .catch(storeFullFromOom);
    if (written === -1) {
      throw new InvoiceChargeLimitReached(decision.invoiceId!, this.options.maxPerInvoice);
    }
    return written;
  }

  private idempotencyKey(caller: string, key: string): string {
    return `${this.options.keyPrefix}idempotency:${caller}:${key}`;
  }

  private unscopedIdempotencyKey(key: string): string {
    return `${this.options.keyPrefix}idempotency:${key}`;
  }

  private chargeKey(id: string): string {
    return `${this.options.keyPrefix}charge:${id}`;
  }

  private invoiceKey(caller: string, invoiceId: number): string {
    return `${this.options.keyPrefix}invoice:${caller}:${invoiceId}`;
  }
}
