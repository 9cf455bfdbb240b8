import type { WithId } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { SQLInputValue, StatementSync } from 'node:sqlite';
import { DatabaseSync } from 'node:sqlite';
import { transientError } from './outcomes';
import { SEARCH_INDEX_SIGNATURE, searchDatesOf, searchKeysOf } from './searchKeys';

/** The database file inside DATA_DIR (with SQLite's `-wal` and `-shm` beside it while open). */
export const DATABASE_FILE = 'store.sqlite';

const SCHEMA_VERSION = 1;
const SEARCH_INDEX_KEY = 'search-index';

/**
 * `resource` holds one row per live resource and points at its current version; every version
 * ever written stays in `resource_version` (a delete adds a row without content), so `vread`
 * and `_history` survive restarts and backups. `seq` is the order resources were created in,
 * which unsorted searches follow (as MemoryRepository's Map did).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS resource_version (
  vseq INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  version_id TEXT NOT NULL,
  content TEXT
);
CREATE INDEX IF NOT EXISTS resource_version_by_id ON resource_version (type, id, vseq);
CREATE TABLE IF NOT EXISTS resource (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  vseq INTEGER NOT NULL REFERENCES resource_version (vseq),
  last_updated INTEGER NOT NULL,
  UNIQUE (type, id)
);
CREATE INDEX IF NOT EXISTS resource_by_last_updated ON resource (type, last_updated);
CREATE TABLE IF NOT EXISTS search_key (
  type TEXT NOT NULL,
  code TEXT NOT NULL,
  key TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (type, code, key, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_date (
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  code TEXT NOT NULL,
  low INTEGER NOT NULL,
  high INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS search_date_by_code ON search_date (type, code, high);
CREATE INDEX IF NOT EXISTS search_date_by_seq ON search_date (seq);
CREATE TABLE IF NOT EXISTS store_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

/** One committed write, as a listener sees it: identity only. */
export interface CommittedChange {
  readonly op: 'put' | 'delete';
  readonly resourceType: string;
  readonly id: string;
}

/** The stored current version of a resource, with its position. */
export interface StoredRow {
  readonly seq: number;
  readonly content: string;
}

/**
 * One SQLite connection with the store's schema and statements, and its transactions.
 *
 * `synchronous = FULL` in WAL mode: each COMMIT fsyncs the WAL before it returns, so a write
 * is on stable storage before the store answers, even across a power cut. (NORMAL would
 * survive `kill -9` too, the WAL being in the page cache, but could lose the last commits to a
 * power cut after they were acknowledged.)
 *
 * The connection is synchronous; callers must not interleave two requests' transactions on
 * it (the store runs requests that span awaits one at a time).
 */
export class StoreDatabase {
  private readonly statements = new Map<string, StatementSync>();
  private depth = 0;
  private savepoints = 0;
  private changes: CommittedChange[] = [];

  private constructor(readonly db: DatabaseSync) {}

