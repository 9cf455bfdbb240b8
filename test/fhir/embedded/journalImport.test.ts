import { isOk } from '@medplum/core';
import type { FhirRequest } from '@medplum/fhir-router';
import type { Bundle, Observation, Patient, Task } from '@medplum/fhirtypes';
import { appendFileSync, copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../../src/fhir/embedded/embeddedStore';
import { JOURNAL_FILE } from '../../../src/fhir/embedded/journalImport';
import { recordingLogger, TAG_SYSTEM, tempDataDir } from './fixtures';

const FIXTURE_DIR = join(__dirname, '..', '..', 'fixtures', 'journal');

/** What makeJournal wrote into the fixture journal with the previous store (see its README). */
interface Expected {
  readonly transactionLocations: string[];
  readonly versioned: { readonly id: string; readonly versions: number; readonly lastVersionId: string; readonly family: string };
  readonly deleted: { readonly id: string; readonly versions: string[] };
  readonly task: { readonly id: string };
}
const expected = JSON.parse(readFileSync(join(FIXTURE_DIR, 'expected.json'), 'utf8')) as Expected;

function rest(method: FhirRequest['method'], url: string): FhirRequest {
  return { method, url, pathname: '', params: {}, query: {}, body: undefined };
}

let dataDir: { readonly dir: string; readonly cleanup: () => void };
beforeEach(() => {
  dataDir = tempDataDir();
  copyFileSync(join(FIXTURE_DIR, JOURNAL_FILE), join(dataDir.dir, JOURNAL_FILE));
});
afterEach(() => dataDir.cleanup());

describe('upgrade from the journaled store', () => {
  it('imports every resource and every journaled version once, then moves the journal aside', async () => {
    const logger = recordingLogger();
    const store = await openEmbeddedStore({ dataDir: dataDir.dir, logger });
    try {
      // The transaction's patient and observations, with the urn:uuid reference as resolved then.
      const [patientLocation, ...observationLocations] = expected.transactionLocations;
      const patientId = patientLocation?.split('/')[1] ?? '';
      expect((await store.readResource<Patient>('Patient', patientId)).meta?.tag?.[0]).toEqual({ system: TAG_SYSTEM, code: 'fixture-a-patient' });
      for (const location of observationLocations) {
        const observation = await store.readResource<Observation>('Observation', location.split('/')[1] ?? '');
        expect(observation.subject?.reference).toBe(patientLocation);
      }
      // Every version of the updated patient: history and vread.
      const [outcome, history] = await store.handleRest(rest('GET', `Patient/${expected.versioned.id}/_history`));
      expect(isOk(outcome)).toBe(true);
      const versions = (history as Bundle<Patient>).entry?.map((e) => e.resource) ?? [];
      expect(versions).toHaveLength(expected.versioned.versions);
      expect(versions[0]?.meta?.versionId).toBe(expected.versioned.lastVersionId);
      expect(versions[0]?.name?.[0]?.family).toBe(expected.versioned.family);
      for (const version of versions) {
        const [, read] = await store.handleRest(rest('GET', `Patient/${expected.versioned.id}/_history/${version?.meta?.versionId}`));
        expect(read).toEqual(version);
      }
      // The deleted patient stays deleted.
      await expect(store.readResource('Patient', expected.deleted.id)).rejects.toMatchObject({ outcome: { id: 'not-found' } });
      // Imported resources are searchable like any other, the custom `due` included.
      expect((await store.searchResources<Task>('Task', { patient: `Patient/${expected.versioned.id}` })).map((t) => t.id)).toEqual([expected.task.id]);
      expect(store.stats().resources).toBe(5);
      expect(logger.lines.some((line) => line.msg === 'journal imported into the database')).toBe(true);
    } finally {
      await store.close();
    }
    expect(existsSync(join(dataDir.dir, JOURNAL_FILE))).toBe(false);
    const moved = readdirSync(dataDir.dir).filter((name) => name.startsWith(`${JOURNAL_FILE}.imported-`));
    expect(moved).toHaveLength(1);

    // A restart imports nothing again.
    const reopened = await openEmbeddedStore({ dataDir: dataDir.dir, logger: recordingLogger() });
    try {
      const [, history] = await reopened.handleRest(rest('GET', `Patient/${expected.versioned.id}/_history`));
      expect((history as Bundle).entry).toHaveLength(expected.versioned.versions);
      expect(reopened.stats().resources).toBe(5);
    } finally {
      await reopened.close();
    }
  });

  it('never imports twice: a journal put back after its import is only moved aside', async () => {
    const store = await openEmbeddedStore({ dataDir: dataDir.dir, logger: recordingLogger() });
    await store.close();
    // As if the process died after the import committed but before the rename.
    copyFileSync(join(FIXTURE_DIR, JOURNAL_FILE), join(dataDir.dir, JOURNAL_FILE));
    const logger = recordingLogger();
    const again = await openEmbeddedStore({ dataDir: dataDir.dir, logger });
    try {
      const [, history] = await again.handleRest(rest('GET', `Patient/${expected.versioned.id}/_history`));
      expect((history as Bundle).entry).toHaveLength(expected.versioned.versions);
      expect(logger.lines.some((line) => line.msg === 'journal: already imported; moved aside')).toBe(true);
    } finally {
      await again.close();
    }
    expect(existsSync(join(dataDir.dir, JOURNAL_FILE))).toBe(false);
  });

  it('imports the intact records before a torn last line, with a warning', async () => {
    appendFileSync(join(dataDir.dir, JOURNAL_FILE), '{"v":1,"crc":"0000');
    const logger = recordingLogger();
    const store = await openEmbeddedStore({ dataDir: dataDir.dir, logger });
    try {
      expect(store.stats().resources).toBe(5);
      expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.obj)).toEqual([
        expect.objectContaining({ droppedBytes: 18, keptRecords: 8 }),
      ]);
    } finally {
      await store.close();
    }
  });

  it('refuses a journal with a record of a newer format, and imports nothing', async () => {
    appendFileSync(join(dataDir.dir, JOURNAL_FILE), '{"v":2,"something":"new"}\n');
    await expect(openEmbeddedStore({ dataDir: dataDir.dir, logger: recordingLogger() })).rejects.toThrow(/newer journal format/);
    expect(existsSync(join(dataDir.dir, JOURNAL_FILE))).toBe(true);
  });
});
