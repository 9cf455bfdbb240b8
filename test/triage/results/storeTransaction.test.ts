import { FhirRouter, makeSimpleRequest, MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, GuidanceResponse, Parameters, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { buildTriageTransaction } from '../../../src/triage/results/buildTriageTransaction';
import { idempotencyKey } from '../../../src/triage/results/idempotencyKey';
import { indexFhirDefinitions } from './fhirChecks';
import { fixtureResponse, scoreFixture, shippedContent, shippedRouting, TIME_ZONE } from './resultFixtures';

/**
 * Applies the bundle to Medplum's in-memory FHIR server: the transaction must be
 * accepted, its urn:uuid references rewritten (also inside contained resources), and
 * a second delivery must find the first delivery's resources instead of adding more.
 */
describe('storing the transaction (Medplum in-memory server)', () => {
  const now = new Date('2025-06-10T09:00:00.000Z');
  const response = fixtureResponse('response-gp-work');
  const { bundle } = buildTriageTransaction({
    result: scoreFixture(response, now),
    response,
    content: shippedContent(),
    routing: shippedRouting(),
    now,
    timeZone: TIME_ZONE,
    responseAlreadyStored: false,
  });

  async function apply(repo: MemoryRepository, router: FhirRouter, transaction: Bundle): Promise<Bundle> {
    const result = await router.handleRequest(makeSimpleRequest('POST', '/', structuredClone(transaction)), repo);
    expect(result[0].issue?.[0]?.severity).not.toBe('error');
    return result[1] as Bundle;
  }

  async function all(repo: MemoryRepository, type: Resource['resourceType']): Promise<Resource[]> {
    return repo.searchResources({ resourceType: type, count: 100 });
  }

  test('stores every result once, however often it is delivered', async () => {
    indexFhirDefinitions();
    const repo = new MemoryRepository();
    const router = new FhirRouter();
    const first = await apply(repo, router, bundle);
    expect(first.type).toBe('transaction-response');
    const firstLocations = (first.entry ?? []).map((e) => e.response?.location?.replace(/\/_history\/.*$/, ''));

    const second = await apply(repo, router, bundle);
    expect((second.entry ?? []).map((e) => e.response?.location?.replace(/\/_history\/.*$/, ''))).toEqual(firstLocations);
    for (const type of ['QuestionnaireResponse', 'RiskAssessment', 'CarePlan', 'GuidanceResponse', 'Provenance', 'Device'] as const) {
      expect({ type, count: (await all(repo, type)).length }).toEqual({ type, count: 1 });
    }
    expect((await all(repo, 'ServiceRequest')).length).toBe(2);
    expect((await all(repo, 'Task')).length).toBe(2);

    // References now name the stored resources, including the one inside the contained Parameters.
    const [stored] = (await all(repo, 'QuestionnaireResponse')) as Resource[];
    const storedRef = `QuestionnaireResponse/${stored?.id ?? ''}`;
    const [guidance] = (await all(repo, 'GuidanceResponse')) as GuidanceResponse[];
    const outputs = guidance?.contained?.[0] as Parameters;
    expect(outputs.parameter?.find((p) => p.name === 'response')?.valueReference?.reference).toBe(storedRef);
    for (const request of (await all(repo, 'ServiceRequest')) as ServiceRequest[]) {
      expect(request.supportingInfo?.map((r) => r.reference)).toContain(storedRef);
    }

    // The stored response still gives the same key: our tag lives in meta, which the key ignores.
    expect(idempotencyKey(stored as typeof response, '1.0.0')).toBe(idempotencyKey(response, '1.0.0'));
  });
});
