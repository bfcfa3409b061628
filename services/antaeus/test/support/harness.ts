import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@internal/service-kit';
import { BillingEngine } from '../../src/billing/engine';
import { BillingStore } from '../../src/billing/store';
import { openDatabase, type Database } from '../../src/db/database';
import { seedIfEmpty } from '../../src/db/seed';
import { PaymentClient, type PaymentClientOptions } from '../../src/payment-client/client';

export function tempDatabaseFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'antaeus-test-'));
  return path.join(dir, 'antaeus.db');
}

export function pendingInvoiceIds(db: Database): number[] {
  return db
    .prepare(`SELECT id FROM invoices WHERE status = 'PENDING' ORDER BY id`)
    .pluck()
    .all() as number[];
}

export interface HarnessOptions extends Partial<Omit<PaymentClientOptions, 'endpoint'>> {
  endpoint: string;
  customers?: number;
  invoicesPerCustomer?: number;
  concurrency?: number;
  claimLeaseMs?: number;
  dbFile?: string;
}

export interface Harness {
  db: Database;
  dbFile: string;
  store: BillingStore;
  engine: BillingEngine;
  client: PaymentClient;
  /** The invoices PENDING before any run, the ones the invariant is about. */
  initiallyPending: number[];
  close(): void;
}

/** A billing engine on a real SQLite file and a real HTTP client, without the HTTP API. */
export function createHarness(options: HarnessOptions): Harness {
  const dbFile = options.dbFile ?? tempDatabaseFile();
  const db = openDatabase(dbFile, { busyTimeoutMs: 5_000 });
  seedIfEmpty(db, {
    customers: options.customers ?? 2,
    invoicesPerCustomer: options.invoicesPerCustomer ?? 5,
  });
  const concurrency = options.concurrency ?? 8;
  const client = new PaymentClient({
    timeoutMs: 1_000,
    maxRetries: 3,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    retryAfterMaxMs: 1_000,
    chargeBudgetMs: options.claimLeaseMs ?? 60_000,
    maxSockets: concurrency,
    ...options,
  });
  const store = new BillingStore(db);
  const engine = new BillingEngine({
    store,
    client,
    concurrency,
    claimLeaseMs: options.claimLeaseMs ?? 60_000,
    logger: createLogger('antaeus-test', 'silent'),
  });
  return {
    db,
    dbFile,
    store,
    engine,
    client,
    initiallyPending: pendingInvoiceIds(db),
    close() {
      client.close();
      db.close();
    },
  };
}
