import type { Patient } from '@medplum/fhirtypes';
import request from 'supertest';
import { requestIdFrom } from '../src/http/observeRequests';
import { answersWith, buildResponse } from './support/responses';
import { startTestService } from './support/testService';

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly reqId?: string;
  readonly method?: string;
  readonly route?: string;
  readonly status?: number;
  readonly durationMs?: number;
}

describe('logs carry no health data', () => {
  it('a patient record and a full triage leave no name, birth date or answer in the logs', async () => {
    const service = await startTestService({ LOG_LEVEL: 'debug' });
    const patient: Patient = { resourceType: 'Patient', id: 'log-check', name: [{ family: 'Quixotic', given: ['Zebedee'] }], birthDate: '1961-07-14' };
    await request(service.app)
      .put('/fhir/Patient/log-check')
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(patient))
      .expect((r) => expect(r.status).toBeLessThan(300));
    const response = buildResponse(answersWith({ 'saddle-numbness': true, 'pain-score': 9 }), { subject: { reference: 'Patient/log-check' } });
    await request(service.app)
      .post('/fhir/QuestionnaireResponse/$triage')
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(response))
      .expect(200);
    await request(service.app)
      .post('/fhir/QuestionnaireResponse/$triage')
      .set('Content-Type', 'application/fhir+json')
      .send('{"resourceType":"QuestionnaireResponse","item":[{"linkId":"saddle-numbness"}]}');
    await service.close();

    const logs = service.logs.text();
    expect(service.logs.lines.length).toBeGreaterThan(0);
    expect(logs).toContain('triage written back'); // the capture works
    for (const forbidden of ['Quixotic', 'Zebedee', '1961-07-14', 'saddle-numbness', 'valueBoolean', 'valueInteger', 'pain-score']) {
      expect(logs).not.toContain(forbidden);
    }
  });
});

describe('request logs', () => {
  const SECRET_TOKEN = 'tok-4f1e9a7c2b';
  const SESSION_COOKIE = 'cookie-8d3b6e0f';

  it('one line per request with method, route pattern, status, duration and request id, and nothing that identifies a patient', async () => {
    const service = await startTestService({ LOG_LEVEL: 'debug' });
    const app = service.app;
    const patient: Patient = {
      resourceType: 'Patient',
      id: 'reqlog-patient',
      name: [{ family: 'Quillfeather', given: ['Ottoline'] }],
      birthDate: '1958-03-02',
    };
    await request(app)
      .put('/fhir/Patient/reqlog-patient')
      .set('Content-Type', 'application/fhir+json')
      .set('Cookie', `session=${SESSION_COOKIE}`)
      .send(JSON.stringify(patient));
    const triaged = await request(app)
      .post('/fhir/QuestionnaireResponse/$triage')
      .set('Content-Type', 'application/fhir+json')
      .set('Authorization', `Bearer ${SECRET_TOKEN}`)
      .set('X-Request-Id', 'trace-0001')
      .send(JSON.stringify(buildResponse(answersWith({ 'pain-score': 7 }), { subject: { reference: 'Patient/reqlog-patient' } })))
      .expect(200);
    // A request id that is not a plain token (here: a name) is replaced, never logged.
    const renamed = await request(app)
      .get('/fhir/RiskAssessment?subject=Patient/reqlog-patient&name=Quillfeather')
      .set('X-Request-Id', 'Ottoline Quillfeather');
    const invalid = await request(app)
      .post('/fhir/QuestionnaireResponse/$triage')
      .set('Content-Type', 'application/fhir+json')
      .send('{"resourceType":"QuestionnaireResponse","status":"completed"}');
    await request(app).get('/healthz');
    await service.close();

    const lines = service.logs.lines.map((l) => JSON.parse(l) as LogLine);
    const requestLines = lines.filter((l) => l.msg === 'request');
    expect(requestLines.map((l) => [l.method, l.route, l.status])).toEqual([
      ['PUT', '/fhir/Patient/:id', 200],
      ['POST', '/fhir/QuestionnaireResponse/$triage', 200],
      ['GET', '/fhir/RiskAssessment', 200],
      ['POST', '/fhir/QuestionnaireResponse/$triage', 422],
      ['GET', '/healthz', 200],
    ]);
    for (const line of requestLines) {
      expect(line.reqId).toMatch(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/);
      expect(line.durationMs).toBeGreaterThanOrEqual(0);
    }
    // Every request has its own id, echoed to the client.
    expect(new Set(requestLines.map((l) => l.reqId)).size).toBe(requestLines.length);
    expect(triaged.headers['x-request-id']).toBe('trace-0001');
    expect(renamed.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(invalid.headers['x-request-id']).toBe(requestLines[3]?.reqId);
    // The service's own lines during a request carry that request's id.
    expect(lines.find((l) => l.msg === 'triage written back')?.reqId).toBe('trace-0001');
    // Health checks log at debug, everything else at info.
    expect(requestLines.map((l) => l.level)).toEqual([30, 30, 30, 30, 20]);

    const text = service.logs.text();
    for (const forbidden of [
      'Quillfeather',
      'Ottoline',
      '1958-03-02',
      'reqlog-patient',
      'subject=',
      SECRET_TOKEN,
      SESSION_COOKIE,
      'pain-score',
      'valueInteger',
    ]) {
      expect([forbidden, text.includes(forbidden)]).toEqual([forbidden, false]);
    }
  });

  it('keeps an incoming X-Request-Id only when it is a plain token', () => {
    expect(requestIdFrom('0af7651916cd43dd8448eb211c80319c')).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(requestIdFrom('req_1.2:3-4')).toBe('req_1.2:3-4');
    for (const unsafe of ['', ' leading-space', 'has space', 'line\nbreak', '{"json":1}', 'x'.repeat(129), '-starts-with-dash']) {
      expect(requestIdFrom(unsafe)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(requestIdFrom(['a', 'b'])).not.toBe('a');
    expect(requestIdFrom(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });
});
