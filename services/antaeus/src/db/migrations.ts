import type { Database } from 'better-sqlite3';

/**
 * Ordered schema changes. Each runs once, in a transaction, and is recorded in
 * `PRAGMA user_version`, so a database written by an older build is brought forward at startup.
 * Append new steps; never edit a released one.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    currency TEXT NOT NULL CHECK (currency IN ('EUR', 'USD', 'DKK', 'SEK', 'GBP'))
  );

  CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL CHECK (currency IN ('EUR', 'USD', 'DKK', 'SEK', 'GBP')),
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'PAID')),
    -- The billing run charging this invoice right now, and until when its claim holds.
    claimed_by TEXT,
    claim_expires_at INTEGER
  );
  CREATE INDEX invoices_by_status ON invoices (status, id);

  CREATE TABLE billing_runs (
    id TEXT PRIMARY KEY,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'interrupted')),
    concurrency INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    -- Renewed while the run makes progress; a 'running' run past it died with its process.
    lease_expires_at INTEGER NOT NULL,
    pending INTEGER NOT NULL,
    attempted INTEGER NOT NULL DEFAULT 0,
    paid INTEGER NOT NULL DEFAULT 0,
    declined INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX billing_runs_by_start ON billing_runs (started_at);

  CREATE TABLE charge_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id INTEGER NOT NULL REFERENCES invoices (id),
    billing_run_id TEXT NOT NULL REFERENCES billing_runs (id),
    idempotency_key TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    outcome TEXT NOT NULL CHECK (outcome IN ('in_flight', 'approved', 'declined', 'rejected', 'unknown')),
    requests INTEGER NOT NULL DEFAULT 0,
    provider_charge_id TEXT,
    error TEXT
  );
  CREATE INDEX charge_attempts_by_invoice ON charge_attempts (invoice_id, id);
  `,
];

export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${current} is newer than this build knows (${MIGRATIONS.length}); refusing to run an older Antaeus against it`,
    );
  }
  MIGRATIONS.slice(current).forEach((sql, offset) => {
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${current + offset + 1}`);
    }).immediate();
  });
}
