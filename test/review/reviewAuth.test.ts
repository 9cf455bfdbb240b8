import type { AuditEvent, RiskAssessment } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { QUICK_REFETCH, startSecuredService } from '../security/securedService';
import { startTokenIssuer, type TokenIssuer } from '../security/tokenIssuer';
import { confirmBody, FHIR_JSON, overrideBody, parameter, review, triageRule } from './reviewFixtures';

const ISSUER = 'https://auth.hip-triage.test/realms/clinic';
const AUDIENCE = 'hip-triage-api';
const CLINICIAN_SCOPES = 'openid fhirUser user/*.cruds';

describe('$review with authentication on', () => {
  let issuer: TokenIssuer;
  let service: Service;
  let risk: RiskAssessment & { id: string };
  let backend: string;

  beforeAll(async () => {
    issuer = await startTokenIssuer(ISSUER, AUDIENCE);
    service = await startSecuredService(
      { AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, AUTH_JWKS_URI: issuer.jwksUri, RATE_LIMIT_PER_MINUTE: '0' },
      QUICK_REFETCH
    );
    backend = await issuer.sign({ sub: 'backend', scope: 'system/*.cruds' });
    await request(service.app)
      .put('/fhir/Patient/p-auth')
      .set('Authorization', `Bearer ${backend}`)
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', id: 'p-auth' })
      .expect(200);
    risk = await triageRule(service.app, 'G3', 'p-auth', backend);
  });
  afterAll(async () => {
    await service.close();
    await issuer.close();
  });

  it('401 without a token', async () => {
    const res = await review(service.app, risk.id, confirmBody());
    expect(res.status).toBe(401);
    expect(res.body.issue[0].code).toBe('login');
  });

  it("403 for a patient-scoped token, even the patient's own", async () => {
    const token = await issuer.sign({ sub: 'patient-user', patient: 'p-auth', fhirUser: 'Patient/p-auth', scope: 'launch/patient patient/*.cruds' });
    const res = await review(service.app, risk.id, confirmBody(), { Authorization: `Bearer ${token}` });
    expect(res.status).toBe(403);
    expect(res.body.issue[0].code).toBe('forbidden');
  });

  it('403 for a user token that names no Practitioner as fhirUser', async () => {
    const token = await issuer.sign({ sub: 'someone', scope: CLINICIAN_SCOPES });
    const res = await review(service.app, risk.id, confirmBody(), { Authorization: `Bearer ${token}` });
    expect(res.status).toBe(403);
  });

  it('422 when a token names the reviewer and the body names another', async () => {
    const token = await issuer.sign({ sub: 'dr-b', fhirUser: 'Practitioner/dr-b', scope: CLINICIAN_SCOPES });
    const res = await review(service.app, risk.id, confirmBody('Practitioner/someone-else'), { Authorization: `Bearer ${token}` });
    expect(res.status).toBe(422);
  });

  it("the reviewer is the token's fhirUser (an absolute URL is reduced to the reference)", async () => {
    const token = await issuer.sign({ sub: 'dr-a', fhirUser: 'https://ehr.example.org/fhir/Practitioner/dr-a', scope: CLINICIAN_SCOPES });
    const res = await review(service.app, risk.id, overrideBody('physio', { code: 'patient-preference' }), {
      Authorization: `Bearer ${token}`,
      'If-Match': `W/"${risk.meta?.versionId}"`,
    });
    expect(res.status).toBe(200);
    const audit = await request(service.app)
      .get(`/fhir/${parameter(res.body, 'auditEvent')?.valueReference?.reference}`)
      .set('Authorization', `Bearer ${backend}`)
      .expect(200);
    expect((audit.body as AuditEvent).agent?.[0]?.who?.reference).toBe('Practitioner/dr-a');
  });
});
