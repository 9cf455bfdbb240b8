import type { WithId } from '@medplum/core';
import { parseSearchRequest } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Provenance, Resource, Task } from '@medplum/fhirtypes';
import { SqliteRepository } from '../../src/fhir/embedded/sqliteRepository';
import { StoreDatabase } from '../../src/fhir/embedded/storeDatabase';
import { indexFhirDefinitions } from '../../src/fhir/fhirDefinitions';

/**
 * Intake finds a response's earlier results by `Provenance?entity=` and `Task?focus=` on
 * every stored response, so the embedded store answers both from posting lists. The index
 * must answer exactly what MemoryRepository's full scan answers.
 */
const REFERENCES = [
  'QuestionnaireResponse/qr-1',
  'QuestionnaireResponse/qr-2',
  'https://fhir.example.org/r4/QuestionnaireResponse/qr-1',
  'QuestionnaireResponse/qr-1/_history/3',
  'ServiceRequest/qr-1',
  'ServiceRequest/sr-9',
];

function dataset(): WithId<Resource>[] {
  const resources: WithId<Resource>[] = [];
  REFERENCES.forEach((reference, n) => {
    const provenance: WithId<Provenance> = {
      resourceType: 'Provenance',
      id: `prov-${n}`,
      target: [{ reference: 'RiskAssessment/r' }],
      recorded: '2026-11-20T10:00:00Z',
      agent: [{ who: { reference: 'Device/d' } }],
      entity: [{ role: 'source', what: { reference } }, ...(n % 2 ? [{ role: 'derivation' as const, what: { reference: 'QuestionnaireResponse/qr-2' } }] : [])],
    };
    const task: WithId<Task> = { resourceType: 'Task', id: `task-${n}`, status: 'requested', intent: 'order', focus: { reference } };
    resources.push(provenance, task);
  });
  resources.push({ resourceType: 'Task', id: 'task-no-focus', status: 'requested', intent: 'order' });
  return resources;
}

const QUERIES: readonly (readonly [Resource['resourceType'], Record<string, string>])[] = [
  ['Provenance', { entity: 'QuestionnaireResponse/qr-1' }],
  ['Provenance', { entity: 'QuestionnaireResponse/qr-2' }],
  ['Provenance', { entity: 'QuestionnaireResponse/qr-1,QuestionnaireResponse/qr-2' }],
  ['Provenance', { entity: 'https://fhir.example.org/r4/QuestionnaireResponse/qr-1' }],
  ['Provenance', { entity: 'qr-1' }],
  ['Task', { focus: 'QuestionnaireResponse/qr-1' }],
  ['Task', { focus: 'ServiceRequest/sr-9' }],
  ['Task', { focus: 'QuestionnaireResponse/nobody' }],
  ['Task', { focus: 'qr-1' }],
  ['Task', { focus: 'QuestionnaireResponse/qr-1', status: 'requested' }],
];

describe('the embedded store indexes Provenance `entity` and Task `focus`', () => {
  indexFhirDefinitions();
  const indexed = new SqliteRepository(StoreDatabase.open(':memory:'), { validate: true });
  const scanned = new MemoryRepository();
  beforeAll(async () => {
    for (const resource of dataset()) {
      await indexed.createResource(resource, { assignedId: true });
      await scanned.createResource(resource, { assignedId: true });
    }
  });

  it.each(QUERIES)('%s?%j: the same resources as a full scan', async (resourceType, query) => {
    const ids = async (repo: MemoryRepository | SqliteRepository) =>
      (await repo.searchResources(parseSearchRequest(resourceType, query))).map((r) => r.id).sort();
    expect(await ids(indexed)).toEqual(await ids(scanned));
  });

  it('finds what intake looks for (the dataset is not vacuous)', async () => {
    const ids = (await indexed.searchResources(parseSearchRequest('Task', { focus: 'QuestionnaireResponse/qr-1' }))).map((r) => r.id);
    expect(ids).toContain('task-0');
    expect(ids).not.toContain('task-1');
  });

  it.each([
    ['Provenance', { entity: 'QuestionnaireResponse/qr-1' }],
    ['Task', { focus: 'QuestionnaireResponse/qr-1' }],
  ] as const)('%s?%j is answered from posting lists, not a scan', (resourceType, query) => {
    expect(indexed.usesIndexOnly(parseSearchRequest(resourceType, query))).toBe(true);
  });
});
