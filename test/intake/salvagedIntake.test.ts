import type { QuestionnaireResponse, Task } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { RED_FLAG_SCENARIOS } from '../../src/triage/redFlagSuite';
import { answersWith } from '../support/responses';
import { reshape, scenarioResponseAnswers } from '../support/reshapings';
import { type SecondInstance, startSecondInstance } from '../support/secondInstance';
import { startTestService } from '../support/testService';
import { createThroughFhir, taskCode } from './intakeFixtures';

/**
 * Contract 1.1.0: a stored response whose answers are in the wrong shape is not triaged, but
 * its review Task takes the priority of the red flag salvaged from it (it used to be
 * `routine`, "no red flag could be established"). The shapes here are those a FHIR server
 * stores (valid FHIR, wrong for the Questionnaire).
 */
const PRIORITY: Readonly<Record<string, string>> = { emergency: 'stat', urgent: 'asap' };
const SHAPES = ['flat', 'misplaced groups', 'repeated no then yes', 'no subject'];
const SCENARIOS = ['cannot bear weight', 'saddle numbness', 'pain getting worse', 'a child under 3', 'a child with fever'].map((d) => {
  const found = RED_FLAG_SCENARIOS.find((s) => s.description === d);
  if (!found) {
    throw new Error(`no scenario ${d}`);
  }
  return found;
});

function body(shape: string, scenario: (typeof SCENARIOS)[number], subject: string): QuestionnaireResponse {
  const reshaped = reshape(shape, scenarioResponseAnswers(scenario)) as QuestionnaireResponse;
  return reshaped.subject ? { ...reshaped, subject: { reference: subject } } : reshaped;
}

async function reviewOf(store: Service['store'], responseId: string): Promise<Task[]> {
  return (await store.searchResources<Task>('Task', { focus: `QuestionnaireResponse/${responseId}` })).filter((t) => taskCode(t) === 'review-response');
}

describe('embedded intake of a reshaped red-flag response', () => {
  let service: Service;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service.close();
  });

  it.each(SCENARIOS.flatMap((s) => SHAPES.map((shape) => [s.rule, s.description, shape, s] as const)))(
    "%s (%s), %s: ONE review Task at the red flag's priority",
    async (rule, description, shape, scenario) => {
      const stored = await createThroughFhir(
        service.app,
        body(shape, scenario, `Patient/salvage-${rule}-${description.replace(/\W+/g, '-')}-${shape.replace(/\W+/g, '-')}`)
      );
      await service.intake.idle();
      const reviews = await reviewOf(service.store, stored.id);
      expect(reviews).toHaveLength(1);
      expect(reviews[0]?.priority).toBe(PRIORITY[scenario.atLeast]);
      expect(reviews[0]?.description).toMatch(new RegExp(`already show ${scenario.atLeast} \\(rules [^)]*${rule}`));
    }
  );

  it('a reshaped response with no red flag: a routine review (control)', async () => {
    const stored = await createThroughFhir(service.app, reshape('flat', answersWith({})) as QuestionnaireResponse);
    await service.intake.idle();
    expect((await reviewOf(service.store, stored.id)).map((t) => t.priority)).toEqual(['routine']);
  });
});

describe('Subscription receiver (remote mode) with a reshaped red-flag response', () => {
  const SECRET = 'webhook-secret-for-the-salvage-tests';
  let instance: SecondInstance;
  let service: Service;
  beforeAll(async () => {
    instance = await startSecondInstance();
    await instance.service.intake.close();
    service = await startTestService({ FHIR_BASE_URL: instance.fhirBaseUrl, WEBHOOK_SECRET: SECRET });
  });
  afterAll(async () => {
    await service.close();
    await instance.close();
  });

  it('a flat response with saddle numbness: the review Task on the external server is stat', async () => {
    const scenario = SCENARIOS[1] as (typeof SCENARIOS)[number];
    const answer = await instance.service.store.executeTransaction({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: body('flat', scenario, 'Patient/salvage-remote'), request: { method: 'POST', url: 'QuestionnaireResponse' } }],
    });
    const stored = answer.entry?.[0]?.resource as QuestionnaireResponse & { id: string };
    const res = await request(service.app)
      .put(`/subscriptions/questionnaire-response/QuestionnaireResponse/${stored.id}`)
      .set('Authorization', `Bearer ${SECRET}`)
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(stored));
    expect(res.status).toBe(200);
    const reviews = await reviewOf(instance.service.store, stored.id);
    expect(reviews.map((t) => t.priority)).toEqual(['stat']);
    expect(reviews[0]?.description).toMatch(/already show emergency \(rules E5\)/);
  });
});
