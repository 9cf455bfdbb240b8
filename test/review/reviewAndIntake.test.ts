import type { RiskAssessment, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { Service } from '../../src/composeService';
import request from 'supertest';
import { ruleFixture } from '../queue/queueFixtures';
import { startTestService } from '../support/testService';
import { overrideBody, parameter, readBack, review, search, triageRule } from './reviewFixtures';

/**
 * A clinician's override must survive intake seeing the same response again (a Subscription
 * redelivery, the start-up catch-up of the last 24 hours): the override is the current
 * assessment, not "superseded results" to be re-triaged.
 */
describe('an override and intake', () => {
  let service: Service;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service.close();
  });

  it('the same response seen again by intake after an override: nothing changes, no re-triage Task', async () => {
    const risk = await triageRule(service.app, 'G3', 'p-intake');
    const res = await review(service.app, risk.id, overrideBody('urgent', { code: 'examination-findings', reviewer: 'Practitioner/dr-a' }));
    expect(res.status).toBe(200);
    const responseId = risk.basis?.[0]?.reference?.split('/')[1] ?? '';
    const outcome = await service.intake.responses.admitStored(responseId);
    expect(outcome.action).toBe('ignored');
    const successor = await readBack<RiskAssessment>(service.app, parameter(res.body, 'assessment')?.valueReference?.reference ?? '');
    expect(successor.status).toBe('final');
    expect((await search<ServiceRequest>(service.app, 'ServiceRequest?subject=Patient/p-intake&status=active')).map((s) => s.priority)).toEqual(['asap']);
    const tasks = await search<Task>(service.app, 'Task?patient=Patient/p-intake&status=requested');
    expect(tasks.map((t) => t.code?.coding?.[0]?.code).sort()).toEqual(['fulfill', 'fulfill']);
  });

  it("the response amended to new answers after an override: the new triage supersedes the review's results as well", async () => {
    const risk = await triageRule(service.app, 'P1', 'p-amend');
    const res = await review(service.app, risk.id, overrideBody('gp', { code: 'clinical-history', reviewer: 'Practitioner/dr-a' }));
    expect(res.status).toBe(200);
    const responseId = risk.basis?.[0]?.reference?.split('/')[1] ?? '';
    const amended = { ...ruleFixture('U1'), id: responseId, status: 'amended', subject: { reference: 'Patient/p-amend' } };
    await request(service.app)
      .put(`/fhir/QuestionnaireResponse/${responseId}`)
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(amended))
      .expect(200);
    await service.intake.idle();
    const successor = await readBack<RiskAssessment>(service.app, parameter(res.body, 'assessment')?.valueReference?.reference ?? '');
    expect(successor.status).toBe('amended');
    const active = await search<ServiceRequest>(service.app, 'ServiceRequest?subject=Patient/p-amend&status=active');
    expect(active.map((s) => s.category?.[1]?.coding?.[0]?.code)).toEqual(['urgent']);
    const all = await search<RiskAssessment>(service.app, 'RiskAssessment?subject=Patient/p-amend');
    expect(all.map((r) => [r.prediction?.[0]?.outcome?.coding?.[0]?.code, r.status]).sort()).toEqual([
      ['gp', 'amended'],
      ['physio', 'amended'],
      ['urgent', 'final'],
    ]);
  });
});
