import { OperationOutcomeError } from '@medplum/core';
import type { Bundle, Observation, Patient } from '@medplum/fhirtypes';
import { openEmbeddedStore } from '../../src/fhir/embedded/embeddedStore';
import type { FhirStore } from '../../src/fhir/fhirStore';
import { openRemoteStore } from '../../src/fhir/remote/remoteStore';
import { statusOf } from '../../src/http/sendOutcome';
import { startSecondInstance } from '../support/secondInstance';
import { conditionalCreate, observation, patient, recordingLogger, TAG_SYSTEM, tempDataDir, triageTransaction } from './embedded/fixtures';

/**
 * The FhirStore port's contract, one table of behaviours run against both implementations:
 * the embedded store in memory, and the remote store talking over real HTTP to a second
 * instance of this service (embedded mode) on another loopback port.
 */
interface StoreUnderTest {
  readonly store: FhirStore;
  /** The store to ask once its server is gone: the remote one with a short retry budget, so that case is quick. */
  readonly storeWhenUnavailable: FhirStore;
  /** Takes the store's server away (embedded: closed; remote: the second instance stops listening). */
  makeUnavailable(): Promise<void>;
  close(): Promise<void>;
}

/** Short, so the unavailable case is quick; the real budget is measured in test/writeback. */
const QUICK_RETRY = { totalMs: 600, attemptTimeoutMs: 500, firstDelayMs: 50 };
/**
 * For the cases where the server is up: the production budget. With the quick one, a loopback answer slower than
 * 0.5 s (CI runs this beside the 10,000-request fuzz test on two cores) failed a contract case that was not about time.
 */
const WORKING_RETRY = { totalMs: 10_000, attemptTimeoutMs: 8_000, firstDelayMs: 50 };

const implementations: [string, () => Promise<StoreUnderTest>][] = [
  [
    'embedded store (SQLite in memory)',
    async () => {
      const store = await openEmbeddedStore({ dataDir: ':memory:', logger: recordingLogger() });
      return { store, storeWhenUnavailable: store, makeUnavailable: () => store.close(), close: () => store.close() };
    },
  ],
  [
    'embedded store (SQLite file in a DATA_DIR)',
    async () => {
      const { dir, cleanup } = tempDataDir();
      const store = await openEmbeddedStore({ dataDir: dir, logger: recordingLogger() });
      return {
        store,
        storeWhenUnavailable: store,
        makeUnavailable: () => store.close(),
        close: async () => {
          await store.close();
          cleanup();
        },
      };
    },
  ],
  [
    'remote store (a second instance over HTTP)',
    async () => {
      const instance = await startSecondInstance();
      const options = { baseUrl: instance.fhirBaseUrl, credentials: { method: 'none' as const }, logger: recordingLogger() };
      const store = openRemoteStore({ ...options, retry: WORKING_RETRY });
      const storeWhenUnavailable = openRemoteStore({ ...options, retry: QUICK_RETRY });
      return {
        store,
        storeWhenUnavailable,
        makeUnavailable: () => instance.stop(),
        close: async () => {
          await store.close();
          await storeWhenUnavailable.close();
          await instance.close();
        },
      };
    },
  ],
];

async function rejection(promise: Promise<unknown>): Promise<OperationOutcomeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e
  );
  if (!(err instanceof OperationOutcomeError)) {
    throw new Error(`expected an OperationOutcomeError, got ${String(err)}`);
  }
  return err;
}

function locationsOf(answer: Bundle): string[] {
  return (answer.entry ?? []).map((e) => e.response?.location?.replace(/\/_history\/.*$/, '') ?? '');
}

