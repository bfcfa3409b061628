import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { freePort } from '@internal/test-kit';

const CONNECTIONS = 64;
const DURATION_SECONDS = Number(process.env.BENCH_DURATION_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const TARGETS = { ratio: 0.5, p99Ms: 25, rssMb: 150 };
const SERVICE_DIR = path.join(__dirname, '..', '..');
const RESULTS_FILE = path.join(SERVICE_DIR, 'bench-results.json');
const BODY = JSON.stringify({ currency: 'USD', value: 301.99, customer_id: 1, invoice_id: 1 });

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
  peakRssMb?: number;
}

async function startServer(script: string, nodeFlags: string[], env: Record<string, string>) {
  const port = await freePort();
  // Output goes to /dev/null: reading it here would cost this process (the load generator)
  // CPU, and a pipe nobody reads would stall the server once full.
  const child = spawn(process.execPath, [...nodeFlags, script], {
    env: { PATH: process.env.PATH, PORT: String(port), ...env },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const up = await fetch(`${url}/v1/charges`, {
      method: 'POST',
      body: BODY,
      headers: { 'content-type': 'application/json' },
    })
      .then((r) => r.ok)
      .catch(() => false);
    if (up) return { child, url };
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`${script} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function rssMb(child: ChildProcess): number {
  const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function load(url: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}/v1/charges`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY,
    connections: CONNECTIONS,
    duration: seconds,
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
    await load(server.url, WARMUP_SECONDS);
    let peakRssMb = 0;
    const sampler = setInterval(() => (peakRssMb = Math.max(peakRssMb, rssMb(server.child))), 250);
    const result = await load(server.url, DURATION_SECONDS);
    clearInterval(sampler);
    peakRssMb = Math.max(peakRssMb, rssMb(server.child));
    const measurement = {
      requestsPerSecond: Math.round(result.requests.average),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      errors: result.errors + result.timeouts + result.non2xx,
      peakRssMb: Math.round(peakRssMb),
    };
    console.log(
      `${name.padEnd(8)} ${String(measurement.requestsPerSecond).padStart(7)} req/s   p50 ${measurement.p50Ms} ms   p99 ${measurement.p99Ms} ms   peak RSS ${measurement.peakRssMb} MB   errors ${measurement.errors}`,
    );
    return measurement;
  } finally {
    server.child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  // Other work on the machine competes for the same cores: the 1-minute load average before
  // the run says how much the figures are worth.
  const loadAverageBefore = Math.round(os.loadavg()[0]! * 100) / 100;
  console.log(
    `POST /v1/charges, ${CONNECTIONS} connections, ${DURATION_SECONDS} s each after ${WARMUP_SECONDS} s warm-up, ${os.cpus().length} CPUs, Node ${process.version}, load average ${loadAverageBefore}`,
  );
  const nodeFlags = startScriptFlags();
  const bare = await benchmark('bare', path.join(__dirname, 'bare-server.js'), [], {});
  const payment = await benchmark('payment', path.join(__dirname, '..', 'server.js'), nodeFlags, {
    LOG_LEVEL: 'info',
    DRAIN_DELAY_MS: '0',
    // The same unauthenticated requests as the bare server gets.
    PAYMENT_AUTH: 'disabled',
  });
  const ratio = Math.round((payment.requestsPerSecond / bare.requestsPerSecond) * 100) / 100;
  const met = {
    ratio: ratio >= TARGETS.ratio,
    p99: payment.p99Ms <= TARGETS.p99Ms,
    rss: (payment.peakRssMb ?? Infinity) <= TARGETS.rssMb,
    noErrors: payment.errors === 0 && bare.errors === 0,
  };
  console.log(
    `ratio ${ratio} (target ≥ ${TARGETS.ratio}: ${met.ratio ? 'met' : 'NOT met'}), payment p99 ${payment.p99Ms} ms (target ≤ ${TARGETS.p99Ms}: ${met.p99 ? 'met' : 'NOT met'}), payment RSS ${payment.peakRssMb} MB (target ≤ ${TARGETS.rssMb}: ${met.rss ? 'met' : 'NOT met'})`,
  );
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, loadAverageBefore },
    paymentNodeFlags: nodeFlags,
    load: {
      endpoint: 'POST /v1/charges',
      connections: CONNECTIONS,
      durationSeconds: DURATION_SECONDS,
      warmupSeconds: WARMUP_SECONDS,
    },
    bare,
    payment,
    ratio,
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
