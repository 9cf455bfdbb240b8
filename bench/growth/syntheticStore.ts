import type { Resource } from '@medplum/fhirtypes';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readShippedContent } from '../../src/cli/shippedContent';
import { SqliteRepository } from '../../src/fhir/embedded/sqliteRepository';
import type { CommittedChange } from '../../src/fhir/embedded/storeDatabase';
import { DATABASE_FILE, StoreDatabase } from '../../src/fhir/embedded/storeDatabase';
import { indexFhirDefinitions, indexShippedSearchParameters } from '../../src/fhir/fhirDefinitions';
import { openTriageBench } from './triageBench';

const TRIAGES_PER_TRANSACTION = 1000;

/**
 * Fills `DATA_DIR/store.sqlite` with `triages` triage write-backs, as the embedded store itself
 * would have stored them (every resource through the repository's own `putVersion`, so the
 * search tables are filled the same way), in one process and far faster than real transactions.
 *
 * How: the 31 rule fixtures are triaged for real into an in-memory store (the real transaction
 * path); the resources each write-back committed are the templates. Triage i is template
 * i mod 31 with every resource id replaced by a fresh UUID and the idempotency key by a fresh
 * 64-hex key, consistently within the triage, so references still resolve and every triage is
 * distinct to the search tables. The service Device (created by the first write-back) is kept
 * once. The seed content is stored by opening the store once at the end.
 */
export async function writeSyntheticStore(dataDir: string, triages: number): Promise<{ bytes: number; ms: number }> {
  const started = performance.now();
  const templates = await realTemplates();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  indexFhirDefinitions();
  indexShippedSearchParameters(readShippedContent());
  const database = StoreDatabase.open(join(dataDir, DATABASE_FILE));
  const repo = new SqliteRepository(database, { validate: false });
  try {
    for (let from = 0; from < triages; from += TRIAGES_PER_TRANSACTION) {
      await repo.withTransaction(async () => {
        for (let i = from; i < Math.min(triages, from + TRIAGES_PER_TRANSACTION); i++) {
          const template = templates[i % templates.length];
          if (!template) {
            throw new Error('no templates');
          }
          const fresh = new Map<string, string>();
          const text = (i === 0 ? template.first : template.resources).replace(template.pattern, (found) => {
            let replacement = fresh.get(found);
            if (!replacement) {
              replacement = found.length === 64 ? createHash('sha256').update(`synthetic-${i}`).digest('hex') : randomUUID();
              fresh.set(found, replacement);
            }
            return replacement;
          });
          for (const resource of JSON.parse(text) as (Resource & { id: string })[]) {
            await repo.putVersion(resource);
          }
        }
      });
      database.takeCommitted();
    }
  } finally {
    database.close();
  }
  // The seed content, as the service stores it on its first start there.
  await (await openTriageBench(dataDir)).close();
  return { bytes: statSync(join(dataDir, DATABASE_FILE)).size, ms: Math.round(performance.now() - started) };
}

interface Template {
  /** The write-back's resources (JSON) without the service Device. */
  readonly resources: string;
  /** With it: only the very first synthetic triage creates the Device. */
  readonly first: string;
  /** Matches the write-back's resource ids and its idempotency key. */
  readonly pattern: RegExp;
}

async function realTemplates(): Promise<Template[]> {
  const bench = await openTriageBench(':memory:');
  const commits: CommittedChange[][] = [];
  const stop = bench.store.onCommitted((changes) => commits.push([...changes]));
  const written: Resource[][] = [];
  try {
    for (let i = 0; i < bench.fixtures.length; i++) {
      commits.length = 0;
      await bench.writeBack(i);
      const puts = commits.flat().filter((change) => change.op === 'put');
      written.push(await Promise.all(puts.map((change) => bench.store.readResource(change.resourceType as Resource['resourceType'], change.id))));
    }
  } finally {
    stop();
    await bench.close();
  }
  const devices = (written[0] ?? []).filter((r) => r.resourceType === 'Device');
  return written.map((resources) => {
    const rest = resources.filter((r) => r.resourceType !== 'Device');
    const ids = rest.flatMap((r) => (r.id ? [r.id] : []));
    const key = /"code":"([0-9a-f]{64}):/.exec(JSON.stringify(rest))?.[1];
    if (!key || ids.length === 0) {
      throw new Error('a template write-back has no idempotency key or no resources');
    }
    return {
      resources: JSON.stringify(rest),
      first: JSON.stringify([...devices, ...rest]),
      pattern: new RegExp([...ids, key].map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g'),
    };
  });
}

if (require.main === module) {
  const [dataDir, triages] = process.argv.slice(2);
  if (!dataDir || !triages) {
    throw new Error('usage: syntheticStore.js <dataDir> <triages>');
  }
  writeSyntheticStore(dataDir, Number(triages)).then(
    (result) => console.log(JSON.stringify(result)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    }
  );
}
