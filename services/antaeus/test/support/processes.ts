import { authUnlessTokens, startBuiltService, type RunningService } from '@internal/test-kit';

export type { RunningService };

/** A service from its build, quiet and without a drain delay, on a free loopback port. */
function startBuilt(
  service: 'payment' | 'antaeus',
  env: Record<string, string>,
): Promise<RunningService> {
  return startBuiltService(service, {
    LOG_LEVEL: 'warn',
    DRAIN_DELAY_MS: '0',
    ...authUnlessTokens(service, env),
    ...env,
  });
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
