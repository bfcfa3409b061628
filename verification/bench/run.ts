/**
 * Whole-stack benchmark: Antaeus pays 10,000 pending invoices through a load balancer in front
 * of two payment replicas sharing Redis, all local processes from the builds. Prints throughput
 * and charge latency percentiles and writes verification/bench-results.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deployedRedisArgs } from '../lib/deployed-redis';
import { invoiceStatuses, ledgerBreaches } from '../lib/invariants';
import { Stack } from '../lib/stack';

const CUSTOMERS = 100;
const INVOICES_PER_CUSTOMER = 101; // the first of each is seeded PAID: 10,000 pending
const BILLING_CONCURRENCY = 16;

interface RunCounts {
  id: string;
  pending: number;
  attempted: number;
  paid: number;
  declined: number;
  failed: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

async function main(): Promise<void> {
  // Other work on the machine competes for the same cores: the 1-minute load average before
  // and after the run says how much the figures are worth.
  const loadAverage = () => round(os.loadavg()[0]!);
  const loadAverageBefore = loadAverage();
  const stack = await Stack.start({
    customers: CUSTOMERS,
    invoicesPerCustomer: INVOICES_PER_CUSTOMER,
    billingConcurrency: BILLING_CONCURRENCY,
  });
  try {
    const statuses = await invoiceStatuses(stack);
    const paidAtStart = new Set([...statuses].filter(([, s]) => s === 'PAID').map(([id]) => id));
    const pending = statuses.size - paidAtStart.size;
    console.log(`paying ${pending} pending invoices (concurrency ${BILLING_CONCURRENCY})...`);

    const started = performance.now();
    const pay = await stack.callAntaeus<boolean>('POST', '/rest/v1/invoices/pay', 600_000);
    const seconds = (performance.now() - started) / 1000;
    if (pay.status !== 200) throw new Error(`POST /rest/v1/invoices/pay answered ${pay.status}`);
    const runId = pay.headers.get('x-billing-run-id');
    const run = (await stack.callAntaeus<RunCounts>('GET', `/rest/v1/billing-runs/${runId}`)).body;

    const charges = stack.balancer.exchanges.filter(
      (e) => e.method === 'POST' && e.path === '/v1/charges',
    );
    const latencies = charges.map((e) => e.durationMs).sort((a, b) => a - b);
    const perReplica = Object.fromEntries(
      ['payment-0', 'payment-1'].map((r) => [r, charges.filter((e) => e.replica === r).length]),
    );
    const breaches = await ledgerBreaches(stack, paidAtStart);

    const results = {
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryGiB: round(os.totalmem() / 2 ** 30, 1),
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
        loadAverageBefore,
        loadAverageAfter: loadAverage(),
      },
      setup: {
        invoicesPending: pending,
        paymentReplicas: 2,
        redis: `redis-server ${deployedRedisArgs()
          .map((arg) => arg || "''")
          .join(' ')} (as deploy/envs/dev configures it)`,
        billingConcurrency: BILLING_CONCURRENCY,
        latencyMeasuredAt: 'load balancer, per upstream request (Antaeus → payment replica)',
      },
      run: {
        seconds: round(seconds),
        chargesPerSecond: round(run.attempted / seconds, 1),
        attempted: run.attempted,
        paid: run.paid,
        declined: run.declined,
        failed: run.failed,
        approvalRate: round(run.paid / Math.max(1, run.attempted), 3),
      },
      chargeLatencyMs: {
        requests: latencies.length,
        p50: round(percentile(latencies, 50)),
        p95: round(percentile(latencies, 95)),
        p99: round(percentile(latencies, 99)),
        max: round(latencies.at(-1) ?? NaN),
      },
      requestsPerReplica: perReplica,
      serverErrors: charges.filter((e) => e.status >= 500).length,
      ledgerBreaches: breaches.length,
    };
    const file = path.join(__dirname, '..', 'bench-results.json');
    fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(
      `${run.attempted} charges in ${results.run.seconds} s: ${results.run.chargesPerSecond} charges/s; ` +
        `charge latency p50 ${results.chargeLatencyMs.p50} ms, p95 ${results.chargeLatencyMs.p95} ms, ` +
        `p99 ${results.chargeLatencyMs.p99} ms; ${run.paid} paid, ${run.declined} declined, ${run.failed} failed; ` +
        `ledger breaches ${breaches.length}; 5xx ${results.serverErrors}`,
    );
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
    if (breaches.length > 0 || run.failed > 0 || results.serverErrors > 0) {
      throw new Error(`the benchmark run was not clean: ${breaches.slice(0, 5).join('; ')}`);
    }
  } finally {
    await stack.stop();
  }
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
