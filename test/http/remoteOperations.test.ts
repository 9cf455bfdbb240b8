import request from 'supertest';
import type { Service } from '../../src/composeService';
import { answersWith, buildResponse } from '../support/responses';
import { type SecondInstance, startSecondInstance } from '../support/secondInstance';
import { startTestService } from '../support/testService';

/**
 * Readiness and write-back metrics in remote mode, against a second instance of this
 * service standing in for the external FHIR server.
 */
describe('operating in remote mode', () => {
  let instance: SecondInstance;
  let service: Service;
  beforeAll(async () => {
    instance = await startSecondInstance();
    service = await startTestService({ FHIR_BASE_URL: instance.fhirBaseUrl });
  });
  afterAll(async () => {
    await service.close();
    await instance.close();
  });

  const failures = async (kind: string): Promise<number> => {
    const line = (await request(service.app).get('/metrics')).text
      .split('\n')
      .find((l) => l.startsWith(`hip_triage_write_back_failures_total{kind="${kind}"} `));
    return Number(line?.split(' ')[1]);
  };
  const triage = (body: unknown) =>
    request(service.app).post('/fhir/QuestionnaireResponse/$triage').set('Content-Type', 'application/fhir+json').send(JSON.stringify(body));

  it('/readyz says the mode and whether the external server was reached', async () => {
    const ready = await request(service.app).get('/readyz');
    expect([ready.status, ready.body]).toEqual([200, { status: 'ready', mode: 'remote', store: 'ok', fhirServer: 'reachable' }]);
    await instance.stop();
    try {
      const down = await request(service.app).get('/readyz');
      expect([down.status, down.body]).toEqual([503, { status: 'not ready', mode: 'remote', store: 'unavailable', fhirServer: 'unavailable' }]);
      expect(down.headers['retry-after']).toBeDefined();
    } finally {
      await instance.restart();
    }
  });

  it('counts a refused write-back (502) and an unreachable server (503) apart', async () => {
    expect([await failures('refused'), await failures('unavailable')]).toEqual([0, 0]);
    // The server's validation refuses an encounter reference that names a Questionnaire.
    const refused = buildResponse(answersWith({}), {
      subject: { reference: 'Patient/metrics-refused' },
      encounter: { reference: 'Questionnaire/hip-pain-triage' },
    });
    expect((await triage(refused)).status).toBe(502);
    expect([await failures('refused'), await failures('unavailable')]).toEqual([1, 0]);

    await instance.stop();
    try {
      expect((await triage(buildResponse(answersWith({}), { subject: { reference: 'Patient/metrics-outage' } }))).status).toBe(503);
    } finally {
      await instance.restart();
    }
    expect([await failures('refused'), await failures('unavailable')]).toEqual([1, 1]);
  });

  it('has no embedded-store gauges', async () => {
    expect((await request(service.app).get('/metrics')).text).not.toContain('hip_triage_store_');
  });
});
