import { DatabaseSync } from 'node:sqlite';
import { join, resolve } from 'node:path';

/** A small SQLite database in DATA_DIR whose exclusive lock the open store holds. */
export const LOCK_FILE = 'store.lock';

/** Another process (or another store in this one) has the data directory open. */
export class DataDirLockedError extends Error {
  constructor(readonly dataDir: string) {
    super(
      `DATA_DIR ${dataDir} is already in use by another process: it holds the lock on ${join(dataDir, LOCK_FILE)}. ` +
        'Only one process may open a DATA_DIR; stop the other one first (the operating system releases the lock when it ends, even after kill -9).'
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  release(): void;
}

/**
 * Takes the DATA_DIR lock: an exclusive SQLite (POSIX) lock on `store.lock`, held by an open
 * connection until release. Unlike a pid file it can never go stale: the kernel drops it when
 * the process ends however it ends. The database itself is not locked exclusively, so
 * `hip-triage backup` can read it from another process while the service writes.
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  const db = new DatabaseSync(join(dir, LOCK_FILE), { timeout: 0 });
  try {
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    // What the lock file holds does not matter: no rollback journal beside it.
    db.exec('PRAGMA journal_mode = MEMORY');
    // The first write takes the exclusive lock; EXCLUSIVE mode keeps it until the connection closes.
    db.exec('BEGIN EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since TEXT NOT NULL)');
    db.exec('DELETE FROM holder');
    db.prepare('INSERT INTO holder (pid, since) VALUES (?, ?)').run(process.pid, new Date().toISOString());
    db.exec('COMMIT');
  } catch (err) {
    db.close();
    if (isBusy(err)) {
      throw new DataDirLockedError(dir);
    }
    throw err;
  }
  return {
    release: () => {
      if (db.isOpen) {
        db.close();
      }
    },
  };
}

/** SQLITE_BUSY (5) or SQLITE_LOCKED (6): another connection holds the lock. */
export function isBusy(err: unknown): boolean {
  const code = (err as { errcode?: number }).errcode;
  return code !== undefined && (code & 0xff) === 5 || (code !== undefined && (code & 0xff) === 6);
}
