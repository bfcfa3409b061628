import { openDatabase, type Database } from '../src/db/database';
import { seedIfEmpty } from '../src/db/seed';
import { tempDatabaseFile } from './support/harness';

function seeded(customers: number, invoicesPerCustomer: number): Database {
  const db = openDatabase(tempDatabaseFile(), { busyTimeoutMs: 5_000 });
  expect(seedIfEmpty(db, { customers, invoicesPerCustomer })).toBe(true);
  return db;
}

type Row = {
  id: number;
  customerId: number;
  amountMinor: number;
  currency: string;
  status: string;
};
const rows = (db: Database) =>
  db
    .prepare(
      'SELECT id, customer_id AS customerId, amount_minor AS amountMinor, currency, status FROM invoices ORDER BY id',
    )
    .all() as Row[];

describe('seeding', () => {
  // Spans several multi-row statements, a partial last one, and more than one flush of rows.
  test('inserts every customer’s invoices in order, ids contiguous, the same data every time', () => {
    const customers = 450;
    const perCustomer = 101;
    const first = seeded(customers, perCustomer);
    const second = seeded(customers, perCustomer);
    try {
      const invoices = rows(first);
      expect(invoices).toHaveLength(customers * perCustomer);
      expect(rows(second)).toEqual(invoices);
      const currencies = new Map(
        (
          first.prepare('SELECT id, currency FROM customers ORDER BY id').all() as Array<{
            id: number;
            currency: string;
          }>
        ).map((c) => [c.id, c.currency]),
      );
      expect([...currencies.keys()]).toEqual(Array.from({ length: customers }, (_, i) => i + 1));
      // Checked without an expect() per row, which would take seconds for 45,450 rows.
      const wrong = invoices.filter(
        (invoice, index) =>
          invoice.id !== index + 1 ||
          invoice.customerId !== Math.floor(index / perCustomer) + 1 ||
          invoice.currency !== currencies.get(invoice.customerId) ||
          invoice.status !== (index % perCustomer === 0 ? 'PAID' : 'PENDING') ||
          invoice.amountMinor < 10_00 ||
          invoice.amountMinor > 500_00,
      );
      expect(wrong).toEqual([]);
    } finally {
      first.close();
      second.close();
    }
  });

  test('the default seed: 2 customers, 5 invoices each, the first of each PAID; customers without invoices too', () => {
    const db = seeded(2, 5);
    const empty = seeded(3, 0);
    try {
      expect(rows(db).map((r) => `${r.customerId}:${r.status}`)).toEqual([
        '1:PAID',
        '1:PENDING',
        '1:PENDING',
        '1:PENDING',
        '1:PENDING',
        '2:PAID',
        '2:PENDING',
        '2:PENDING',
        '2:PENDING',
        '2:PENDING',
      ]);
      expect(empty.prepare('SELECT COUNT(*) FROM customers').pluck().get()).toBe(3);
      expect(rows(empty)).toEqual([]);
    } finally {
      db.close();
      empty.close();
    }
  });
});
