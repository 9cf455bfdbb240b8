import type { WithId } from '@medplum/core';
import { isOk } from '@medplum/core';
import type { CodeSystem, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirLockedError, LOCK_FILE } from '../../../src/fhir/embedded/dataDirLock';
import type { EmbeddedStore } from '../../../src/fhir/embedded/embeddedStore';
import { openEmbeddedStore } from '../../../src/fhir/embedded/embeddedStore';
import { JOURNAL_FILE } from '../../../src/fhir/embedded/journal';
import { decodeRecord, encodeRecord } from '../../../src/fhir/embedded/journalRecord';
import type { StoredChange } from '../../../src/fhir/embedded/storedChange';
import { idsByTag, observation, patient, recordingLogger, tempDataDir, triageTransaction } from './fixtures';

let dataDir: { readonly dir: string; readonly cleanup: () => void };
const open: EmbeddedStore[] = [];

beforeEach(() => {
  dataDir = tempDataDir();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
  dataDir.cleanup();
});

async function openStore(logger = recordingLogger(), seed?: Resource[]): Promise<EmbeddedStore> {
  const store = await openEmbeddedStore({ dataDir: dataDir.dir, logger, seed });
  open.push(store);
  return store;
}

const journalPath = (): string => join(dataDir.dir, JOURNAL_FILE);

function versionsOf(resources: readonly Resource[]): string[] {
  return resources.map((r) => `${r.resourceType}/${r.id}@${r.meta?.versionId}@${r.meta?.lastUpdated}`).sort();
}

describe('restart', () => {
  it('restores every committed write with the same ids, versionIds and lastUpdated', async () => {
    const store = await openStore();
    const response = await store.executeTransaction(triageTransaction('restart'));
    const patientRef = response.entry?.[0]?.response?.location ?? '';
    const [, updatedPatient] = await store.handleRest({
      method: 'PUT',
      url: patientRef,
      pathname: '',
      params: {},
      query: {},
      body: { ...(await store.readResource<Patient>('Patient', patientRef.split('/')[1] ?? '')), gender: 'female' },
    });
    const [obsToDelete] = await store.searchResources<Observation>('Observation', { subject: patientRef });
    await store.handleRest({ method: 'DELETE', url: `Observation/${obsToDelete?.id}`, pathname: '', params: {}, query: {}, body: undefined });
    const observations = await store.searchResources<Observation>('Observation', { subject: patientRef });
    const history = await store.handleRest({ method: 'GET', url: `${patientRef}/_history`, pathname: '', params: {}, query: {}, body: undefined });
    const stats = store.stats();
    await store.close();

    const reopened = await openStore();
    expect(versionsOf(await reopened.searchResources('Observation', { subject: patientRef }))).toEqual(versionsOf(observations));
    expect(observations).toHaveLength(1);
    expect((await reopened.readResource<Patient>('Patient', updatedPatient?.id ?? '')).meta).toEqual(updatedPatient?.meta);
    expect(await reopened.handleRest({ method: 'GET', url: `${patientRef}/_history`, pathname: '', params: {}, query: {}, body: undefined })).toEqual(history);
    expect(reopened.stats()).toEqual(stats);
  });

  it('keeps no journal and no lock for :memory:', async () => {
    const store = await openEmbeddedStore({ dataDir: ':memory:', logger: recordingLogger() });
    await store.executeTransaction(triageTransaction('memory'));
    expect(store.stats()).toEqual({ resources: 3, journalRecords: 0 });
    expect(existsSync(':memory:')).toBe(false);
    await store.close();
  });
});

