import type { WithId } from '@medplum/core';
import { getStatus, isOk, OperationOutcomeError } from '@medplum/core';
import type { FhirRequest } from '@medplum/fhir-router';
import { FhirRouter } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, Observation, OperationOutcome, Patient, Resource } from '@medplum/fhirtypes';
import { openEmbeddedStore } from '../../../src/fhir/embedded/embeddedStore';
import {
  dumpDatabase,
  idsByTag,
  memoryRepository,
  observation,
  openTestStore,
  patient,
  recordingLogger,
  TAG_SYSTEM,
  tempDataDir,
  triageTransaction,
} from './fixtures';

function request(method: FhirRequest['method'], url: string, body?: unknown, headers?: Record<string, string>): FhirRequest {
  return { method, url, pathname: '', params: {}, query: {}, body, headers, config: { transactions: true } };
}

interface Existing {
  readonly patient: WithId<Patient>;
  readonly kept: WithId<Observation>;
  readonly doomed: WithId<Observation>;
}

/** A patient with two versions and three observations (two sharing a tag), written through the REST path. */
async function populate(send: (req: FhirRequest) => Promise<[OperationOutcome, Resource?]>): Promise<Existing> {
  const created = async <T extends Resource>(req: FhirRequest): Promise<WithId<T>> => {
    const [outcome, resource] = await send(req);
    expect(isOk(outcome)).toBe(true);
    return resource as WithId<T>;
  };
  const first = await created<Patient>(request('POST', 'Patient', patient('existing')));
  const updated = await created<Patient>(request('PUT', `Patient/${first.id}`, { ...first, gender: 'female' }));
  const kept = await created<Observation>(request('POST', 'Observation', observation('existing-obs', `Patient/${first.id}`)));
  await created<Observation>(request('POST', 'Observation', observation('existing-obs', `Patient/${first.id}`)));
  const doomed = await created<Observation>(request('POST', 'Observation', observation('doomed-obs', `Patient/${first.id}`)));
  return { patient: updated, kept, doomed };
}

const validEntries = (existing: Existing): BundleEntry[] => [
  { request: { method: 'DELETE', url: `Observation/${existing.doomed.id}` } },
  { resource: observation('new-obs', `Patient/${existing.patient.id}`), request: { method: 'POST', url: 'Observation' } },
  { resource: { ...existing.patient, gender: 'other' }, request: { method: 'PUT', url: `Patient/${existing.patient.id}` } },
];

const jsonPatch = (ops: unknown[]): Resource => ({
  resourceType: 'Binary',
  contentType: 'application/json-patch+json',
  data: Buffer.from(JSON.stringify(ops)).toString('base64'),
});

/**
 * Each bundle holds valid deletes, creates and updates plus one entry that must fail. The
 * router runs entries by interaction (deletes, creates, updates, patches), so a late failure
 * (a patch) exercises the undo of every kind of write.
 */
