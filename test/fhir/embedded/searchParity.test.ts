import type { WithId } from '@medplum/core';
import { convertToSearchableReferences, convertToSearchableTokens, evalFhirPathTyped, globalSchema, parseSearchRequest, toTypedValue } from '@medplum/core';
import type { FhirRequest } from '@medplum/fhir-router';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, Observation, Patient, Questionnaire, Resource, SearchParameter, Task } from '@medplum/fhirtypes';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../../src/fhir/embedded/embeddedStore';
import { planSearch } from '../../../src/fhir/embedded/searchKeys';
import type { SqliteRepository } from '../../../src/fhir/embedded/sqliteRepository';
import { indexFhirDefinitions, indexShippedSearchParameters } from '../../../src/fhir/fhirDefinitions';
import { compileSearchValueReader } from '../../../src/fhir/embedded/searchParamValues';
import { idsByTag, memoryRepository, observation, patient, recordingLogger, TAG_SYSTEM, tempDataDir, triageTransaction } from './fixtures';

const TASK_DUE = JSON.parse(readFileSync(join(__dirname, '../../../fhir-resources/SearchParameter-Task-due.json'), 'utf8')) as SearchParameter;

const ID_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
const Q_URL = 'https://fhir.hip-triage.example.org/Questionnaire/hip';

/** A deterministic mix of the shapes the index must get right: case, systems, displays, shared values. */
function dataset(size: number): WithId<Resource>[] {
  const resources: WithId<Resource>[] = [];
  for (let n = 0; n < size; n++) {
    const statuses = ['requested', 'accepted', 'in-progress', 'completed', 'cancelled'] as const;
    const task: WithId<Task> = {
      resourceType: 'Task',
      id: `t${n}`,
      status: statuses[n % 5] ?? 'requested',
      intent: 'order',
      for: { reference: `Patient/p${n % 50}` },
      focus: { reference: `QuestionnaireResponse/qr-${n % 30}` },
      basedOn: [{ reference: `ServiceRequest/sr-${n % 40}` }],
      ...(n % 3 === 0 ? {} : { owner: { reference: n % 3 === 1 ? `Organization/org-${n % 4}` : `HealthcareService/hs-${n % 4}` } }),
      // Dates at every precision and with offsets: the SQL bounds must never leave out a match.
      ...(n % 11 === 0
        ? {}
        : {
            restriction: {
              period: {
                end: [
                  `2026-12-${String(1 + (n % 28)).padStart(2, '0')}T09:00:00Z`,
                  `2026-12-${String(1 + (n % 28)).padStart(2, '0')}`,
                  '2026-12',
                  `2026-12-0${1 + (n % 9)}T23:30:00-10:00`,
                ][n % 4],
              },
            },
          }),
    };
    resources.push(task);
    const p: WithId<Patient> = {
      ...patient(`cohort-${n % 7}`),
      id: `p${n}`,
      identifier: [{ system: n % 3 === 0 ? ID_SYSTEM : 'urn:other', value: n % 2 === 0 ? `ID-${n}` : `id-${n}` }],
      birthDate: `19${String(n % 90).padStart(2, '0')}-01-01`,
    };
    if (n % 5 === 0) {
      p.meta?.tag?.push({ code: 'no-system', display: 'Needs Review' });
    }
    resources.push(p);
    const o: WithId<Observation> = { ...observation(`obs-cohort-${n % 4}`, `Patient/p${n % 50}`), id: `o${n}`, status: n % 2 ? 'final' : 'amended' };
    resources.push(o);
  }
  for (const [id, url, version] of [
    ['q1', Q_URL, '1.0.0'],
    ['q2', Q_URL, '2.0.0'],
    ['q3', `${Q_URL}-v2`, '1.0.0'],
    ['q4', Q_URL.toUpperCase(), '1.0.0'],
  ] as const) {
    const q: WithId<Questionnaire> = { resourceType: 'Questionnaire', id, url, version, status: 'active' };
    resources.push(q);
  }
  // Distinct and shared lastUpdated instants, so sorting has ties to keep in creation order.
  return resources.map((resource, n) => ({
    ...resource,
    meta: { ...resource.meta, versionId: `v${n}`, lastUpdated: new Date(Date.UTC(2026, 10, 1) + Math.floor(n / 3) * 60_000).toISOString() },
  }));
}

