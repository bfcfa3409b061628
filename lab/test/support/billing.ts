import { sleep } from '@internal/test-kit';
import { ANTAEUS_SELECTOR, nodeIn, runningPod } from './node';

// Billing that keeps going while a test changes the cluster under it, and the record that says
// how each charge ended: Antaeus writes every attempt to its database with its outcome and the
// HTTP requests it took (so "no failed charge" means every attempt settled, approved or
// declined, by one request answered 200).

/**
 * Below this many PENDING invoices the driver adds a batch, every 2 s at most: billing never runs
 * out of work, and at most a hundred charges a second are a steady flow that keeps payment's
 * idempotency store far from full over a whole lab run (staging's Redis holds each key for 37
 * days within 200 MB, as in production: about 500,000 keys; several minutes at a few hundred a
 * second in each of the rotation, renewal and canary tests filled it, and payment then refuses
 * new charges, as it must).
 */
const LOW_WATER = 100;
const BATCH = 200;

/** A Node.js script run in an Antaeus pod, with its database and its own callers' token. */
export function inAntaeus(namespace: string, script: string): string {
  return nodeIn(
    namespace,
    runningPod(namespace, ANTAEUS_SELECTOR),
    `const Database = require('better-sqlite3');
     const db = new Database(process.env.DATABASE_PATH);
     db.pragma('busy_timeout = 10000');
     const token = process.env.ANTAEUS_API_TOKENS.split(',')[0].replace(/^[a-z][a-z0-9-]{0,39}:/, '');
     const api = (method, path) => fetch('http://127.0.0.1:8000' + path,
       { method, headers: { authorization: 'Bearer ' + token } });
     ${script}`,
  );
}

/**
 * One turn of the driver: the month's invoices keep arriving (a batch of PENDING ones, written
 * as the seed writes them, whenever few are left) and a billing run is active (started, or
 * joined if one is). Throws while Antaeus is down for its own rollout; the driver retries.
 */
function keepBilling(namespace: string): void {
  const answer = inAntaeus(
    namespace,
    `const pending = db.prepare("SELECT COUNT(*) AS n FROM invoices WHERE status = 'PENDING'").get().n;
     if (pending < ${LOW_WATER}) db.prepare(
       \`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${BATCH})
        INSERT INTO invoices (customer_id, amount_minor, currency, status)
        SELECT c.id, 1000 + i % 49000, c.currency, 'PENDING'
        FROM n, (SELECT id, currency FROM customers ORDER BY id LIMIT 1) AS c\`).run();
     db.close();
     api('POST', '/rest/v1/billing-runs?join=true').then((r) => console.log(r.status));`,
  );
  if (answer !== '200' && answer !== '202') throw new Error(`starting a billing run: ${answer}`);
}

/** Keeps Antaeus in `namespace` billing, every 2 s, until stopped. */
export class BillingDriver {
  readonly startedAt = Date.now();
  /** Turns that found Antaeus down (between pods) or busy. */
  missedTurns = 0;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(private readonly namespace: string) {
    this.loop = (async () => {
      while (this.running) {
        try {
          keepBilling(this.namespace);
        } catch {
          this.missedTurns += 1;
        }
        await sleep(2_000);
      }
    })();
  }

  /** Stops starting runs; resolves once the last turn is over (a run may still be active). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

export interface AttemptGroup {
  outcome: string;
  requests: number;
  error: string | null;
  count: number;
}

/** Charge attempts started since `since` (ms), grouped by how they ended. */
export const attemptsSince = (namespace: string, since: number): AttemptGroup[] =>
  JSON.parse(
    inAntaeus(
      namespace,
      `console.log(JSON.stringify(db.prepare(
         'SELECT outcome, requests, error, COUNT(*) AS count FROM charge_attempts WHERE started_at >= ? GROUP BY outcome, requests, error'
       ).all(${since})));`,
    ),
  ) as AttemptGroup[];

/** The groups of attempts that did not settle by one request answered 200. */
export const failedOrRetried = (groups: AttemptGroup[]): AttemptGroup[] =>
  groups.filter(
    (group) => !['approved', 'declined'].includes(group.outcome) || group.requests !== 1,
  );

/** Attempts that settled with a decision (approved or declined) between two instants (ms). */
export const decidedBetween = (namespace: string, from: number, to: number): number =>
  Number(
    inAntaeus(
      namespace,
      `console.log(db.prepare(
         "SELECT COUNT(*) AS n FROM charge_attempts WHERE outcome IN ('approved', 'declined') AND finished_at BETWEEN ? AND ?"
       ).get(${from}, ${to}).n);`,
    ),
  );

/** Whether a billing run is active on the database (running, its lease not expired). */
export const runActive = (namespace: string): boolean =>
  inAntaeus(
    namespace,
    `console.log(db.prepare("SELECT COUNT(*) AS n FROM billing_runs WHERE status = 'running' AND lease_expires_at > ?").get(Date.now()).n);`,
  ) !== '0';
