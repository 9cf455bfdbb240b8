import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Patient, QuestionnaireResponse, Task } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { type Answers, answersWith, buildResponse, childDefaults, ROOT } from '../support/responses';
import { startTestService } from '../support/testService';
import { countsOf, recordOf, taskCode } from '../intake/intakeFixtures';

/**
 * Contract 1.1.0: the clinician-only reviews a triage asks for are written in the SAME
 * transaction as its results (embedded store) and read back by search; the safeguarding
 * note is in its Task and in nothing the patient reads.
 */
let service: Service;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service.close();
});

const DUTY_CLINICIAN = 'HealthcareService/hip-triage-duty-clinician';
const TASK_SYSTEM = 'https://fhir.hip-triage.example.org/CodeSystem/triage-task';
const SAFEGUARDING_WORDS = /safeguard|non-accidental|"SG1"/i;

async function putPatient(id: string, birthDate: string): Promise<void> {
  const patient: Patient = { resourceType: 'Patient', id, birthDate };
  const res = await request(service.app).put(`/fhir/Patient/${id}`).set('Content-Type', 'application/fhir+json').send(JSON.stringify(patient));
  expect(res.status).toBeLessThan(300);
}

async function triage(response: QuestionnaireResponse): Promise<{ status: number; body: Bundle }> {
  const res = await request(service.app)
    .post('/fhir/QuestionnaireResponse/$triage')
    .set('Content-Type', 'application/fhir+json')
    .send(JSON.stringify(response));
  return { status: res.status, body: res.body as Bundle };
}

function reviews(tasks: readonly Task[], code: string): Task[] {
  return tasks.filter((t) => taskCode(t) === code);
}

describe('review-identity: answered age and record more than a year apart', () => {
  it.each([
    ['gp (a child answered in an adult record)', {}, 'gp', 'routine'],
    ['urgent', { 'pain-worsening': true }, 'urgent', 'asap'],
    ['emergency', { 'cannot-weight-bear': true }, 'emergency', 'stat'],
  ] as [string, Answers, string, string][])(
    '%s: the result is written, and a review-identity Task for the duty clinician in the same transaction',
    async (name, changes, disposition, priority) => {
      const id = `identity-${disposition}`;
      await putPatient(id, '1990-05-01');
      const { status, body } = await triage(
        buildResponse(answersWith({ age: 10, ...childDefaults(10), ...changes }), { subject: { reference: `Patient/${id}` } })
      );
      expect([name, status]).toEqual([name, 200]);
      const record = await recordOf(service.store, `Patient/${id}`);
      expect(record.risks.map((r) => r.prediction?.[0]?.outcome?.coding?.[0]?.code)).toEqual([disposition]);
      const [review, ...more] = reviews(record.tasks, 'review-identity');
      expect(more).toHaveLength(0);
      expect(review).toMatchObject({
        status: 'requested',
        priority,
        owner: { reference: DUTY_CLINICIAN },
        code: { coding: [{ system: TASK_SYSTEM, code: 'review-identity' }] },
        for: { reference: `Patient/${id}` },
        focus: { reference: `QuestionnaireResponse/${record.responses[0]?.id ?? ''}` },
        input: [{ type: { text: 'Triage result' }, valueReference: { reference: `RiskAssessment/${record.risks[0]?.id ?? ''}` } }],
      });
      expect(review?.description).toMatch(/answered age \(10\) and the record's age \(36\) differ by more than a year/);
      expect(review?.description).not.toMatch(/1990|Patient\//);
      // Same transaction: it carries the triage's idempotency key, as every result of it does.
      const keyOf = (r: { meta?: { tag?: { system?: string; code?: string }[] } } | undefined) =>
        r?.meta?.tag?.find((t) => t.system === 'https://fhir.hip-triage.example.org/CodeSystem/triage-idempotency')?.code?.split(':')[0];
      expect(keyOf(review)).toBe(keyOf(record.risks[0]));
      // It is not among the Provenance's targets, so a write that takes it out (SMART) leaves no dangling reference.
      expect(await service.store.searchResources('Provenance', { target: `Task/${review?.id ?? ''}` })).toHaveLength(0);
      // The identity review is not secret: the answer lists it with the results.
      expect(body.entry?.some((e) => e.resource?.resourceType === 'Task' && taskCode(e.resource) === 'review-identity')).toBe(true);
    }
  );

  it('no review-identity within a year (control)', async () => {
    await putPatient('identity-none', '1986-05-01');
    expect((await triage(buildResponse(answersWith({ age: 41 }), { subject: { reference: 'Patient/identity-none' } }))).status).toBe(200);
    const record = await recordOf(service.store, 'Patient/identity-none');
    expect(countsOf(record).risks).toBe(1);
    expect(reviews(record.tasks, 'review-identity')).toHaveLength(0);
  });
});

describe('review-safeguarding (SG1: under 2 with an injury)', () => {
  const sg1 = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/rules/SG1.qr.json'), 'utf8')) as QuestionnaireResponse;
  const subject = sg1.subject?.reference ?? '';

  it('is written for the duty clinician (asap) with the note, read back; the note is in nothing patient-facing', async () => {
    const { status, body } = await triage(sg1);
    expect(status).toBe(200);
    const record = await recordOf(service.store, subject);
    const [review, ...more] = reviews(record.tasks, 'review-safeguarding');
    expect(more).toHaveLength(0);
    expect(review).toMatchObject({
      status: 'requested',
      priority: 'asap',
      owner: { reference: DUTY_CLINICIAN },
      focus: { reference: `QuestionnaireResponse/${record.responses[0]?.id ?? ''}` },
      input: [{ valueReference: { reference: `RiskAssessment/${record.risks[0]?.id ?? ''}` } }],
    });
    expect(review?.note?.[0]?.text).toMatch(/Consider non-accidental injury/);
    // Patient-facing: the advice, the RiskAssessment and GuidanceResponse, the CarePlan, the referral and its Tasks.
    const patientFacing = { ...record, tasks: record.tasks.filter((t) => t !== review) };
    for (const [type, resources] of Object.entries(patientFacing)) {
      expect([type, JSON.stringify(resources)]).toEqual([type, expect.not.stringMatching(SAFEGUARDING_WORDS)]);
    }
    // The $triage answer (what the calling app shows) leaves the review out altogether.
    expect(JSON.stringify(body)).not.toMatch(SAFEGUARDING_WORDS);
  });

  it('with the safeguarding check broken, the test above would see it (control: the fixture does raise SG1)', async () => {
    const scored = await request(service.app)
      .post('/fhir/QuestionnaireResponse/$triage?persist=false')
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(sg1));
    const rules = JSON.stringify(scored.body).match(/"code":"(U1|U5)"/g) ?? [];
    expect(rules.length).toBeGreaterThan(0);
    const record = await recordOf(service.store, subject);
    expect(reviews(record.tasks, 'review-safeguarding')).toHaveLength(1);
  });
});
