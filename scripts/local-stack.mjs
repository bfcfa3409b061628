#!/usr/bin/env node
// The local stack, like the original docker-compose: the payment service and Antaeus started
// from their builds and wired together. `npm start` at the root builds first and runs this.
// Exit 0 after Ctrl-C, 1 when a service fails, 2 when it refuses to start because another local
// stack (or another program) holds its ports or its database: then it has started and touched
// nothing.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function serverOf(service) {
  const file = path.join(ROOT, 'services', service, 'dist', 'server.js');
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return file;
}

async function waitUntilReady(name, url, child) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${name} did not become ready at ${url} within 20 s`);
}

/**
 * The local stack runs in the services' compatibility mode, so the original Antaeus and
 * `curl -X POST localhost:8000/rest/v1/invoices/pay` work with no setup: authentication off on
 * both services, and therefore both listening on loopback only. A deployment never sets these.
 */
export const LOCAL_MODE = {
  HOST: '127.0.0.1',
  PAYMENT_AUTH: 'disabled',
  ANTAEUS_AUTH: 'disabled',
};

export const LOCAL_MODE_NOTICE = `Local compatibility mode: both services listen on 127.0.0.1 only, with PAYMENT_AUTH=disabled and
ANTAEUS_AUTH=disabled (no bearer tokens). Never expose this stack; deployments set PAYMENT_API_TOKENS
and ANTAEUS_API_TOKENS instead.`;

function launch(name, env, { quiet }) {
  const child = spawn(process.execPath, [serverOf(name)], {
    cwd: ROOT,
    env: { ...process.env, DRAIN_DELAY_MS: '0', ...LOCAL_MODE, ...env },
    stdio: ['ignore', quiet ? 'ignore' : 'pipe', 'pipe'],
  });
  const prefix = `[${name}] `;
  const forward = (stream, target) =>
    stream?.on('data', (chunk) => {
      const lines = chunk.toString().split('\n').filter(Boolean);
      target.write(lines.map((line) => `${prefix}${line}\n`).join(''));
    });
  forward(child.stdout, process.stdout);
  forward(child.stderr, process.stderr);
  return child;
}

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts payment, then Antaeus pointed at it. Resolves once both are ready, with their URLs
 * and a stop() that shuts both down gracefully (Antaeus first, so no charge is cut off).
 */
export async function startStack({
  paymentPort,
  antaeusPort,
  paymentEnv = {},
  antaeusEnv = {},
  quiet = false,
}) {
  const payment = launch('payment', { PORT: String(paymentPort), ...paymentEnv }, { quiet });
  const paymentUrl = `http://localhost:${paymentPort}`;
  const antaeusUrl = `http://localhost:${antaeusPort}`;
  // The services listen on 127.0.0.1; "localhost" may resolve to ::1 first.
  const loopback = (port) => `http://127.0.0.1:${port}`;
  let antaeus;
  const stop = async () => {
    if (antaeus) await stopChild(antaeus);
    await stopChild(payment);
  };
  try {
    await waitUntilReady('payment', `${loopback(paymentPort)}/readyz`, payment);
    antaeus = launch(
      'antaeus',
      {
        PORT: String(antaeusPort),
        PAYMENT_PROVIDER_ENDPOINT: `${loopback(paymentPort)}/v1/charges`,
        ...antaeusEnv,
      },
      { quiet },
    );
    await waitUntilReady('antaeus', `${loopback(antaeusPort)}/readyz`, antaeus);
  } catch (err) {
    await stop();
    throw err;
  }
  return { payment, antaeus, paymentUrl, antaeusUrl, stop };
}

/** Why `npm start` will not start: nothing has been started or changed when this is thrown. */
class Refusal extends Error {}

/**
 * Takes `<database>.lock`, holding this process's pid, so that a second stack on the same file
 * refuses instead of wiping and reseeding the database under the running one. A lock whose
 * process is gone (a stack killed with SIGKILL) is taken over. Returns its release.
 */
function lockDatabase(database) {
  const lock = `${database}.lock`;
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      return () => fs.rmSync(lock, { force: true });
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    const holder = Number(fs.readFileSync(lock, 'utf8'));
    if (Number.isInteger(holder) && holder > 0 && isAlive(holder))
      throw new Refusal(
        `another local stack (pid ${holder}) is using ${database}; stop it (Ctrl-C) first. Nothing was started or changed.`,
      );
    fs.rmSync(lock, { force: true });
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return error.code === 'EPERM';
  }
}

/** Resolves when nothing listens on 127.0.0.1:<port>, else refuses naming the port. */
function ensurePortFree(name, port) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (error) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Refusal(
              `port ${port} (${name}) is taken, by another local stack or another program; stop it or choose other ports (PAYMENT_PORT, ANTAEUS_PORT). Nothing was started or changed.`,
            )
          : error,
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** The commands README.md's Quick start shows, for this stack's ports. */
function tryCommands(antaeusPort, paymentPort) {
  const a = `localhost:${antaeusPort}`;
  const byStatus = `jq -c 'group_by(.status) | map({(.[0].status): length}) | add'`;
  return `curl -s ${a}/rest/v1/invoices | ${byStatus}
# {"PAID":2,"PENDING":8}
curl -s -X POST ${a}/rest/v1/invoices/pay      # true only when every pending invoice got paid
curl -s ${a}/rest/v1/invoices | ${byStatus}
# about {"PAID":6,"PENDING":4}
curl -s ${a}/rest/v1/invoices/3/charges | jq   # what happened to one invoice
curl -s -X POST -H 'Content-Type: application/json' \\
  -d '{"currency":{},"value":301.99,"customer_id":1}' localhost:${paymentPort}/   # the original client's body`;
}

async function main() {
  const paymentPort = Number(process.env.PAYMENT_PORT ?? 9000);
  const antaeusPort = Number(process.env.ANTAEUS_PORT ?? 8000);
  const database = process.env.DATABASE_PATH ?? path.join(ROOT, '.local-stack', 'antaeus.db');
  // Both checks come before Antaeus starts, because it resets the database before it listens.
  const unlock = lockDatabase(database);
  process.once('exit', unlock);
  await ensurePortFree('payment', paymentPort);
  await ensurePortFree('antaeus', antaeusPort);
  const stack = await startStack({
    paymentPort,
    antaeusPort,
    // Fresh seed data on every start, as the original did.
    antaeusEnv: {
      DATABASE_PATH: database,
      DATABASE_RESET_ON_START: process.env.DATABASE_RESET_ON_START ?? 'true',
    },
  });
  const a = stack.antaeusUrl;
  console.log(`
${LOCAL_MODE_NOTICE}

Local stack is up (Ctrl-C stops both):
  antaeus  ${a}   (OpenAPI: ${a}/openapi.json)
  payment  ${stack.paymentUrl}   (OpenAPI: ${stack.paymentUrl}/openapi.json)

Try the pay flow:
${tryCommands(antaeusPort, paymentPort)}
`);

  let stopping = false;
  const shutdown = async (reason, code) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${reason}: stopping antaeus and payment...`);
    await stack.stop();
    console.log('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  for (const [name, child] of [
    ['payment', stack.payment],
    ['antaeus', stack.antaeus],
  ]) {
    child.once('exit', (code, signal) => void shutdown(`${name} exited (${code ?? signal})`, 1));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    if (err instanceof Refusal) {
      console.error(`npm start refused: ${err.message}`);
      process.exit(2);
    }
    console.error(err.message);
    process.exit(1);
  });
}
