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

/**
 * The original's data set: currencies rotate over customers, each customer's invoices are in its
 * currency with amounts between 10.00 and 500.00, and the first invoice of each customer is PAID.
 */
function insertSeed(db: Database, { customers, invoicesPerCustomer }: SeedOptions): void {
  const random = seededRandom(SEED);
  const insertCustomer = db.prepare('INSERT INTO customers (id, currency) VALUES (?, ?)');
  const insertInvoice = db.prepare(
    'INSERT INTO invoices (customer_id, amount_minor, currency, status) VALUES (?, ?, ?, ?)',
  );
  for (let customerId = 1; customerId <= customers; customerId += 1) {
    const currency = CURRENCIES[(customerId - 1) % CURRENCIES.length];
    insertCustomer.run(customerId, currency);
    for (let n = 0; n < invoicesPerCustomer; n += 1) {
      const amount =
        MIN_AMOUNT_MINOR + Math.floor(random() * (MAX_AMOUNT_MINOR - MIN_AMOUNT_MINOR + 1));
      insertInvoice.run(customerId, amount, currency, n === 0 ? 'PAID' : 'PENDING');
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
