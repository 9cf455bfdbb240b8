import type { Bundle, OperationOutcome, QuestionnaireResponse } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { type SecondInstance, startSecondInstance } from '../support/secondInstance';
import { startTestService } from '../support/testService';
import { counts, gpResponse, NONE, ONE_OF_EACH, resultsForSubject, storedReferences } from './triageResults';

/**
 * Remote mode against a second instance of this service (embedded mode) over real HTTP:
 * the write-back is one request, an unreachable server is a 503 that still carries the
 * advice, and a server's refusal is a 502 that passes its OperationOutcome through.
 * (A transaction with one invalid entry leaving the embedded store unchanged is proven in
 * test/fhir/embedded/transactions.test.ts and, for both stores, test/fhir/storeContract.test.ts.)
 */
describe('write-back to an external FHIR server', () => {
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

  const triage = (body: QuestionnaireResponse) =>
    request(service.app).post('/fhir/QuestionnaireResponse/$triage').set('Content-Type', 'application/fhir+json').send(JSON.stringify(body));

  it('lands every result on the server in ONE transaction, after one look-up batch (plus the read of the birth date)', async () => {
    instance.received.length = 0;
    const res = await triage(gpResponse('Patient/remote-one-request'));
    expect(res.status).toBe(200);
    // The server's CapabilityStatement, read once per process, chooses the client-ids strategy (src/fhir/remote/writeStrategy.ts).
    const perTriage = instance.received.filter((r) => r.path !== '/fhir/metadata');
    expect(perTriage).toEqual([
      { method: 'GET', path: '/fhir/Patient/remote-one-request' },
      { method: 'POST', path: '/fhir/' }, // batch: what an earlier delivery stored
      { method: 'POST', path: '/fhir/' }, // transaction: everything else, all or nothing
    ]);
    console.log(`round trips for one triage in remote mode: ${perTriage.length} (${perTriage.map((r) => `${r.method} ${r.path}`).join(', ')})`);
    expect(counts(await resultsForSubject(instance.service.store, 'Patient/remote-one-request'))).toEqual(ONE_OF_EACH);
  });

  it('writes nothing new when the same response is delivered again: every result type counted back', async () => {
    const response = gpResponse('Patient/remote-redelivery');
    const first = await triage(response);
    expect(first.status).toBe(200);
    instance.received.length = 0;
    const again = await triage(response);
    expect(again.status).toBe(200);
    expect(storedReferences(again.body as Bundle)).toEqual(storedReferences(first.body as Bundle));
    // The look-up found every result: no transaction was sent.
    expect(instance.received.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(counts(await resultsForSubject(instance.service.store, 'Patient/remote-redelivery'))).toEqual(ONE_OF_EACH);
  });

  it('answers 503 + Retry-After with the advice while the server is down, and the same request succeeds once it is back, with no duplicate', async () => {
    const response = gpResponse('Patient/remote-outage');
    const before = await triage(response);
    expect(before.status).toBe(200);

    await instance.stop();
    const started = performance.now();
    const down = await triage(response);
    const elapsedMs = Math.round(performance.now() - started);
    console.log(`time to 503 with the FHIR server down: ${elapsedMs} ms`);
    expect(elapsedMs).toBeLessThan(15_000); // hang guard only
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    const outcome = down.body as OperationOutcome;
    expect(outcome.issue?.[0]).toMatchObject({ severity: 'error', code: 'transient' });
    const advice = outcome.issue?.find((i) => i.severity === 'information');
    expect(advice?.details?.coding?.[0]).toMatchObject({ code: 'gp' });
    expect(advice?.details?.text).toMatch(/GP/);

    await instance.restart();
    const after = await triage(response);
    expect(after.status).toBe(200);
    expect(storedReferences(after.body as Bundle)).toEqual(storedReferences(before.body as Bundle));
    expect(counts(await resultsForSubject(instance.service.store, 'Patient/remote-outage'))).toEqual(ONE_OF_EACH);
  });

  it('answers 502 with the server’s own OperationOutcome and the advice when the server refuses the write (4xx)', async () => {
    // The server's validation refuses an encounter reference that names a Questionnaire; this service does not check reference targets.
    const refused = { ...gpResponse('Patient/remote-refused'), encounter: { reference: 'Questionnaire/hip-pain-triage' } };
    const res = await triage(refused);
    expect(res.status).toBe(502);
    const issues = (res.body as OperationOutcome).issue ?? [];
    expect(issues[0]?.details?.text).toBe('The FHIR server refused the write; nothing was saved.');
    expect(issues).toContainEqual({
      severity: 'error',
      code: 'structure',
      details: { text: 'Invalid reference: got "Questionnaire", expected "http://hl7.org/fhir/StructureDefinition/Encounter"' },
      expression: ['QuestionnaireResponse.encounter'],
    });
    expect(issues.find((i) => i.severity === 'information')?.details?.coding?.[0]).toMatchObject({ code: 'gp' });
    expect(counts(await resultsForSubject(instance.service.store, 'Patient/remote-refused'))).toEqual(NONE);
  });

  it('serves only metadata, its own content and $triage: clinical reads are 404 here', async () => {
    expect((await request(service.app).get('/fhir/RiskAssessment?subject=Patient/remote-outage')).status).toBe(404);
    expect((await request(service.app).get('/fhir/Questionnaire/hip-pain-triage')).status).toBe(200);
    const metadata = await request(service.app).get('/fhir/metadata');
    expect(metadata.body.implementation.description).toMatch(/remote FHIR server/);
  });
});
