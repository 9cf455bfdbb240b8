import type { Bundle, BundleEntry, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedStore, StoreLogger } from '../../../src/fhir/embedded/embeddedStore';
import { openEmbeddedStore } from '../../../src/fhir/embedded/embeddedStore';
import { SqliteRepository } from '../../../src/fhir/embedded/sqliteRepository';
import { StoreDatabase } from '../../../src/fhir/embedded/storeDatabase';
import { indexFhirDefinitions } from '../../../src/fhir/fhirDefinitions';

export const TAG_SYSTEM = 'https://fhir.hip-triage.example.org/test-run';

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly obj: object;
  readonly msg: string | undefined;
}

/** A logger that keeps what it was given, so tests can assert on warnings (and on what they leave out). */
export function recordingLogger(): StoreLogger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  };
}

/** A fresh directory under the OS temp dir, removed by the returned cleanup. */
export function tempDataDir(): { readonly dir: string; readonly cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'embedded-store-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function openTestStore(dataDir: string, logger = recordingLogger()): Promise<EmbeddedStore> {
  return openEmbeddedStore({ dataDir, logger });
}

export function tag(code: string): { system: string; code: string } {
  return { system: TAG_SYSTEM, code };
}

/** A fictitious patient; names are obviously synthetic so a leak into logs is easy to spot. */
export function patient(code: string): Patient {
  return { resourceType: 'Patient', meta: { tag: [tag(code)] }, name: [{ family: `Synthetic-${code}`, given: ['Testy'] }] };
}

export function observation(code: string, subject: string): Observation {
  return {
    resourceType: 'Observation',
    meta: { tag: [tag(code)] },
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '38208-5', display: 'Pain severity' }] },
    subject: { reference: subject },
    valueInteger: 4,
  };
}

/**
 * The shape of the service's write-back: a patient and two observations pointing at it via
 * urn:uuid, each created only if nothing carries its tag yet (the router allows at most 8
 * entries in a transaction with conditional creates).
 */
export function triageTransaction(run: string): Bundle {
  const patientUrl = `urn:uuid:${uuidFor(run)}`;
  const entries: BundleEntry[] = [
    conditionalCreate(patientUrl, patient(`${run}-patient`)),
    conditionalCreate(undefined, observation(`${run}-obs-1`, patientUrl)),
    conditionalCreate(undefined, observation(`${run}-obs-2`, patientUrl)),
  ];
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}

export function conditionalCreate(fullUrl: string | undefined, resource: Resource): BundleEntry {
  const code = resource.meta?.tag?.[0]?.code ?? '';
  return {
    ...(fullUrl ? { fullUrl } : {}),
    resource,
    request: { method: 'POST', url: resource.resourceType, ifNoneExist: `_tag=${TAG_SYSTEM}|${code}` },
  };
}

/** A stable, valid v4 UUID per run label, so a retried bundle is byte-identical. */
export function uuidFor(label: string): string {
  let hash = 0x811c9dc5;
  for (const char of label) {
    hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  }
  const hex = hash.toString(16).padStart(8, '0');
  return `${hex}-0000-4000-8000-${hex}0000`;
}

export async function idsByTag(store: EmbeddedStore, resourceType: Resource['resourceType'], code: string): Promise<string[]> {
  return (await store.searchResources(resourceType, { _tag: `${TAG_SYSTEM}|${code}` })).map((r) => r.id ?? '');
}

/** A SQLite repository on a fresh in-memory database (validating, as the REST edge's is). */
export function memoryRepository(validate = true): SqliteRepository {
  indexFhirDefinitions();
  return new SqliteRepository(StoreDatabase.open(':memory:'), { validate });
}

/** Every row of every table, in order, as text: equal dumps mean equal databases. */
export function dumpDatabase(repo: SqliteRepository): string {
  const { db } = repo.database;
  const tables = ['resource_version', 'resource', 'search_key', 'search_date', 'store_meta'];
  return JSON.stringify(tables.map((table) => [table, db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2`).all()]));
}