/** Same searches the index must answer exactly as MemoryRepository's scan does. */
const equivalentQueries: readonly (readonly [Resource['resourceType'], Record<string, string>])[] = [
  ['Patient', { _tag: `${TAG_SYSTEM}|cohort-3` }],
  ['Patient', { _tag: 'cohort-3' }],
  ['Patient', { _tag: `${TAG_SYSTEM.toUpperCase()}|COHORT-3` }],
  ['Patient', { _tag: '|no-system' }],
  ['Patient', { _tag: `${TAG_SYSTEM}|no-system` }],
  ['Patient', { _tag: 'needs review' }],
  ['Patient', { _tag: `${TAG_SYSTEM}|` }],
  ['Patient', { _tag: 'cohort-1,cohort-2' }],
  ['Patient', { identifier: `${ID_SYSTEM}|id-12` }],
  ['Patient', { identifier: 'ID-13' }],
  ['Patient', { identifier: 'urn:other|id-13,urn:other|ID-14' }],
  ['Patient', { identifier: 'nobody' }],
  ['Patient', { identifier: '|id-13' }],
  ['Patient', { identifier: 'URN:OTHER|' }],
  ['Patient', { _tag: '|' }],
  ['Patient', { _id: 'p42' }],
  ['Patient', { _id: 'p42,p43,nope' }],
  ['Patient', { _tag: 'cohort-2', birthdate: 'ge1950-01-01' }],
  ['Patient', { _tag: 'cohort-2', _sort: '-birthdate', _count: '5', _offset: '2' }],
  ['Patient', { _tag: 'cohort-2', identifier: 'urn:other|id-9' }],
  ['Patient', { '_tag:not': 'cohort-2', identifier: 'id-9' }],
  ['Observation', { subject: 'Patient/p7' }],
  ['Observation', { subject: 'p7' }],
  ['Observation', { subject: 'Group/p7' }],
  ['Observation', { patient: 'p7' }],
  ['Observation', { patient: 'Patient/p7', status: 'final' }],
  ['Observation', { patient: 'Patient/p7', _tag: 'obs-cohort-3' }],
  ['Observation', { subject: 'Patient/p7,Patient/p8', _count: '3' }],
  ['Observation', { 'subject:missing': 'true' }],
  ['Observation', { _tag: 'obs-cohort-1', _include: 'Observation:subject' }],
  ['Questionnaire', { version: '1.0.0' }],
  ['Task', { status: 'requested,accepted,in-progress' }],
  ['Task', { status: 'requested', _count: '7', _offset: '3' }],
  ['Task', { owner: 'Organization/org-1' }],
  ['Task', { owner: 'hs-2' }],
  ['Task', { 'based-on': 'ServiceRequest/sr-3' }],
  ['Task', { focus: 'QuestionnaireResponse/qr-4', status: 'completed' }],
  ['Task', { patient: 'Patient/p9' }],
  ['Task', { due: 'lt2026-12-10' }],
  ['Task', { due: 'le2026-12-10T09:00:00Z', status: 'requested,accepted' }],
  ['Task', { due: 'ge2026-12-20' }],
  ['Task', { due: 'gt2026-12-05T12:00:00+02:00' }],
  ['Task', { due: 'eq2026-12-07' }],
  ['Task', { due: '2026-12' }],
  ['Task', { due: 'ne2026-12-07' }],
  ['Task', { 'due:missing': 'true' }],
  ['Task', { due: 'lt2026-12-10', _sort: 'due', _count: '10' }],
  ['Task', { _lastUpdated: 'ge2026-11-01T05:00:00.000Z' }],
  ['Task', { _lastUpdated: 'lt2026-11-01T03:00:00Z', _sort: '-_lastUpdated' }],
  ['QuestionnaireResponse', {}],
  ['Patient', { _sort: '_lastUpdated', _count: '10', _offset: '20' }],
  ['Patient', { _sort: '-_lastUpdated', _count: '10' }],
  ['Patient', { _tag: 'cohort-4', _sort: '-_lastUpdated', _count: '5', _offset: '5' }],
  ['Patient', { _sort: 'birthdate,-_id', _count: '10', _offset: '3' }],
  ['Patient', { _count: '25', _offset: '1480' }],
  ['Patient', { family: 'synthetic-cohort-3', _count: '4' }],
  ['Observation', { 'subject:Patient.identifier': 'ID-12' }],
];

