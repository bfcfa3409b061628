import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@internal/service-kit';
import type { PaymentClient } from '../payment-client/client';
import { BillingRunActive, BillingShuttingDown } from './errors';
import type { BillingMetrics } from './metrics';
import type { BillingRun, ClaimedCharge, RunTrigger } from './model';
import type { BillingStore, SettledCharge } from './store';

export interface BillingEngineOptions {
  store: BillingStore;
  client: PaymentClient;
  concurrency: number;
  claimLeaseMs: number;
  logger: Logger;
  metrics?: BillingMetrics;
}

export interface StartedRun {
  run: BillingRun;
  /** Resolves with the finished run; never rejects for a single invoice's failure. */
  finished: Promise<BillingRun>;
  /** True when another run was already active and this caller joined it instead. */
  joined: boolean;
}

export interface StartOptions {
  /**
   * When a run is already active on the database: false (the default) refuses with 409
   * naming it (BillingRunActive); true joins it, and `finished` resolves when that run ends.
   */
  join?: boolean;
  concurrency?: number;
}

/** How often a caller that joined another process's run looks at the shared database. */
const JOIN_POLL_MS = 200;

/**
 * Charges every PENDING invoice with a bounded number of charges in flight. Declines and errors
 * are recorded and the run moves on; an invoice is only ever charged while this run holds its
 * claim, so concurrent runs and replicas never charge one twice.
 */
export class BillingEngine {
  /** Runs this process executes, by id, so a caller joining one here needs no polling. */
  private readonly active = new Map<string, Promise<BillingRun>>();
  private readonly stopping = new AbortController();

  constructor(private readonly options: BillingEngineOptions) {}

  get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /**
   * Starts a run, or (with `join`) joins the one already active on the database. Only one run
   * is active per database at a time: concurrent runs would only race for the same claims,
   * and one caller's retry loop must not multiply them.
   */
  start(trigger: RunTrigger, { join = false, concurrency }: StartOptions = {}): StartedRun {
    if (this.stopped) {
      throw new BillingShuttingDown('billing is shutting down; start the run on another instance');
    }
    const started = this.options.store.startRun(
      trigger,
      concurrency ?? this.options.concurrency,
      Date.now(),
      this.options.claimLeaseMs,
    );
    if ('active' in started) {
      if (!join) throw new BillingRunActive(started.active);
      const awaitRun = () => this.awaitRun(started.active.id);
      // Lazy: a caller that joins without waiting (POST /rest/v1/billing-runs) polls nothing.
      return {
        run: started.active,
        joined: true,
        get finished() {
          return awaitRun();
        },
      };
    }
    const { run, invoiceIds } = started;
    const finished = this.execute(run, invoiceIds);
    this.active.set(run.id, finished);
    void finished.finally(() => this.active.delete(run.id));
    return { run, finished, joined: false };
  }

  /** Resolves when the run ends: at once for a run of this process, by polling for another's. */
  private async awaitRun(id: string): Promise<BillingRun> {
    const local = this.active.get(id);
    if (local) return local;
    for (;;) {
      const run = this.options.store.currentRun(id, Date.now());
      if (!run) throw new Error(`billing run ${id} disappeared from the database`);
      if (run.status !== 'running') return run;
      if (this.stopped) {
        throw new BillingShuttingDown(
          `billing is shutting down; billing run ${id} goes on elsewhere`,
        );
      }
      await sleep(JOIN_POLL_MS);
    }
  }