describe('damaged journal', () => {
  async function writeRecords(runs: readonly string[]): Promise<number> {
    const store = await openStore();
    for (const run of runs) {
      await store.executeTransaction(triageTransaction(run));
    }
    await store.close();
    return statSync(journalPath()).size;
  }

  it('drops a torn last line with a warning, keeps everything before it, and repairs the file', async () => {
    const intactSize = await writeRecords(['torn-1', 'torn-2']);
    const intact = readFileSync(journalPath());
    const torn = encodeRecord([{ op: 'put', resource: { ...patient('torn-3'), id: 'half-written' } as WithId<Patient> }]);
    appendFileSync(journalPath(), torn.subarray(0, Math.floor(torn.length / 2)));

    const logger = recordingLogger();
    const store = await openStore(logger);

    expect(await idsByTag(store, 'Patient', 'torn-1-patient')).toHaveLength(1);
    expect(await idsByTag(store, 'Observation', 'torn-2-obs-2')).toHaveLength(1);
    expect(await idsByTag(store, 'Patient', 'torn-3')).toEqual([]);
    const warnings = logger.lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.obj).toMatchObject({ droppedBytes: Math.floor(torn.length / 2), keptRecords: 2 });
    // Only counts and paths are logged, never resource content.
    expect(JSON.stringify(logger.lines)).not.toMatch(/Synthetic|Testy/);
    expect(readFileSync(journalPath())).toEqual(intact);
    expect(statSync(journalPath()).size).toBe(intactSize);

    await store.executeTransaction(triageTransaction('torn-4'));
    await store.close();
    const quietLogger = recordingLogger();
    const again = await openStore(quietLogger);
    expect(quietLogger.lines.filter((line) => line.level === 'warn')).toEqual([]);
    expect(await idsByTag(again, 'Patient', 'torn-4-patient')).toHaveLength(1);
  });

  it.each([
    ['a flipped byte in the last record', -10],
    ['a last record whose newline was written but not its bytes (zeros)', 'zeros'],
  ] as const)('treats %s as a torn tail', async (_name, damage) => {
    await writeRecords(['tail-1', 'tail-2']);
    const bytes = readFileSync(journalPath());
    const lastStart = bytes.lastIndexOf(0x0a, bytes.length - 2) + 1;
    if (damage === 'zeros') {
      bytes.fill(0, lastStart, bytes.length - 1);
    } else {
      const at = bytes.length + damage;
      bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    }
    writeFileSync(journalPath(), bytes);

    const logger = recordingLogger();
    const store = await openStore(logger);
    expect(await idsByTag(store, 'Patient', 'tail-1-patient')).toHaveLength(1);
    expect(await idsByTag(store, 'Patient', 'tail-2-patient')).toEqual([]);
    expect(logger.lines.filter((line) => line.level === 'warn')).toHaveLength(1);
    expect(statSync(journalPath()).size).toBe(lastStart);
  });

  it('keeps the intact prefix before a damaged middle record and saves the whole file aside', async () => {
    await writeRecords(['mid-1', 'mid-2', 'mid-3']);
    const original = readFileSync(journalPath());
    const secondStart = original.indexOf(0x0a) + 1;
    const damaged = Buffer.from(original);
    damaged[secondStart + 40] = (damaged[secondStart + 40] ?? 0) ^ 0x20;
    writeFileSync(journalPath(), damaged);

    const logger = recordingLogger();
    const store = await openStore(logger);

    expect(await idsByTag(store, 'Patient', 'mid-1-patient')).toHaveLength(1);
    expect(await idsByTag(store, 'Patient', 'mid-2-patient')).toEqual([]);
    expect(await idsByTag(store, 'Patient', 'mid-3-patient')).toEqual([]);
    const saved = readdirSync(dataDir.dir).filter((name) => name.startsWith(`${JOURNAL_FILE}.dropped-`));
    expect(saved).toHaveLength(1);
    expect(readFileSync(join(dataDir.dir, saved[0] ?? ''))).toEqual(damaged);
    expect(logger.lines.find((line) => line.level === 'warn')?.obj).toMatchObject({ droppedRecords: 2 });
  });

  it('refuses to open a journal with a record from a newer format', async () => {
    await writeRecords(['future-1']);
    appendFileSync(journalPath(), '{"v":2,"whatever":true}\n');
    await expect(openStore()).rejects.toThrow(/newer journal format/);
    // The failed open released the lock.
    expect(existsSync(join(dataDir.dir, LOCK_FILE))).toBe(false);
  });
});

describe('journal records', () => {
  const change: StoredChange = {
    op: 'put',
    resource: { ...observation('codec', 'Patient/1'), id: 'obs-1', meta: { versionId: 'v1', lastUpdated: '2025-01-01T00:00:00.000Z' } },
  };

  it('round-trips changes exactly, including non-ASCII text', () => {
    const changes: StoredChange[] = [change, { op: 'delete', resourceType: 'Patient', id: 'p-1' }, { op: 'put', resource: { resourceType: 'Patient', id: 'p-2', name: [{ family: 'Ñúñez 😀' }] } }];
    const line = encodeRecord(changes);
    expect(line.at(-1)).toBe(0x0a);
    expect(decodeRecord(line.subarray(0, -1))).toEqual({ ok: true, changes });
  });

  it('detects a flip of any single bit', () => {
    const line = encodeRecord([change]).subarray(0, -1);
    const undetected: number[] = [];
    for (let at = 0; at < line.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = Buffer.from(line);
        damaged[at] = (damaged[at] ?? 0) ^ (1 << bit);
        if (decodeRecord(damaged).ok) {
          undetected.push(at * 8 + bit);
        }
      }
    }
    expect(undetected).toEqual([]);
  });

  it('detects every truncation', () => {
    const line = encodeRecord([change]).subarray(0, -1);
    const accepted = Array.from({ length: line.length }, (_, n) => n).filter((n) => decodeRecord(line.subarray(0, n)).ok);
    expect(accepted).toEqual([]);
  });
});