const invalidTransactions: {
  readonly name: string;
  /** Refused by validation, which runs on what clients send to `/fhir`, not on the service's own write-back. */
  readonly validation?: true;
  readonly bad: (existing: Existing) => BundleEntry;
  readonly expectedText: RegExp;
  readonly expectedPath?: string;
}[] = [
  {
    name: 'a reference to a resource type the element does not allow',
    bad: () => ({ resource: { ...observation('bad', 'Questionnaire/hip-pain-triage') }, request: { method: 'POST', url: 'Observation' } }),
    expectedText: /Invalid reference/,
    expectedPath: 'Observation.subject',
    validation: true,
  },
  {
    name: 'an element FHIR does not define',
    bad: (existing) => ({
      resource: { ...observation('bad', `Patient/${existing.patient.id}`), colour: 'red' } as Resource,
      request: { method: 'POST', url: 'Observation' },
    }),
    expectedText: /Invalid additional property "colour"/,
    expectedPath: 'Observation.colour',
    validation: true,
  },
  {
    name: 'an update the router rejects (body id differs from the URL)',
    bad: (existing) => ({ resource: { ...existing.kept, id: 'someone-else' }, request: { method: 'PUT', url: `Observation/${existing.kept.id}` } }),
    expectedText: /Incorrect resource ID/,
  },
  {
    name: 'an update with a stale If-Match',
    bad: (existing) => ({
      resource: { ...existing.kept, status: 'amended' },
      request: { method: 'PUT', url: `Observation/${existing.kept.id}`, ifMatch: 'W/"stale"' },
    }),
    expectedText: /Precondition failed/i,
  },
  {
    name: 'a patch that leaves the resource invalid',
    bad: (existing) => ({
      resource: jsonPatch([{ op: 'add', path: '/colour', value: 'red' }]),
      request: { method: 'PATCH', url: `Observation/${existing.kept.id}` },
    }),
    expectedText: /Invalid additional property "colour"/,
    expectedPath: 'Observation.colour',
    validation: true,
  },
  {
    name: 'a conditional create matching several resources',
    bad: () => ({ resource: observation('dup', 'Patient/x'), request: { method: 'POST', url: 'Observation', ifNoneExist: `_tag=${TAG_SYSTEM}|existing-obs` } }),
    expectedText: /Multiple resources found/,
  },
];

describe('all-or-nothing transactions', () => {
  describe.each(invalidTransactions)('a transaction with $name', ({ bad, expectedText, expectedPath, validation }) => {
    it('leaves the database row-for-row unchanged when run through FhirRouter on the repository', async () => {
      const repo = memoryRepository();
      const router = new FhirRouter();
      const send = (req: FhirRequest): Promise<[OperationOutcome, Resource?]> => router.handleRequest(req, repo) as Promise<[OperationOutcome, Resource?]>;
      const existing = await populate(send);
      const before = dumpDatabase(repo);

      const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: [...validEntries(existing), bad(existing)] };
      const [outcome, response] = await router.handleRequest(request('POST', '', bundle), repo);

      expect(isOk(outcome)).toBe(false);
      expect(response).toBeUndefined();
      expect(repo.database.inTransaction).toBe(false);
      expect(dumpDatabase(repo)).toBe(before);
    });

    it(`is refused by ${validation ? 'a REST transaction' : 'executeTransaction and a REST transaction'} with the router outcome, and nothing is stored`, async () => {
      const { dir, cleanup } = tempDataDir();
      const store = await openTestStore(dir);
      try {
        const existing = await populate((req) => store.handleRest(req));
        const observations = await store.searchResources<Observation>('Observation', { subject: `Patient/${existing.patient.id}` });
        const history = await store.handleRest(request('GET', `Patient/${existing.patient.id}/_history`));
        const stats = store.stats();

        const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: [...validEntries(existing), bad(existing)] };
        const [restOutcome, restAnswer] = await store.handleRest(request('POST', '', bundle));
        expect(restAnswer).toBeUndefined();
        const error = validation
          ? new OperationOutcomeError(restOutcome)
          : await store.executeTransaction(bundle).then(
              () => undefined,
              (err: unknown) => err
            );
        if (!validation) {
          expect(restOutcome).toEqual((error as OperationOutcomeError).outcome);
        }

        expect(error).toBeInstanceOf(OperationOutcomeError);
        const refused = (error as OperationOutcomeError).outcome;
        expect(getStatus(refused)).toBeGreaterThanOrEqual(400);
        expect(getStatus(refused)).toBeLessThan(500);
        expect(refused.issue?.map((issue) => issue.details?.text).join('\n')).toMatch(expectedText);
        if (expectedPath) {
          expect(refused.issue?.flatMap((issue) => issue.expression ?? [])).toContain(expectedPath);
        }
        expect(await store.searchResources('Observation', { subject: `Patient/${existing.patient.id}` })).toEqual(observations);
        expect(await idsByTag(store, 'Observation', 'new-obs')).toEqual([]);
        expect(await store.handleRest(request('GET', `Patient/${existing.patient.id}/_history`))).toEqual(history);
        expect(store.stats()).toEqual(stats);

        await store.close();
        const reopened = await openTestStore(dir);
        expect(await reopened.searchResources('Observation', { subject: `Patient/${existing.patient.id}` })).toEqual(observations);
        await reopened.close();
      } finally {
        await store.close();
        cleanup();
      }
    });
  });

  it('applies transaction semantics even when the caller asks the router for none', async () => {
    const store = await openEmbeddedStore({ dataDir: ':memory:', logger: recordingLogger() });
    try {
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: patient('half'), request: { method: 'POST', url: 'Patient' } },
          { resource: { ...patient('half'), colour: 'red' } as Resource, request: { method: 'POST', url: 'Patient' } },
        ],
      };
      const [outcome] = await store.handleRest({ ...request('POST', '', bundle), config: { transactions: false } });
      expect(isOk(outcome)).toBe(false);
      expect(store.stats().resources).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('rolls a failing nested transaction back to its own start, like a savepoint', async () => {
    const repo = memoryRepository();
    await repo.withTransaction(async () => {
      await repo.createResource(patient('outer'));
      const beforeInner = dumpDatabase(repo);
      await expect(
        repo.withTransaction(async () => {
          await repo.createResource(patient('inner'));
          throw new Error('inner failure');
        })
      ).rejects.toThrow('inner failure');
      expect(dumpDatabase(repo)).toBe(beforeInner);
    });
    expect(repo.database.takeCommitted()).toHaveLength(1);
    expect((await repo.searchResources({ resourceType: 'Patient' })).map((p) => p.meta?.tag?.[0]?.code)).toEqual(['outer']);
  });

  it('keeps the original order after rolling back a delete (unsorted results follow creation order)', async () => {
    const repo = memoryRepository();
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      ids.push((await repo.createResource(patient(`order-${n}`))).id);
    }
    const before = dumpDatabase(repo);
    await expect(
      repo.withTransaction(async () => {
        await repo.deleteResource('Patient', ids[0] ?? '');
        await repo.deleteResource('Patient', ids[1] ?? '');
        throw new Error('abort');
      })
    ).rejects.toThrow('abort');
    expect(dumpDatabase(repo)).toBe(before);
    expect((await repo.searchResources({ resourceType: 'Patient' })).map((p) => p.id)).toEqual(ids);
  });
});

