import type { Bundle, OperationOutcome, Patient, RiskAssessment } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { type Answers, answersWith, buildResponse, childDefaults } from '../support/responses';
import { startTestService } from '../support/testService';

let service: Service;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service.close();
});

const RULE_SYSTEM = 'https://fhir.hip-triage.example.org/CodeSystem/triage-rule';

async function post(body: unknown, persist = false) {
  const res = await request(service.app)
    .post(`/fhir/QuestionnaireResponse/$triage${persist ? '' : '?persist=false'}`)
    .set('Content-Type', 'application/fhir+json')
    .send(JSON.stringify(body));
  return { status: res.status, body: res.body as Bundle & Pick<OperationOutcome, 'issue'> };
}

function outcomeOf(bundle: Bundle): { disposition: string; rules: string[] } {
  const risk = bundle.entry?.find((e) => e.resource?.resourceType === 'RiskAssessment')?.resource as RiskAssessment;
  const guidance = JSON.stringify(bundle.entry?.find((e) => e.resource?.resourceType === 'GuidanceResponse')?.resource ?? {});
  const rules = [...guidance.matchAll(new RegExp(`"system":"${RULE_SYSTEM}","code":"([A-Z]+\\d+)"`, 'g'))].map((m) => m[1] ?? '');
  return { disposition: risk.prediction?.[0]?.outcome?.coding?.[0]?.code ?? '', rules };
}

const child = (age: number, extra: Answers = {}): Answers => ({ age, ...childDefaults(age), ...extra });

type Row = [description: string, answers: Answers, disposition: string, fires: string[], doesNotFire: string[]];

const ROWS: Row[] = [
  ['age 1 with a fall: safeguarding (SG1) and under-3 (U5)', child(1, { 'fall-or-injury': true }), 'urgent', ['U1', 'U5', 'G1'], []],
  ['age 2 with a fall: no safeguarding note, still under 3', child(2, { 'fall-or-injury': true }), 'urgent', ['U1', 'U5'], []],
  ['age 2: under 3 is urgent (U5)', child(2), 'urgent', ['U5', 'G1'], []],
  ['age 3: not under 3, a child is a GP review (G1)', child(3), 'gp', ['G1'], ['U5']],
  ['age 8 with a limp: below the slipped-epiphysis band', child(8, { 'child-limp': true }), 'gp', ['G1'], ['U5']],
  ['age 9 with a limp: in the band (U5)', child(9, { 'child-limp': true }), 'urgent', ['U5'], []],
  ['age 8 with reduced movement: below the band', child(8, { 'reduced-movement': true }), 'gp', ['G1'], ['U5']],
  ['age 9 with reduced movement: in the band (U5)', child(9, { 'reduced-movement': true }), 'urgent', ['U5'], []],
  ['age 15 with fever: a child with fever is an emergency (E7)', child(15, { 'fever-or-unwell': true }), 'emergency', ['E7', 'U2', 'G1'], []],
  ['age 16 with fever: an adult, urgent (U2)', child(16, { 'fever-or-unwell': true }), 'urgent', ['U2'], ['E7', 'G1']],
  ['age 15: a child (G1)', child(15), 'gp', ['G1'], []],
  ['age 16: an adult, self-care', child(16), 'self-care', ['S1'], ['G1']],
  ['age 17 with a limp: in the band (U5)', child(17, { 'child-limp': true }), 'urgent', ['U5'], []],
  ['age 18: the limp question no longer applies', child(18), 'self-care', ['S1'], ['U5']],
  ['pain score 7: not extremely bad', { 'pain-score': 7 }, 'self-care', ['S1'], ['G3']],
  ['pain score 8: extremely bad (G3)', { 'pain-score': 8 }, 'gp', ['G3'], []],
  ['duration under 3 days', { duration: 'under-3-days', 'not-improving': true }, 'self-care', ['S1'], ['P1', 'G9']],
  ['duration 3 to 13 days', { duration: '3-13-days', 'not-improving': true }, 'self-care', ['S1'], ['P1', 'G9']],
  ['duration 2 to 6 weeks, not improving', { duration: '2-6-weeks', 'not-improving': true }, 'gp', ['G9', 'P1'], []],
  ['duration 6 to 12 weeks, improving', { duration: '6-12-weeks' }, 'physio', ['P1'], ['G9']],
  ['duration over 12 weeks, not improving', { duration: 'over-12-weeks', 'not-improving': true }, 'gp', ['G9', 'P1'], []],
  ['no painkillers', { painkillers: 'none' }, 'self-care', ['S1'], ['G2', 'G11']],
  ['painkillers under 2 weeks, helping', { painkillers: 'under-2-weeks', 'painkillers-not-helping': false }, 'self-care', ['S1'], ['G2', 'G11']],
  ['painkillers under 2 weeks, not helping', { painkillers: 'under-2-weeks', 'painkillers-not-helping': true }, 'self-care', ['S1'], ['G2', 'G11']],
  ['painkillers 2 weeks or more, helping', { painkillers: '2-weeks-or-more', 'painkillers-not-helping': false }, 'gp', ['G11'], ['G2']],
  ['painkillers 2 weeks or more, not helping', { painkillers: '2-weeks-or-more', 'painkillers-not-helping': true }, 'gp', ['G2', 'G11'], []],
  ['some difficulty with daily activities: the U7 deviation', { 'daily-activities': 'some' }, 'self-care', ['S1'], ['U7']],
  ['unable to do daily activities (U7)', { 'daily-activities': 'unable' }, 'urgent', ['U7'], []],
  ['diabetes alone does not fire G7', { 'risk-factors': ['diabetes'] }, 'self-care', ['S1'], ['G7', 'E3']],
];

