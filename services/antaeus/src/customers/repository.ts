import type { Database, Statement } from 'better-sqlite3';
import type { Currency } from '../money';

export interface Customer {
  id: number;
  currency: Currency;
}

export class CustomerRepository {
  private readonly all: Statement<[], Customer>;
  private readonly byId: Statement<[number], Customer>;

  constructor(db: Database) {
    this.all = db.prepare('SELECT id, currency FROM customers ORDER BY id');
    this.byId = db.prepare('SELECT id, currency FROM customers WHERE id = ?');
  }

  list(): Customer[] {
    return this.all.all();
  }

  find(id: number): Customer | undefined {
    return this.byId.get(id);
  }
}
