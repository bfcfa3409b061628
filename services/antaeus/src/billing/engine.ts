import { HttpError, type Logger } from '@internal/service-kit';
import type { PaymentClient } from '../payment-client/client';
import type { BillingMetrics } from './metrics';
import type { BillingRun, RunTrigger } from './model';
import type { BillingStore } from './store';

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
}

/**
 * Charges every PENDING invoice with a bounded number of charges in flight. Declines and errors
 * are recorded and the run moves on; an invoice is only ever charged while this run holds its
 * claim, so concurrent runs and replicas never charge one twice.
 */
export class BillingEngine {
  private readonly active = new Set<Promise<BillingRun>>();
  private readonly stopping = new AbortController();

  constructor(private readonly options: BillingEngineOptions) {}

  get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  start(trigger: RunTrigger, concurrency = this.options.concurrency): StartedRun {
    if (this.stopped) {
      throw new HttpError(
        503,
        'shutting_down',
        'billing is shutting down; start the run on another instance',
      );
    }
    const { run, invoiceIds } = this.options.store.startRun(
      trigger,
      concurrency,
      Date.now(),
      this.options.claimLeaseMs,
    );
    const finished = this.execute(run, invoiceIds);
    this.active.add(finished);
    void finished.finally(() => this.active.delete(finished));
    return { run, finished };
  }

  /** Stops claiming invoices, lets charges in flight finish, and waits for every run to end. */
  async shutdown(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.active]);
  }

  private async execute(run: BillingRun, invoiceIds: number[]): Promise<BillingRun> {
    const { store, logger, metrics } = this.options;
    const log = logger.child({ billingRunId: run.id });
    const started = process.hrtime.bigint();
    log.info(
      { trigger: run.trigger, pending: invoiceIds.length, concurrency: run.concurrency },
      'billing run started',
    );
    let next = 0;
    let skipped = 0;
    const worker = async () => {
      while (next < invoiceIds.length && !this.stopped) {
        const invoiceId = invoiceIds[next++] as number;
        try {
          if (!(await this.chargeOne(run.id, invoiceId, log))) skipped += 1;
        } catch (err) {
          // Typically the database refusing the claim; whatever was recorded is recovered by a later run.
          log.error({ err, invoiceId }, 'could not charge the invoice; a later run retries it');
          skipped += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(run.concurrency, invoiceIds.length) }, worker));
    const notReached = invoiceIds.length - next;
    store.countSkipped(run.id, skipped + notReached);
    const finished = store.finishRun(
      run.id,
      notReached > 0 ? 'interrupted' : 'completed',
      Date.now(),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics?.runFinished(finished.status, seconds);
    log.info({ ...finished, seconds }, 'billing run finished');
    return finished;
  }

  /** Returns false when the invoice was skipped: paid or held by another run meanwhile. */
  private async chargeOne(runId: string, invoiceId: number, log: Logger): Promise<boolean> {
    const { store, client, claimLeaseMs, metrics } = this.options;
    const charge = store.claim(runId, invoiceId, Date.now(), claimLeaseMs);
    if (!charge) return false;
    const outcome = await client.charge(charge, charge.idempotencyKey, this.stopping.signal);
    try {
      store.settle(runId, charge, outcome, Date.now(), claimLeaseMs);
    } catch (err) {
      // The attempt stays in flight with its key, so the next run replays the provider's decision.
      log.error(
        { err, invoiceId, outcome },
        'could not record the charge outcome; the next run will replay its key',
      );
      return true;
    }
    metrics?.chargeSettled(outcome.kind);
    const level = outcome.kind === 'approved' || outcome.kind === 'declined' ? 'debug' : 'warn';
    log[level](
      { invoiceId, idempotencyKey: charge.idempotencyKey, replaysKey: charge.replaysKey, outcome },
      'charge settled',
    );
    return true;
  }
}
