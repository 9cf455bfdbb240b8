import type { FhirRequest } from '@medplum/fhir-router';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../src/fhir/embedded/embeddedStore';
import { DATABASE_FILE } from '../../src/fhir/embedded/storeDatabase';
import { patient, recordingLogger, triageTransaction } from '../fhir/embedded/fixtures';
import { hipTriage } from './runCommand';

const work = mkdtempSync(join(tmpdir(), 'hip-cli-backup-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function rest(method: FhirRequest['method'], url: string, body?: unknown): FhirRequest {
  return { method, url, pathname: '', params: {}, query: {}, body };
}

describe('hip-triage backup --out FILE', () => {
  it('copies the store while it serves, and the copy restores with every version', async () => {
    const dataDir = join(work, 'data');
    const store = await openEmbeddedStore({ dataDir, logger: recordingLogger() });
    let restored;
    try {
      await store.executeTransaction(triageTransaction('backup-cli'));
      const [, created] = await store.handleRest(rest('POST', 'Patient', patient('backup-versions')));
      const [, updated] = await store.handleRest(rest('PUT', `Patient/${created?.id}`, { ...created, gender: 'female' }));

      const out = join(work, 'backup.sqlite');
      const result = await hipTriage(['backup', '--out', out], { DATA_DIR: dataDir });
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(/^backup: .*backup\.sqlite \(\d+ bytes, \d+ ms\)\n$/);
      // Refuses to overwrite.
      const again = await hipTriage(['backup', '--out', out], { DATA_DIR: dataDir });
      expect([again.exitCode, again.stderr]).toEqual([1, expect.stringContaining('already exists') as unknown as string]);

      const restoredDir = join(work, 'restored');
      mkdirSync(restoredDir);
      copyFileSync(out, join(restoredDir, DATABASE_FILE));
      restored = await openEmbeddedStore({ dataDir: restoredDir, logger: recordingLogger() });
      expect(restored.stats().resources).toBe(store.stats().resources);
      const [, history] = await restored.handleRest(rest('GET', `Patient/${created?.id}/_history`));
      expect((history as Bundle<Patient>).entry?.map((e) => e.resource)).toEqual([updated, created]);
    } finally {
      await store.close();
      await restored?.close();
    }
  });

  it('says what is wrong for a DATA_DIR without a store, and for :memory:', async () => {
    const empty = join(work, 'nothing-here');
    const missing = await hipTriage(['backup', '--out', join(work, 'x.sqlite')], { DATA_DIR: empty });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain(`${join(empty, DATABASE_FILE)} does not exist`);
    expect(existsSync(join(work, 'x.sqlite'))).toBe(false);
    const memory = await hipTriage(['backup', '--out', join(work, 'y.sqlite')], { DATA_DIR: ':memory:' });
    expect([memory.exitCode, memory.stderr]).toEqual([2, 'backup: DATA_DIR is :memory:, which keeps nothing to back up\n']);
  });
});
