import { createHmac, randomUUID } from 'node:crypto';
import request from 'supertest';
import { answersWith, buildResponse } from '../support/responses';
import { startSecuredService } from './securedService';
import { startTokenIssuer } from './tokenIssuer';

const WEBHOOK_SECRET = 'log-check-webhook-secret-93a1f0';
const CDS_ISSUER = 'https://ehr.log-check.test';
const BASE = 'http://127.0.0.1:8080';

describe('logs with authentication on', () => {
  it('hold no token, secret, signature, answer value or patient name, whatever was refused or accepted', async () => {
    const api = await startTokenIssuer('https://auth.log-check.test', 'hip-triage-api');
    const ehr = await startTokenIssuer(CDS_ISSUER, `${BASE}/cds-services/hip-pain-triage`);
    const service = await startSecuredService({
      LOG_LEVEL: 'trace',
      PUBLIC_BASE_URL: BASE,
      AUTH_ISSUER: api.issuer,
      AUTH_AUDIENCE: 'hip-triage-api',
      AUTH_JWKS_URI: api.jwksUri,
      CDS_TRUSTED_ISSUERS: JSON.stringify({ [CDS_ISSUER]: ehr.jwksUri }),
      WEBHOOK_SECRET,
      RATE_LIMIT_PER_MINUTE: '6',
    });
    const backend = await api.sign({ sub: 'backend-client', scope: 'system/*.cruds' });
    const patientToken = await api.sign({
      sub: 'patient-user-7',
      scope: 'patient/QuestionnaireResponse.c patient/RiskAssessment.c patient/CarePlan.c patient/ServiceRequest.c patient/Task.c',
      patient: 'log-patient',
    });
    const forged = `${backend.slice(0, -10)}AAAAAAAAAA`;
    const cdsToken = await ehr.sign({ jti: randomUUID() });
    const response = buildResponse(answersWith({ 'pain-score': 8, 'night-pain': true }), { subject: { reference: 'Patient/log-patient' } });
    const heartbeat = JSON.stringify({
      resourceType: 'Bundle',
      type: 'history',
      entry: [{ resource: { resourceType: 'SubscriptionStatus', status: 'active', type: 'heartbeat', subscription: { reference: 'Subscription/x' } } }],
    });
    const signedAt = String(Math.floor(Date.now() / 1000));
    const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(`${signedAt}.log-test-notification.${heartbeat}`).digest('hex')}`;
    try {
      const app = service.app;
      const json = 'application/fhir+json';
      await request(app)
        .put('/fhir/Patient/log-patient')
        .set('Authorization', `Bearer ${backend}`)
        .set('Content-Type', json)
        .send({ resourceType: 'Patient', id: 'log-patient', name: [{ family: 'Fennimore-Quaid', given: ['Isolde'] }], birthDate: '1966-02-11' })
        .expect(200);
      await request(app)
        .post('/fhir/QuestionnaireResponse/$triage')
        .set('Authorization', `Bearer ${patientToken}`)
        .set('Content-Type', json)
        .send(JSON.stringify(response))
        .expect(200);
      // Refused: another patient (403), a forged signature (401), no token (401).
      await request(app)
        .post('/fhir/QuestionnaireResponse/$triage')
        .set('Authorization', `Bearer ${patientToken}`)
        .set('Content-Type', json)
        .send(JSON.stringify({ ...response, subject: { reference: 'Patient/someone-else' } }))
        .expect(403);
      await request(app).get('/fhir/Patient/log-patient').set('Authorization', `Bearer ${forged}`).expect(401);
      await request(app).get('/fhir/Patient?name=Fennimore-Quaid').expect(401);
      await request(app)
        .post('/subscriptions/questionnaire-response')
        .set('Content-Type', json)
        .set('Authorization', `Bearer ${WEBHOOK_SECRET}`)
        .send(heartbeat)
        .expect(200);
      await request(app)
        .post('/subscriptions/questionnaire-response')
        .set('Content-Type', json)
        .set('X-Hub-Signature-256', signature)
        .set('X-Webhook-Timestamp', signedAt)
        .set('X-Webhook-Id', 'log-test-notification')
        .send(heartbeat)
        .expect(200);
      await request(app)
        .post('/subscriptions/questionnaire-response')
        .set('Content-Type', json)
        .set('Authorization', 'Bearer wrong-secret-value-0000')
        .send(heartbeat)
        .expect(401);
      await request(app)
        .post('/cds-services/hip-pain-triage')
        .set('Authorization', `Bearer ${cdsToken}`)
        .send({ hook: 'patient-view', hookInstance: randomUUID(), context: { patientId: 'log-patient' }, prefetch: { lastTriage: null } })
        .expect(200);
      // Past the rate limit for this subject: 429.
      for (let i = 0; i < 5; i++) {
        await request(app).get('/fhir/Patient/log-patient').set('Authorization', `Bearer ${backend}`);
      }
      await request(app).get('/fhir/Patient/log-patient').set('Authorization', `Bearer ${backend}`).expect(429);
    } finally {
      await service.close();
      await api.close();
      await ehr.close();
    }

    const logs = service.logs.text();
    expect(logs).toContain('triage written back'); // the capture works
    expect(logs).toContain('"status":401');
    expect(logs).toContain('"status":429');
    const secrets = [backend, patientToken, forged, cdsToken, WEBHOOK_SECRET, signature];
    // No whole token, and no part of one (each JWT's signature and payload are distinctive).
    const fragments = secrets.flatMap((s) => [s, ...s.split('.').filter((part) => part.length > 20)]);
    const personal = ['Fennimore-Quaid', 'Isolde', '1966-02-11', 'log-patient', 'someone-else', 'patient-user-7', 'backend-client'];
    const answers = ['pain-score', 'night-pain', 'valueInteger', 'valueBoolean', 'valueCoding'];
    for (const forbidden of [...fragments, ...personal, ...answers]) {
      expect([forbidden.slice(0, 40), logs.includes(forbidden)]).toEqual([forbidden.slice(0, 40), false]);
    }
  });
});
