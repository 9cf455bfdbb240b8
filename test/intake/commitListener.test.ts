import type { Bundle, Patient } from '@medplum/fhirtypes';
import { type CommittedChange, type EmbeddedStore, openEmbeddedStore } from '../../src/fhir/embedded/embeddedStore';
import { recordingLogger } from '../fhir/embedded/fixtures';

/** The embedded store's commit hook, which intake's trigger relies on. */
describe('EmbeddedStore.onCommitted', () => {
  let store: EmbeddedStore;
  beforeEach(async () => {
    store = await openEmbeddedStore({ dataDir: ':memory:', logger: recordingLogger() });
  });
  afterEach(async () => {
    await store.close();
  });

  const transaction = (...entries: NonNullable<Bundle['entry']>): Bundle => ({ resourceType: 'Bundle', type: 'transaction', entry: entries });
  const patient = (id: string): Patient => ({ resourceType: 'Patient', id });

  it('tells each request’s writes once, by type and id, whichever way they came', async () => {
    const seen: CommittedChange[][] = [];
    store.onCommitted((changes) => seen.push([...changes]));
    await store.executeTransaction(
      transaction(
        { resource: patient('a'), request: { method: 'PUT', url: 'Patient/a' } },
        { resource: patient('b'), request: { method: 'PUT', url: 'Patient/b' } }
      )
    );
    await store.handleRest({ method: 'DELETE', url: 'Patient/a', pathname: '', params: {}, query: {}, body: undefined });
    await store.readResource('Patient', 'b');
    expect(seen).toEqual([
      [
        { op: 'put', resourceType: 'Patient', id: 'a' },
        { op: 'put', resourceType: 'Patient', id: 'b' },
      ],
      [{ op: 'delete', resourceType: 'Patient', id: 'a' }],
    ]);
  });

  it('says nothing of a transaction that was rolled back', async () => {
    await store.executeTransaction(transaction({ resource: patient('c'), request: { method: 'PUT', url: 'Patient/c' } }));
    const seen: CommittedChange[][] = [];
    store.onCommitted((changes) => seen.push([...changes]));
    const failing = transaction(
      { resource: patient('d'), request: { method: 'PUT', url: 'Patient/d' } },
      { resource: patient('c'), request: { method: 'PUT', url: 'Patient/c', ifMatch: 'W/"not-the-version"' } }
    );
    await expect(store.executeTransaction(failing)).rejects.toThrow();
    await expect(store.readResource('Patient', 'd')).rejects.toThrow();
    expect(seen).toEqual([]);
  });

  it('lets a listener use the store (it runs outside the lock), and a listener that throws costs the writer nothing', async () => {
    const read: string[] = [];
    store.onCommitted(() => {
      throw new Error('a broken listener');
    });
    const stop = store.onCommitted((changes) => {
      for (const change of changes) {
        void store.readResource<Patient>('Patient', change.id).then((p) => read.push(p.id ?? ''));
      }
    });
    await store.executeTransaction(transaction({ resource: patient('e'), request: { method: 'PUT', url: 'Patient/e' } }));
    await store.checkReady();
    await store.readResource('Patient', 'e');
    expect(read).toEqual(['e']);
    stop();
    await store.executeTransaction(transaction({ resource: patient('f'), request: { method: 'PUT', url: 'Patient/f' } }));
    await store.readResource('Patient', 'f');
    expect(read).toEqual(['e']);
  });
});
