import { closeSync, existsSync, fsyncSync, openSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DATABASE_FILE } from './storeDatabase';

export interface BackupSummary {
  readonly file: string;
  readonly bytes: number;
  readonly ms: number;
}

/**
 * Copies the embedded store's database under `dataDir` to `outFile`, online: `VACUUM INTO`
 * reads one consistent snapshot (a WAL read transaction) while the service keeps writing, and
 * writes a compact, self-contained database (no `-wal` beside it), then the copy is fsynced.
 * Runs from any process: the service's DATA_DIR lock is on `store.lock`, not on the database.
 *
 * Restore: stop the service, remove `store.sqlite-wal` and `store.sqlite-shm` from DATA_DIR,
 * copy the backup in as `store.sqlite`, start the service (docs/embedded-store.md).
 */
export function backupDatabase(dataDir: string, outFile: string): BackupSummary {
  const started = performance.now();
  const source = join(resolve(dataDir), DATABASE_FILE);
  const target = resolve(outFile);
  if (!existsSync(source)) {
    throw new Error(`${source} does not exist: is DATA_DIR right, and has the service run there at least once?`);
  }
  if (existsSync(target)) {
    throw new Error(`${target} already exists; choose a new file (a backup never overwrites)`);
  }
  const db = new DatabaseSync(source, { readOnly: true, timeout: 5000 });
  try {
    db.prepare('VACUUM INTO ?').run(target);
  } finally {
    db.close();
  }
  fsyncPath(target);
  fsyncPath(dirname(target));
  const check = new DatabaseSync(target, { readOnly: true });
  try {
    const verdict = (check.prepare('PRAGMA quick_check').get() as { quick_check: string }).quick_check;
    if (verdict !== 'ok') {
      throw new Error(`the backup ${target} failed SQLite's quick_check: ${verdict}`);
    }
    const bytes = (check.prepare('SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()').get() as { n: number }).n;
    return { file: target, bytes, ms: performance.now() - started };
  } finally {
    check.close();
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
