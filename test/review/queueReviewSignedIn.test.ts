import type { AuditEvent, Bundle, Provenance, RiskAssessment } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { SESSION_COOKIE, SIGN_IN_COOKIE } from '../../src/queue/queueRoutes';
import { startTestAuthorizationServer, type TestAuthorizationServer } from '../support/testAuthorizationServer';
import { startTestService } from '../support/testService';
import { reviewBlock, rowForms, spoken } from './queueRows';
import { FHIR_JSON, triageRule } from './reviewFixtures';

const AUDIENCE = 'hip-triage';

/** The `name=value` of a Set-Cookie header. */
function cookiePair(res: request.Response, name: string): string {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined;
  return header?.find((c) => c.startsWith(`${name}=`))?.split(';')[0] ?? '';
}

describe('/queue review marks with staff sign-in (OIDC) on, and what a patient token sees of them', () => {
  let provider: TestAuthorizationServer;
  let service: Service;
  let backend: string;
  let patient: string;

  /** An access token for the FHIR API from the same issuer. */
  const accessToken = (claims: Record<string, unknown>) =>
    provider.server.issuer.buildToken({
      scopesOrTransform: (_header: unknown, payload: Record<string, unknown>) => Object.assign(payload, { aud: AUDIENCE }, claims),
    });

  /** The authorization-code flow as a browser runs it; the session cookie it ends with. */
  async function signIn(claims: Record<string, unknown>): Promise<string> {
    provider.setExtraClaims(claims);
    const start = await request(service.app).get('/queue');
    expect(start.status).toBe(302);
    const back = await provider.authorize(start.headers.location ?? '');
    const callback = await request(service.app).get(`${back.pathname}${back.search}`).set('Cookie', cookiePair(start, SIGN_IN_COOKIE));
    expect(callback.status).toBe(303);
    return cookiePair(callback, SESSION_COOKIE);
  }

  const queueAs = async (session: string) => {
    const res = await request(service.app).get('/queue').set('Cookie', session);
    expect(res.status).toBe(200);
    return res.text;
  };

  beforeAll(async () => {
    provider = await startTestAuthorizationServer();
    service = await startTestService({
      AUTH_ISSUER: provider.issuerUrl,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URI: provider.jwksUri,
      STAFF_CLIENT_ID: 'hip-triage-staff',
      STAFF_CLIENT_SECRET: 'staff-client-secret',
      SESSION_SECRET: 'test-session-secret-0123456789abcdef',
      RATE_LIMIT_PER_MINUTE: '0',
    });
    backend = await accessToken({ sub: 'backend', scope: 'system/*.cruds' });
    patient = await accessToken({ sub: 'patient-user', patient: 'p-signed-1', fhirUser: 'Patient/p-signed-1', scope: 'launch/patient patient/*.cruds' });
    for (const resource of [
      { resourceType: 'Practitioner', id: 'dr-oidc', name: [{ prefix: ['Dr'], given: ['Olivia'], family: 'Idc' }] },
      { resourceType: 'Patient', id: 'p-signed-1' },
      { resourceType: 'Patient', id: 'p-signed-2' },
    ]) {
      await request(service.app)
        .put(`/fhir/${resource.resourceType}/${resource.id}`)
        .set('Authorization', `Bearer ${backend}`)
        .set('Content-Type', FHIR_JSON)
        .send(JSON.stringify(resource))
        .expect((res) => expect(res.status).toBeLessThan(300));
    }
  });
  afterAll(async () => {
    await service.close();
    await provider.close();
  });

  it('the signed-in clinician (their fhirUser) confirms and overrides from /queue; the rows say so; a patient token sees none of it', async () => {
    const confirmRisk = await triageRule(service.app, 'G3', 'p-signed-1', backend);
    const overrideRisk = await triageRule(service.app, 'P1', 'p-signed-2', backend);
    const session = await signIn({ roles: ['staff'], name: 'Dr Olivia Idc', fhirUser: 'https://fhir.example.org/fhir/Practitioner/dr-oidc' });

    const page = await queueAs(session);
    // Signed in, the form does not ask who is reviewing: it is the person signed in.
    expect(reviewBlock(page, confirmRisk.id)).not.toContain('name="reviewer"');
    const confirm = rowForms(reviewBlock(page, confirmRisk.id)).get('confirm');
    await request(service.app)
      .post(confirm?.action ?? '')
      .set('Cookie', session)
      .type('form')
      .send(confirm?.fields ?? {})
      .expect(303);
    const override = rowForms(reviewBlock(page, overrideRisk.id)).get('override');
    const overridden = await request(service.app)
      .post(override?.action ?? '')
      .set('Cookie', session)
      .type('form')
      .send({ ...override?.fields, disposition: 'urgent', reason: 'examination-findings', reasonText: 'Hot swollen joint.' })
      .expect(303);
    const successorId = /#review-(.+)$/.exec(overridden.headers.location ?? '')?.[1] ?? '';

    const after = await queueAs(session);
    expect(spoken(reviewBlock(after, confirmRisk.id))).toBe('Confirmed by Dr Olivia Idc on Fri, 20 Nov 2026, 12:00 GMT .');
    expect(spoken(reviewBlock(after, successorId))).toBe(
      'Overridden: Physiotherapy changed to Urgent (today) by Dr Olivia Idc on Fri, 20 Nov 2026, 12:00 GMT , reason: Examination findings; Hot swollen joint.'
    );
    // Recorded against the signed-in person's fhirUser.
    const successor = await service.store.readResource<RiskAssessment>('RiskAssessment', successorId);
    expect(successor.performer?.reference).toBe('Practitioner/dr-oidc');
    const audits = await service.store.searchResources<AuditEvent>('AuditEvent', {
      entity: `RiskAssessment/${confirmRisk.id},RiskAssessment/${overrideRisk.id}`,
    });
    expect(audits.map((a) => a.agent?.[0]?.who?.reference)).toEqual(['Practitioner/dr-oidc', 'Practitioner/dr-oidc']);

    // A patient's token: no queue page (it is not a staff session), no review records, no review.
    const queueWithToken = await request(service.app).get('/queue').set('Authorization', `Bearer ${patient}`);
    expect(queueWithToken.status).toBe(302);
    expect(queueWithToken.text).not.toMatch(/Confirmed|Overridden/);
    // Refused (403) without naming the patient; naming their own, the review records are not in their compartment.
    for (const [path, status] of [
      [`AuditEvent?entity=RiskAssessment/${confirmRisk.id}`, 403],
      [`Provenance?target=RiskAssessment/${confirmRisk.id}`, 403],
      ['AuditEvent?patient=p-signed-1', 200],
      ['Provenance?patient=p-signed-1', 200],
    ] as const) {
      const res = await request(service.app).get(`/fhir/${path}`).set('Authorization', `Bearer ${patient}`);
      const seen = res.status === 200 ? ((res.body as Bundle<AuditEvent | Provenance>).entry ?? []) : [];
      expect([path, res.status, seen]).toEqual([path, status, []]);
    }
    const posted = await request(service.app)
      .post(override?.action ?? '')
      .set('Authorization', `Bearer ${patient}`)
      .type('form')
      .send({ ...override?.fields, disposition: 'self-care', reasonText: 'I feel better.' });
    expect(posted.status).toBe(403);
    // Nor does a patient who signs in through the staff sign-in get a session.
    provider.setExtraClaims({ roles: ['patient'], fhirUser: 'Patient/p-signed-1' });
    const start = await request(service.app).get('/queue');
    const back = await provider.authorize(start.headers.location ?? '');
    const refused = await request(service.app).get(`${back.pathname}${back.search}`).set('Cookie', cookiePair(start, SIGN_IN_COOKIE));
    expect([refused.status, cookiePair(refused, SESSION_COOKIE)]).toEqual([403, '']);
  });

  it('a sign-in whose fhirUser is a Patient and who has no Practitioner record cannot review (403), nothing written', async () => {
    const risk = await triageRule(service.app, 'G1', 'p-signed-1', backend);
    const session = await signIn({ roles: ['staff'], name: 'Odd Account', fhirUser: 'Patient/p-signed-1', sub: 'odd-account' });
    const confirm = rowForms(reviewBlock(await queueAs(session), risk.id)).get('confirm');
    const res = await request(service.app)
      .post(confirm?.action ?? '')
      .set('Cookie', session)
      .type('form')
      .send(confirm?.fields ?? {});
    expect(res.status).toBe(403);
    expect(res.text).toContain('No Practitioner record');
    expect(await service.store.searchResources<AuditEvent>('AuditEvent', { entity: `RiskAssessment/${risk.id}` })).toEqual([]);
  });
});
