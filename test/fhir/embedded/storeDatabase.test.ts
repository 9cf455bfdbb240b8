import { parseSearchRequest } from '@medplum/core';
import { join } from 'node:path';
import { SqliteRepository } from '../../../src/fhir/embedded/sqliteRepository';
import { DATABASE_FILE, StoreDatabase } from '../../../src/fhir/embedded/storeDatabase';
import { indexFhirDefinitions } from '../../../src/fhir/fhirDefinitions';
import { patient, TAG_SYSTEM, tempDataDir } from './fixtures';

describe('the search tables', () => {
  it('are rebuilt when the database was indexed with another definition, so no stale key answers a search', async () => {
    indexFhirDefinitions();
    const { dir, cleanup } = tempDataDir();
    try {
      const path = join(dir, DATABASE_FILE);
      let database = StoreDatabase.open(path);
      let repo = new SqliteRepository(database, { validate: true });
      const kept = await repo.createResource(patient('kept'));
      // As a different index definition might have left: a key no version of the resource has, and a missing one.
      database.db
        .prepare("INSERT INTO search_key (type, code, key, seq) VALUES ('Patient', '_tag', ?, (SELECT seq FROM resource WHERE id = ?))")
        .run(`s:${TAG_SYSTEM.toLowerCase()}\u0000stale`, kept.id);
      database.db.prepare("DELETE FROM search_key WHERE key LIKE '%kept'").run();
      database.db.prepare("UPDATE store_meta SET value = 'an older index' WHERE key = 'search-index'").run();
      database.close();

      database = StoreDatabase.open(path);
      repo = new SqliteRepository(database, { validate: true });
      const ids = async (code: string): Promise<string[]> =>
        (await repo.searchResources(parseSearchRequest('Patient', { _tag: `${TAG_SYSTEM}|${code}` }))).map((p) => p.id);
      expect(await ids('stale')).toEqual([]);
      expect(await ids('kept')).toEqual([kept.id]);
      database.close();
    } finally {
      cleanup();
    }
  });

  it('lose a version’s keys when it is replaced or deleted', async () => {
    indexFhirDefinitions();
    const database = StoreDatabase.open(':memory:');
    const repo = new SqliteRepository(database, { validate: true });
    const created = await repo.createResource(patient('before'));
    await repo.updateResource({ ...created, meta: { tag: [{ system: TAG_SYSTEM, code: 'after' }] } });
    const keys = (): string[] =>
      (database.db.prepare("SELECT key FROM search_key WHERE code = '_tag' ORDER BY key").all() as { key: string }[]).map((r) => r.key);
    expect(keys().filter((k) => k.includes('before'))).toEqual([]);
    expect(keys().filter((k) => k.includes('after'))).toHaveLength(2);
    await repo.deleteResource('Patient', created.id);
    expect(database.db.prepare('SELECT COUNT(*) AS n FROM search_key').get()).toEqual({ n: 0 });
    database.close();
  });
});
