import type { Bundle, OperationOutcome, OperationOutcomeIssue, RiskAssessment } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { answersWith, buildResponse } from '../support/responses';
import { RESHAPINGS, redFlagCases, reshape } from '../support/reshapings';
import { startTestService } from '../support/testService';

/**
 * Contract 1.1.0, "Validity": a red flag is never lost to the shape of a response. Every
 * E and U scenario of the red-flag suite, sent valid (control) and then reshaped each way a
 * client gets it wrong, through POST $triage on the real service: each reshaped body is a
 * 422 whose FIRST issue is an `information` issue coded with the disposition the valid
 * response gets, and carrying its advice.
 */
let service: Service;
beforeAll(async () => {
  // Hundreds of responses from one caller in seconds: the per-caller response limit is for floods, not for this table.
  service = await startTestService({ RESPONSE_LIMIT_PER_MINUTE: '0' });
});
afterAll(async () => {
  await service.close();
});

const DISPOSITION_SYSTEM = 'https://fhir.hip-triage.example.org/CodeSystem/triage-disposition';
const RANK: Readonly<Record<string, number>> = { 'self-care': 1, physio: 2, gp: 3, urgent: 4, emergency: 5 };

async function post(body: unknown): Promise<{ status: number; body: Bundle & Pick<OperationOutcome, 'issue'> }> {
  const res = await request(service.app)
    .post('/fhir/QuestionnaireResponse/$triage?persist=false')
    .set('Content-Type', 'application/fhir+json')
    .send(JSON.stringify(body));
  return { status: res.status, body: res.body as Bundle & Pick<OperationOutcome, 'issue'> };
}

function dispositionOfIssue(issue: OperationOutcomeIssue | undefined): string | undefined {
  return issue?.details?.coding?.find((c) => c.system === DISPOSITION_SYSTEM)?.code;
}

const scenarios = redFlagCases().map((s) => ({ ...s, answers: s.complete }));
const table = scenarios.flatMap((s) => Object.keys(RESHAPINGS).map((shape) => [s.rule, s.description, shape, s] as const));

describe('reshaped red-flag responses through POST $triage', () => {
  const validDisposition = new Map<string, string>();

  it.each(scenarios.map((s) => [s.rule, s.description, s] as const))(
    '%s (%s): valid, scored 200 at least as urgent as its rule (control)',
    async (_rule, description, s) => {
      const res = await post(buildResponse(s.answers));
      expect(res.status).toBe(200);
      const risk = res.body.entry?.find((e) => e.resource?.resourceType === 'RiskAssessment')?.resource as RiskAssessment;
      const code = risk.prediction?.[0]?.outcome?.coding?.[0]?.code ?? '';
      expect(RANK[code]).toBeGreaterThanOrEqual(RANK[s.atLeast] ?? 0);
      validDisposition.set(description, code);
    }
  );

  it.each(table)('%s (%s), %s: 422 led by the disposition and its advice', async (rule, description, shape, s) => {
    const res = await post(reshape(shape, s.answers));
    expect(res.status).toBe(422);
    const [first, ...rest] = res.body.issue ?? [];
    expect(first?.severity).toBe('information');
    expect(first?.code).toBe('informational');
    expect(dispositionOfIssue(first)).toBe(validDisposition.get(description) ?? s.atLeast);
    expect(first?.details?.coding?.map((c) => c.code)).toContain(rule);
    expect(first?.details?.text).toMatch(s.atLeast === 'emergency' ? /999/ : /today/);
    // The problems are still listed: the salvage adds to the rejection, it does not replace it.
    expect(rest.some((i) => i.severity === 'error')).toBe(true);
  });
});

describe('what is not salvaged', () => {
  it.each([
    ['not JSON', '{"resourceType": "QuestionnaireResponse", "item": [{"linkId": "cannot-weight-bear", "answer": [{"valueBoolean": true}]}'],
    ['another resource type', JSON.stringify({ resourceType: 'Observation', item: [{ linkId: 'cannot-weight-bear', answer: [{ valueBoolean: true }] }] })],
    ['no resourceType', JSON.stringify({ item: [{ linkId: 'cannot-weight-bear', answer: [{ valueBoolean: true }] }] })],
  ])('%s: 400 with no disposition', async (_name, body) => {
    const res = await request(service.app).post('/fhir/QuestionnaireResponse/$triage?persist=false').set('Content-Type', 'application/fhir+json').send(body);
    expect(res.status).toBe(400);
    expect((res.body as OperationOutcome).issue?.some((i) => i.severity === 'information')).toBe(false);
  });

  it('a reshaped response with no red flag: 422 without an information issue (control)', async () => {
    const res = await post(reshape('flat', answersWith({})));
    expect(res.status).toBe(422);
    expect(res.body.issue?.some((i) => i.severity === 'information')).toBe(false);
  });

  it('a bare QuestionnaireResponse with just one red-flag item at the root, nothing else: 422 with the emergency', async () => {
    const res = await post({ resourceType: 'QuestionnaireResponse', item: [{ linkId: 'saddle-numbness', answer: [{ valueBoolean: true }] }] });
    expect(res.status).toBe(422);
    expect(dispositionOfIssue(res.body.issue?.[0])).toBe('emergency');
  });

  it("a red flag inside an answer's nested items, beside a structure error, still counts", async () => {
    const res = await post({
      resourceType: 'QuestionnaireResponse',
      status: 'done',
      item: [{ linkId: 'age', answer: [{ valueInteger: 40, item: [{ linkId: 'leg-deformed', answer: [{ valueBoolean: true }] }] }] }],
    });
    expect(res.status).toBe(422);
    expect(dispositionOfIssue(res.body.issue?.[0])).toBe('emergency');
  });
});

describe('QuestionnaireResponse/{id}/$triage of a stored reshaped response', () => {
  it.each(['flat', 'misplaced groups', 'repeated no then yes'])('%s with E5 (saddle numbness): 422 led by the emergency', async (shape) => {
    const e5 = scenarios.find((s) => s.rule === 'E5') as (typeof scenarios)[number];
    const created = await request(service.app)
      .post('/fhir/QuestionnaireResponse')
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(reshape(shape, e5.answers)));
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    const res = await request(service.app)
      .post(`/fhir/QuestionnaireResponse/${id}/$triage?persist=false`)
      .set('Content-Type', 'application/fhir+json')
      .send('{}');
    expect(res.status).toBe(422);
    const first = (res.body as OperationOutcome).issue?.[0];
    expect([first?.severity, dispositionOfIssue(first)]).toEqual(['information', 'emergency']);
  });
});