/** The same resources, with the same versionIds and lastUpdated, in both repositories. */
async function loadBoth(resources: readonly WithId<Resource>[]): Promise<[SqliteRepository, MemoryRepository]> {
  indexFhirDefinitions();
  indexShippedSearchParameters([TASK_DUE]);
  const indexed = memoryRepository();
  const scanned = new MemoryRepository();
  await indexed.withTransaction(async () => {
    for (const resource of resources) {
      await indexed.putVersion(resource);
    }
  });
  await scanned.withSeeding(async () => {
    for (const resource of resources) {
      await scanned.updateResource(resource);
    }
  });
  return [indexed, scanned];
}

const summary = (bundle: Bundle): [number | undefined, string[]] => [
  bundle.total,
  (bundle.entry ?? []).map((e) => `${e.search?.mode}:${e.resource?.resourceType}/${e.resource?.id}`),
];

describe('search parity with MemoryRepository', () => {
  let indexed: SqliteRepository;
  let scanned: MemoryRepository;

  beforeAll(async () => {
    [indexed, scanned] = await loadBoth(dataset(1500));
    // Index maintenance: a tag moved by an update, a delete, and a rolled-back delete.
    for (const repo of [indexed, scanned]) {
      const moved = await repo.readResource<Patient>('Patient', 'p21');
      await repo.updateResource({ ...moved, meta: { tag: [{ system: TAG_SYSTEM, code: 'cohort-2' }] } });
      await repo.deleteResource('Patient', 'p42');
    }
    await expect(
      indexed.withTransaction(async () => {
        await indexed.deleteResource('Patient', 'p43');
        throw new Error('rolled back');
      })
    ).rejects.toThrow('rolled back');
  }, 60_000);

  it('holds every kind of value the table searches for (the dataset is not vacuous)', async () => {
    const count = async (resourceType: Resource['resourceType'], query: Record<string, string>): Promise<number> =>
      (await indexed.searchResources(parseSearchRequest(resourceType, query))).length;
    expect(await count('Task', { due: 'lt2026-12-10' })).toBeGreaterThan(100);
    expect(await count('Task', { owner: 'Organization/org-1' })).toBeGreaterThan(10);
    expect(await count('Task', { 'based-on': 'ServiceRequest/sr-3' })).toBeGreaterThan(10);
    expect(await count('Patient', { _lastUpdated: 'lt2026-11-01T03:00:00Z' })).toBeGreaterThan(10);
  });

  it.each(equivalentQueries)('%s?%j returns what MemoryRepository returns (same ids, order, total)', async (resourceType, query) => {
    const searchRequest = parseSearchRequest(resourceType, query);
    const expected = summary(await scanned.search(structuredClone(searchRequest)));
    expect(summary(await indexed.search(structuredClone(searchRequest)))).toEqual(expected);
  });

  it('reflects updates, deletes and rollbacks', async () => {
    const ids = async (query: Record<string, string>): Promise<string[]> =>
      (await indexed.searchResources(parseSearchRequest('Patient', query))).map((p) => p.id);
    expect(await ids({ _tag: 'cohort-0' })).not.toContain('p21');
    expect(await ids({ _tag: 'cohort-2' })).toContain('p21');
    expect(await ids({ identifier: 'ID-42' })).toEqual([]);
    expect(await ids({ identifier: 'id-43' })).toEqual(['p43']);
  });

  it('answers url exactly (the core matcher would also accept a longer or differently cased url)', async () => {
    const urls = async (repo: MemoryRepository | SqliteRepository, query: Record<string, string>): Promise<string[]> =>
      (await repo.searchResources(parseSearchRequest<Questionnaire>('Questionnaire', query))).map((q) => q.id ?? '').sort();
    expect(await urls(indexed, { url: Q_URL })).toEqual(['q1', 'q2']);
    expect(await urls(indexed, { url: Q_URL, version: '2.0.0' })).toEqual(['q2']);
    expect(await urls(scanned, { url: Q_URL })).toEqual(['q1', 'q2', 'q3', 'q4']);
  });

  it.each([
    ['_tag', { _tag: 'a|b' }, true],
    ['identifier', { identifier: 'x' }, true],
    ['url with version', { url: 'http://x', version: '1' }, true],
    ['subject', { subject: 'Patient/1' }, true],
    ['system-only token', { _tag: 'a|' }, true],
    ['status', { status: 'final' }, true],
    ['_lastUpdated (narrowed in SQL, re-checked)', { _lastUpdated: 'ge2026-01-01' }, true],
    ['empty value', { identifier: '' }, false],
    ['modifier', { '_tag:not': 'a|b' }, false],
    ['unindexed only', { 'value-quantity': '5' }, false],
  ] as const)('answers %s in SQL: %j → %s', (_name, query, usesIndex) => {
    const resourceType = 'url' in query ? 'Questionnaire' : 'Observation';
    expect(planSearch(parseSearchRequest(resourceType, query)).conditions.length > 0).toBe(usesIndex);
  });
});

