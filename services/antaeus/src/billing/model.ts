import type { Currency } from '../money';

export type RunTrigger = 'pay' | 'api' | 'cli';
export type RunStatus = 'running' | 'completed' | 'interrupted';
export type AttemptOutcome = 'in_flight' | 'approved' | 'declined' | 'rejected' | 'unknown';

/**
 * What a charge came to after retries. `rejected`: the provider refused the request itself
 * (a 4xx other than 408/409/429), so nothing was charged. `unknown`: no decision could be read
 * (network errors, timeouts, 5xx, malformed answers until retries ran out, or 429s until the
 * invoice's claim would run out), so the charge may or may not have happened and must be
 * retried with the same idempotency key.
 */
export type ChargeOutcome =
  | { kind: 'approved'; chargeId: string | undefined; requests: number }
  | { kind: 'declined'; chargeId: string | undefined; reason: string | undefined; requests: number }
  | { kind: 'rejected'; status: number; error: string; requests: number }
  | { kind: 'unknown'; error: string; requests: number };

export interface BillingRun {
  id: string;
  trigger: RunTrigger;
  status: RunStatus;
  concurrency: number;
  startedAt: number;
  finishedAt: number | null;
  /** PENDING invoices when the run started: attempted + skipped once it is over. */
  pending: number;
  attempted: number;
  paid: number;
  declined: number;
  failed: number;
  /** Not attempted: another run held the invoice or had paid it, or the run was stopped. */
  skipped: number;
}

export interface ChargeAttempt {
  id: number;
  invoiceId: number;
  billingRunId: string;
  idempotencyKey: string;
  startedAt: number;
  finishedAt: number | null;
  outcome: AttemptOutcome;
  /** HTTP requests sent for this attempt, retries included. */
  requests: number;
  providerChargeId: string | null;
  error: string | null;
}

/** An invoice this run holds the claim on, with the attempt recorded before charging it. */
export interface ClaimedCharge {
  invoiceId: number;
  customerId: number;
  amountMinor: number;
  currency: Currency;
  attemptId: number;
  idempotencyKey: string;
  /** True when an earlier attempt's outcome is unknown and its key is being replayed. */
  replaysKey: boolean;
}

/** Whether a run paid everything that was pending when it started. */
export function paidEverything(run: BillingRun): boolean {
  return run.status === 'completed' && run.paid === run.pending;
}

export function runJson(run: BillingRun) {
  return {
    id: run.id,
    trigger: run.trigger,
    status: run.status,
    concurrency: run.concurrency,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: run.finishedAt === null ? null : new Date(run.finishedAt).toISOString(),
    pending: run.pending,
    attempted: run.attempted,
    paid: run.paid,
    declined: run.declined,
    failed: run.failed,
    skipped: run.skipped,
    allPaid: paidEverything(run),
  };
}

export function attemptJson(attempt: ChargeAttempt) {
  return {
    id: attempt.id,
    invoiceId: attempt.invoiceId,
    billingRunId: attempt.billingRunId,
    idempotencyKey: attempt.idempotencyKey,
    startedAt: new Date(attempt.startedAt).toISOString(),
    finishedAt: attempt.finishedAt === null ? null : new Date(attempt.finishedAt).toISOString(),
    outcome: attempt.outcome,
    requests: attempt.requests,
    providerChargeId: attempt.providerChargeId,
    error: attempt.error,
  };
}
