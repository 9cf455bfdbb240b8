import { readFileSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { join, resolve } from 'node:path';

/** A small SQLite database in DATA_DIR whose exclusive lock the open store holds. */
export const LOCK_FILE = 'store.lock';
/** The pid of the lock's holder, for the refusal message only (the lock never depends on it). */
export const PID_FILE = 'store.pid';

/** Another process (or another store in this one) has the data directory open. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number | undefined
  ) {
    super(
      `DATA_DIR ${dataDir} is already in use by ${pid === undefined ? 'another process' : `process ${pid}`}; only one process may open it. ` +
        `It holds the lock on ${join(dataDir, LOCK_FILE)}, which the operating system releases when that process ends (even after kill -9).`
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
    writeFileSync(join(dir, PID_FILE), `${process.pid}\n`, { mode: 0o600 });
  } catch (err) {
    db.close();
    if (isBusy(err)) {
      throw new DataDirLockedError(dir, holderPid(dir));
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

function holderPid(dir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(dir, PID_FILE), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** SQLITE_BUSY (5) or SQLITE_LOCKED (6): another connection holds the lock. */
export function isBusy(err: unknown): boolean {
  const code = (err as { errcode?: number }).errcode;
  return code !== undefined && ((code & 0xff) === 5 || (code & 0xff) === 6);
}
