import { Counter, Histogram, type Registry } from 'prom-client';
import type { ExchangeResult } from '../payment-client/client';
import type { ChargeOutcome, RunStatus } from './model';

export interface BillingMetrics {
  chargeSettled(outcome: ChargeOutcome['kind']): void;
  runFinished(status: RunStatus, seconds: number): void;
  paymentExchange(result: ExchangeResult, seconds: number): void;
}

export function createBillingMetrics(registry: Registry): BillingMetrics {
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
    help: 'Latency of single requests to the payment provider, by how they ended',
    labelNames: ['result'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    chargeSettled: (outcome) => charges.inc({ outcome }),
    runFinished: (status, seconds) => runDuration.observe({ status }, seconds),
    paymentExchange: (result, seconds) => paymentLatency.observe({ result }, seconds),
  };
}
