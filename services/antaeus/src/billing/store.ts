import { randomUUID } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import type { Currency } from '../money';
import type {
  AttemptOutcome,
  BillingRun,
  ChargeAttempt,
  ChargeOutcome,
  ClaimedCharge,
  RunStatus,
  RunTrigger,
} from './model';

const RUN_COLUMNS = `id, trigger, status, concurrency, started_at AS startedAt, finished_at AS finishedAt,
  pending, attempted, paid, declined, failed, skipped FROM billing_runs`;
const ATTEMPT_COLUMNS = `id, invoice_id AS invoiceId, billing_run_id AS billingRunId,
  idempotency_key AS idempotencyKey, started_at AS startedAt, finished_at AS finishedAt, outcome,
  requests, provider_charge_id AS providerChargeId, error FROM charge_attempts`;

/** Which run counter a settled charge adds to. */
const COUNTER_BY_OUTCOME: Record<ChargeOutcome['kind'], 'paid' | 'declined' | 'failed'> = {
  approved: 'paid',
  declined: 'declined',
  rejected: 'failed',
  unknown: 'failed',
};

/** A claimed charge and what the provider said about it. */
export interface SettledCharge {
  charge: ClaimedCharge;
  outcome: ChargeOutcome;
}

/** Outcomes after which the provider may hold a decision we never read: its key must be replayed. */
const UNSETTLED: ReadonlySet<AttemptOutcome> = new Set(['in_flight', 'unknown']);

/**
 * Every database write of billing. Each method is one short transaction, so several processes
 * sharing the file interleave safely; the claim is a conditional UPDATE, which SQLite executes
 * atomically under its write lock, so exactly one run can hold an invoice at a time.
 */
export class BillingStore {
  private readonly statements;

  constructor(private readonly db: Database) {
    this.statements = {
      pendingIds: db
        .prepare(`SELECT id FROM invoices WHERE status = 'PENDING' ORDER BY id`)
        .pluck() as Statement<[], number>,
      expireDeadRuns: db.prepare(
        `UPDATE billing_runs SET status = 'interrupted', finished_at = lease_expires_at
         WHERE status = 'running' AND lease_expires_at < ?`,
      ),
      activeRun: db.prepare(
        `SELECT ${RUN_COLUMNS} WHERE status = 'running' ORDER BY started_at, rowid LIMIT 1`,
      ) as Statement<[], BillingRun>,
      insertRun: db.prepare(
        `INSERT INTO billing_runs (id, trigger, status, concurrency, started_at, lease_expires_at, pending)
         VALUES (?, ?, 'running', ?, ?, ?, ?)`,
      ),
      claim: db.prepare(
        `UPDATE invoices SET claimed_by = ?, claim_expires_at = ?
         WHERE id = ? AND status = 'PENDING' AND (claimed_by IS NULL OR claim_expires_at <= ?)
         RETURNING customer_id AS customerId, amount_minor AS amountMinor, currency`,
      ) as Statement<unknown[], { customerId: number; amountMinor: number; currency: Currency }>,
      latestAttempt: db.prepare(
        `SELECT id, idempotency_key AS idempotencyKey, outcome FROM charge_attempts
         WHERE invoice_id = ? ORDER BY id DESC LIMIT 1`,
      ) as Statement<[number], { id: number; idempotencyKey: string; outcome: AttemptOutcome }>,
      abandonAttempt: db.prepare(
        `UPDATE charge_attempts SET outcome = 'unknown', finished_at = ?,
           error = 'abandoned: its billing run stopped before the outcome was recorded'
         WHERE id = ? AND outcome = 'in_flight'`,
      ),
      insertAttempt: db.prepare(
        `INSERT INTO charge_attempts (invoice_id, billing_run_id, idempotency_key, started_at, outcome)
         VALUES (?, ?, ?, ?, 'in_flight')`,
      ),
      countAttempts: db.prepare(
        `UPDATE billing_runs SET attempted = attempted + ?, lease_expires_at = ? WHERE id = ?`,
      ),
      countSkip: db.prepare(`UPDATE billing_runs SET skipped = skipped + ? WHERE id = ?`),
      finishAttempt: db.prepare(
        `UPDATE charge_attempts SET outcome = ?, finished_at = ?, requests = ?, provider_charge_id = ?, error = ?
         WHERE id = ?`,
      ),
      markPaid: db.prepare(
        `UPDATE invoices SET status = 'PAID', claimed_by = NULL, claim_expires_at = NULL WHERE id = ?`,
      ),
      release: db.prepare(
        `UPDATE invoices SET claimed_by = NULL, claim_expires_at = NULL WHERE id = ? AND claimed_by = ?`,
      ),
      countOutcomes: db.prepare(
        `UPDATE billing_runs SET paid = paid + ?, declined = declined + ?, failed = failed + ?,
           lease_expires_at = ? WHERE id = ?`,
      ),
      finishRun: db.prepare(`UPDATE billing_runs SET status = ?, finished_at = ? WHERE id = ?`),
      runById: db.prepare(`SELECT ${RUN_COLUMNS} WHERE id = ?`) as Statement<[string], BillingRun>,
      recentRuns: db.prepare(
        `SELECT ${RUN_COLUMNS} ORDER BY started_at DESC, rowid DESC LIMIT ?`,
      ) as Statement<[number], BillingRun>,
      attemptsOf: db.prepare(
        `SELECT ${ATTEMPT_COLUMNS} WHERE invoice_id = ? ORDER BY id`,
      ) as Statement<[number], ChargeAttempt>,
    };
  }

