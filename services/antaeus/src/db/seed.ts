import type { Database } from 'better-sqlite3';
import { CURRENCIES } from '../money';

export interface SeedOptions {
  customers: number;
  invoicesPerCustomer: number;
}

const MIN_AMOUNT_MINOR = 10_00;
const MAX_AMOUNT_MINOR = 500_00;
const SEED = 0x5eed;

/** mulberry32: a tiny deterministic generator, so the same seed settings give the same data. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Rows per INSERT statement: a million invoices take 10,000 statements, not a million. */
const ROWS_PER_INSERT = 100;

/**
 * Inserts rows of `columns` values through multi-row INSERT statements of up to
 * ROWS_PER_INSERT rows (the caller's transaction makes it one commit). Values are flattened
 * row after row, so the rows keep their order (and invoices their autoincrement ids).
 */
function bulkInsert(
  db: Database,
  sql: string,
  columns: number,
  values: Array<string | number>,
): void {
  const row = `(${new Array<string>(columns).fill('?').join(', ')})`;
  const statement = (rows: number) =>
    db.prepare(`${sql} VALUES ${new Array<string>(rows).fill(row).join(', ')}`);
  const full = statement(ROWS_PER_INSERT);
  const perStatement = ROWS_PER_INSERT * columns;
  let offset = 0;
  for (; offset + perStatement <= values.length; offset += perStatement) {
    full.run(values.slice(offset, offset + perStatement));
  }
  if (offset < values.length)
    statement((values.length - offset) / columns).run(values.slice(offset));
}

/**
 * The original's data set: currencies rotate over customers, each customer's invoices are in its
 * currency with amounts between 10.00 and 500.00, and the first invoice of each customer is PAID.
 */
function insertSeed(db: Database, { customers, invoicesPerCustomer }: SeedOptions): void {
  const random = seededRandom(SEED);
  const customerValues: Array<string | number> = [];
  const invoiceValues: Array<string | number> = [];
  for (let customerId = 1; customerId <= customers; customerId += 1) {
    const currency = CURRENCIES[(customerId - 1) % CURRENCIES.length]!;
    customerValues.push(customerId, currency);
    for (let n = 0; n < invoicesPerCustomer; n += 1) {
      const amount =
        MIN_AMOUNT_MINOR + Math.floor(random() * (MAX_AMOUNT_MINOR - MIN_AMOUNT_MINOR + 1));
      invoiceValues.push(customerId, amount, currency, n === 0 ? 'PAID' : 'PENDING');
    }
    // Bounded memory for a large seed: flush whole customers once enough rows have gathered.
    if (invoiceValues.length >= 40_000 || customerId === customers) {
      bulkInsert(db, 'INSERT INTO customers (id, currency)', 2, customerValues.splice(0));
      bulkInsert(
        db,
        'INSERT INTO invoices (customer_id, amount_minor, currency, status)',
        4,
        invoiceValues.splice(0),
      );
    }
  }
}

/** Seeds a database that has no customers yet; returns whether it did. */
export function seedIfEmpty(db: Database, options: SeedOptions): boolean {
  return db
    .transaction(() => {
      const { count } = db.prepare('SELECT COUNT(*) AS count FROM customers').get() as {
        count: number;
      };
      if (count > 0) return false;
      insertSeed(db, options);
      return true;
    })
    .immediate();
}

/** The original's behaviour on every start: drop all data and insert a fresh seed. */
export function wipeAndReseed(db: Database, options: SeedOptions): void {
  db.transaction(() => {
    db.exec(`
      DELETE FROM charge_attempts;
      DELETE FROM billing_runs;
      DELETE FROM invoices;
      DELETE FROM customers;
      DELETE FROM sqlite_sequence WHERE name = 'charge_attempts';
    `);
    insertSeed(db, options);
  }).immediate();
}