  /** Stops claiming invoices, lets charges in flight finish, and waits for every run to end. */
  async shutdown(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.active.values()]);
  }

  private async execute(run: BillingRun, invoiceIds: number[]): Promise<BillingRun> {
    const { store, logger, metrics } = this.options;
    const log = logger.child({ billingRunId: run.id });
    const started = process.hrtime.bigint();
    metrics?.runStarted(run.id, run.startedAt);
    log.info(
      { trigger: run.trigger, pending: invoiceIds.length, concurrency: run.concurrency },
      'billing run started',
    );
    const { reached, skipped } = await this.chargeAll(run, invoiceIds, log);
    const notReached = invoiceIds.length - reached;
    store.countSkipped(run.id, skipped + notReached);
    const finished = store.finishRun(
      run.id,
      notReached > 0 ? 'interrupted' : 'completed',
      Date.now(),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics?.runFinished(run.id, finished.status, seconds);
    log.info({ ...finished, seconds }, 'billing run finished');
    return finished;
  }

  /**
   * Keeps `run.concurrency` charges in flight until every invoice was reached (or billing
   * stops). The database work goes in steps, one transaction (one commit) each: the answers
   * that arrived since the last step are settled, and the charge slots free now are refilled
   * by claiming that many invoices, whose requests leave only once the step is committed (so
   * each attempt is recorded before its request, and a claim's lease starts when its charge
   * does, as with one claim at a time). Resolves with how many invoices were reached and how
   * many of those were skipped: paid or held by another run meanwhile, or not claimable.
   */
  private chargeAll(
    run: BillingRun,
    invoiceIds: readonly number[],
    log: Logger,
  ): Promise<{ reached: number; skipped: number }> {
    const { store, client, claimLeaseMs } = this.options;
    let next = 0;
    let skipped = 0;
    let inFlight = 0;
    let answered: SettledCharge[] = [];
    let scheduled = false;
    return new Promise((resolve) => {
      /** Claims invoices for `slots` free slots, reading on past the ones it cannot claim. */
      const claimFreeSlots = (slots: number): ClaimedCharge[] => {
        const claimed: ClaimedCharge[] = [];
        while (claimed.length < slots && next < invoiceIds.length && !this.stopped) {
          const batch = invoiceIds.slice(next, next + slots - claimed.length);
          next += batch.length;
          let got: ClaimedCharge[] = [];
          try {
            got = store.claimMany(run.id, batch, Date.now(), claimLeaseMs);
          } catch (err) {
            // Typically the database refusing the claim; whatever was recorded is recovered by a later run.
            log.error(
              { err, invoiceIds: batch },
              'could not claim the invoices; a later run retries them',
            );
          }
          skipped += batch.length - got.length;
          claimed.push(...got);
        }
        return claimed;
      };

      const step = () => {
        scheduled = false;
        const settling = answered;
        answered = [];
        let settled = false;
        let claimed: ClaimedCharge[] = [];
        try {
          store.inOneTransaction(() => {
            if (settling.length > 0) settled = this.settle(run.id, settling, log);
            claimed = claimFreeSlots(run.concurrency - inFlight);
          });
        } catch (err) {
          // The commit failed, so nothing of this step was recorded: the answers' attempts
          // stay in flight (a later run replays their keys), and the invoices it claimed are
          // skipped, for a later run.
          log.error({ err }, 'could not commit a billing step; a later run picks up its invoices');
          settled = false;
          skipped += claimed.length;
          claimed = [];
        }
        if (settled) this.reportSettled(settling, log);
        for (const charge of claimed) {
          inFlight += 1;
          client.charge(charge, charge.idempotencyKey, this.stopping.signal).then(
            (outcome) => {
              answered.push({ charge, outcome });
              inFlight -= 1;
              schedule();
            },
            (err: unknown) => {
              // The attempt stays in flight with its key, so a later run replays it.
              log.error({ err, invoiceId: charge.invoiceId }, 'could not charge the invoice');
              skipped += 1;
              inFlight -= 1;
              schedule();
            },
          );
        }
        if (inFlight === 0 && (next >= invoiceIds.length || this.stopped)) {
          resolve({ reached: next, skipped });
        }
      };
      // Answers arriving in one turn of the event loop are settled together.
      const schedule = () => {
        if (scheduled) return;
        scheduled = true;
        setImmediate(step);
      };
      step();
    });
  }

  /**
   * Records a batch of answers; false when that failed, and then their attempts stay in
   * flight and a later run replays their keys.
   */
  private settle(runId: string, answered: SettledCharge[], log: Logger): boolean {
    const { store, claimLeaseMs } = this.options;
    try {
      store.settleMany(runId, answered, Date.now(), claimLeaseMs);
      return true;
    } catch (err) {
      log.error(
        { err, invoiceIds: answered.map(({ charge }) => charge.invoiceId) },
        'could not record the charge outcomes; the next run will replay their keys',
      );
      return false;
    }
  }

  /** Metrics and log lines for answers whose outcome is committed. */
  private reportSettled(answered: SettledCharge[], log: Logger): void {
    const { metrics } = this.options;
    for (const { charge, outcome } of answered) {
      metrics?.chargeSettled(outcome.kind);
      const level = outcome.kind === 'approved' || outcome.kind === 'declined' ? 'debug' : 'warn';
      log[level](
        {
          invoiceId: charge.invoiceId,
          idempotencyKey: charge.idempotencyKey,
          replaysKey: charge.replaysKey,
          outcome,
        },
        'charge settled',
      );
    }
  }
}