  /** Opens (creating if needed) the database at `path`, or an in-memory one for `:memory:`. */
  static open(path: string): StoreDatabase {
    const db = new DatabaseSync(path, { timeout: 0 });
    try {
      if (path !== ':memory:') {
        db.exec('PRAGMA journal_mode = WAL');
        db.exec('PRAGMA synchronous = FULL');
      }
      db.exec('PRAGMA foreign_keys = OFF');
      // 32 MB of page cache (the default is 2 MB): the search tables' B-trees are written at
      // random places (keys hold random ids), and a miss costs a read from the OS.
      db.exec('PRAGMA cache_size = -32768');
      db.exec('PRAGMA temp_store = MEMORY');
      const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
      if (version > SCHEMA_VERSION) {
        throw new Error(`${path} was written by a newer version of this service (schema ${version}); refusing to open it`);
      }
      db.exec('BEGIN IMMEDIATE');
      db.exec(SCHEMA);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      db.exec('COMMIT');
      const database = new StoreDatabase(db);
      if (database.readMeta(SEARCH_INDEX_KEY) !== SEARCH_INDEX_SIGNATURE) {
        database.rebuildSearchTables();
      }
      return database;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  get inTransaction(): boolean {
    return this.db.isTransaction;
  }

  /** A cached prepared statement. */
  statement(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Runs `work` all-or-nothing: the outermost call is one `BEGIN IMMEDIATE … COMMIT`, a nested
   * call a savepoint (a nested failure rolls back to its own start, so an outer caller that
   * catches it sees a consistent store). Returns the result and, for the outermost call, the
   * changes it committed.
   */
  async transaction<T>(work: () => Promise<T> | T): Promise<T> {
    if (this.depth > 0) {
      return this.savepoint(work);
    }
    this.db.exec('BEGIN IMMEDIATE');
    this.depth = 1;
    this.changes = [];
    let result: T;
    try {
      result = await work();
    } catch (err) {
      this.depth = 0;
      this.rollback();
      throw err;
    }
    this.depth = 0;
    try {
      this.db.exec('COMMIT');
    } catch (err) {
      this.rollback();
      throw transientError('The embedded FHIR store could not commit the write (disk full or failing?)', err);
    }
    return result;
  }

  /**
   * Opens a transaction that several requests' `transaction()` calls then join as savepoints,
   * each rolled back alone if it fails (group commit: one COMMIT, one fsync, for all of them).
   */
  beginGroup(): void {
    this.db.exec('BEGIN IMMEDIATE');
    this.depth = 1;
    this.changes = [];
  }

  /** Commits the group and returns its changes; on failure rolls it all back and throws a transient error. */
  commitGroup(): CommittedChange[] {
    this.depth = 0;
    try {
      this.db.exec('COMMIT');
    } catch (err) {
      this.rollback();
      throw transientError('The embedded FHIR store could not commit the write (disk full or failing?)', err);
    }
    return this.takeCommitted();
  }

  /** The changes of the last committed outermost transaction (then forgotten). */
  takeCommitted(): CommittedChange[] {
    const changes = this.changes;
    this.changes = [];
    return changes;
  }

  private async savepoint<T>(work: () => Promise<T> | T): Promise<T> {
    const name = `sp${++this.savepoints}`;
    const changesBefore = this.changes.length;
    this.db.exec(`SAVEPOINT ${name}`);
    this.depth++;
    try {
      const result = await work();
      this.db.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      this.db.exec(`ROLLBACK TO ${name}`);
      this.db.exec(`RELEASE ${name}`);
      this.changes.length = changesBefore;
      throw err;
    } finally {
      this.depth--;
    }
  }

  private rollback(): void {
    this.changes = [];
    if (this.db.isTransaction) {
      this.db.exec('ROLLBACK');
    }
  }

  /** Writes a write outside any transaction is refused: every change belongs to one. */
  private assertInTransaction(): void {
    if (this.depth === 0) {
      throw new Error('StoreDatabase: a write outside a transaction');
    }
  }

  readCurrent(resourceType: string, id: string): StoredRow | undefined {
    return this.statement(
      'SELECT r.seq AS seq, v.content AS content FROM resource r JOIN resource_version v ON v.vseq = r.vseq WHERE r.type = ? AND r.id = ?'
    ).get(resourceType, id) as StoredRow | undefined;
  }

  readVersion(resourceType: string, id: string, versionId: string): string | undefined {
    const row = this.statement('SELECT content FROM resource_version WHERE type = ? AND id = ? AND version_id = ? AND content IS NOT NULL').get(
      resourceType,
      id,
      versionId
    ) as { content: string } | undefined;
    return row?.content;
  }

  /** Versions newest first (deletes left out). */
  readHistory(resourceType: string, id: string, offset: number, limit: number): string[] {
    const rows = this.statement(
      'SELECT content FROM resource_version WHERE type = ? AND id = ? AND content IS NOT NULL ORDER BY vseq DESC LIMIT ? OFFSET ?'
    ).all(resourceType, id, limit, offset) as { content: string }[];
    return rows.map((row) => row.content);
  }

  /** Stores `resource` exactly as given (id, versionId and lastUpdated included) as the new current version. */
  put(resource: WithId<Resource>): void {
    this.assertInTransaction();
    const { resourceType, id } = resource;
    const versionId = resource.meta?.versionId ?? '';
    const lastUpdated = Date.parse(resource.meta?.lastUpdated ?? '');
    const previous = this.readCurrent(resourceType, id);
    const vseq = this.statement('INSERT INTO resource_version (type, id, version_id, content) VALUES (?, ?, ?, ?)').run(
      resourceType,
      id,
      versionId,
      JSON.stringify(resource)
    ).lastInsertRowid;
    const { seq } = this.statement(
      `INSERT INTO resource (type, id, vseq, last_updated) VALUES (?, ?, ?, ?)
       ON CONFLICT (type, id) DO UPDATE SET vseq = excluded.vseq, last_updated = excluded.last_updated RETURNING seq`
    ).get(resourceType, id, vseq, Number.isNaN(lastUpdated) ? 0 : lastUpdated) as { seq: number };
    if (previous) {
      this.unindex(seq, JSON.parse(previous.content) as WithId<Resource>);
    }
    const insertKey = this.statement('INSERT OR IGNORE INTO search_key (type, code, key, seq) VALUES (?, ?, ?, ?)');
    for (const { code, key } of searchKeysOf(resource)) {
      insertKey.run(resourceType, code, key, seq);
    }
    const insertDate = this.statement('INSERT INTO search_date (seq, type, code, low, high) VALUES (?, ?, ?, ?, ?)');
    for (const { code, low, high } of searchDatesOf(resource)) {
      insertDate.run(seq, resourceType, code, low, high);
    }
    this.changes.push({ op: 'put', resourceType, id });
  }

  /** Removes the live resource, keeping its versions and adding a delete marker; false when there was none. */
  delete(resourceType: string, id: string): boolean {
    this.assertInTransaction();
    const current = this.readCurrent(resourceType, id);
    if (!current) {
      return false;
    }
    this.statement('DELETE FROM resource WHERE seq = ?').run(current.seq);
    this.unindex(current.seq, JSON.parse(current.content) as WithId<Resource>);
    this.statement('INSERT INTO resource_version (type, id, version_id, content) VALUES (?, ?, ?, NULL)').run(resourceType, id, '');
    this.changes.push({ op: 'delete', resourceType, id });
    return true;
  }

  /** Runs a search query built by the repository, one row at a time. */
  iterate(sql: string, params: readonly SQLInputValue[]): Iterator<StoredRow> {
    return this.statement(sql).iterate(...params) as Iterator<StoredRow>;
  }

  count(sql: string, params: readonly SQLInputValue[]): number {
    return (this.statement(sql).get(...params) as { n: number }).n;
  }

  resourceCount(): number {
    return (this.statement('SELECT COUNT(*) AS n FROM resource').get() as { n: number }).n;
  }

  /** Bytes in the database (pages in use and free, as the file and its WAL hold them). */
  sizeBytes(): number {
    const pages = (this.statement('PRAGMA page_count').get() as { page_count: number }).page_count;
    const pageSize = (this.statement('PRAGMA page_size').get() as { page_size: number }).page_size;
    return pages * pageSize;
  }

  /** Fills `search_key` and `search_date` again from every live resource (a new index definition). */
  private rebuildSearchTables(): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      this.db.exec('DELETE FROM search_key; DELETE FROM search_date;');
      const insertKey = this.statement('INSERT OR IGNORE INTO search_key (type, code, key, seq) VALUES (?, ?, ?, ?)');
      const insertDate = this.statement('INSERT INTO search_date (seq, type, code, low, high) VALUES (?, ?, ?, ?, ?)');
      const rows = this.db.prepare('SELECT r.seq AS seq, v.content AS content FROM resource r JOIN resource_version v ON v.vseq = r.vseq').iterate();
      for (const row of rows as Iterable<StoredRow>) {
        const resource = JSON.parse(row.content) as WithId<Resource>;
        for (const { code, key } of searchKeysOf(resource)) {
          insertKey.run(resource.resourceType, code, key, row.seq);
        }
        for (const { code, low, high } of searchDatesOf(resource)) {
          insertDate.run(row.seq, resource.resourceType, code, low, high);
        }
      }
      this.statement('INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(
        SEARCH_INDEX_KEY,
        SEARCH_INDEX_SIGNATURE
      );
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  readMeta(key: string): string | undefined {
    return (this.statement('SELECT value FROM store_meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  writeMeta(key: string, value: string): void {
    this.assertInTransaction();
    this.statement('INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  close(): void {
    this.statements.clear();
    if (this.db.isOpen) {
      this.db.close();
    }
  }

  /**
   * Removes a version's search rows. Its keys are computed again from its content (the same
   * function wrote them), so `search_key` needs no second index by seq, which would hold every
   * key string a second time.
   */
  private unindex(seq: number, stored: WithId<Resource>): void {
    const deleteKey = this.statement('DELETE FROM search_key WHERE type = ? AND code = ? AND key = ? AND seq = ?');
    for (const { code, key } of searchKeysOf(stored)) {
      deleteKey.run(stored.resourceType, code, key, seq);
    }
    this.statement('DELETE FROM search_date WHERE seq = ?').run(seq);
  }
}
