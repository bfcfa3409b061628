import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ExchangeResult } from '../payment-client/client';
import type { ChargeOutcome, RunStatus } from './model';

export interface BillingMetrics {
  chargeSettled(outcome: ChargeOutcome['kind']): void;
  runStarted(runId: string, startedAt: number): void;
  runFinished(runId: string, status: RunStatus, seconds: number): void;
  paymentExchange(result: ExchangeResult, seconds: number): void;
}

export function createBillingMetrics(registry: Registry, now = Date.now): BillingMetrics {
  const charges = new Counter({
    name: 'antaeus_charges_total',
    help: 'Invoice charges settled, by outcome (approved, declined, rejected, unknown)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const runDuration = new Histogram({
    name: 'antaeus_billing_run_duration_seconds',
    help: 'Duration of billing runs, by final status',
    labelNames: ['status'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  });
  const paymentLatency = new Histogram({
    name: 'antaeus_payment_request_duration_seconds',
    help: 'Latency of single requests to the payment provider, by how they ended (unreachable: no answer)',
    labelNames: ['result'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // Start times of the runs this process executes: a run that never finishes shows as a gauge
  // that keeps growing, which a finished-runs histogram cannot show.
  const running = new Map<string, number>();
  new Gauge({
    name: 'antaeus_billing_run_running_seconds',
    help: 'How long the oldest billing run this process executes has been running; 0 when none',
    registers: [registry],
    collect() {
      this.set(running.size === 0 ? 0 : (now() - Math.min(...running.values())) / 1000);
    },
  });
  // The series the alerts count exist from the start at 0: increase() over a series whose
  // first sample is already 1 is 0, so the first interrupted run or unreachable request would
  // go unnoticed.
  for (const status of ['completed', 'interrupted'] as const) runDuration.zero({ status });
  for (const outcome of ['rejected', 'unknown'] as const) charges.inc({ outcome }, 0);
  paymentLatency.zero({ result: 'unreachable' });
  return {
    chargeSettled: (outcome) => charges.inc({ outcome }),
    runStarted: (runId, startedAt) => running.set(runId, startedAt),
    runFinished: (runId, status, seconds) => {
      running.delete(runId);
      runDuration.observe({ status }, seconds);
    },
    paymentExchange: (result, seconds) => paymentLatency.observe({ result }, seconds),
  };
}
