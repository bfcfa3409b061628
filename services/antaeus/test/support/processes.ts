import fs from 'node:fs';
import path from 'node:path';
import {
  authUnlessTokens,
  freePort,
  repoRoot,
  startProcess,
  type ManagedProcess,
} from '@internal/test-kit';

function built(service: string, file: string): string {
  const script = path.join(repoRoot(), 'services', service, 'dist', file);
  if (!fs.existsSync(script)) {
    throw new Error(
      `${script} does not exist: build it with \`npx turbo run build --filter=${service}\``,
    );
  }
  return script;
}

export interface RunningService {
  process: ManagedProcess;
  port: number;
  baseUrl: string;
}

/** A service from its build, as `npm start` runs it, on a free loopback port. */
async function startBuilt(
  service: 'payment' | 'antaeus',
  env: Record<string, string>,
): Promise<RunningService> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const proc = await startProcess({
    command: process.execPath,
    args: [built(service, 'server.js')],
    env: {
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DRAIN_DELAY_MS: '0',
      ...authUnlessTokens(service, env),
      ...env,
    },
    readyUrl: `${baseUrl}/readyz`,
  });
  return { process: proc, port, baseUrl };
}

/** The real payment service. */
export const startPaymentService = (env: Record<string, string> = {}) => startBuilt('payment', env);

/** Antaeus itself. */
export const startAntaeus = (env: Record<string, string>) => startBuilt('antaeus', env);

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function pay(baseUrl: string): Promise<boolean> {
  const res = await fetch(`${baseUrl}/rest/v1/invoices/pay`, { method: 'POST' });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`pay: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as boolean;
}

export async function paidCount(baseUrl: string): Promise<number> {
  const invoices = await getJson<Array<{ status: string }>>(`${baseUrl}/rest/v1/invoices`);
  return invoices.filter((i) => i.status === 'PAID').length;
}

export { built };