  /**
   * Records a new run with the invoices pending right now, unless a run is active on this
   * database (in this process or another one sharing the file): then nothing is written and
   * that run is returned as `active`. Check and insert are one IMMEDIATE transaction, which
   * holds SQLite's write lock, so two callers can never both start a run. Runs left 'running'
   * by a process that died are closed as 'interrupted' on the way, once their lease has run
   * out, so a dead run blocks new ones for at most one lease.
   */
  startRun(
    trigger: RunTrigger,
    concurrency: number,
    now: number,
    leaseMs: number,
  ): { run: BillingRun; invoiceIds: number[] } | { active: BillingRun } {
    return this.db
      .transaction(() => {
        this.statements.expireDeadRuns.run(now);
        const active = this.statements.activeRun.get();
        if (active) return { active };
        const invoiceIds = this.statements.pendingIds.all();
        const id = randomUUID();
        this.statements.insertRun.run(
          id,
          trigger,
          concurrency,
          now,
          now + leaseMs,
          invoiceIds.length,
        );
        return { run: this.statements.runById.get(id) as BillingRun, invoiceIds };
      })
      .immediate();
  }

  /** The run as it stands now; a run whose process died is closed first once its lease is over. */
  currentRun(id: string, now: number): BillingRun | undefined {
    return this.db
      .transaction(() => {
        this.statements.expireDeadRuns.run(now);
        return this.statements.runById.get(id);
      })
      .immediate();
  }

  /**
   * Claims each PENDING invoice of `invoiceIds` for this run unless another live run holds it,
   * and records its attempt, with the idempotency key it will use, before any request leaves;
   * returns the invoices claimed, in order. The key of an attempt whose outcome is unknown is
   * reused so that the provider replays its decision. One transaction for the whole batch (one
   * commit instead of one per invoice); each claim is still its own conditional UPDATE, so no
   * two runs ever hold one invoice. The caller sends every claimed charge at once: a batch is
   * as large as its free charge slots, so no claim waits in a queue while its lease runs.
   */
  claimMany(
    runId: string,
    invoiceIds: readonly number[],
    now: number,
    leaseMs: number,
  ): ClaimedCharge[] {
    return this.db
      .transaction((): ClaimedCharge[] => {
        const claimed: ClaimedCharge[] = [];
        for (const invoiceId of invoiceIds) {
          const invoice = this.statements.claim.get(runId, now + leaseMs, invoiceId, now);
          if (!invoice) continue;
          const previous = this.statements.latestAttempt.get(invoiceId);
          const replaysKey = previous !== undefined && UNSETTLED.has(previous.outcome);
          if (previous?.outcome === 'in_flight')
            this.statements.abandonAttempt.run(now, previous.id);
          const idempotencyKey = replaysKey ? previous.idempotencyKey : randomUUID();
          const attemptId = Number(
            this.statements.insertAttempt.run(invoiceId, runId, idempotencyKey, now)
              .lastInsertRowid,
          );
          claimed.push({ invoiceId, ...invoice, attemptId, idempotencyKey, replaysKey });
        }
        if (claimed.length > 0)
          this.statements.countAttempts.run(claimed.length, now + leaseMs, runId);
        return claimed;
      })
      .immediate();
  }

  /**
   * Records what the provider said for each charge, in one transaction: all or nothing, and
   * nothing means every attempt stays in flight, so the next run replays their keys. PAID is
   * written only here, only after an approval, in the same transaction as the attempt's
   * outcome. A claim not paid is released so a later run can try again.
   */
  settleMany(runId: string, settled: readonly SettledCharge[], now: number, leaseMs: number): void {
    this.db
      .transaction(() => {
        const counts = { paid: 0, declined: 0, failed: 0 };
        for (const { charge, outcome } of settled) {
          const chargeId =
            outcome.kind === 'approved' || outcome.kind === 'declined'
              ? (outcome.chargeId ?? null)
              : null;
          const error =
            outcome.kind === 'declined'
              ? (outcome.reason ?? null)
              : outcome.kind === 'rejected' || outcome.kind === 'unknown'
                ? outcome.error
                : null;
          this.statements.finishAttempt.run(
            outcome.kind,
            now,
            outcome.requests,
            chargeId,
            error,
            charge.attemptId,
          );
          if (outcome.kind === 'approved') this.statements.markPaid.run(charge.invoiceId);
          else this.statements.release.run(charge.invoiceId, runId);
          counts[COUNTER_BY_OUTCOME[outcome.kind]] += 1;
        }
        this.statements.countOutcomes.run(
          counts.paid,
          counts.declined,
          counts.failed,
          now + leaseMs,
          runId,
        );
      })
      .immediate();
  }

  /**
   * Runs `work` (calls of this store) as one IMMEDIATE transaction: one commit for all of it.
   * Each method called inside is a savepoint of its own, so one that fails is undone alone
   * and the caller may catch its error and let the rest commit.
   */
  inOneTransaction<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  countSkipped(runId: string, count: number): void {
    if (count > 0) this.statements.countSkip.run(count, runId);
  }

  finishRun(runId: string, status: Exclude<RunStatus, 'running'>, now: number): BillingRun {
    this.statements.finishRun.run(status, now, runId);
    return this.statements.runById.get(runId) as BillingRun;
  }

  findRun(id: string): BillingRun | undefined {
    return this.statements.runById.get(id);
  }

  recentRuns(limit: number): BillingRun[] {
    return this.statements.recentRuns.all(limit);
  }

  attemptsOf(invoiceId: number): ChargeAttempt[] {
    return this.statements.attemptsOf.all(invoiceId);
  }
}
