import type { OperationOutcome, RiskAssessment } from '@medplum/fhirtypes';
import { SignJWT } from 'jose';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { answersWith, buildResponse } from '../support/responses';
import { QUICK_REFETCH, startSecuredService } from './securedService';
import { newSigningKey, startTokenIssuer, type TokenIssuer, unsignedToken } from './tokenIssuer';

const ISSUER = 'https://auth.hip-triage.test/realms/clinic';
const AUDIENCE = 'hip-triage-api';
const PATIENT_WRITE =
  'launch/patient openid patient/Patient.r patient/QuestionnaireResponse.cru patient/RiskAssessment.cru patient/CarePlan.cru patient/ServiceRequest.cru patient/Task.cru';
const FHIR_JSON = 'application/fhir+json';

function responseFor(patient: string) {
  return buildResponse(answersWith({ 'pain-score': 4 }), { subject: { reference: `Patient/${patient}` } });
}

function expectOutcome(body: unknown, code: string): void {
  expect((body as OperationOutcome).resourceType).toBe('OperationOutcome');
  expect((body as OperationOutcome).issue?.[0]?.code).toBe(code);
}

describe('bearer tokens (AUTH_ISSUER, AUTH_AUDIENCE, AUTH_JWKS_URI)', () => {
  let issuer: TokenIssuer;
  let service: Service;

  beforeAll(async () => {
    issuer = await startTokenIssuer(ISSUER, AUDIENCE);
    service = await startSecuredService(
      { AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, AUTH_JWKS_URI: issuer.jwksUri, RATE_LIMIT_PER_MINUTE: '0' },
      QUICK_REFETCH
    );
    // Two patients' data, written by a backend caller with system scopes.
    const backend = await issuer.sign({ sub: 'backend', scope: 'system/*.cruds' });
    for (const patient of ['p-mine', 'p-theirs']) {
      await request(service.app)
        .put(`/fhir/Patient/${patient}`)
        .set('Authorization', `Bearer ${backend}`)
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Patient', id: patient })
        .expect(200);
      await request(service.app)
        .put(`/fhir/RiskAssessment/ra-${patient}`)
        .set('Authorization', `Bearer ${backend}`)
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'RiskAssessment', id: `ra-${patient}`, status: 'final', subject: { reference: `Patient/${patient}` } })
        .expect(200);
    }
  });
  afterAll(async () => {
    await service.close();
    await issuer.close();
  });

  const triage = (token: string | undefined, patient = 'p-mine', query = '') => {
    const req = request(service.app).post(`/fhir/QuestionnaireResponse/$triage${query}`).set('Content-Type', FHIR_JSON);
    return (token === undefined ? req : req.set('Authorization', `Bearer ${token}`)).send(JSON.stringify(responseFor(patient)));
  };

  describe('refused with 401 and a challenge', () => {
    it('no token: a bare challenge, no error code (RFC 6750)', async () => {
      const res = await triage(undefined);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="hip-pain-triage"');
      expectOutcome(res.body, 'login');
    });

    const invalidCases: Array<[string, () => Promise<string>]> = [
      ['a malformed token', async () => 'not-a-jwt'],
      ['three parts of junk', async () => 'aaa.bbb.ccc'],
      [
        'a wrong signature (same kid, another key)',
        async () => issuer.sign({ scope: PATIENT_WRITE, patient: 'p-mine' }, { key: { ...(await newSigningKey('RS256', issuer.published[0]?.kid)) } }),
      ],
      ['a wrong issuer', async () => issuer.sign({ iss: 'https://evil.example', scope: PATIENT_WRITE, patient: 'p-mine' })],
      ['a wrong audience', async () => issuer.sign({ aud: 'some-other-api', scope: PATIENT_WRITE, patient: 'p-mine' })],
      ['an expired token (past the 30 s skew)', async () => issuer.sign({ exp: Math.floor(Date.now() / 1000) - 120, scope: PATIENT_WRITE, patient: 'p-mine' })],
      [
        'a token not valid yet (nbf past the skew)',
        async () => issuer.sign({ nbf: Math.floor(Date.now() / 1000) + 600, scope: PATIENT_WRITE, patient: 'p-mine' }),
      ],
      ['a token without exp', async () => issuer.sign({ exp: undefined, scope: PATIENT_WRITE, patient: 'p-mine' })],
      [
        'alg: none',
        async () => unsignedToken({ iss: ISSUER, aud: AUDIENCE, sub: 'x', exp: Math.floor(Date.now() / 1000) + 300, scope: PATIENT_WRITE, patient: 'p-mine' }),
      ],
      [
        'HS256 keyed with the public key (key confusion)',
        async () => {
          const publicJwk = issuer.published[0]?.publicJwk;
          return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'x', scope: PATIENT_WRITE, patient: 'p-mine' })
            .setProtectedHeader({ alg: 'HS256', kid: publicJwk?.kid ?? '' })
            .setExpirationTime('5m')
            .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
        },
      ],
      [
        'an ES256 key the issuer never published',
        async () => issuer.sign({ scope: PATIENT_WRITE, patient: 'p-mine' }, { key: await newSigningKey('ES256', 'unpublished') }),
      ],
    ];
    it.each(invalidCases)('%s → 401 invalid_token, the same answer whatever the reason', async (_name, make) => {
      const res = await triage(await make());
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="hip-pain-triage", error="invalid_token"');
      expect(res.body).toEqual({
        resourceType: 'OperationOutcome',
        id: 'unauthorized',
        issue: [{ severity: 'error', code: 'login', details: { text: 'The bearer token is not valid.' } }],
      });
    });

    it('a Basic credential or a second word is not a bearer token', async () => {
      for (const header of ['Basic dXNlcjpwYXNz', 'Bearer a b', 'Bearer', 'Token abc']) {
        const res = await request(service.app).get('/fhir/RiskAssessment/ra-p-mine').set('Authorization', header);
        expect([header, res.status]).toEqual([header, 401]);
      }
    });
  });

  describe('key rotation and unknown kids', () => {
    it('an unknown kid makes one JWKS refetch, then 401', async () => {
      await triage(await issuer.sign({ scope: PATIENT_WRITE, patient: 'p-mine' })).expect(200); // the JWKS is cached now
      const before = issuer.jwksFetches();
      const stranger = await newSigningKey('RS256', 'kid-nobody-published');
      const res = await triage(await issuer.sign({ scope: PATIENT_WRITE, patient: 'p-mine' }, { key: stranger }));
      expect(res.status).toBe(401);
      expect(issuer.jwksFetches() - before).toBe(1);
    });

    it('a rotated key is accepted after the refetch, and the retired one is refused', async () => {
      const retired = issuer.published[0];
      const next = await newSigningKey('ES384', 'kid-2');
      issuer.published = [next];
      const before = issuer.jwksFetches();
      await triage(await issuer.sign({ scope: PATIENT_WRITE, patient: 'p-mine' }, { key: next })).expect(200);
      expect(issuer.jwksFetches() - before).toBe(1);
      // Known now: no further fetch.
      await triage(await issuer.sign({ scope: PATIENT_WRITE, patient: 'p-mine' }, { key: next })).expect(200);
      expect(issuer.jwksFetches() - before).toBe(1);
      const res = await triage(await issuer.sign({ scope: PATIENT_WRITE, patient: 'p-mine' }, { key: retired }));
      expect(res.status).toBe(401);
      if (retired) {
        issuer.published = [retired, next];
      }
    });
  });

  describe('refused with 403: scopes and the patient compartment', () => {
    it('$triage with persist needs create on what it writes', async () => {
      const token = await issuer.sign({ scope: 'patient/QuestionnaireResponse.cru patient/RiskAssessment.cru', patient: 'p-mine' });
      const res = await triage(token);
      expect(res.status).toBe(403);
      expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"');
      expectOutcome(res.body, 'forbidden');
      expect((res.body as OperationOutcome).issue?.[0]?.details?.text).toContain('CarePlan.c');
    });

    it('the same token may score without persisting (read on QuestionnaireResponse is enough)', async () => {
      const token = await issuer.sign({ scope: 'patient/QuestionnaireResponse.r', patient: 'p-mine' });
      await triage(token, 'p-mine', '?persist=false').expect(200);
      await triage(token).expect(403);
    });

    it("another patient's response → 403, persisting or not", async () => {
      const token = await issuer.sign({ scope: PATIENT_WRITE, patient: 'p-mine' });
      const persisted = await triage(token, 'p-theirs');
      expect(persisted.status).toBe(403);
      expect((persisted.body as OperationOutcome).issue?.[0]?.details?.text).toBe("This token is limited to its patient's own records.");
      await triage(token, 'p-theirs', '?persist=false').expect(403);
    });

    it("another patient's resource → 403; one's own → 200", async () => {
      const token = await issuer.sign({ scope: PATIENT_WRITE, patient: 'p-mine' });
      await request(service.app).get('/fhir/RiskAssessment/ra-p-theirs').set('Authorization', `Bearer ${token}`).expect(403);
      await request(service.app).get('/fhir/Patient/p-theirs').set('Authorization', `Bearer ${token}`).expect(403);
      const mine = await request(service.app).get('/fhir/RiskAssessment/ra-p-mine').set('Authorization', `Bearer ${token}`).expect(200);
      expect((mine.body as RiskAssessment).subject?.reference).toBe('Patient/p-mine');
    });

    it('a search must be confined to the patient', async () => {
      const token = await issuer.sign({ scope: 'patient/RiskAssessment.rs', patient: 'p-mine' });
      const auth = { Authorization: `Bearer ${token}` };
      await request(service.app).get('/fhir/RiskAssessment').set(auth).expect(403);
      await request(service.app).get('/fhir/RiskAssessment?subject=Patient/p-theirs').set(auth).expect(403);
      const own = await request(service.app).get('/fhir/RiskAssessment?subject=Patient/p-mine').set(auth).expect(200);
      const subjects = ((own.body as { entry?: { resource: RiskAssessment }[] }).entry ?? []).map((e) => e.resource.subject?.reference);
      expect(subjects.length).toBeGreaterThan(0);
      expect(new Set(subjects)).toEqual(new Set(['Patient/p-mine']));
    });

    it('writing into another patient’s compartment through a transaction → 403', async () => {
      const token = await issuer.sign({ scope: 'patient/RiskAssessment.c', patient: 'p-mine' });
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            request: { method: 'POST', url: 'RiskAssessment' },
            resource: { resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/p-theirs' } },
          },
        ],
      };
      await request(service.app).post('/fhir').set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON).send(bundle).expect(403);
    });

    it('a patient scope without a patient claim grants nothing', async () => {
      await triage(await issuer.sign({ scope: PATIENT_WRITE })).expect(403);
    });
  });

  describe('allowed', () => {
    it('$triage with persist for the token’s own patient (SMART v2 and v1 scopes)', async () => {
      const v2 = await triage(await issuer.sign({ scope: PATIENT_WRITE, patient: 'p-mine' }));
      expect(v2.status).toBe(200);
      expect((v2.body as { resourceType: string }).resourceType).toBe('Bundle');
      const v1 = 'patient/QuestionnaireResponse.write patient/RiskAssessment.write patient/CarePlan.write patient/ServiceRequest.write patient/Task.write';
      await triage(await issuer.sign({ scope: v1, patient: 'p-mine' })).expect(200);
    });

    it('a backend service with system scopes, and a clinician with user scopes for all seven types', async () => {
      await triage(await issuer.sign({ scope: 'system/*.cruds' }), 'p-theirs').expect(200);
      const user = ['QuestionnaireResponse', 'RiskAssessment', 'CarePlan', 'ServiceRequest', 'Task', 'GuidanceResponse', 'Provenance']
        .map((t) => `user/${t}.c`)
        .join(' ');
      await triage(await issuer.sign({ scope: user }), 'p-theirs').expect(200);
      await triage(await issuer.sign({ scope: user.replace(' user/Provenance.c', '') }), 'p-theirs').expect(403);
    });

    it('a clock skew within 30 s is tolerated', async () => {
      const now = Math.floor(Date.now() / 1000);
      await triage(await issuer.sign({ exp: now - 5, scope: PATIENT_WRITE, patient: 'p-mine' })).expect(200);
      await triage(await issuer.sign({ nbf: now + 5, scope: PATIENT_WRITE, patient: 'p-mine' })).expect(200);
    });

    it('the published content is readable with any valid token', async () => {
      const token = await issuer.sign({ scope: 'openid' });
      await request(service.app).get('/fhir/Questionnaire/hip-pain-triage').set('Authorization', `Bearer ${token}`).expect(200);
      await request(service.app).get('/fhir/Questionnaire/hip-pain-triage').expect(401);
    });

    it.each(['/healthz', '/readyz', '/fhir/metadata', '/openapi.json', '/cds-services', '/metrics'])('%s needs no token', async (path) => {
      const res = await request(service.app).get(path);
      expect(res.status).toBe(200);
    });

    it('a FHIR route needs a token even when its path looks like an open one', async () => {
      for (const path of [
        '/fhir/metadata/../RiskAssessment/ra-p-mine',
        '/fhir//metadata',
        '/FHIR/metadata',
        '/smart/../fhir/RiskAssessment/ra-p-mine',
        '/queue/%2e%2e/fhir/RiskAssessment/ra-p-mine',
      ]) {
        const res = await request(service.app).get(path);
        expect([path, res.status === 401 || res.status === 404]).toEqual([path, true]);
        expect(JSON.stringify(res.body)).not.toContain('"resourceType":"RiskAssessment"');
      }
    });
  });
});

