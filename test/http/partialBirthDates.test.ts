import type { Bundle, OperationOutcome, Patient, RiskAssessment } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { type Answers, answersWith, buildResponse, childDefaults } from '../support/responses';
import { startTestService } from '../support/testService';

/**
 * Contract 1.1.0, "Age", through the service: the Patient's partial birth date is read from
 * the store and the response scored at every age it allows (authored 2026-11-20). The full
 * boundary table is test/triage/partialBirthDates.test.ts.
 */
let service: Service;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service.close();
});

async function triage(birthDate: string, answers: Answers): Promise<{ status: number; body: Bundle & Pick<OperationOutcome, 'issue'> }> {
  const id = `partial-${birthDate}-${String(answers.age)}`;
  const patient: Patient = { resourceType: 'Patient', id, birthDate };
  await request(service.app).put(`/fhir/Patient/${id}`).set('Content-Type', 'application/fhir+json').send(JSON.stringify(patient));
  const response = buildResponse(answersWith(answers), { subject: { reference: `Patient/${id}` }, authored: '2026-11-20T10:00:00Z' });
  const res = await request(service.app)
    .post('/fhir/QuestionnaireResponse/$triage?persist=false')
    .set('Content-Type', 'application/fhir+json')
    .send(JSON.stringify(response));
  return { status: res.status, body: res.body as Bundle & Pick<OperationOutcome, 'issue'> };
}

function disposition(bundle: Bundle): string | undefined {
  return (bundle.entry?.find((e) => e.resource?.resourceType === 'RiskAssessment')?.resource as RiskAssessment | undefined)?.prediction?.[0]?.outcome
    ?.coding?.[0]?.code;
}

describe('partial birth dates through POST $triage', () => {
  it.each([
    ['2015', { age: 30 }, 'child-very-unwell'],
    ['2015-03', { age: 30 }, 'child-very-unwell'],
    ['2010', { age: 16, ...childDefaults(16) }, 'child-not-improving'],
    ['2008-11', { age: 18 }, 'child-limp'],
  ] as [string, Answers, string][])('born %s, answered %j: 422, the child question %s a possible age needs was skipped', async (birthDate, answers, linkId) => {
    const { status, body } = await triage(birthDate, answers);
    expect(status).toBe(422);
    expect(body.issue?.some((i) => i.diagnostics === `linkId=${linkId}`)).toBe(true);
  });

  it.each([
    ['2023', { age: 3, ...childDefaults(3) }, 'urgent'],
    ['2023-10', { age: 3, ...childDefaults(3) }, 'gp'],
    ['2008-10', { age: 18 }, 'self-care'],
    ['2010', { age: 15, ...childDefaults(15) }, 'gp'],
  ] as [string, Answers, string][])('born %s, answered %j: scored %s, the most urgent possible age kept', async (birthDate, answers, expected) => {
    const { status, body } = await triage(birthDate, answers);
    expect(status).toBe(200);
    expect(disposition(body)).toBe(expected);
  });
});
