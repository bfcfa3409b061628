import { Counter, type Registry } from 'prom-client';
import type { ChargeOutcome } from '../idempotency/charge-once';

/** Counts new decisions by outcome and answers replayed from an idempotency key. */
export function chargeMetrics(registry: Registry) {
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
  charges.inc({ outcome: 'approved' }, 0);
  charges.inc({ outcome: 'declined' }, 0);
  return (outcome: ChargeOutcome): void => {
    if (outcome.replayed) replays.inc();
    else charges.inc({ outcome: outcome.decision.result ? 'approved' : 'declined' });
  };
}