describe('search value readers', () => {
  const subjects: Observation['subject'][] = [
    { reference: 'Patient/p1' },
    { reference: 'Group/g1' },
    { reference: 'https://elsewhere.example.org/fhir/Patient/p1' },
    { reference: 'Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009' },
    { type: 'Patient', identifier: { system: ID_SYSTEM, value: '9000000009' } },
    { identifier: { system: ID_SYSTEM, value: '9000000009' } },
    { display: 'no reference at all' },
    undefined,
  ];
  const samples: Resource[] = [
    ...subjects.map((subject, n): Observation => ({
      ...observation(`reader-${n}`, 'Patient/x'),
      id: `o${n}`,
      subject,
      identifier: [{ system: ID_SYSTEM, value: `V${n}`, type: { text: 'Local' } }, { value: 'no-system' }],
    })),
    { resourceType: 'Patient', id: 'p', meta: { tag: [{ system: TAG_SYSTEM, code: 'a', display: 'A' }, { code: 'b' }, { system: TAG_SYSTEM }] } },
    { resourceType: 'Questionnaire', id: 'q', url: Q_URL, status: 'active', identifier: [{ system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2.3' }] },
    { resourceType: 'QuestionnaireResponse', status: 'completed', questionnaire: `${Q_URL}|1.0.0`, subject: { reference: 'Patient/p1' } },
    { resourceType: 'Task', status: 'requested', intent: 'order', for: { reference: 'Patient/p1' } },
  ];

  indexFhirDefinitions();
  const cases = samples.flatMap((resource) =>
    ['_id', '_tag', 'identifier', 'url', 'subject', 'patient', 'questionnaire']
      .filter((code) => globalSchema.types[resource.resourceType]?.searchParams?.[code]?.expression)
      .map((code) => [resource.resourceType, code, resource] as const)
  );

  it('checks every sample against at least one parameter', () => {
    expect(new Set(cases.map(([, , resource]) => resource)).size).toBe(samples.length);
  });

  it.each(cases)('%s %s reads what the full (all-types) FHIRPath expression evaluates to', (resourceType, code, resource) => {
    const searchParam = globalSchema.types[resourceType]?.searchParams?.[code];
    if (!searchParam?.expression) {
      throw new Error('unreachable: filtered above');
    }
    const read = compileSearchValueReader(resourceType, searchParam)(resource);
    const evaluated = evalFhirPathTyped(searchParam.expression, [toTypedValue(resource)]);
    expect(read.map((v) => v.value)).toEqual(evaluated.map((v) => v.value));
    expect(convertToSearchableTokens(read)).toEqual(convertToSearchableTokens(evaluated));
    expect(convertToSearchableReferences(read)).toEqual(convertToSearchableReferences(evaluated));
  });
});

describe('search among thousands through the store', () => {
  it('finds the right resources by _tag and identifier', async () => {
    const store = await openEmbeddedStore({ dataDir: ':memory:', logger: recordingLogger() });
    try {
      const entries: BundleEntry[] = Array.from({ length: 3000 }, (_, n) => ({
        resource: { ...patient(n % 1000 === 7 ? 'needle' : `hay-${n % 10}`), identifier: [{ system: ID_SYSTEM, value: `${9000000000 + n}` }] },
        request: { method: 'POST', url: 'Patient' },
      }));
      const [outcome] = await store.handleRest(batch(entries));
      expect(outcome.id).toBe('ok');
      expect(store.stats().resources).toBe(3000);

      const needles = await store.searchResources<Patient>('Patient', { _tag: `${TAG_SYSTEM}|needle` });
      expect(needles.map((p) => p.identifier?.[0]?.value).sort()).toEqual(['9000000007', '9000001007', '9000002007']);
      const [one, ...rest] = await store.searchResources<Patient>('Patient', { identifier: `${ID_SYSTEM}|9000002500` });
      expect(rest).toEqual([]);
      expect(one?.meta?.tag?.[0]?.code).toBe('hay-0');
    } finally {
      await store.close();
    }
  });

  it('keeps the write-back rate flat as the store grows (printed, not asserted)', async () => {
    const { dir, cleanup } = tempDataDir();
    const lines: string[] = [];
    try {
      for (const dataDir of [':memory:', dir]) {
        const store = await openEmbeddedStore({ dataDir, logger: recordingLogger() });
        try {
          // Best of three short runs: other work on a shared machine only ever slows a run down.
          const rate = async (label: string): Promise<number> => {
            const count = 100;
            let best = 0;
            for (const attempt of [1, 2, 3]) {
              const started = performance.now();
              for (let n = 0; n < count; n++) {
                await store.executeTransaction(triageTransaction(`${label}-${attempt}-${n}`));
              }
              best = Math.max(best, count / ((performance.now() - started) / 1000));
            }
            return best;
          };
          await rate('warm-up');
          const empty = await rate('empty');
          for (let filled = 0; filled < 10_000; filled += 1000) {
            const entries: BundleEntry[] = Array.from({ length: 1000 }, (_, n) => ({
              resource: observation(`filler-${filled + n}`, `Patient/filler-${n % 100}`),
              request: { method: 'POST', url: 'Observation' },
            }));
            await store.handleRest(batch(entries));
          }
          const full = await rate('full');
          expect(await idsByTag(store, 'Observation', 'full-3-99-obs-2')).toHaveLength(1);
          expect(store.stats().resources).toBeGreaterThan(10_000);
          lines.push(
            `${dataDir === dir ? 'SQLite file' : ':memory:'}: ${empty.toFixed(0)} tx/s empty, ${full.toFixed(0)} tx/s with ${store.stats().resources} stored, ratio ${(full / empty).toFixed(2)}`
          );
        } finally {
          await store.close();
        }
      }
      console.log(`write-back throughput (3-resource conditional-create transactions)\n${lines.join('\n')}`);
    } finally {
      cleanup();
    }
  }, 120_000);
});

function batch(entries: BundleEntry[]): FhirRequest {
  return { method: 'POST', url: '', pathname: '', params: {}, query: {}, body: { resourceType: 'Bundle', type: 'batch', entry: entries } };
}
