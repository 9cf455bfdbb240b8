import type { AuditEvent, Provenance, RiskAssessment, ServiceRequest, Task } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { REVIEW_SUCCESSOR_URL } from '../../src/review/reviewTerms';
import { startTestService } from '../support/testService';
import { confirmBody, overrideBody, parameter, readBack, review, search, triageRule } from './reviewFixtures';

const REVIEWER = 'Practitioner/dr-okafor';

describe('POST /fhir/RiskAssessment/{id}/$review (embedded store, auth off)', () => {
  let service: Service;
  beforeAll(async () => {
    service = await startTestService();
    await request(service.app)
      .put('/fhir/Practitioner/dr-okafor')
      .set('Content-Type', 'application/fhir+json')
      .send({ resourceType: 'Practitioner', id: 'dr-okafor', name: [{ family: 'Okafor' }] })
      .expect(200);
  });
  afterAll(async () => {
    await service.close();
  });

  it('confirm: a Provenance (verify, agent the reviewer) on the assessment and an AuditEvent; resent, nothing new', async () => {
    const risk = await triageRule(service.app, 'G3', 'p-confirm');
    const res = await review(service.app, risk.id, confirmBody(REVIEWER));
    expect(res.status).toBe(200);
    expect(parameter(res.body, 'outcome')?.valueCode).toBe('confirmed');
    expect(parameter(res.body, 'replayed')?.valueBoolean).toBe(false);
    const provenance = await readBack<Provenance>(service.app, parameter(res.body, 'provenance')?.valueReference?.reference ?? '');
    expect(provenance.activity?.coding?.[0]?.code).toBe('VERIFY');
    expect(provenance.agent?.[0]?.who?.reference).toBe(REVIEWER);
    expect(provenance.target?.[0]?.reference).toBe(`RiskAssessment/${risk.id}`);
    expect(provenance.entity?.[0]?.what?.reference).toBe(`RiskAssessment/${risk.id}/_history/${risk.meta?.versionId}`);
    const audit = await readBack<AuditEvent>(service.app, parameter(res.body, 'auditEvent')?.valueReference?.reference ?? '');
    expect(audit.agent?.[0]?.who?.reference).toBe(REVIEWER);
    expect(audit.outcome).toBe('0');
    expect(audit.entity?.[0]?.what?.reference).toBe(`RiskAssessment/${risk.id}`);
    // No answers in it: only codes, ids and the version reviewed.
    expect(JSON.stringify(audit)).not.toMatch(/valueInteger|answer|pain-score/);
    const unchanged = await readBack<RiskAssessment>(service.app, `RiskAssessment/${risk.id}`);
    expect(unchanged.status).toBe('final');

    const again = await review(service.app, risk.id, confirmBody(REVIEWER), { 'If-Match': `W/"${risk.meta?.versionId}"` });
    expect(again.status).toBe(200);
    expect(parameter(again.body, 'replayed')?.valueBoolean).toBe(true);
    expect(parameter(again.body, 'auditEvent')?.valueReference?.reference).toBe(parameter(res.body, 'auditEvent')?.valueReference?.reference);
    expect(await search<AuditEvent>(service.app, `AuditEvent?entity=RiskAssessment/${risk.id}`)).toHaveLength(1);
    expect(await search<Provenance>(service.app, `Provenance?target=RiskAssessment/${risk.id}`)).toHaveLength(2);
  });

  it('override up (gp to urgent): a new assessment, the old one amended and pointing to it, the referral replaced, Provenance and AuditEvent; every reference resolves', async () => {
    const risk = await triageRule(service.app, 'G3', 'p-up');
    const [oldRequest] = await search<ServiceRequest>(service.app, `ServiceRequest?subject=Patient/p-up`);
    const oldTasks = await search<Task>(service.app, `Task?focus=ServiceRequest/${oldRequest?.id}`);
    expect(oldRequest?.status).toBe('active');
    expect(oldTasks.length).toBeGreaterThan(0);

    const res = await review(
      service.app,
      risk.id,
      overrideBody('urgent', { code: 'examination-findings', text: 'Hot swollen joint on examination.', reviewer: REVIEWER }),
      {
        'If-Match': `W/"${risk.meta?.versionId}"`,
      }
    );
    expect(res.status).toBe(200);
    expect(parameter(res.body, 'outcome')?.valueCode).toBe('overridden');
    const successorRef = parameter(res.body, 'assessment')?.valueReference?.reference ?? '';
    const successor = await readBack<RiskAssessment>(service.app, successorRef);
    expect(successor.status).toBe('final');
    expect(successor.performer?.reference).toBe(REVIEWER);
    expect(successor.prediction?.[0]?.outcome?.coding?.[0]?.code).toBe('urgent');
    expect(successor.reasonCode?.[0]?.coding?.[0]?.code).toBe('examination-findings');
    expect(successor.note?.[0]?.text).toContain('Hot swollen joint on examination.');
    expect(successor.basis?.map((b) => b.reference)).toEqual([`RiskAssessment/${risk.id}/_history/${risk.meta?.versionId}`, risk.basis?.[0]?.reference]);

    const amended = await readBack<RiskAssessment>(service.app, `RiskAssessment/${risk.id}`);
    expect(amended.status).toBe('amended');
    expect(amended.extension?.find((e) => e.url === REVIEW_SUCCESSOR_URL)?.valueReference?.reference).toBe(successorRef);

    const revoked = await readBack<ServiceRequest>(service.app, `ServiceRequest/${oldRequest?.id}`);
    expect(revoked.status).toBe('revoked');
    for (const task of oldTasks) {
      expect((await readBack<Task>(service.app, `Task/${task.id}`)).status).toBe('cancelled');
    }
    const requests = await search<ServiceRequest>(service.app, `ServiceRequest?subject=Patient/p-up&status=active`);
    expect(requests).toHaveLength(1);
    const [newRequest] = requests;
    expect(newRequest?.priority).toBe('asap');
    expect(newRequest?.replaces?.[0]?.reference).toBe(`ServiceRequest/${oldRequest?.id}`);
    expect(newRequest?.supportingInfo?.[0]?.reference).toBe(successorRef);
    const newTasks = await search<Task>(service.app, `Task?focus=ServiceRequest/${newRequest?.id}`);
    expect(newTasks.map((t) => t.status)).toEqual(newTasks.map(() => 'requested'));
    expect(newTasks.some((t) => t.owner?.reference === 'HealthcareService/hip-triage-duty-clinician')).toBe(true);

    const provenance = await readBack<Provenance>(service.app, parameter(res.body, 'provenance')?.valueReference?.reference ?? '');
    expect(provenance.activity?.coding?.[0]?.code).toBe('UPDATE');
    expect(provenance.reason?.[0]?.coding?.[0]?.code).toBe('examination-findings');
    for (const target of provenance.target ?? []) {
      await readBack(service.app, target.reference ?? '');
    }
    const audit = await readBack<AuditEvent>(service.app, parameter(res.body, 'auditEvent')?.valueReference?.reference ?? '');
    expect(audit.action).toBe('U');
    for (const entity of audit.entity ?? []) {
      await readBack(service.app, entity.what?.reference ?? '');
    }
    const details = new Map((audit.entity?.[0]?.detail ?? []).map((d) => [d.type, d.valueString]));
    expect(details.get('disposition-from')).toBe('gp');
    expect(details.get('disposition-to')).toBe('urgent');
    expect(details.get('rules')).toBe('G3');
    expect(JSON.stringify(audit)).not.toContain('Hot swollen');
  });

  it('the same override resent (with or without If-Match) records one review', async () => {
    const risk = await triageRule(service.app, 'P1', 'p-resend');
    const body = overrideBody('gp', { text: 'Known history of inflammatory arthritis.', reviewer: REVIEWER });
    const first = await review(service.app, risk.id, body, { 'If-Match': `W/"${risk.meta?.versionId}"` });
    expect(first.status).toBe(200);
    for (const headers of [{ 'If-Match': `W/"${risk.meta?.versionId}"` }, {}] as Record<string, string>[]) {
      const again = await review(service.app, risk.id, body, headers);
      expect(again.status).toBe(200);
      expect(parameter(again.body, 'replayed')?.valueBoolean).toBe(true);
      expect(parameter(again.body, 'assessment')?.valueReference?.reference).toBe(parameter(first.body, 'assessment')?.valueReference?.reference);
    }
    expect(await search<AuditEvent>(service.app, `AuditEvent?entity=RiskAssessment/${risk.id}`)).toHaveLength(1);
    expect(await search<RiskAssessment>(service.app, `RiskAssessment?subject=Patient/p-resend`)).toHaveLength(2);
    expect(await search<ServiceRequest>(service.app, `ServiceRequest?subject=Patient/p-resend&status=active`)).toHaveLength(1);
  });

  it('409 when another reviewer overrode it since it was loaded (stale If-Match), and nothing is written', async () => {
    const risk = await triageRule(service.app, 'G3', 'p-stale');
    const loaded = `W/"${risk.meta?.versionId}"`;
    expect(
      (await review(service.app, risk.id, overrideBody('physio', { code: 'patient-preference', reviewer: 'Practitioner/dr-first' }), { 'If-Match': loaded }))
        .status
    ).toBe(200);
    const late = await review(service.app, risk.id, overrideBody('urgent', { code: 'clinical-history', reviewer: REVIEWER }), { 'If-Match': loaded });
    expect(late.status).toBe(409);
    expect(late.body.issue[0].code).toBe('conflict');
    expect(await search<AuditEvent>(service.app, `AuditEvent?entity=RiskAssessment/${risk.id}`)).toHaveLength(1);
    const lateConfirm = await review(service.app, risk.id, confirmBody(REVIEWER), { 'If-Match': loaded });
    expect(lateConfirm.status).toBe(409);
  });

  it('an override to a less urgent disposition leaves more urgent open work open and adds a review-downgrade Task', async () => {
    const risk = await triageRule(service.app, 'E1', 'p-down');
    const before = await search<Task>(service.app, `Task?patient=Patient/p-down&status=requested`);
    expect(before.length).toBe(2);
    const res = await review(service.app, risk.id, overrideBody('gp', { code: 'examination-findings', reviewer: REVIEWER }));
    expect(res.status).toBe(200);
    for (const task of before) {
      expect((await readBack<Task>(service.app, `Task/${task.id}`)).status).toBe('requested');
    }
    const [emergencyRequest] = await search<ServiceRequest>(
      service.app,
      `ServiceRequest?subject=Patient/p-down&category=https://fhir.hip-triage.example.org/CodeSystem/triage-disposition|emergency`
    );
    expect(emergencyRequest?.status).toBe('active');
    const downgrade = (await search<Task>(service.app, `Task?patient=Patient/p-down&status=requested`)).filter(
      (t) => t.code?.coding?.[0]?.code === 'review-downgrade'
    );
    expect(downgrade).toHaveLength(1);
    expect(downgrade[0]?.priority).toBe('stat');
    expect(downgrade[0]?.owner?.reference).toBe('HealthcareService/hip-triage-duty-clinician');
    const inputs = downgrade[0]?.input?.map((i) => i.valueReference?.reference) ?? [];
    expect(inputs).toEqual(expect.arrayContaining([...before.map((t) => `Task/${t.id}`), parameter(res.body, 'assessment')?.valueReference?.reference]));
    const gp = await search<ServiceRequest>(
      service.app,
      `ServiceRequest?subject=Patient/p-down&category=https://fhir.hip-triage.example.org/CodeSystem/triage-disposition|gp`
    );
    expect(gp.map((s) => s.status)).toEqual(['active']);
  });

  it.each([
    ['not a Parameters resource', { resourceType: 'Patient' }, 400, 'Parameters'],
    ['no decision', { resourceType: 'Parameters', parameter: [{ name: 'reviewer', valueReference: { reference: REVIEWER } }] }, 422, 'Parameters.parameter'],
    [
      'an override without a reason',
      {
        resourceType: 'Parameters',
        parameter: [
          { name: 'decision', valueCode: 'override' },
          { name: 'disposition', valueCode: 'gp' },
          { name: 'reviewer', valueReference: { reference: REVIEWER } },
        ],
      },
      422,
      'Parameters.parameter',
    ],
    ['an unknown disposition', overrideBody('soon', { text: 'x', reviewer: REVIEWER }), 422, 'Parameters.parameter[1].valueCode'],
    [
      'a reason code outside the system',
      overrideBody('gp', { code: 'hunch', reviewer: REVIEWER }),
      422,
      'Parameters.parameter[2].valueCodeableConcept.coding[0]',
    ],
    ['no reviewer with auth off', confirmBody(), 422, 'Parameters.parameter'],
  ])('%s: answered with the offending path, nothing written', async (_name, body, status, expression) => {
    const risk = await triageRule(service.app, 'S1', `p-bad-${status}-${expression.length}`);
    const res = await review(service.app, risk.id, body as never);
    expect(res.status).toBe(status);
    expect(res.body.issue.flatMap((i: { expression?: string[] }) => i.expression ?? [])).toContain(expression);
    expect(await search<AuditEvent>(service.app, `AuditEvent?entity=RiskAssessment/${risk.id}`)).toHaveLength(0);
  });

  it('422 for a RiskAssessment this service did not write; nothing written', async () => {
    await request(service.app)
      .put('/fhir/RiskAssessment/someone-elses')
      .set('Content-Type', 'application/fhir+json')
      .send({ resourceType: 'RiskAssessment', id: 'someone-elses', status: 'final', subject: { reference: 'Patient/p-other' } })
      .expect(200);
    const res = await review(service.app, 'someone-elses', confirmBody(REVIEWER));
    expect(res.status).toBe(422);
    expect(await search<AuditEvent>(service.app, 'AuditEvent?entity=RiskAssessment/someone-elses')).toHaveLength(0);
  });

  it('the CapabilityStatement lists $review on RiskAssessment, and its OperationDefinition is served', async () => {
    const metadata = (await request(service.app).get('/fhir/metadata').expect(200)).body;
    const definition = 'https://fhir.hip-triage.example.org/OperationDefinition/RiskAssessment-review';
    expect(metadata.rest[0].operation).toContainEqual({ name: 'review', definition });
    expect(metadata.rest[0].resource.find((r: { type: string }) => r.type === 'RiskAssessment').operation).toContainEqual({ name: 'review', definition });
    const served = (await request(service.app).get('/fhir/OperationDefinition/RiskAssessment-review').expect(200)).body;
    expect(served).toMatchObject({ url: definition, code: 'review', resource: ['RiskAssessment'], instance: true, type: false });
    expect(served.parameter.filter((p: { use: string }) => p.use === 'in').map((p: { name: string }) => p.name)).toEqual([
      'decision',
      'disposition',
      'reason',
      'reviewer',
    ]);
  });

  it('404 for an assessment that does not exist', async () => {
    expect((await review(service.app, 'no-such-assessment', confirmBody(REVIEWER))).status).toBe(404);
  });
});
