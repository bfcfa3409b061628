/**
 * Billing at scale against the real payment service on loopback: for each size (10,000,
 * 100,000 and, when asked, 1,000,000 pending invoices) a database is seeded, the built Antaeus
 * server and the built payment service run as child processes, and one billing run
 * (POST /rest/v1/billing-runs) charges every invoice. Reported per size: invoices/s, wall time,
 * seed time, the peak RSS of both processes and the SQLite file size. Beside it, in the same
 * run: payment answering alone at the same concurrency (Antaeus's own payment client, no
 * database), and one size at a 50% approval rate. The smallest size is billed twice by the same
 * processes (the file is seeded with twice as many invoices and half set aside for the second
 * run), so that it is measured cold, as before, and warm, as payment alone is. Writes
 * bench-results.json next to package.json.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  builtScript,
  sleep,
  startBuiltService,
  startScriptFlags,
  type RunningService,
} from '@internal/test-kit';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/database';
import { seedIfEmpty } from '../src/db/seed';
import { PaymentClient } from '../src/payment-client/client';

// Compiled to dist-bench/bench/, outside the production build; the services it starts are the
// production builds in dist/.
const WORKSPACE = path.join(__dirname, '..', '..');
/**
 * Payment's in-memory store keeps every idempotency key until its TTL and refuses new ones when
 * full: a short TTL keeps the keys of a 1,000,000-invoice run within its default capacity
 * (100,000 keys at about 10,000 charges/s). The rate limit is counted but set above the load.
 */
const PAYMENT_ENV = {
  PAYMENT_AUTH: 'disabled',
  IDEMPOTENCY_TTL_SECONDS: '5',
  IDEMPOTENCY_PENDING_LEASE_MS: '2000',
  RATE_LIMIT_PER_SECOND: '1000000',
  RATE_LIMIT_BURST: '1000000',
};
/** Sizes billed; the default leaves out 1,000,000 (several minutes here): BENCH_SIZES=10000,100000,1000000. */
const SIZES = (process.env.BENCH_SIZES ?? '10000,100000').split(',').map(Number);
const HALF_RATE_SIZE = Number(process.env.BENCH_HALF_RATE_SIZE ?? 10_000);
/**
 * The size billed a second time by the same two processes, warm: payment alone is timed
 * warm (after PAYMENT_ALONE_WARMUP charges), the first run of each size starts both
 * processes cold, which at 10,000 invoices is most of the difference.
 */
const WARM_REPEAT_SIZE = Number(process.env.BENCH_WARM_REPEAT_SIZE ?? SIZES[0]);
/** Charges timed for payment alone, after PAYMENT_ALONE_WARMUP untimed ones. */
const PAYMENT_ALONE_CHARGES = Number(process.env.BENCH_PAYMENT_ALONE_CHARGES ?? 10_000);
const PAYMENT_ALONE_WARMUP = 2_000;
const TARGETS = {
  perInvoiceAtLargestVsSmallest: 1.2,
  antaeusRssMbAt1M: 250,
  stackVsPaymentAlone: 0.8,
};
const RSS_SAMPLE_MS = 200;
/** Seeding 1,000,000 invoices leaves Antaeus a large file to open before it answers /readyz. */
const READY_TIMEOUT_MS = 60_000;

/**
 * A built service as it is deployed (its start script's heap limits), quiet but for warnings,
 * and stopping at once on SIGTERM: no load balancer to drain from here.
 */
const startService = (service: 'antaeus' | 'payment', env: Record<string, string>) =>
  startBuiltService(
    service,
    { HOST: '127.0.0.1', LOG_LEVEL: 'warn', DRAIN_DELAY_MS: '0', ...env },
    { nodeFlags: startScriptFlags(service), readyTimeoutMs: READY_TIMEOUT_MS },
  );