describe('boundaries, through POST $triage', () => {
  it.each(ROWS)('%s', async (_description, answers, disposition, fires, doesNotFire) => {
    const { status, body } = await post(buildResponse(answersWith(answers)));
    expect(status).toBe(200);
    const result = outcomeOf(body);
    expect(result.disposition).toBe(disposition);
    expect(result.rules).toEqual(expect.arrayContaining(fires));
    for (const rule of doesNotFire) {
      expect(result.rules).not.toContain(rule);
    }
  });
});

function adviceIssue(outcome: Pick<OperationOutcome, 'issue'>) {
  return outcome.issue?.find((i) => i.severity === 'information');
}

describe('red flags in an invalid response are not lost (three-valued logic)', () => {
  it('pain-score missing with saddle numbness: 422 carrying emergency and its advice', async () => {
    const { status, body } = await post(buildResponse(answersWith({ 'pain-score': undefined, 'saddle-numbness': true })));
    expect(status).toBe(422);
    const issue = adviceIssue(body);
    expect(issue?.details?.coding?.[0]?.code).toBe('emergency');
    expect(issue?.details?.text).toMatch(/999/);
    expect(issue?.diagnostics).toContain('E5');
  });

  it('bladder-bowel-change missing with saddle numbness still fires E5', async () => {
    const { status, body } = await post(buildResponse(answersWith({ 'bladder-bowel-change': undefined, 'saddle-numbness': true })));
    expect(status).toBe(422);
    expect(adviceIssue(body)?.details?.coding?.[0]?.code).toBe('emergency');
    expect(body.issue?.some((i) => i.diagnostics === 'linkId=bladder-bowel-change')).toBe(true);
  });

  it('a rule whose missing input could make it false does not fire: hot joint with risk factors missing gives urgent, not emergency', async () => {
    const { status, body } = await post(buildResponse(answersWith({ 'risk-factors': undefined, 'hot-swollen-joint': true })));
    expect(status).toBe(422);
    expect(adviceIssue(body)?.details?.coding?.[0]?.code).toBe('urgent');
  });

  it('no red flag among the answers given: no advice issue, and a missing answer is not read as no', async () => {
    const { status, body } = await post(buildResponse(answersWith({ 'cannot-weight-bear': undefined })));
    expect(status).toBe(422);
    expect(adviceIssue(body)).toBeUndefined();
  });

  it('age missing with fever: a child with fever would be an emergency, an adult urgent; urgent is certain', async () => {
    const { status, body } = await post(buildResponse(answersWith({ age: undefined, 'fever-or-unwell': true })));
    expect(status).toBe(422);
    expect(adviceIssue(body)?.details?.coding?.[0]?.code).toBe('urgent');
  });
});