describe.each(implementations)('FhirStore contract: %s', (_name, open) => {
  let subject: StoreUnderTest;
  beforeAll(async () => {
    subject = await open();
  });
  afterAll(async () => {
    await subject.close();
  });

  it('reads back, by id, what a transaction created', async () => {
    const answer = await subject.store.executeTransaction(triageTransaction('read'));
    expect(answer.type).toBe('transaction-response');
    const [patientLocation] = locationsOf(answer);
    const id = patientLocation?.split('/')[1] ?? '';
    const read = await subject.store.readResource<Patient>('Patient', id);
    expect(read).toMatchObject({ resourceType: 'Patient', id, name: [{ family: 'Synthetic-read-patient' }] });
    // urn:uuid references were rewritten to the stored patient.
    const [obs] = await subject.store.searchResources<Observation>('Observation', { _tag: `${TAG_SYSTEM}|read-obs-1` });
    expect(obs?.subject?.reference).toBe(`Patient/${id}`);
  });

  it('searches by tag: exactly the tagged resources', async () => {
    await subject.store.executeTransaction({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: patient('search-a'), request: { method: 'POST', url: 'Patient' } },
        { resource: patient('search-a'), request: { method: 'POST', url: 'Patient' } },
        { resource: patient('search-b'), request: { method: 'POST', url: 'Patient' } },
      ],
    });
    const found = await subject.store.searchResources<Patient>('Patient', { _tag: `${TAG_SYSTEM}|search-a` });
    expect(found).toHaveLength(2);
    expect(found.every((p) => p.meta?.tag?.some((t) => t.code === 'search-a'))).toBe(true);
    expect(await subject.store.searchResources('Patient', { _tag: `${TAG_SYSTEM}|search-none` })).toEqual([]);
  });

  it('makes a conditional create idempotent: the second delivery finds the first', async () => {
    const first = await subject.store.executeTransaction(triageTransaction('again'));
    const second = await subject.store.executeTransaction(triageTransaction('again'));
    expect(locationsOf(second)).toEqual(locationsOf(first));
    expect(second.entry?.map((e) => e.response?.status?.slice(0, 3))).toEqual(['200', '200', '200']);
    for (const code of ['again-patient', 'again-obs-1', 'again-obs-2']) {
      const type = code.endsWith('patient') ? 'Patient' : 'Observation';
      expect([code, (await subject.store.searchResources(type, { _tag: `${TAG_SYSTEM}|${code}` })).length]).toEqual([code, 1]);
    }
  });

  it('applies a transaction all-or-nothing: one failing entry stores none, and the refusal is a 4xx naming the problem', async () => {
    const [existingLocation] = locationsOf(await subject.store.executeTransaction(triageTransaction('atomic-existing')));
    const existing = await subject.store.readResource<Patient>('Patient', existingLocation?.split('/')[1] ?? '');
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        conditionalCreate('urn:uuid:7f9f0a52-6a36-4c35-9d1e-5d2f0c1b2a01', patient('atomic-patient')),
        conditionalCreate(undefined, observation('atomic-good', 'urn:uuid:7f9f0a52-6a36-4c35-9d1e-5d2f0c1b2a01')),
        // An update of a version that is no longer current: every server refuses it (412).
        { resource: { ...existing, gender: 'other' }, request: { method: 'PUT', url: `Patient/${existing.id}`, ifMatch: 'W/"not-the-current-version"' } },
      ],
    };
    const err = await rejection(subject.store.executeTransaction(bundle));
    expect(statusOf(err.outcome)).toBeGreaterThanOrEqual(400);
    expect(statusOf(err.outcome)).toBeLessThan(500);
    expect(JSON.stringify(err.outcome.issue)).toMatch(/precondition/i);
    expect(await subject.store.searchResources('Patient', { _tag: `${TAG_SYSTEM}|atomic-patient` })).toEqual([]);
    expect(await subject.store.searchResources('Observation', { _tag: `${TAG_SYSTEM}|atomic-good` })).toEqual([]);
    expect((await subject.store.readResource<Patient>('Patient', existing.id ?? '')).meta?.versionId).toBe(existing.meta?.versionId);
  });

  it('reports a missing resource as an OperationOutcomeError with status 404', async () => {
    const err = await rejection(subject.store.readResource('Patient', 'no-such-patient'));
    expect(statusOf(err.outcome)).toBe(404);
  });

  it('is ready while its server is, and then reports a transient outcome (503)', async () => {
    await expect(subject.store.checkReady()).resolves.toBeUndefined();
    await subject.makeUnavailable();
    const err = await rejection(subject.storeWhenUnavailable.checkReady());
    expect(statusOf(err.outcome)).toBe(503);
    expect(err.outcome.issue?.[0]?.code).toBe('transient');
    const write = await rejection(subject.storeWhenUnavailable.executeTransaction(triageTransaction('after-stop')));
    expect(statusOf(write.outcome)).toBe(503);
  });
});