describe('a stream of made-up kids with the default 30 s cooldown', () => {
  it('costs at most one JWKS fetch per cooldown, not one per token', async () => {
    const issuer = await startTokenIssuer(ISSUER, AUDIENCE);
    const service = await startSecuredService({ AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, AUTH_JWKS_URI: issuer.jwksUri, RATE_LIMIT_PER_MINUTE: '0' });
    try {
      await request(service.app)
        .get('/fhir/Questionnaire/hip-pain-triage')
        .set('Authorization', `Bearer ${await issuer.sign({ scope: 'openid' })}`)
        .expect(200);
      const before = issuer.jwksFetches();
      for (let i = 0; i < 20; i++) {
        const stranger = await newSigningKey('ES256', `made-up-${i}`);
        await request(service.app)
          .get('/fhir/Questionnaire/hip-pain-triage')
          .set('Authorization', `Bearer ${await issuer.sign({ scope: 'openid' }, { key: stranger })}`)
          .expect(401);
      }
      expect(issuer.jwksFetches() - before).toBeLessThanOrEqual(1);
    } finally {
      await service.close();
      await issuer.close();
    }
  });
});

describe('an unreachable JWKS', () => {
  it('answers 503 with Retry-After, never lets the caller in', async () => {
    const issuer = await startTokenIssuer(ISSUER, AUDIENCE);
    const jwksUri = issuer.jwksUri;
    const token = await issuer.sign({ scope: PATIENT_WRITE, patient: 'p-mine' });
    await issuer.close();
    const service = await startSecuredService({ AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, AUTH_JWKS_URI: jwksUri });
    try {
      const res = await request(service.app)
        .post('/fhir/QuestionnaireResponse/$triage')
        .set('Authorization', `Bearer ${token}`)
        .set('Content-Type', FHIR_JSON)
        .send(JSON.stringify(responseFor('p-mine')));
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expectOutcome(res.body, 'transient');
    } finally {
      await service.close();
    }
  });
});
