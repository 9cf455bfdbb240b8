import type { WithId } from '@medplum/core';
import { isOk } from '@medplum/core';
import type { FhirRequest } from '@medplum/fhir-router';
import type { Bundle, CodeSystem, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { backupDatabase } from '../../../src/fhir/embedded/backup';
import { DataDirLockedError, LOCK_FILE, PID_FILE } from '../../../src/fhir/embedded/dataDirLock';
import type { EmbeddedStore } from '../../../src/fhir/embedded/embeddedStore';
import { openEmbeddedStore } from '../../../src/fhir/embedded/embeddedStore';
import { DATABASE_FILE } from '../../../src/fhir/embedded/storeDatabase';
import { patient, recordingLogger, tempDataDir, triageTransaction } from './fixtures';

const ROOT = join(__dirname, '..', '..', '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');

let dataDir: { readonly dir: string; readonly cleanup: () => void };
const open: EmbeddedStore[] = [];

beforeEach(() => {
  dataDir = tempDataDir();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
  dataDir.cleanup();
});

async function openStore(logger = recordingLogger(), seed?: Resource[], dir = dataDir.dir): Promise<EmbeddedStore> {
  const store = await openEmbeddedStore({ dataDir: dir, logger, seed });
  open.push(store);
  return store;
}

function rest(method: FhirRequest['method'], url: string, body?: unknown): FhirRequest {
  return { method, url, pathname: '', params: {}, query: {}, body };
}

function versionsOf(resources: readonly Resource[]): string[] {
  return resources.map((r) => `${r.resourceType}/${r.id}@${r.meta?.versionId}@${r.meta?.lastUpdated}`).sort();
}

/** A patient updated until it has `count` versions; returns every version, oldest first. */
async function versionedPatient(store: EmbeddedStore, count: number): Promise<WithId<Patient>[]> {
  const [, created] = await store.handleRest(rest('POST', 'Patient', patient('versions')));
  const versions = [created as WithId<Patient>];
  for (let n = 1; n < count; n++) {
    const latest = versions[versions.length - 1] as WithId<Patient>;
    const [outcome, updated] = await store.handleRest(rest('PUT', `Patient/${latest.id}`, { ...latest, birthDate: `19${String(50 + n)}-01-01` }));
    expect(isOk(outcome)).toBe(true);
    versions.push(updated as WithId<Patient>);
  }
  return versions;
}

/** `_history` and every `vread` of a resource answer exactly its versions. */
async function expectFullHistory(store: EmbeddedStore, versions: readonly WithId<Patient>[]): Promise<void> {
  const id = versions[0]?.id ?? '';
  const [outcome, history] = await store.handleRest(rest('GET', `Patient/${id}/_history`));
  expect(isOk(outcome)).toBe(true);
  expect((history as Bundle).entry?.map((e) => e.resource)).toEqual([...versions].reverse());
  for (const version of versions) {
    const [vreadOutcome, read] = await store.handleRest(rest('GET', `Patient/${id}/_history/${version.meta?.versionId}`));
    expect([version.meta?.versionId, isOk(vreadOutcome)]).toEqual([version.meta?.versionId, true]);
    expect(read).toEqual(version);
  }
}

describe('restart', () => {
  it('restores every committed write with the same ids, versionIds and lastUpdated', async () => {
    const store = await openStore();
    const response = await store.executeTransaction(triageTransaction('restart'));
    const patientRef = response.entry?.[0]?.response?.location ?? '';
    const [, updatedPatient] = await store.handleRest(
      rest('PUT', patientRef, { ...(await store.readResource<Patient>('Patient', patientRef.split('/')[1] ?? '')), gender: 'female' })
    );
    const [obsToDelete] = await store.searchResources<Observation>('Observation', { subject: patientRef });
    await store.handleRest(rest('DELETE', `Observation/${obsToDelete?.id}`));
    const observations = await store.searchResources<Observation>('Observation', { subject: patientRef });
    const history = await store.handleRest(rest('GET', `${patientRef}/_history`));
    const resources = store.stats().resources;
    await store.close();

    const reopened = await openStore();
    expect(versionsOf(await reopened.searchResources('Observation', { subject: patientRef }))).toEqual(versionsOf(observations));
    expect(observations).toHaveLength(1);
    expect((await reopened.readResource<Patient>('Patient', updatedPatient?.id ?? '')).meta).toEqual(updatedPatient?.meta);
    expect(await reopened.handleRest(rest('GET', `${patientRef}/_history`))).toEqual(history);
    expect(reopened.stats().resources).toBe(resources);
  });

  it('keeps every version: _history and vread answer all 13 after a restart', async () => {
    const store = await openStore();
    const versions = await versionedPatient(store, 13);
    await expectFullHistory(store, versions);
    await store.close();

    const reopened = await openStore();
    await expectFullHistory(reopened, versions);
  });

  it('keeps nothing on disk for :memory:', async () => {
    const before = readdirSync(process.cwd()).sort();
    const store = await openEmbeddedStore({ dataDir: ':memory:', logger: recordingLogger() });
    await store.executeTransaction(triageTransaction('memory'));
    expect(store.stats().resources).toBe(3);
    expect(store.stats().databaseBytes).toBeGreaterThan(0);
    await store.close();
    expect(readdirSync(process.cwd()).sort()).toEqual(before);
  });
});

describe('backup and restore', () => {
  it('copies a consistent database while writes go on, and a restored copy has every version and vread', async () => {
    const store = await openStore();
    const versions = await versionedPatient(store, 5);
    // Writes in flight while the backup reads: the copy holds whole transactions only.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await store.executeTransaction(triageTransaction(`during-backup-${written++}`));
        // The store answers without touching the event loop; let the timer below fire.
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const backupFile = join(dataDir.dir, 'backups', 'store-copy.sqlite');
    mkdirSync(join(dataDir.dir, 'backups'));
    const summary = backupDatabase(dataDir.dir, backupFile);
    writing = false;
    await writer;
    expect(summary.bytes).toBeGreaterThan(0);
    expect(written).toBeGreaterThan(0);
    expect(() => backupDatabase(dataDir.dir, backupFile)).toThrow(/already exists/);

    // Restore (as documented): into a fresh DATA_DIR, the copy as store.sqlite.
    const restoredDir = join(dataDir.dir, 'restored');
    mkdirSync(restoredDir);
    copyFileSync(backupFile, join(restoredDir, DATABASE_FILE));
    const restored = await openStore(recordingLogger(), undefined, restoredDir);
    await expectFullHistory(restored, versions);
    const patients = await restored.searchResources<Patient>('Patient', {});
    const transactionsInCopy = patients.filter((p) => p.meta?.tag?.[0]?.code?.startsWith('during-backup-'));
    for (const p of transactionsInCopy) {
      const observations = await restored.searchResources('Observation', { subject: `Patient/${p.id}` });
      expect([p.meta?.tag?.[0]?.code, observations.length]).toEqual([p.meta?.tag?.[0]?.code, 2]);
    }
  });
});

describe('DATA_DIR lock', () => {
  it('refuses a second open in this process naming the directory, and allows it after close', async () => {
    const first = await openStore();
    const error = await openStore().then(
      () => undefined,
      (err: unknown) => err
    );
    expect(error).toBeInstanceOf(DataDirLockedError);
    expect((error as Error).message).toContain(dataDir.dir);
    expect((error as Error).message).toContain(LOCK_FILE);

    await first.close();
    const second = await openStore();
    await expect(second.checkReady()).resolves.toBeUndefined();
  });

  it('refuses a second process with a message naming the folder, and lets it in once the first is gone', async () => {
    await openStore();
    const script = `
      require(${JSON.stringify(join(ROOT, 'test/support/registerTs.js'))});
      const { openEmbeddedStore } = require(${JSON.stringify(join(ROOT, 'src/fhir/embedded/embeddedStore'))});
      const quiet = () => undefined;
      openEmbeddedStore({ dataDir: process.argv[1], logger: { info: quiet, warn: quiet, error: quiet } })
        .then((store) => store.close().then(() => process.stdout.write('OPENED')))
        .catch((err) => { process.stdout.write(err.name + ': ' + err.message); process.exitCode = 3; });
    `;
    const runChild = (): Promise<{ code: number | null; out: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn(NODE, ['-e', script, dataDir.dir], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString('utf8');
        });
        child.on('error', reject);
        child.on('exit', (code) => resolve({ code, out }));
      });
    const refused = await runChild();
    expect(refused.code).toBe(3);
    expect(refused.out).toContain('DataDirLockedError');
    expect(refused.out).toContain(`DATA_DIR ${dataDir.dir} is already in use by process ${process.pid}; only one process may open it.`);

    await Promise.all(open.splice(0).map((store) => store.close()));
    const admitted = await runChild();
    expect(admitted).toEqual({ code: 0, out: 'OPENED' });
  }, 30_000);

  it('refuses requests after close with a transient outcome', async () => {
    const store = await openStore();
    await store.close();
    await expect(store.checkReady()).rejects.toMatchObject({ outcome: { issue: [{ code: 'transient' }] } });
    await expect(store.searchResources('Patient', {})).rejects.toMatchObject({ outcome: { issue: [{ code: 'transient' }] } });
    await expect(store.executeTransaction(triageTransaction('closed'))).rejects.toMatchObject({ outcome: { issue: [{ code: 'transient' }] } });
  });

  it('keeps the database, its WAL and the lock in DATA_DIR only', async () => {
    const store = await openStore();
    await store.executeTransaction(triageTransaction('files'));
    expect(readdirSync(dataDir.dir).sort()).toEqual([LOCK_FILE, PID_FILE, DATABASE_FILE, `${DATABASE_FILE}-shm`, `${DATABASE_FILE}-wal`].sort());
    await store.close();
    expect(existsSync(join(dataDir.dir, DATABASE_FILE))).toBe(true);
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

  it('is loaded with its own ids, rewritten only when the file differs from the stored copy', async () => {
    const first = await openStore(recordingLogger(), [codeSystem('Hip pain site')]);
    const seeded = await first.readResource<CodeSystem>('CodeSystem', 'hip-pain-site');
    expect(first.stats().resources).toBe(1);
    // A client edit is stored…
    await first.handleRest(rest('PUT', 'CodeSystem/hip-pain-site', { ...seeded, title: 'Edited' }));
    expect((await first.readResource<CodeSystem>('CodeSystem', 'hip-pain-site')).title).toBe('Edited');
    await first.close();

    // …but the files win at the next start.
    const second = await openStore(recordingLogger(), [codeSystem('Hip pain site')]);
    const reseeded = await second.readResource<CodeSystem>('CodeSystem', 'hip-pain-site');
    expect(reseeded.title).toBe('Hip pain site');
    expect(reseeded.meta?.versionId).toBe(seeded.meta?.versionId);
    await second.close();

    // An unchanged seed keeps its version across restarts and is not written again.
    const third = await openStore(recordingLogger(), [codeSystem('Hip pain site')]);
    expect(await third.readResource<CodeSystem>('CodeSystem', 'hip-pain-site')).toEqual(reseeded);
    const [, history] = await third.handleRest(rest('GET', 'CodeSystem/hip-pain-site/_history'));
    expect((history as Bundle).entry).toHaveLength(3);
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
