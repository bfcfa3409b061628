import { DeliveryError, UsageError } from './errors';

/** A failed check: printed as `smoke: FAIL: <message>`, exit code 1. */
export class SmokeFailure extends DeliveryError {
  constructor(message: string) {
    super(`smoke: FAIL: ${message}`);
    this.name = 'SmokeFailure';
  }
}

export interface SmokeOptions {
  baseUrl: string;
  timeoutSeconds: number;
  /** A bearer token from Antaeus's API tokens, needed by a deployed one for the pay call. */
  token?: string;
  log: (line: string) => void;
}

export function smokeOptions(
  url: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): SmokeOptions {
  if (!/^https?:\/\/[^/\s]+(\/\S*)?$/.test(url))
    throw new UsageError(`'${url}' is not an http:// or https:// URL`);
  const timeout = env.SMOKE_TIMEOUT_SECONDS ?? '120';
  if (!/^[1-9][0-9]*$/.test(timeout))
    throw new UsageError(`SMOKE_TIMEOUT_SECONDS must be a positive integer, got '${timeout}'`);
  return {
    baseUrl: url.replace(/\/$/, ''),
    timeoutSeconds: Number(timeout),
    token: env.ANTAEUS_TOKEN || undefined,
    log,
  };
}

interface Distribution {
  paid: number;
  pending: number;
  total: number;
}

/** Counts PAID and PENDING invoices, failing on anything that is not a list of those two. */
export function distribution(invoices: unknown): Distribution {
  const invalid =
    'GET /rest/v1/invoices returned something other than a list of PAID/PENDING invoices';
  if (!Array.isArray(invoices)) throw new SmokeFailure(invalid);
  const statuses = invoices.map((invoice) => (invoice as { status?: unknown } | null)?.status);
  if (statuses.some((status) => status !== 'PAID' && status !== 'PENDING'))
    throw new SmokeFailure(invalid);
  const paid = statuses.filter((status) => status === 'PAID').length;
  return { paid, pending: statuses.length - paid, total: statuses.length };
}

async function call(options: SmokeOptions, method: string, path: string): Promise<unknown> {
  const url = `${options.baseUrl}${path}`;
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let response: Response;
  let body: string;
  try {
    response = await fetch(url, {
      method,
      headers,
      signal: AbortSignal.timeout(options.timeoutSeconds * 1000),
    });
    body = await response.text();
  } catch {
    throw new SmokeFailure(`${method} ${url}: no answer`);
  }
  if (response.status === 401)
    throw new SmokeFailure(
      `${method} ${url} answered HTTP 401: set ANTAEUS_TOKEN to one of Antaeus's ANTAEUS_API_TOKENS (${body})`,
    );
  if (response.status !== 200)
    throw new SmokeFailure(`${method} ${url} answered HTTP ${response.status}: ${body}`);
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new SmokeFailure(`${method} ${url} answered ${body}, which is not JSON`);
  }
}

/**
 * The reviewer's check against any running Antaeus: health, customers, invoices, one pay call,
 * and the PAID/PENDING distribution before and after it.
 */
export async function smoke(options: SmokeOptions): Promise<void> {
  const { log } = options;
  const health = await call(options, 'GET', '/rest/health');
  if (health !== 'ok')
    throw new SmokeFailure(`GET /rest/health answered ${JSON.stringify(health)}, expected "ok"`);
  log('health: ok');

  const customers = await call(options, 'GET', '/rest/v1/customers');
  if (!Array.isArray(customers) || customers.length === 0)
    throw new SmokeFailure('GET /rest/v1/customers returned no customers');
  log(`customers: ${customers.length}`);

  const before = distribution(await call(options, 'GET', '/rest/v1/invoices'));
  if (before.total === 0) throw new SmokeFailure('there are no invoices to bill');
  log(`before: PAID ${before.paid}, PENDING ${before.pending} of ${before.total} invoices`);

  const paid = await call(options, 'POST', '/rest/v1/invoices/pay');
  if (typeof paid !== 'boolean')
    throw new SmokeFailure(
      `POST /rest/v1/invoices/pay answered ${JSON.stringify(paid)}, expected true or false`,
    );
  log(`pay: ${paid}`);

  const after = distribution(await call(options, 'GET', '/rest/v1/invoices'));
  log(`after: PAID ${after.paid}, PENDING ${after.pending} of ${after.total} invoices`);
  checkPayOutcome(before, after, paid);
  log(
    `smoke: OK: ${after.paid - before.paid} of ${before.pending} pending invoices paid (${after.paid} of ${after.total} PAID)`,
  );
}

/** What one pay call may have done to the distribution, given its answer. */
export function checkPayOutcome(before: Distribution, after: Distribution, paid: boolean): void {
  if (after.total !== before.total)
    throw new SmokeFailure(
      `the pay call changed the number of invoices (${before.total} -> ${after.total})`,
    );
  if (after.paid < before.paid)
    throw new SmokeFailure(
      `invoices went from PAID back to PENDING (${before.paid} -> ${after.paid} paid)`,
    );
  if (paid && after.pending !== 0)
    throw new SmokeFailure(`pay answered true, but ${after.pending} invoices are still PENDING`);
  if (!paid && after.pending === 0)
    throw new SmokeFailure('pay answered false, but no invoice is PENDING');
  // At the default 50% approval rate, all of N pending charges are declined with probability
  // 0.5^N (1 in 256 for the default 8): treated as a broken payment path, not bad luck.
  if (before.pending > 0 && after.paid === before.paid)
    throw new SmokeFailure(
      `none of the ${before.pending} pending invoices got paid: is the provider Antaeus charges through (PAYMENT_PROVIDER_ENDPOINT) reachable and approving?`,
    );
}
