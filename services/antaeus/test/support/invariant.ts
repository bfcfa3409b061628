import BetterSqlite3 from 'better-sqlite3';

export interface ProviderLedger {
  /** Approved charges the provider holds for an invoice. */
  approvals(invoiceId: number): number;
  /** Every idempotency key the provider received for an invoice, when it can tell. */
  keysSeen?(invoiceId: number): Iterable<string>;
}

export interface InvariantOptions {
  /**
   * Between runs, an approval whose answer never arrived leaves its invoice PENDING with the
   * attempt's outcome unknown: allowed here, provided the next run will replay that very key.
   */
  allowUnresolvedApprovals?: boolean;
}

interface Row {
  id: number;
  status: string;
}

/**
 * The billing invariant, as a list of violations (empty when it holds): each PAID invoice has
 * exactly one approved charge at the provider, each PENDING one has none, every key the
 * provider saw is in the invoice's attempt history, and, once runs are over, no attempt is left
 * in flight and every approval the provider made is recorded as approved.
 */
export function invariantViolations(
  dbFile: string,
  invoiceIds: number[],
  ledger: ProviderLedger,
  { allowUnresolvedApprovals = false }: InvariantOptions = {},
): string[] {
  const db = new BetterSqlite3(dbFile, { readonly: true, fileMustExist: true });
  try {
    const invoice = db.prepare('SELECT id, status FROM invoices WHERE id = ?');
    const attempts = db.prepare(
      'SELECT idempotency_key AS key, outcome FROM charge_attempts WHERE invoice_id = ?',
    );
    const violations: string[] = [];
    for (const id of invoiceIds) {
      const row = invoice.get(id) as Row | undefined;
      if (!row) {
        violations.push(`invoice ${id} disappeared`);
        continue;
      }
      const approvals = ledger.approvals(id);
      const history = attempts.all(id) as Array<{ key: string; outcome: string }>;
      const unresolved = allowUnresolvedApprovals && history.at(-1)?.outcome === 'unknown';
      const expected = row.status === 'PAID' || (unresolved && approvals === 1) ? 1 : 0;
      if (approvals !== expected) {
        violations.push(
          `invoice ${id} is ${row.status} but the provider approved ${approvals} charges`,
        );
      }
      const recordedKeys = new Set(history.map((a) => a.key));
      for (const key of ledger.keysSeen?.(id) ?? []) {
        if (!recordedKeys.has(key))
          violations.push(
            `invoice ${id}: key ${key} reached the provider but is not in the history`,
          );
      }
      if (history.some((a) => a.outcome === 'in_flight'))
        violations.push(`invoice ${id}: an attempt is still in flight`);
      if (row.status === 'PAID' && !history.some((a) => a.outcome === 'approved')) {
        violations.push(`invoice ${id} is PAID without an approved attempt in its history`);
      }
    }
    return violations;
  } finally {
    db.close();
  }
}