/** A child's CPU time so far (user + system, from /proc/<pid>/stat), in µs. */
function cpuMicros(child: ChildProcess): number {
  const fields = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime, fields 14 and 15 of the whole line, in clock ticks of 1/100 s.
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

const perCharge = (micros: number, count: number) => Math.round(micros / count);

function rssMb(child: ChildProcess): number {
  try {
    const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/**
 * Takes the newest `count` PENDING invoices out of billing (marks them PAID, nothing was
 * charged) and returns a function that puts them back, for a second run on the same file.
 */
function setAside(file: string, count: number): () => void {
  const db = openDatabase(file, { busyTimeoutMs: 5_000 });
  const ids = db
    .prepare(`SELECT id FROM invoices WHERE status = 'PENDING' ORDER BY id DESC LIMIT ?`)
    .pluck()
    .all(count) as number[];
  const mark = (status: string) => {
    const update = db.prepare(`UPDATE invoices SET status = ? WHERE id = ?`);
    db.transaction(() => ids.forEach((id) => update.run(status, id)))();
  };
  mark('PAID');
  return () => {
    mark('PENDING');
    db.close();
  };
}

/** A database with exactly `invoices` PENDING invoices (and one PAID per customer). */
function seed(file: string, invoices: number): number {
  const started = process.hrtime.bigint();
  const db = openDatabase(file, { busyTimeoutMs: 5_000 });
  try {
    const perCustomer = 101;
    seedIfEmpty(db, {
      customers: Math.ceil(invoices / (perCustomer - 1)),
      invoicesPerCustomer: perCustomer,
    });
    db.prepare(
      `UPDATE invoices SET status = 'PAID' WHERE id IN (SELECT id FROM invoices WHERE status = 'PENDING' ORDER BY id DESC LIMIT -1 OFFSET ?)`,
    ).run(invoices);
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const fileMb = (file: string) =>
  Math.round(
    (['', '-wal'].reduce(
      (sum, suffix) => sum + (fs.statSync(file + suffix, { throwIfNoEntry: false })?.size ?? 0),
      0,
    ) /
      1024 /
      1024) *
      10,
  ) / 10;

/** One billing run's figures. */
interface RunMeasurement {
  paid: number;
  seconds: number;
  invoicesPerSecond: number;
  /** CPU (user + system) per invoice of each process during the run. */
  cpuMicrosPerInvoice: { antaeus: number; payment: number };
}

interface SizeMeasurement {
  invoices: number;
  successRate: number;
  concurrency: number;
  paid: number;
  seedSeconds: number;
  seconds: number;
  invoicesPerSecond: number;
  microsPerInvoice: number;
  /** CPU (user + system) per invoice of each process during the run. */
  cpuMicrosPerInvoice: { antaeus: number; payment: number };
  antaeusPeakRssMb: number;
  paymentPeakRssMb: number;
  sqliteMbBefore: number;
  sqliteMbAfter: number;
  /** GET /rest/v1/invoices after the run: the whole table, streamed. */
  list: { megabytes: number; seconds: number; antaeusPeakRssMb: number };
  /** The same number of invoices billed again by the same processes, now warm. */
  warm?: RunMeasurement;
}

/** Reads the whole invoice list as a client would, counting bytes, while sampling Antaeus's RSS. */
async function readList(url: string, antaeus: ChildProcess) {
  let peak = rssMb(antaeus);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(antaeus))), RSS_SAMPLE_MS);
  const started = process.hrtime.bigint();
  const res = await fetch(`${url}/rest/v1/invoices`);
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  if (res.status !== 200) throw new Error(`GET /rest/v1/invoices answered ${res.status}`);
  return {
    megabytes: Math.round((bytes / 1024 / 1024) * 10) / 10,
    seconds: Math.round(seconds * 100) / 100,
    antaeusPeakRssMb: Math.round(Math.max(peak, rssMb(antaeus))),
  };
}

/** One billing run of `invoices` invoices through the running Antaeus; fails unless all were billed. */
async function billingRun(
  url: string,
  invoices: number,
  antaeus: ChildProcess,
  payment: ChildProcess,
): Promise<RunMeasurement> {
  const cpuBefore = { antaeus: cpuMicros(antaeus), payment: cpuMicros(payment) };
  const started = process.hrtime.bigint();
  const created = (await (
    await fetch(`${url}/rest/v1/billing-runs`, { method: 'POST' })
  ).json()) as { id: string };
  let run: { status: string; attempted: number; paid: number; failed: number };
  for (;;) {
    run = (await (await fetch(`${url}/rest/v1/billing-runs/${created.id}`)).json()) as typeof run;
    if (run.status !== 'running') break;
    await sleep(50);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuMicrosPerInvoice = {
    antaeus: perCharge(cpuMicros(antaeus) - cpuBefore.antaeus, invoices),
    payment: perCharge(cpuMicros(payment) - cpuBefore.payment, invoices),
  };
  if (run.attempted !== invoices || run.failed > 0 || run.status !== 'completed') {
    throw new Error(`the run did not bill every invoice cleanly: ${JSON.stringify(run)}`);
  }
  return {
    paid: run.paid,
    seconds: Math.round(seconds * 100) / 100,
    invoicesPerSecond: Math.round(invoices / seconds),
    cpuMicrosPerInvoice,
  };
}

async function billOnce(
  invoices: number,
  successRate: number,
  concurrency: number,
  { billTwice = false } = {},
): Promise<SizeMeasurement> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'antaeus-bench-'));
  const file = path.join(dir, 'antaeus.db');
  let payment: RunningService | undefined;
  let antaeus: RunningService | undefined;
  try {
    const seedSeconds = seed(file, billTwice ? invoices * 2 : invoices);
    const putBack = billTwice ? setAside(file, invoices) : undefined;
    const sqliteMbBefore = fileMb(file);
    payment = await startService('payment', {
      ...PAYMENT_ENV,
      PAYMENT_SUCCESS_RATE: String(successRate),
    });
    antaeus = await startService('antaeus', {
      DATABASE_PATH: file,
      PAYMENT_PROVIDER_ENDPOINT: `${payment.baseUrl}/v1/charges`,
      ANTAEUS_AUTH: 'disabled',
      BILLING_CONCURRENCY: String(concurrency),
    });
    const [antaeusChild, paymentChild] = [antaeus.process.child, payment.process.child];
    const peak = { antaeus: 0, payment: 0 };
    const sample = () => {
      peak.antaeus = Math.max(peak.antaeus, rssMb(antaeusChild));
      peak.payment = Math.max(peak.payment, rssMb(paymentChild));
    };
    const sampler = setInterval(sample, RSS_SAMPLE_MS);
    const first = await billingRun(antaeus.baseUrl, invoices, antaeusChild, paymentChild);
    let warm: RunMeasurement | undefined;
    if (putBack) {
      putBack();
      warm = await billingRun(antaeus.baseUrl, invoices, antaeusChild, paymentChild);
    }
    clearInterval(sampler);
    sample();
    const list = await readList(antaeus.baseUrl, antaeusChild);
    await antaeus.process.stop();
    return {
      invoices,
      successRate,
      concurrency,
      paid: first.paid,
      seedSeconds: Math.round(seedSeconds * 100) / 100,
      seconds: first.seconds,
      invoicesPerSecond: first.invoicesPerSecond,
      microsPerInvoice: Math.round((first.seconds * 1e6) / invoices),
      cpuMicrosPerInvoice: first.cpuMicrosPerInvoice,
      antaeusPeakRssMb: Math.round(peak.antaeus),
      paymentPeakRssMb: Math.round(peak.payment),
      sqliteMbBefore,
      sqliteMbAfter: fileMb(file),
      list,
      ...(warm && { warm }),
    };
  } finally {
    await antaeus?.process.stop();
    await payment?.process.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Payment answering Antaeus's own client, `concurrency` charges in flight, no database. */
async function paymentAlone(concurrency: number): Promise<{
  charges: number;
  warmup: number;
  cpuMicrosPerCharge: { payment: number; client: number };
  seconds: number;
  chargesPerSecond: number;
}> {
  const service = await startService('payment', { ...PAYMENT_ENV, PAYMENT_SUCCESS_RATE: '1' });
  const paymentChild = service.process.child;
  const client = new PaymentClient({
    endpoint: `${service.baseUrl}/v1/charges`,
    timeoutMs: 10_000,
    maxRetries: 0,
    retryBaseDelayMs: 10,
    retryMaxDelayMs: 10,
    retryAfterMaxMs: 10,
    chargeBudgetMs: 60_000,
    maxSockets: concurrency,
  });
  let next = 0;
  const charge = async (count: number) => {
    const end = next + count;
    const worker = async () => {
      while (next < end) {
        const invoiceId = (next += 1);
        const key = randomUUID();
        const outcome = await client.charge(
          {
            invoiceId,
            customerId: 1,
            amountMinor: 30_199,
            currency: 'USD',
          },
          key,
          new AbortController().signal,
        );
        if (outcome.kind !== 'approved')
          throw new Error(`payment answered ${JSON.stringify(outcome)}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  try {
    await charge(PAYMENT_ALONE_WARMUP);
    const paymentBefore = cpuMicros(paymentChild);
    const clientBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    await charge(PAYMENT_ALONE_CHARGES);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const client = process.cpuUsage(clientBefore);
    return {
      charges: PAYMENT_ALONE_CHARGES,
      warmup: PAYMENT_ALONE_WARMUP,
      cpuMicrosPerCharge: {
        payment: perCharge(cpuMicros(paymentChild) - paymentBefore, PAYMENT_ALONE_CHARGES),
        client: perCharge(client.user + client.system, PAYMENT_ALONE_CHARGES),
      },
      seconds: Math.round(seconds * 100) / 100,
      chargesPerSecond: Math.round(PAYMENT_ALONE_CHARGES / seconds),
    };
  } finally {
    client.close();
    await service.process.stop();
  }
}

async function main(): Promise<void> {
  // Before any work: both builds exist, or the error says how to build them.
  ['payment', 'antaeus'].forEach((service) => builtScript(service));
  const concurrency = loadConfig({ ...process.env, LOG_LEVEL: 'warn' }).billingConcurrency;
  const loadAverage = () => Math.round(os.loadavg()[0]! * 100) / 100;
  const loadAverageBefore = loadAverage();
  console.log(
    `billing ${SIZES.join(', ')} invoices, concurrency ${concurrency}, ${os.cpus().length} CPUs, Node ${process.version}, load average ${loadAverageBefore}`,
  );
  const alone = await paymentAlone(concurrency);
  console.log(
    `payment alone: ${alone.charges} charges in ${alone.seconds} s = ${alone.chargesPerSecond} charges/s (CPU per charge: payment ${alone.cpuMicrosPerCharge.payment} µs, client ${alone.cpuMicrosPerCharge.client} µs)`,
  );
  const results: SizeMeasurement[] = [];
  const report = (m: SizeMeasurement) => {
    results.push(m);
    console.log(
      `${String(m.invoices).padStart(8)} invoices at rate ${m.successRate}: ${m.invoicesPerSecond} invoices/s, ${m.seconds} s (${m.microsPerInvoice} µs/invoice; CPU per invoice Antaeus ${m.cpuMicrosPerInvoice.antaeus} µs, payment ${m.cpuMicrosPerInvoice.payment} µs; seeded in ${m.seedSeconds} s), peak RSS Antaeus ${m.antaeusPeakRssMb} MB / payment ${m.paymentPeakRssMb} MB, SQLite ${m.sqliteMbBefore} → ${m.sqliteMbAfter} MB; GET /rest/v1/invoices ${m.list.megabytes} MB in ${m.list.seconds} s, Antaeus peak RSS ${m.list.antaeusPeakRssMb} MB`,
    );
    if (m.warm) {
      console.log(
        `${String(m.invoices).padStart(8)} invoices again, warm: ${m.warm.invoicesPerSecond} invoices/s, ${m.warm.seconds} s (CPU per invoice Antaeus ${m.warm.cpuMicrosPerInvoice.antaeus} µs, payment ${m.warm.cpuMicrosPerInvoice.payment} µs)`,
      );
    }
  };
  for (const invoices of SIZES) {
    report(await billOnce(invoices, 1, concurrency, { billTwice: invoices === WARM_REPEAT_SIZE }));
  }
  if (HALF_RATE_SIZE > 0) report(await billOnce(HALF_RATE_SIZE, 0.5, concurrency));

  const full = results.filter((r) => r.successRate === 1);
  const smallest = full[0]!;
  const largest = full[full.length - 1]!;
  const ratios = {
    perInvoiceLargestVsSmallest:
      Math.round((largest.microsPerInvoice / smallest.microsPerInvoice) * 100) / 100,
    // Per size: the stack's rate over payment's alone (warm) at the same concurrency.
    stackVsPaymentAlone: Object.fromEntries(
      full.map((r) => [
        r.invoices,
        Math.round((r.invoicesPerSecond / alone.chargesPerSecond) * 100) / 100,
      ]),
    ),
    // The same, for the second run of a size, when both processes are warm as payment alone is.
    warmStackVsPaymentAlone: Object.fromEntries(
      full.flatMap((r) =>
        r.warm
          ? [
              [
                r.invoices,
                Math.round((r.warm.invoicesPerSecond / alone.chargesPerSecond) * 100) / 100,
              ],
            ]
          : [],
      ),
    ),
  };
  const million = full.find((r) => r.invoices === 1_000_000);
  const met = {
    perInvoiceScaling: ratios.perInvoiceLargestVsSmallest <= TARGETS.perInvoiceAtLargestVsSmallest,
    antaeusRssAt1M: million ? million.antaeusPeakRssMb <= TARGETS.antaeusRssMbAt1M : null,
    stackVsPaymentAlone: Object.values(ratios.stackVsPaymentAlone).every(
      (ratio) => ratio >= TARGETS.stackVsPaymentAlone,
    ),
    warmStackVsPaymentAlone: Object.values(ratios.warmStackVsPaymentAlone).every(
      (ratio) => ratio >= TARGETS.stackVsPaymentAlone,
    ),
  };
  console.log(
    `time per invoice ${largest.invoices} vs ${smallest.invoices}: ${ratios.perInvoiceLargestVsSmallest}×; stack/payment alone by size ${JSON.stringify(ratios.stackVsPaymentAlone)}, warm ${JSON.stringify(ratios.warmStackVsPaymentAlone)}; ${JSON.stringify(met)}`,
  );
  // BENCH_RESULTS_FILE: elsewhere than the committed results, for the short run of the tests.
  const file = process.env.BENCH_RESULTS_FILE ?? path.join(WORKSPACE, 'bench-results.json');
  const output = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      node: process.version,
      loadAverageBefore,
      loadAverageAfter: loadAverage(),
    },
    concurrency,
    paymentAlone: alone,
    results,
    ratios,
    targets: TARGETS,
    met,
  };
  fs.writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`);
  console.log(`written to ${file}`);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exitCode = 1;
});
