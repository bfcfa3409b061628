import { Counter, Gauge, type Registry } from 'prom-client';
import type { ChargeOutcome } from '../idempotency/charge-once';

/** Why the decision store failed a charge request: `full` is a refusal, `unavailable` an error. */
export type StoreFailure = 'full' | 'unavailable';

export interface ChargeMetrics {
  decided(outcome: ChargeOutcome): void;
  storeFailed(reason: StoreFailure): void;
}

/**
 * Counts new decisions by outcome, answers replayed from an idempotency key and requests the
 * store failed, and publishes the configured approval rate: the approval alert compares the
 * outcomes with it, so changing PAYMENT_SUCCESS_RATE moves the alert's threshold too.
 */
export function chargeMetrics(registry: Registry, successRate: number): ChargeMetrics {
  const charges = new Counter({
    name: 'charges_total',
    help: 'Charge decisions made, by outcome (replays are not decisions)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const replays = new Counter({
    name: 'idempotent_replays_total',
    help: 'Charge requests answered with the stored decision of their Idempotency-Key',
    registers: [registry],
  });
  const storeFailures = new Counter({
    name: 'charge_store_failures_total',
    help: 'Charge requests the decision store failed (503), by reason: full (no room for a new idempotency key) or unavailable (an error)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'charge_success_rate_configured',
    help: 'PAYMENT_SUCCESS_RATE: the share of charges this instance is configured to approve',
    registers: [registry],
  }).set(successRate);
  charges.inc({ outcome: 'approved' }, 0);
  charges.inc({ outcome: 'declined' }, 0);
  storeFailures.inc({ reason: 'full' }, 0);
  storeFailures.inc({ reason: 'unavailable' }, 0);
  return {
    decided(outcome) {
      if (outcome.replayed) replays.inc();
      else charges.inc({ outcome: outcome.decision.result ? 'approved' : 'declined' });
    },
    storeFailed: (reason) => storeFailures.inc({ reason }),
  };
}
