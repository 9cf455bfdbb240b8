import type { Patient } from '@medplum/fhirtypes';
import request from 'supertest';
import { answersWith, buildResponse } from './support/responses';
import { startTestService } from './support/testService';

describe('logs carry no health data', () => {
  it('a patient record and a full triage leave no name, birth date or answer in the logs', async () => {
    const service = await startTestService({ LOG_LEVEL: 'debug' });
    const patient: Patient = { resourceType: 'Patient', id: 'log-check', name: [{ family: 'Quixotic', given: ['Zebedee'] }], birthDate: '1961-07-14' };
    await request(service.app).put('/fhir/Patient/log-check').set('Content-Type', 'application/fhir+json').send(JSON.stringify(patient)).expect((r) => expect(r.status).toBeLessThan(300));
    const response = buildResponse(answersWith({ 'saddle-numbness': true, 'pain-score': 9 }), { subject: { reference: 'Patient/log-check' } });
    await request(service.app).post('/fhir/QuestionnaireResponse/$triage').set('Content-Type', 'application/fhir+json').send(JSON.stringify(response)).expect(200);
    await request(service.app).post('/fhir/QuestionnaireResponse/$triage').set('Content-Type', 'application/fhir+json').send('{"resourceType":"QuestionnaireResponse","item":[{"linkId":"saddle-numbness"}]}');
    await service.close();

    const logs = service.logs.text();
    expect(service.logs.lines.length).toBeGreaterThan(0);
    expect(logs).toContain('triage written back'); // the capture works
    for (const forbidden of ['Quixotic', 'Zebedee', '1961-07-14', 'saddle-numbness', 'valueBoolean', 'valueInteger', 'pain-score']) {
      expect(logs).not.toContain(forbidden);
    }
  });
});
