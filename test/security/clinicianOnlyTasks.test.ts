import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Task } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { ROOT } from '../support/responses';
import { startSecuredService } from './securedService';
import { startTokenIssuer, type TokenIssuer } from './tokenIssuer';

/**
 * Contract 1.1.0 (SG1): the safeguarding review is for the duty clinician and never shown to
 * the person answering, who may hold a patient token for the child's record (a parent). The
 * answer filter of patient-limited callers leaves clinician-only review Tasks out, while the
 * patient's other Tasks and a clinician's token still see them.
 */
const ISSUER = 'https://auth.hip-triage.test/realms/clinician-only';
const AUDIENCE = 'hip-triage-api';
const SG1 = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/rules/SG1.qr.json'), 'utf8')) as { subject: { reference: string } };
const CHILD = SG1.subject.reference.replace('Patient/', '');

const codesOf = (bundle: Bundle): string[] =>
  (bundle.entry ?? []).flatMap((e) => ((e.resource as Task | undefined)?.code?.coding ?? []).map((c) => c.code ?? '')).sort();

describe('clinician-only review Tasks and a patient token', () => {
  let issuer: TokenIssuer;
  let service: Service;
  let clinician: string;
  let parent: string;

  beforeAll(async () => {
    issuer = await startTokenIssuer(ISSUER, AUDIENCE);
    service = await startSecuredService({ AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, AUTH_JWKS_URI: issuer.jwksUri, RATE_LIMIT_PER_MINUTE: '0' });
    clinician = await issuer.sign({ sub: 'duty-clinician', scope: 'user/*.cruds user/GuidanceResponse.c user/Provenance.c' });
    parent = await issuer.sign({ sub: 'parent', scope: 'launch/patient patient/Task.rs patient/QuestionnaireResponse.rs', patient: CHILD });
    const triaged = await request(service.app)
      .post('/fhir/QuestionnaireResponse/$triage')
      .set('Authorization', `Bearer ${clinician}`)
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(SG1));
    expect(triaged.status).toBe(200);
  });

  afterAll(async () => {
    await service.close();
    await issuer.close();
  });

  it('the clinician sees the safeguarding review among the child’s Tasks (the control)', async () => {
    const res = await request(service.app).get(`/fhir/Task?patient=${CHILD}`).set('Authorization', `Bearer ${clinician}`);
    expect(res.status).toBe(200);
    expect(codesOf(res.body as Bundle)).toContain('review-safeguarding');
  });

  it('the child’s own token does not: not by search, not by read', async () => {
    const clinicianView = (await request(service.app).get(`/fhir/Task?patient=${CHILD}`).set('Authorization', `Bearer ${clinician}`)).body as Bundle;
    const review = clinicianView.entry?.map((e) => e.resource as Task).find((t) => JSON.stringify(t.code).includes('review-safeguarding'));
    const search = await request(service.app).get(`/fhir/Task?patient=${CHILD}`).set('Authorization', `Bearer ${parent}`);
    expect(search.status).toBe(200);
    expect(codesOf(search.body as Bundle)).not.toContain('review-safeguarding');
    expect(JSON.stringify(search.body)).not.toMatch(/non-accidental|safeguarding/i);
    const read = await request(service.app).get(`/fhir/Task/${review?.id}`).set('Authorization', `Bearer ${parent}`);
    expect(read.status).toBe(403);
    expect(JSON.stringify(read.body)).not.toMatch(/non-accidental/i);
  });
});