describe('DATA_DIR lock', () => {
  it('refuses a second open naming the directory and the holder, and allows it after close', async () => {
    const first = await openStore();
    const error = await openStore().then(
      () => undefined,
      (err: unknown) => err
    );
    expect(error).toBeInstanceOf(DataDirLockedError);
    expect((error as Error).message).toContain(dataDir.dir);
    expect((error as Error).message).toContain(String(process.pid));
    expect(readFileSync(join(dataDir.dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));

    await first.close();
    expect(existsSync(join(dataDir.dir, LOCK_FILE))).toBe(false);
    const second = await openStore();
    await expect(second.checkReady()).resolves.toBeUndefined();
  });

  it('takes over a stale lock whose process is gone', async () => {
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(dataDir.dir, LOCK_FILE), `${exited.stdout}\n`);
    const store = await openStore();
    expect(readFileSync(join(dataDir.dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    await expect(store.checkReady()).resolves.toBeUndefined();
  });

  it('refuses requests after close with a transient outcome', async () => {
    const store = await openStore();
    await store.close();
    await expect(store.checkReady()).rejects.toMatchObject({ outcome: { issue: [{ code: 'transient' }] } });
    await expect(store.searchResources('Patient', {})).rejects.toMatchObject({ outcome: { issue: [{ code: 'transient' }] } });
  });
});

describe('seed content', () => {
  const codeSystem = (title: string): CodeSystem => ({
    resourceType: 'CodeSystem',
    id: 'hip-pain-site',
    url: 'https://fhir.hip-triage.example.org/CodeSystem/hip-pain-site',
    status: 'active',
    content: 'complete',
    title,
  });

  it('is loaded with its own ids, never journaled, and replaces a stored copy only when it differs', async () => {
    const first = await openStore(recordingLogger(), [codeSystem('Hip pain site')]);
    const seeded = await first.readResource<CodeSystem>('CodeSystem', 'hip-pain-site');
    expect(first.stats()).toEqual({ resources: 1, journalRecords: 0 });
    // A client edit is journaled…
    await first.handleRest({ method: 'PUT', url: 'CodeSystem/hip-pain-site', pathname: '', params: {}, query: {}, body: { ...seeded, title: 'Edited' } });
    expect(first.stats().journalRecords).toBe(1);
    await first.close();

    // …but the files win at the next start.
    const second = await openStore(recordingLogger(), [codeSystem('Hip pain site')]);
    const reseeded = await second.readResource<CodeSystem>('CodeSystem', 'hip-pain-site');
    expect(reseeded.title).toBe('Hip pain site');
    expect(reseeded.meta?.versionId).toBe(seeded.meta?.versionId);
    await second.close();

    // An unchanged seed keeps its version across restarts.
    const third = await openStore(recordingLogger(), [codeSystem('Hip pain site')]);
    expect((await third.readResource<CodeSystem>('CodeSystem', 'hip-pain-site')).meta?.versionId).toBe(reseeded.meta?.versionId);
    await third.close();

    const changed = await openStore(recordingLogger(), [codeSystem('Hip pain location')]);
    const updated = await changed.readResource<CodeSystem>('CodeSystem', 'hip-pain-site');
    expect(updated.title).toBe('Hip pain location');
    expect(updated.meta?.versionId).not.toBe(reseeded.meta?.versionId);
  });

  it('fails the open (and frees the directory) when a seed resource is invalid', async () => {
    await expect(openStore(recordingLogger(), [{ ...codeSystem('x'), status: undefined } as unknown as CodeSystem])).rejects.toThrow(/CodeSystem.status/);
    await expect(openStore()).resolves.toBeDefined();
  });
});

describe('compaction', () => {
  it('rewrites a mostly superseded journal as a snapshot that replays to the same state', async () => {
    const logger = recordingLogger();
    const store = await openEmbeddedStore({ dataDir: dataDir.dir, logger, compaction: { ratio: 2, minChanges: 40 } });
    open.push(store);
    const [, created] = await store.handleRest({ method: 'POST', url: 'Patient', pathname: '', params: {}, query: {}, body: patient('compact') });
    let latest = created as WithId<Patient>;
    for (let n = 0; n < 60; n++) {
      const [outcome, updated] = await store.handleRest({
        method: 'PUT',
        url: `Patient/${latest.id}`,
        pathname: '',
        params: {},
        query: {},
        body: { ...latest, birthDate: `19${String(n).padStart(2, '0')}-01-01` },
      });
      expect(isOk(outcome)).toBe(true);
      latest = updated as WithId<Patient>;
    }
    await store.close();

    expect(logger.lines.some((line) => line.msg === 'journal compacted')).toBe(true);
    const lines = readFileSync(journalPath(), 'utf8').trimEnd().split('\n');
    expect(lines.length).toBeLessThan(30);
    expect(readdirSync(dataDir.dir).sort()).toEqual([JOURNAL_FILE]);

    const reopened = await openStore();
    expect(await reopened.readResource<Patient>('Patient', latest.id)).toEqual(latest);
    expect(reopened.stats().resources).toBe(1);
  });
});
