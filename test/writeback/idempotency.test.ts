import type { Bundle, QuestionnaireResponse } from '@medplum/fhirtypes';
import type { Express } from 'express';
import request from 'supertest';
import type { FhirStore } from '../../src/fhir/fhirStore';
import { startSecondInstance } from '../support/secondInstance';
import { startTestService } from '../support/testService';
import { counts, gpResponse, ONE_OF_EACH, RESULT_TYPES, resultsForSubject, storedReferences } from './triageResults';

/**
 * One response, however often and by whichever route it arrives, yields one set of results:
 * in embedded mode, and in remote mode against a second instance over HTTP.
 */
interface Setup {
  readonly app: Express;
  /** Where the results land (remote mode: the second instance's own store). */
  readonly store: FhirStore;
  close(): Promise<void>;
}

const modes: [string, () => Promise<Setup>][] = [
  [
    'embedded store',
    async () => {
      const service = await startTestService();
      return { app: service.app, store: service.store, close: () => service.close() };
    },
  ],
  [
    'remote store, a second instance over HTTP',
    async () => {
      const instance = await startSecondInstance();
      const service = await startTestService({ FHIR_BASE_URL: instance.fhirBaseUrl });
      return {
        app: service.app,
        store: instance.service.store,
        close: async () => {
          await service.close();
          await instance.close();
        },
      };
    },
  ],
];

async function triage(app: Express, body: unknown, path = '/fhir/QuestionnaireResponse/$triage'): Promise<Bundle> {
  const res = await request(app).post(path).set('Content-Type', 'application/fhir+json').send(JSON.stringify(body));
  expect([res.status, res.body.resourceType]).toEqual([200, 'Bundle']);
  return res.body as Bundle;
}

describe.each(modes)('one set of results per response (%s)', (_mode, setUp) => {
  let setup: Setup;
  beforeAll(async () => {
    setup = await setUp();
  });
  afterAll(async () => {
    await setup.close();
  });

  it('posted three times, then once more with an id and meta added: exactly one of each result', async () => {
    const subject = 'Patient/idempotent-1';
    const response = gpResponse(subject);
    const answers: Bundle[] = [];
    for (let i = 0; i < 3; i++) {
      answers.push(await triage(setup.app, response));
    }
    const fromAnEhr: QuestionnaireResponse = {
      ...response,
      id: 'chosen-by-the-sender',
      meta: { versionId: '3', lastUpdated: '2026-11-19T08:00:00Z', tag: [{ system: 'http://example.org/ehr-tags', code: 'imported' }] },
    };
    answers.push(await triage(setup.app, fromAnEhr));

    const first = storedReferences(answers[0] as Bundle);
    expect(first.map((r) => r.split('/')[0])).toEqual([
      'QuestionnaireResponse',
      'RiskAssessment',
      'ServiceRequest',
      'CarePlan',
      'GuidanceResponse',
      'Task',
      'Provenance',
    ]);
    for (const answer of answers) {
      expect(storedReferences(answer)).toEqual(first);
    }
    expect(counts(await resultsForSubject(setup.store, subject))).toEqual(ONE_OF_EACH);
    // The store is fresh: nothing else of these types exists anywhere in it.
    for (const type of RESULT_TYPES) {
      expect([type, (await setup.store.searchResources(type, { _count: '100' })).length]).toEqual([type, 1]);
    }
    expect(await setup.store.searchResources('Device', { _count: '100' })).toHaveLength(1);
  });

  it('triaging the stored response by id ({id}/$triage) finds the same results', async () => {
    const subject = 'Patient/idempotent-2';
    const first = storedReferences(await triage(setup.app, gpResponse(subject)));
    const storedResponse = first.find((r) => r.startsWith('QuestionnaireResponse/')) ?? '';
    const again = storedReferences(await triage(setup.app, {}, `/fhir/${storedResponse}/$triage`));
    expect(again).toEqual(first.filter((r) => r !== storedResponse));
    expect(counts(await resultsForSubject(setup.store, subject))).toEqual(ONE_OF_EACH);
  });
});
