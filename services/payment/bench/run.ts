import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { freePort, sleep } from '@internal/test-kit';

const CONNECTIONS = 64;
const DURATION_SECONDS = Number(process.env.BENCH_DURATION_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
/** Requests whose CPU cost is measured (the server's own counters, before and after). */
const CPU_REQUESTS = Number(process.env.BENCH_CPU_REQUESTS ?? 50_000);
const TARGETS = { ratioToKoa: 0.8, p99Ms: 15, rssMb: 150 };
// Compiled to dist-bench/bench/, outside the production build; the payment server it measures
// is the production build in dist/.
const SERVICE_DIR = path.join(__dirname, '..', '..');
/** BENCH_RESULTS_FILE: elsewhere than the committed results, for the short run of the tests. */
const RESULTS_FILE = process.env.BENCH_RESULTS_FILE ?? path.join(SERVICE_DIR, 'bench-results.json');
const CPU_PROBE = path.join(__dirname, 'cpu-probe.js');
/**
 * BENCH_COMPARE_SERVER: another build's dist/server.js (say, main's before a change), measured
 * in the same run with the same load, so a change's cost is read off one run.
 */
const COMPARE_SERVER = process.env.BENCH_COMPARE_SERVER;
/** BENCH_COMPARE_LABEL: what that build is, for the results and the chart (its path otherwise). */
const COMPARE_LABEL = process.env.BENCH_COMPARE_LABEL ?? COMPARE_SERVER;
// Every server gets the token; only payment checks it, as deployed (a bare token, which
// earlier builds accept too).
const TOKEN = 'bench-token-0123456789abcdef';
const HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
/** A charge for invoice `n`: each request charges another invoice, as a billing run does. */
const chargeBody = (n: number) =>
  JSON.stringify({ currency: 'USD', value: 301.99, customer_id: 1, invoice_id: n });
let invoices = 0;

/** The V8 flags of the service's start script, so the benchmark runs it as it is deployed. */
function startScriptFlags(): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(SERVICE_DIR, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  return manifest.scripts.start.split(/\s+/).filter((arg) => arg.startsWith('--'));
}

interface Measurement {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  peakRssMb: number;
  /** Server CPU (user + system) per request over CPU_REQUESTS requests. */
  cpuMicrosPerRequest: number;
}

async function startServer(script: string, nodeFlags: string[], env: Record<string, string>) {
  const port = await freePort();
  // Output goes to /dev/null: reading it here would cost this process (the load generator)
  // CPU, and a pipe nobody reads would stall the server once full.
  // The probe answers CPU counters over the IPC channel; it adds no route and no per-request work.
  const child = spawn(process.execPath, [...nodeFlags, '-r', CPU_PROBE, script], {
    env: { PATH: process.env.PATH, PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const up = await fetch(`${url}/v1/charges`, {
      method: 'POST',
      body: chargeBody((invoices += 1)),
      headers: HEADERS,
    })
      .then((r) => r.ok)
      .catch(() => false);
    if (up) return { child, url };
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`${script} did not start`);
    await sleep(100);
  }
}

function rssMb(child: ChildProcess): number {
  const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** The server's own CPU counters (process.cpuUsage(), via the preloaded probe), in µs. */
function cpuMicros(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer from the CPU probe')), 5_000);
    child.once('message', (message: { cpu: NodeJS.CpuUsage }) => {
      clearTimeout(timer);
      resolve(message.cpu.user + message.cpu.system);
    });
    child.send('cpu');
  });
}

async function load(
  url: string,
  limit: { duration: number } | { amount: number },
): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}/v1/charges`,
    method: 'POST',
    headers: HEADERS,
    requests: [{ setupRequest: (request) => ({ ...request, body: chargeBody((invoices += 1)) }) }],
    connections: CONNECTIONS,
    ...limit,
  });
}

async function benchmark(
  name: string,
  script: string,
  nodeFlags: string[],
  env: Record<string, string>,
): Promise<Measurement> {
  const server = await startServer(script, nodeFlags, env);
  try {
    await load(server.url, { duration: WARMUP_SECONDS });
    let peakRssMb = 0;
    const sampler = setInterval(() => (peakRssMb = Math.max(peakRssMb, rssMb(server.child))), 250);
    const result = await load(server.url, { duration: DURATION_SECONDS });
    const cpuBefore = await cpuMicros(server.child);
    const fixed = await load(server.url, { amount: CPU_REQUESTS });
    const cpuAfter = await cpuMicros(server.child);
    clearInterval(sampler);
    peakRssMb = Math.max(peakRssMb, rssMb(server.child));
    const measurement: Measurement = {
      requestsPerSecond: Math.round(result.requests.average),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      errors:
        result.errors +
        result.timeouts +
        result.non2xx +
        fixed.errors +
        fixed.timeouts +
        fixed.non2xx,
      peakRssMb: Math.round(peakRssMb),
      cpuMicrosPerRequest: Math.round(((cpuAfter - cpuBefore) / CPU_REQUESTS) * 10) / 10,
    };
    console.log(
      `${name.padEnd(8)} ${String(measurement.requestsPerSecond).padStart(7)} req/s   ${String(measurement.cpuMicrosPerRequest).padStart(6)} µs CPU/request   p50 ${measurement.p50Ms} ms   p99 ${measurement.p99Ms} ms   peak RSS ${measurement.peakRssMb} MB   errors ${measurement.errors}`,
    );
    return measurement;
  } finally {
    server.child.kill('SIGTERM');
  }
}

const ratio = (ours: Measurement, baseline: Measurement) =>
  Math.round((ours.requestsPerSecond / baseline.requestsPerSecond) * 100) / 100;

async function main(): Promise<void> {
  // Other work on the machine competes for the same cores: the 1-minute load average before
  // and after the run says how much the figures are worth.
  const loadAverage = () => Math.round(os.loadavg()[0]! * 100) / 100;
  const loadAverageBefore = loadAverage();
  console.log(
    `POST /v1/charges, ${CONNECTIONS} connections, ${DURATION_SECONDS} s each after ${WARMUP_SECONDS} s warm-up, CPU over ${CPU_REQUESTS} requests, ${os.cpus().length} CPUs, Node ${process.version}, load average ${loadAverageBefore}`,
  );
  // Every server runs with the V8 flags of the service's start script, so only the code differs.
  const nodeFlags = startScriptFlags();
  const bare = await benchmark('bare', path.join(__dirname, 'bare-server.js'), nodeFlags, {});
  const koa = await benchmark('koa', path.join(__dirname, 'koa-server.js'), nodeFlags, {});
  // Every control on, as deployed: the bearer token is checked and the rate limit counted (set
  // above the load, so it measures its cost without refusing).
  const paymentEnv = {
    LOG_LEVEL: 'info',
    DRAIN_DELAY_MS: '0',
    PAYMENT_API_TOKENS: TOKEN,
    RATE_LIMIT_PER_SECOND: '1000000',
    RATE_LIMIT_BURST: '1000000',
  };
  const payment = await benchmark(
    'payment',
    path.join(SERVICE_DIR, 'dist', 'server.js'),
    nodeFlags,
    paymentEnv,
  );
  const compared = COMPARE_SERVER
    ? {
        label: COMPARE_LABEL,
        measurement: await benchmark('compared', COMPARE_SERVER, nodeFlags, paymentEnv),
      }
    : undefined;
  const ratios = {
    toKoa: ratio(payment, koa),
    toBare: ratio(payment, bare),
    ...(compared && { comparedToKoa: ratio(compared.measurement, koa) }),
  };
  const met = {
    ratioToKoa: ratios.toKoa >= TARGETS.ratioToKoa,
    p99: payment.p99Ms <= TARGETS.p99Ms,
    rss: payment.peakRssMb <= TARGETS.rssMb,
    noErrors: [bare, koa, payment, compared?.measurement].every((m) => !m || m.errors === 0),
  };
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  if (compared) console.log(`compared/koa ${ratios.comparedToKoa} (${compared.label})`);
  console.log(
    `payment/koa ${ratios.toKoa} (target ≥ ${TARGETS.ratioToKoa}: ${verdict(met.ratioToKoa)}), payment/bare ${ratios.toBare}, payment p99 ${payment.p99Ms} ms (target ≤ ${TARGETS.p99Ms}: ${verdict(met.p99)}), payment RSS ${payment.peakRssMb} MB (target ≤ ${TARGETS.rssMb}: ${verdict(met.rss)}), errors ${verdict(met.noErrors)}`,
  );
  const results = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      node: process.version,
      loadAverageBefore,
      loadAverageAfter: loadAverage(),
    },
    nodeFlags,
    load: {
      endpoint: 'POST /v1/charges',
      connections: CONNECTIONS,
      durationSeconds: DURATION_SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      cpuRequests: CPU_REQUESTS,
    },
    bare,
    koa,
    payment,
    ...(compared && { compared }),
    ratios,
    targets: TARGETS,
    met,
  };
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`results written to ${RESULTS_FILE}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