describe('age checked against the birth date', () => {
  async function withPatient(birthDate: string, answers: Answers, persist = false) {
    const id = `age-${birthDate}-${String(answers.age)}`;
    const patient: Patient = { resourceType: 'Patient', id, birthDate };
    await request(service.app)
      .put(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(patient))
      .expect((r) => {
        if (r.status >= 300) throw new Error(JSON.stringify(r.body));
      });
    return post(buildResponse(answersWith(answers), { subject: { reference: `Patient/${id}` }, authored: '2026-11-20T10:00:00Z' }), persist);
  }

  it('an adult answer for a 10-year-old (by birth date) whose child questions were skipped: 422, red flag advice kept', async () => {
    const { status, body } = await withPatient('2016-05-01', { age: 40, 'fever-or-unwell': true });
    expect(status).toBe(422);
    expect(body.issue?.some((i) => i.diagnostics === 'linkId=child-very-unwell')).toBe(true);
    // Fever in a child is E7: three-valued scoring with the birth-date age keeps it.
    expect(adviceIssue(body)?.details?.coding?.[0]?.code).toBe('emergency');
  });

  it('scores with both ages and keeps the more urgent: answered 20, birth date says 17 with reduced movement', async () => {
    const { status } = await withPatient('2009-06-01', { age: 20, 'reduced-movement': true });
    expect(status).toBe(422); // 17 enables child-limp, which was skipped
    const ok = await withPatient('2009-06-01', { age: 17, 'child-limp': false, 'reduced-movement': true });
    expect(ok.status).toBe(200);
    expect(outcomeOf(ok.body).disposition).toBe('urgent');
  });

  it('a mismatch of more than a year is a warning, and the more urgent age wins', async () => {
    // Answered 5 (a child: G1, gp); the birth date makes them 2 on the day of authoring: under 3 is U5, urgent.
    const { status, body } = await withPatient('2024-03-01', { age: 5, ...childDefaults(5) });
    expect(status).toBe(200);
    const result = outcomeOf(body);
    expect(result.disposition).toBe('urgent');
    expect(result.rules).toContain('U5');
    const warnings = body.entry?.find((e) => e.resource?.resourceType === 'OperationOutcome')?.resource as OperationOutcome | undefined;
    expect(warnings?.issue?.[0]?.severity).toBe('warning');
    expect(warnings?.issue?.[0]?.details?.text).toMatch(/differs by more than a year/);
  });

  it('a difference of one year is no warning', async () => {
    const { status, body } = await withPatient('2023-03-01', { age: 4, ...childDefaults(4) });
    expect(status).toBe(200);
    expect(body.entry?.some((e) => e.resource?.resourceType === 'OperationOutcome')).toBe(false);
  });

  it('a birthday on the day of authoring counts: born 2010-11-20 is 16 on 2026-11-20', async () => {
    const { status, body } = await withPatient('2010-11-20', { age: 16, ...childDefaults(16) });
    expect(status).toBe(200);
    expect(outcomeOf(body).disposition).toBe('self-care');
    const dayBefore = await withPatient('2010-11-21', { age: 16, ...childDefaults(16) });
    expect(dayBefore.status).toBe(422); // still 15 by birth date: child questions were skipped
  });
});
