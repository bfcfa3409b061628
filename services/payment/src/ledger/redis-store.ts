import { randomUUID } from 'node:crypto';
import Redis, { type RedisOptions } from 'ioredis';
import type { ChargeDecision } from '../charges/decision';
import type { ChargeStore, Claim, HeldClaim } from './store';

export interface RedisStoreOptions {
  url: string;
  keyPrefix: string;
  /** How long an answered key is kept. */
  idempotencyTtlSeconds: number;
  /** How long a claim lasts without an answer. */
  pendingLeaseMs: number;
  ledgerTtlSeconds: number;
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

/** Returns the key's current record, or nil after storing ours with its lease: one round trip, no race. */
const CLAIM_SCRIPT = `
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`;

/**
 * KEYS: charge, invoice list, idempotency key. ARGV: decision, ledger TTL, charge id to index
 * under the invoice ('' without invoice), key record ('' without key), key TTL, the pending
 * record the key must still hold. One script, so the ledger entry, the invoice index and the
 * key's answer appear together for every replica, and only for the claim that holds the key:
 * after a lapsed lease it writes nothing and returns 0.
 */
const SAVE_SCRIPT = `
if ARGV[4] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[6] then return 0 end
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
  claimKey(key: string, record: string, leaseMs: number): Promise<string | null>;
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
  ): Promise<number>;
  releaseKey(key: string, pendingRecord: string): Promise<number>;
};

/** The store shared by replicas: idempotency keys and the ledger in Redis, via ioredis. */
export class RedisChargeStore implements ChargeStore {
  private readonly redis: ScriptedRedis;

  constructor(private readonly options: RedisStoreOptions) {
    const redis = new Redis(options.url, {
      maxRetriesPerRequest: 2,
      commandTimeout: 2_000,
      connectTimeout: 2_000,
      // A dead connection is torn down after this long instead of ioredis's 2 s default.
      disconnectTimeout: 200,
    } as RedisOptions);
    // Connection trouble surfaces through ping() and failed commands; without a listener
    // ioredis would print every reconnect attempt as an unhandled error.
    redis.on('error', () => undefined);
    redis.defineCommand('claimKey', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
    redis.defineCommand('saveDecision', { numberOfKeys: 3, lua: SAVE_SCRIPT });
    redis.defineCommand('releaseKey', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
    this.redis = redis as ScriptedRedis;
  }

  async claim(key: string, fingerprint: string): Promise<Claim> {
    // Unique across replicas, so no two claims on one key ever share a token.
    const held: HeldClaim = { key, fingerprint, token: randomUUID() };
    const existing = await this.redis.claimKey(
      this.idempotencyKey(key),
      pendingRecord(held),
      this.options.pendingLeaseMs,
    );
    if (existing === null) return { kind: 'claimed', held };
    const record = JSON.parse(existing) as StoredKey;
    return record.decision
      ? { kind: 'completed', fingerprint: record.fingerprint, decision: record.decision }
      : { kind: 'pending', fingerprint: record.fingerprint };
  }

  async release(held: HeldClaim): Promise<void> {
    await this.redis.releaseKey(this.idempotencyKey(held.key), pendingRecord(held));
  }

  async save(decision: ChargeDecision): Promise<void> {
    await this.writeDecision(decision);
  }

  async saveAnswer(decision: ChargeDecision, held: HeldClaim): Promise<boolean> {
    return (await this.writeDecision(decision, held)) === 1;
  }

  async get(chargeId: string): Promise<ChargeDecision | undefined> {
    const stored = await this.redis.get(this.chargeKey(chargeId));
    return stored === null ? undefined : (JSON.parse(stored) as ChargeDecision);
  }

  async listForInvoice(invoiceId: number): Promise<ChargeDecision[]> {
    const ids = await this.redis.lrange(this.invoiceKey(invoiceId), 0, -1);
    if (ids.length === 0) return [];
    const stored = await this.redis.mget(ids.map((id) => this.chargeKey(id)));
    // A decision older than the ledger TTL is gone while its id may linger in the index.
    return stored
      .filter((s): s is string => s !== null)
      .map((s) => JSON.parse(s) as ChargeDecision);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private writeDecision(decision: ChargeDecision, held?: HeldClaim): Promise<number> {
    const answered: StoredKey | undefined = held && { fingerprint: held.fingerprint, decision };
    return this.redis.saveDecision(
      this.chargeKey(decision.id),
      this.invoiceKey(decision.invoiceId ?? 0),
      this.idempotencyKey(held?.key ?? ''),
      JSON.stringify(decision),
      this.options.ledgerTtlSeconds,
      decision.invoiceId === null ? '' : decision.id,
      answered ? JSON.stringify(answered) : '',
      this.options.idempotencyTtlSeconds,
      held ? pendingRecord(held) : '',
    );
  }

  private idempotencyKey(key: string): string {
    return `${this.options.keyPrefix}idempotency:${key}`;
  }

  private chargeKey(id: string): string {
    return `${this.options.keyPrefix}charge:${id}`;
  }

  private invoiceKey(invoiceId: number): string {
    return `${this.options.keyPrefix}invoice:${invoiceId}`;
  }
}
