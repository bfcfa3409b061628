#!/usr/bin/env node
// `npm run demo`: the invoice distribution before and after one pay call, on a fresh stack.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LOCAL_MODE_NOTICE, startStack } from './local-stack.mjs';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function getJson(url, init) {
  const res = await fetch(url, init);
  if (!res.ok)
    throw new Error(`${init?.method ?? 'GET'} ${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

function distribution(invoices) {
  const counts = { PAID: 0, PENDING: 0 };
  for (const invoice of invoices) counts[invoice.status] += 1;
  const marks = invoices.map((i) => (i.status === 'PAID' ? '#' : '.')).join('');
  return `PAID ${counts.PAID} / PENDING ${counts.PENDING} of ${invoices.length}   ${marks}`;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'antaeus-demo-'));
const stack = await startStack({
  paymentPort: await freePort(),
  antaeusPort: await freePort(),
  paymentEnv: {
    LOG_LEVEL: 'warn',
    PAYMENT_SUCCESS_RATE: process.env.PAYMENT_SUCCESS_RATE ?? '0.5',
  },
  antaeusEnv: { LOG_LEVEL: 'warn', DATABASE_PATH: path.join(dir, 'antaeus.db') },
});
console.log(LOCAL_MODE_NOTICE);
let exitCode = 0;
try {
  const api = `${stack.antaeusUrl.replace('localhost', '127.0.0.1')}/rest/v1`;
  console.log(`before: ${distribution(await getJson(`${api}/invoices`))}`);
  const res = await fetch(`${api}/invoices/pay`, { method: 'POST' });
  const answer = await res.text();
  const runId = res.headers.get('x-billing-run-id');
  console.log(`POST /rest/v1/invoices/pay -> ${res.status} ${answer}`);
  console.log(`after:  ${distribution(await getJson(`${api}/invoices`))}`);
  const run = await getJson(`${api}/billing-runs/${runId}`);
  console.log(
    `billing run ${run.id}: attempted ${run.attempted}, paid ${run.paid}, declined ${run.declined}, failed ${run.failed}, skipped ${run.skipped}`,
  );
} catch (err) {
  console.error(err.message);
  exitCode = 1;
} finally {
  await stack.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);