describe('conditional create (ifNoneExist on _tag)', () => {
  it('creates each resource once when the same transaction is posted twice', async () => {
    const store = await openEmbeddedStore({ dataDir: ':memory:', logger: recordingLogger() });
    try {
      const first = await store.executeTransaction(triageTransaction('twice'));
      const second = await store.executeTransaction(triageTransaction('twice'));

      expect(first.entry?.map((e) => e.response?.status)).toEqual(['201', '201', '201']);
      expect(second.entry?.map((e) => e.response?.status)).toEqual(['200', '200', '200']);
      expect(second.entry?.map((e) => e.response?.location)).toEqual(first.entry?.map((e) => e.response?.location));
      for (const [type, code] of [
        ['Patient', 'twice-patient'],
        ['Observation', 'twice-obs-1'],
        ['Observation', 'twice-obs-2'],
      ] as const) {
        expect(await idsByTag(store, type, code)).toHaveLength(1);
      }
      // The urn:uuid reference was rewritten to the patient's real id.
      const [obs] = await store.searchResources<Observation>('Observation', { _tag: `${TAG_SYSTEM}|twice-obs-1` });
      expect(obs?.subject?.reference).toBe(first.entry?.[0]?.response?.location);
    } finally {
      await store.close();
    }
  });

  it('creates each resource once when identical transactions race (writes are serialised)', async () => {
    const store = await openEmbeddedStore({ dataDir: ':memory:', logger: recordingLogger() });
    try {
      const results = await Promise.all(Array.from({ length: 12 }, () => store.executeTransaction(triageTransaction('race'))));
      expect(new Set(results.map((r) => r.entry?.[0]?.response?.location)).size).toBe(1);
      expect(await idsByTag(store, 'Patient', 'race-patient')).toHaveLength(1);
      expect(await idsByTag(store, 'Observation', 'race-obs-2')).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});

describe('concurrent requests', () => {
  it('never show a reader half of a transaction, through the port or REST, while writes are in flight', async () => {
    const { dir, cleanup } = tempDataDir();
    const store = await openTestStore(dir);
    try {
      // Three writers, ten transactions each, and readers arriving throughout.
      const writes = Array.from({ length: 3 }, async (_, lane) => {
        for (let n = 0; n < 10; n++) {
          await store.executeTransaction(triageTransaction(`concurrent-${lane}-${n}`));
        }
      });
      const observed: number[] = [];
      // Each transaction stores a patient and two observations of it, or nothing: one search
      // never sees a patient with one observation.
      const perSubject = (observations: readonly Observation[]): number[] => {
        const counts = new Map<string, number>();
        for (const o of observations) {
          counts.set(o.subject?.reference ?? '', (counts.get(o.subject?.reference ?? '') ?? 0) + 1);
        }
        return [...new Set(counts.values())];
      };
      const checkSnapshot = async (delay: number): Promise<void> => {
        // Arrive part-way through the writes, not before them: microtask hops and event-loop turns.
        for (let hop = 0; hop < delay; hop++) {
          await (hop % 3 === 0 ? new Promise((resolve) => setImmediate(resolve)) : null);
        }
        const observations = await store.searchResources<Observation>('Observation', {});
        const [, bundle] = await store.handleRest(request('GET', 'Observation?_count=1000'));
        const viaRest = ((bundle as Bundle).entry ?? []).map((e) => e.resource as Observation);
        expect(perSubject(observations)).toEqual(observations.length ? [2] : []);
        expect(perSubject(viaRest)).toEqual(viaRest.length ? [2] : []);
        observed.push(observations.length);
      };
      const reads = Array.from({ length: 200 }, (_, n) => checkSnapshot(n % 90));
      await Promise.all([...writes, ...reads]);
      expect(await store.searchResources('Patient', {})).toHaveLength(30);
      // The readers really did arrive between transactions (the test is not vacuous).
      expect(new Set(observed).size).toBeGreaterThan(5);
    } finally {
      await store.close();
      cleanup();
    }
  });
});

describe('group commit (concurrent transaction Bundles share one COMMIT)', () => {
  it('answers every one, a failing one alone, and every answered one survives a restart', async () => {
    const { dir, cleanup } = tempDataDir();
    try {
      const store = await openTestStore(dir);
      const failing: Bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [...(triageTransaction('group-failing').entry ?? []), { request: { method: 'DELETE', url: 'Patient/no-such-patient' } }],
      };
      const settled = await Promise.allSettled([
        ...Array.from({ length: 12 }, (_, n) => store.executeTransaction(triageTransaction(`group-${n}`))),
        store.executeTransaction(failing),
        ...Array.from({ length: 12 }, (_, n) => store.executeTransaction(triageTransaction(`group-${12 + n}`))),
      ]);
      expect(settled.map((s) => s.status)).toEqual([...Array(12).fill('fulfilled'), 'rejected', ...Array(12).fill('fulfilled')]);
      expect(await idsByTag(store, 'Patient', 'group-failing-patient')).toEqual([]);
      const locations = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.entry?.[0]?.response?.location] : []));
      await store.close();

      const reopened = await openTestStore(dir);
      for (let n = 0; n < 24; n++) {
        const [id] = await idsByTag(reopened, 'Patient', `group-${n}-patient`);
        expect(`Patient/${id}`).toBe(locations[n]);
        expect(await idsByTag(reopened, 'Observation', `group-${n}-obs-2`)).toHaveLength(1);
      }
      expect(await idsByTag(reopened, 'Patient', 'group-failing-patient')).toEqual([]);
      await reopened.close();
    } finally {
      cleanup();
    }
  });
});

