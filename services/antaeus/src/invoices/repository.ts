import type { Database, Statement } from 'better-sqlite3';
import { formatMinorUnits, type Currency } from '../money';

export type InvoiceStatus = 'PENDING' | 'PAID';

export interface Invoice {
  id: number;
  customerId: number;
  amountMinor: number;
  currency: Currency;
  status: InvoiceStatus;
}

const COLUMNS =
  'id, customer_id AS customerId, amount_minor AS amountMinor, currency, status FROM invoices';

export class InvoiceRepository {
  private readonly page: Statement<[number, number], Invoice>;
  private readonly byId: Statement<[number], Invoice>;

  constructor(db: Database) {
    this.page = db.prepare(`SELECT ${COLUMNS} WHERE id > ? ORDER BY id LIMIT ?`);
    this.byId = db.prepare(`SELECT ${COLUMNS} WHERE id = ?`);
  }

  /** Invoices with an id above `after`, in id order, at most `limit`. */
  readonly list = (after: number, limit: number): IterableIterator<Invoice> =>
    this.page.iterate(after, limit);

  find(id: number): Invoice | undefined {
    return this.byId.get(id);
  }
}

/**
 * The original's JSON shape. Written by hand because `value` must keep two decimal places
 * (12.50, not 12.5), which JSON.stringify of a number cannot do; every other field is an
 * integer or a fixed enum word, so nothing here needs escaping.
 */
export function invoiceJson(invoice: Invoice): string {
  return (
    `{"id":${invoice.id},"customerId":${invoice.customerId},` +
    `"amount":{"value":${formatMinorUnits(invoice.amountMinor)},"currency":"${invoice.currency}"},` +
    `"status":"${invoice.status}"}`
  );
}
