import http from 'node:http';
import type { Stack } from './stack';

interface Invoice {
  id: number;
  status: 'PAID' | 'PENDING';
}

interface LedgerEntry {
  id: string;
  result: boolean;
  invoice_id: number | null;
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function mapLimited<T, R>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const ledgerAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function getJson<T>(url: string, headers: Record<string, string>): Promise<T> {
  return new Promise((resolve, reject) => {
    http
      .get(
        url,
        { agent: ledgerAgent, headers: { accept: 'application/json', ...headers } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            if (res.statusCode !== 200)
              reject(new Error(`GET ${url}: HTTP ${res.statusCode} ${text}`));
            else resolve(JSON.parse(text) as T);
          });
        },
      )
      .on('error', reject);
  });
}

/** Invoice statuses as Antaeus reports them. */
export async function invoiceStatuses(stack: Stack): Promise<Map<number, Invoice['status']>> {
  const { status, body } = await stack.callAntaeus<Invoice[]>('GET', '/rest/v1/invoices');
  if (status !== 200) throw new Error(`GET /rest/v1/invoices answered ${status}`);
  return new Map(body.map((invoice) => [invoice.id, invoice.status]));
}

/**
 * Approved decisions per invoice, from the provider's own ledger (read through one payment
 * replica's API, which serves the Redis ledger every replica writes).
 */
export async function providerApprovals(
  stack: Stack,
  invoiceIds: number[],
  headers: Record<string, string> = {},
): Promise<Map<number, number>> {
  const base = stack.paymentUrl(0);
  const counts = await mapLimited(invoiceIds, 8, async (id) => {
    const body = await getJson<LedgerEntry[] | { charges: LedgerEntry[] }>(
      `${base}/v1/charges?invoice_id=${id}`,
      headers,
    );
    const entries = Array.isArray(body) ? body : body.charges;
    return entries.filter((e) => e.result).length;
  });
  return new Map(invoiceIds.map((id, i) => [id, counts[i]!]));
}

/**
 * The money invariants, as a list of breaches (empty when they hold): every invoice PAID by a
 * billing run has exactly one approved decision at the provider, and no invoice still PENDING
 * has one. `paidAtStart` were seeded PAID and must have none.
 */
export async function ledgerBreaches(
  stack: Stack,
  paidAtStart: Set<number>,
  headers: Record<string, string> = {},
): Promise<string[]> {
  const statuses = await invoiceStatuses(stack);
  const approvals = await providerApprovals(stack, [...statuses.keys()], headers);
  const breaches: string[] = [];
  for (const [id, status] of statuses) {
    const approved = approvals.get(id) ?? 0;
    const expected = status === 'PAID' && !paidAtStart.has(id) ? 1 : 0;
    if (approved !== expected) {
      breaches.push(
        `invoice ${id} is ${status}${paidAtStart.has(id) ? ' (seeded)' : ''} with ${approved} approved decisions at the provider`,
      );
    }
  }
  return breaches;
}
