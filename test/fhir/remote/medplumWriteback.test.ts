import type { Bundle, Resource } from '@medplum/fhirtypes';
import { openRemoteStore } from '../../../src/fhir/remote/remoteStore';
import { buildTriageTransaction, type TriageTransaction } from '../../../src/triage/results/buildTriageTransaction';
import { recordingLogger } from '../embedded/fixtures';
import { fixtureResponse, scoreFixture, shippedContent, shippedRouting, TIME_ZONE } from '../../triage/results/resultFixtures';
import { medplumServer } from './medplumServer';

/** Tuesday 10 June 2025, 10:00 in London. */
const NOW = new Date('2025-06-10T09:00:00.000Z');
const TYPES = ['Device', 'QuestionnaireResponse', 'RiskAssessment', 'ServiceRequest', 'CarePlan', 'GuidanceResponse', 'Task', 'Provenance'] as const;

/**
 * The most a triage writes: urgent (referral, Task and safety-net Task), an occupational-therapy
 * referral with its Task (the scorer drops P2 under urgent today; the builder takes it, and a
 * routing change could keep it), the response itself and the service Device: 11 entries, every
 * one a conditional create.
 */
function largestTriage(now: Date): TriageTransaction {
  const response = { ...fixtureResponse('response-urgent-work'), subject: { reference: 'Patient/medplum-largest' } };
  const result = { ...scoreFixture(response, NOW), additionalReferrals: ['occupational-therapy'] };
  return buildTriageTransaction({
    result,
    response,
    content: shippedContent(),
    routing: shippedRouting(),
    now,
    timeZone: TIME_ZONE,
    responseAlreadyStored: false,
  });
}

async function counts(server: ReturnType<typeof medplumServer>): Promise<Record<string, number>> {
  const entries = await Promise.all(TYPES.map(async (type) => [type, (await server.repo.searchResources({ resourceType: type })).length] as const));
  return Object.fromEntries(entries);
}

async function versions(server: ReturnType<typeof medplumServer>): Promise<string[]> {
  const all = (await Promise.all(TYPES.map((type) => server.repo.searchResources({ resourceType: type })))).flat() as Resource[];
  return all.map((r) => `${r.resourceType}/${r.id ?? ''}@${r.meta?.versionId ?? ''}`).sort();
}

describe('write-back to Medplum (its transaction processor at its default limits)', () => {
  it('refuses the triage as built: 11 conditional creates exceed its 8-entry strict-isolation limit', async () => {
    const server = medplumServer();
    const store = openRemoteStore({
      baseUrl: server.baseUrl,
      credentials: { method: 'none' },
      logger: recordingLogger(),
      fetch: server.fetch,
      writeStrategy: 'conditional-create',
    });
    const transaction = largestTriage(NOW);
    expect(transaction.bundle.entry).toHaveLength(11);
    expect(transaction.roles).toEqual([
      'device',
      'response',
      'risk',
      'referral',
      'referral-ot',
      'careplan',
      'guidance',
      'task',
      'task-safety-net',
      'task-ot',
      'provenance',
    ]);
    await expect(store.executeTransaction(transaction.bundle)).rejects.toMatchObject({
      outcome: {
        issue: expect.arrayContaining([
          expect.objectContaining({ details: expect.objectContaining({ text: expect.stringMatching(/strict isolation but has too many entries/) }) }),
        ]),
      },
    });
    expect(await counts(server)).toEqual(Object.fromEntries(TYPES.map((t) => [t, 0])));
  });

  it('accepts it under the strategy chosen from the CapabilityStatement, in ONE transaction, and a redelivery writes nothing new', async () => {
    const server = medplumServer();
    const logger = recordingLogger();
    const store = openRemoteStore({ baseUrl: server.baseUrl, credentials: { method: 'none' }, logger, fetch: server.fetch });
    const first = await store.executeTransaction(largestTriage(NOW).bundle);
    expect(JSON.stringify(logger.lines)).toContain('client-ids');
    expect(server.requests).toEqual(['GET /metadata', 'POST /', 'POST /']);
    // Medplum answers an update-as-create with 200.
    expect(first.entry?.map((e) => e.response?.status)).toEqual(Array(11).fill(expect.stringMatching(/^20[01]/)));
    const expected = { Device: 1, QuestionnaireResponse: 1, RiskAssessment: 1, ServiceRequest: 2, CarePlan: 1, GuidanceResponse: 1, Task: 3, Provenance: 1 };
    expect(await counts(server)).toEqual(expected);

    // Every reference between the results points at a stored resource.
    const stored = new Set((first.entry ?? []).map((e) => `${e.resource?.resourceType ?? ''}/${e.resource?.id ?? ''}`));
    const references =
      JSON.stringify(first).match(/"reference":"(Device|QuestionnaireResponse|RiskAssessment|ServiceRequest|CarePlan|GuidanceResponse|Task)\/[^"]+"/g) ?? [];
    expect(references.length).toBeGreaterThan(10);
    for (const reference of references) {
      expect(stored).toContain(reference.slice('"reference":"'.length, -1));
    }
    expect(JSON.stringify(first)).not.toContain('urn:uuid:');

    // Redelivered an hour later (new timestamps, same idempotency key), through a new store as after a restart.
    const before = await versions(server);
    server.requests.length = 0;
    const again = openRemoteStore({ baseUrl: server.baseUrl, credentials: { method: 'none' }, logger, fetch: server.fetch });
    const second = await again.executeTransaction(largestTriage(new Date(NOW.getTime() + 3_600_000)).bundle);
    expect(server.requests).toEqual(['GET /metadata', 'POST /']); // the look-up found everything: no transaction
    expect(second.entry?.map((e) => e.resource?.id)).toEqual(first.entry?.map((e) => e.resource?.id));
    expect(await counts(server)).toEqual(expected);
    expect(await versions(server)).toEqual(before); // not even a new version
  });

  it('keeps the Device a previous triage (or push-content) stored under another id, and references it', async () => {
    const server = medplumServer();
    const device = largestTriage(NOW).bundle.entry?.[0]?.resource;
    const existing = await server.repo.createResource({ ...(device as Resource) });
    const store = openRemoteStore({ baseUrl: server.baseUrl, credentials: { method: 'none' }, logger: recordingLogger(), fetch: server.fetch });
    const answer: Bundle = await store.executeTransaction(largestTriage(NOW).bundle);
    expect(answer.entry?.[0]?.resource?.id).toBe(existing.id);
    expect((await counts(server)).Device).toBe(1);
    expect(JSON.stringify(answer.entry?.[2]?.resource)).toContain(`Device/${existing.id}`);
  });
});
