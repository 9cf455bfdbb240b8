import type { AuditEvent, RiskAssessment, ServiceRequest } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { type SecondInstance, startSecondInstance } from '../support/secondInstance';
import { startTestService } from '../support/testService';
import { reviewBlock, spoken } from './queueRows';
import { overrideBody, parameter, readBack, review, search, triageRule } from './reviewFixtures';

/**
 * Remote mode: `$review` and the dashboard go through the same port to an external FHIR
 * server (a second instance of this service over loopback HTTP), and nothing is kept locally.
 */
describe('$review, the /queue marks and the dashboard against an external FHIR server', () => {
  let external: SecondInstance;
  let service: Service;
  beforeAll(async () => {
    external = await startSecondInstance();
    service = await startTestService({ FHIR_BASE_URL: external.fhirBaseUrl });
  });
  afterAll(async () => {
    await service.close();
    await external.close();
  });

  it('an override is written there in one transaction, resent it is replayed, and the queue and the dashboard read it back from there', async () => {
    const risk = await triageRule(service.app, 'G3', 'p-remote');
    const res = await review(service.app, risk.id, overrideBody('physio', { code: 'patient-preference', reviewer: 'Practitioner/dr-remote' }), {
      'If-Match': `W/"${risk.meta?.versionId}"`,
    });
    expect(res.status).toBe(200);
    const again = await review(service.app, risk.id, overrideBody('physio', { code: 'patient-preference', reviewer: 'Practitioner/dr-remote' }), {
      'If-Match': `W/"${risk.meta?.versionId}"`,
    });
    expect(parameter(again.body, 'replayed')?.valueBoolean).toBe(true);

    const there = external.service.app;
    expect((await readBack<RiskAssessment>(there, `RiskAssessment/${risk.id}`)).status).toBe('amended');
    const successor = await readBack<RiskAssessment>(there, parameter(res.body, 'assessment')?.valueReference?.reference ?? '');
    expect(successor.prediction?.[0]?.outcome?.coding?.[0]?.code).toBe('physio');
    expect(await search<AuditEvent>(there, `AuditEvent?entity=RiskAssessment/${risk.id}`)).toHaveLength(1);
    expect(
      (await search<ServiceRequest>(there, 'ServiceRequest?subject=Patient/p-remote&status=active')).map((s) => s.category?.[1]?.coding?.[0]?.code)
    ).toEqual(['physio']);

    // The queue reads the marks from there too: the new referral's row says what the override changed.
    const successorId = (parameter(res.body, 'assessment')?.valueReference?.reference ?? '').replace('RiskAssessment/', '');
    const queue = (await request(service.app).get('/queue').expect(200)).text;
    expect(spoken(reviewBlock(queue, successorId))).toBe(
      'Overridden: See a GP changed to Physiotherapy by Practitioner/dr-remote on Fri, 20 Nov 2026, 12:00 GMT , reason: Patient preference.'
    );

    const csv = (await request(service.app).get('/queue/dashboard.csv?from=2026-11-01&to=2026-11-30').expect(200)).text.split('\r\n');
    expect(csv).toEqual(expect.arrayContaining(['per rule,G3,triages,1', 'per rule,G3,override rate %,100', 'per rule,G3,overridden down,1']));
  });
});
