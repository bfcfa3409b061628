import type { Database, Statement } from 'better-sqlite3';
import type { Currency } from '../money';

export interface Customer {
  id: number;
  currency: Currency;
}

export class CustomerRepository {
  private readonly page: Statement<[number, number], Customer>;
  private readonly byId: Statement<[number], Customer>;

  constructor(db: Database) {
    this.page = db.prepare('SELECT id, currency FROM customers WHERE id > ? ORDER BY id LIMIT ?');
    this.byId = db.prepare('SELECT id, currency FROM customers WHERE id = ?');
  }

  /** Customers with an id above `after`, in id order, at most `limit`. */
  readonly list = (after: number, limit: number): IterableIterator<Customer> =>
    this.page.iterate(after, limit);

  find(id: number): Customer | undefined {
    return this.byId.get(id);
  }
}
