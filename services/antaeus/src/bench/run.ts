/**
 * Billing throughput against the real payment service on loopback: 10,000 invoices at 0 ms and
 * at 20 ms added provider latency, each with the configured concurrency and sequentially (the
 * original's behaviour). Writes bench-results.json next to package.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@internal/service-kit';
import { createBilling } from '../billing/setup';
import { loadConfig, type Config } from '../config';
import { openDatabase } from '../db/database';
import { seedIfEmpty } from '../db/seed';
import { freePort } from '@internal/test-kit';

const WORKSPACE = path.join(__dirname, '..', '..');
const PAYMENT_SERVER = path.join(WORKSPACE, '..', 'payment', 'dist', 'server.js');
const INVOICES = 10_000;
const SEQUENTIAL_INVOICES = Number(process.env.BENCH_SEQUENTIAL_INVOICES ?? 1_000);
const LATENCIES_MS = [0, 20];

async function waitUntilReady(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (child.exitCode !== null)
      throw new Error(`the payment service exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not become ready`);
}

/** Forwards every request to the payment service after `latencyMs`, like a distant provider. */
async function startDelayingProxy(
  targetPort: number,
  latencyMs: number,
): Promise<{ port: number; close(): void }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      setTimeout(() => {
        const upstream = http.request(
          {
            host: '127.0.0.1',
            port: targetPort,
            path: req.url,
            method: req.method,
            headers: req.headers,
            agent,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on('error', () => res.destroy());
        upstream.end(Buffer.concat(chunks));
      }, latencyMs),
    );
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    close: () => {
      server.closeAllConnections();
      server.close();
      agent.destroy();
    },
  };
}

interface Measurement {
  latencyMs: number;
  concurrency: number;
  invoices: number;
  paid: number;
  seconds: number;
  invoicesPerSecond: number;
}

async function bill(
  config: Config,
  endpoint: string,
  invoices: number,
  latencyMs: number,
  concurrency: number,
): Promise<Measurement> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'antaeus-bench-'));
  const db = openDatabase(path.join(dir, 'antaeus.db'), {
    busyTimeoutMs: config.databaseBusyTimeoutMs,
  });
  try {
    // One PAID and `perCustomer - 1` PENDING invoices per customer, exactly `invoices` pending.
    const perCustomer = 101;
    seedIfEmpty(db, {
      customers: Math.ceil(invoices / (perCustomer - 1)),
      invoicesPerCustomer: perCustomer,
    });
    db.prepare(
      `UPDATE invoices SET status = 'PAID' WHERE id IN (SELECT id FROM invoices WHERE status = 'PENDING' ORDER BY id DESC LIMIT -1 OFFSET ?)`,
    ).run(invoices);
    const { client, engine } = createBilling(
      { ...config, paymentProviderEndpoint: endpoint, billingConcurrency: concurrency },
      db,
      createLogger('antaeus-bench', 'warn'),
    );
    const started = process.hrtime.bigint();
    const run = await engine.start('cli', { concurrency }).finished;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    client.close();
    if (run.attempted !== invoices || run.failed > 0) {
      throw new Error(`the run did not bill every invoice cleanly: ${JSON.stringify(run)}`);
    }
    return {
      latencyMs,
      concurrency,
      invoices,
      paid: run.paid,
      seconds: Math.round(seconds * 1000) / 1000,
      invoicesPerSecond: Math.round(invoices / seconds),
    };
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync(PAYMENT_SERVER)) {
    throw new Error(
      `${PAYMENT_SERVER} is missing: build the payment service first (npm run build)`,
    );
  }
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const paymentPort = await freePort();
  const payment = spawn(process.execPath, [PAYMENT_SERVER], {
    env: {
      PATH: process.env.PATH,
      PORT: String(paymentPort),
      PAYMENT_SUCCESS_RATE: '1',
      PAYMENT_AUTH: 'disabled',
      LOG_LEVEL: 'warn',
      DRAIN_DELAY_MS: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const results: Measurement[] = [];
  try {
    await waitUntilReady(`http://127.0.0.1:${paymentPort}/readyz`, payment);
    for (const latencyMs of LATENCIES_MS) {
      const proxy = latencyMs > 0 ? await startDelayingProxy(paymentPort, latencyMs) : undefined;
      const endpoint = `http://127.0.0.1:${proxy?.port ?? paymentPort}/v1/charges`;
      try {
        for (const concurrency of [config.billingConcurrency, 1]) {
          const invoices = concurrency === 1 ? Math.min(INVOICES, SEQUENTIAL_INVOICES) : INVOICES;
          const measurement = await bill(config, endpoint, invoices, latencyMs, concurrency);
          results.push(measurement);
          console.log(
            `latency ${String(latencyMs).padStart(2)} ms, concurrency ${String(concurrency).padStart(3)}: ` +
              `${measurement.invoices} invoices in ${measurement.seconds.toFixed(2)} s = ${measurement.invoicesPerSecond} invoices/s`,
          );
        }
      } finally {
        proxy?.close();
      }
    }
  } finally {
    payment.kill('SIGTERM');
  }
  const speedUps = LATENCIES_MS.map((latencyMs) => {
    const [concurrent, sequential] = results.filter((r) => r.latencyMs === latencyMs);
    const speedUp =
      Math.round(
        ((concurrent?.invoicesPerSecond ?? 0) / (sequential?.invoicesPerSecond ?? 1)) * 10,
      ) / 10;
    console.log(`latency ${latencyMs} ms: speed-up ${speedUp}× over sequential`);
    return { latencyMs, speedUp };
  });
  const file = path.join(WORKSPACE, 'bench-results.json');
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version },
    paymentSuccessRate: 1,
    sequentialInvoices: Math.min(INVOICES, SEQUENTIAL_INVOICES),
    results,
    speedUps,
    targets: { invoicesPerSecondAt0ms: 1000, speedUpAt20ms: 10 },
  };
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`written to ${file}`);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exitCode = 1;
});