describe('handleRest', () => {
  it('refuses an invalid resource with a 400 OperationOutcome naming the path', async () => {
    const store = await openEmbeddedStore({ dataDir: ':memory:', logger: recordingLogger() });
    try {
      const [outcome, resource] = await store.handleRest(request('POST', 'Patient', { resourceType: 'Patient', birthDate: 'last tuesday' }));
      expect(resource).toBeUndefined();
      expect(getStatus(outcome)).toBe(400);
      expect(outcome.issue?.[0]?.expression).toEqual(['Patient.birthDate']);
      expect(store.stats().resources).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('serves the REST interactions the service relies on', async () => {
    const store = await openEmbeddedStore({ dataDir: ':memory:', logger: recordingLogger() });
    try {
      const [, createdResource] = await store.handleRest(request('POST', 'Patient', { ...patient('rest'), id: 'client-chosen' }));
      const created = createdResource as WithId<Patient>;
      expect(created.id).not.toBe('client-chosen');
      const v1 = created.meta?.versionId ?? '';
      const [, updated] = await store.handleRest(request('PUT', `Patient/${created.id}`, { ...created, gender: 'male' }));
      const v2 = updated?.meta?.versionId ?? '';

      const steps: { readonly req: FhirRequest; readonly status: number; readonly check?: (resource: Resource | undefined) => void }[] = [
        { req: request('GET', `Patient/${created.id}`), status: 200, check: (r) => expect(r?.meta?.versionId).toBe(v2) },
        { req: request('GET', `Patient/${created.id}/_history/${v1}`), status: 200, check: (r) => expect((r as Patient).gender).toBeUndefined() },
        { req: request('GET', `Patient/${created.id}/_history/no-such-version`), status: 404 },
        {
          req: request('GET', `Patient/${created.id}/_history`),
          status: 200,
          check: (r) => expect((r as Bundle).entry?.map((e) => e.resource?.meta?.versionId)).toEqual([v2, v1]),
        },
        // A second history read must not reverse the stored versions (MemoryRepository does).
        {
          req: request('GET', `Patient/${created.id}/_history`),
          status: 200,
          check: (r) => expect((r as Bundle).entry?.map((e) => e.resource?.meta?.versionId)).toEqual([v2, v1]),
        },
        {
          req: request('PATCH', `Patient/${created.id}`, [{ op: 'replace', path: '/gender', value: 'female' }]),
          status: 200,
          check: (r) => expect((r as Patient).gender).toBe('female'),
        },
        { req: request('GET', `Patient?_tag=${encodeURIComponent(`${TAG_SYSTEM}|rest`)}`), status: 200, check: (r) => expect((r as Bundle).total).toBe(1) },
        { req: request('PUT', `Patient/${created.id}`, { ...created, gender: 'other' }, { 'if-match': `W/"${v1}"` }), status: 412 },
        { req: request('DELETE', `Patient/${created.id}`), status: 200 },
        { req: request('GET', `Patient/${created.id}`), status: 404 },
        { req: request('GET', 'NoSuchThing/1/2/3/4'), status: 404 },
      ];
      for (const { req, status, check } of steps) {
        const [outcome, resource] = await store.handleRest(req);
        expect([req.method, req.url, getStatus(outcome)]).toEqual([req.method, req.url, status]);
        check?.(resource);
      }
    } finally {
      await store.close();
    }
  });

  it('keeps the caller request object as it was sent', async () => {
    const store = await openEmbeddedStore({ dataDir: ':memory:', logger: recordingLogger() });
    try {
      const req = request('GET', 'Patient?_count=1');
      const copy = structuredClone(req);
      await store.handleRest(req);
      expect(req).toEqual(copy);
    } finally {
      await store.close();
    }
  });
});
