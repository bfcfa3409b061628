import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { migrate } from './migrations';

export type { Database };

export interface OpenOptions {
  busyTimeoutMs: number;
}

/**
 * Opens (creating if needed) the SQLite file and brings its schema up to date. WAL lets readers
 * run beside the one writer, and the busy timeout makes several processes sharing the file wait
 * for each other's short write transactions instead of failing.
 */
export function openDatabase(file: string, { busyTimeoutMs }: OpenOptions): Database {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new BetterSqlite3(file, { timeout: busyTimeoutMs });
  try {
    db.pragma('journal_mode = WAL');
    // In WAL mode NORMAL survives a process crash; only a power loss can drop the last commits.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
