import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { startSecuredService } from './securedService';
import { startTokenIssuer, type TokenIssuer } from './tokenIssuer';

/**
 * Issue 19, through HTTP with auth on: a `patient/` token for alice never reaches bob's
 * records, by any search form the FHIR router accepts, and never writes outside her
 * compartment; every search has a page size and a `_count` cap.
 */

const ISSUER = 'https://auth.hip-triage.test/realms/isolation';
const AUDIENCE = 'hip-triage-api';
const FHIR_JSON = 'application/fhir+json';
const FORM = 'application/x-www-form-urlencoded';
/** The service's default SMART scopes (DEFAULT_SMART_SCOPES), plus Observation and a patient wildcard for writes. */
const PATIENT_SCOPES =
  'launch/patient openid fhirUser patient/Patient.r patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus';
const PATIENT_EVERYTHING = 'launch/patient openid patient/*.cruds';

/** Every id of bob's data: none may appear in any answer to alice's token. */
const BOBS = ['bob', 'qr-bob', 'task-bob', 'ra-bob'];

function idsIn(body: unknown): string[] {
  const bundle = body as Bundle;
  if (bundle?.resourceType !== 'Bundle') {
    return (body as Resource | undefined)?.id ? [(body as Resource).id as string] : [];
  }
  return (bundle.entry ?? []).flatMap((entry) => [...(entry.resource ? idsIn(entry.resource) : [])]);
}

function expectNothingOfBobs(res: request.Response): void {
  const text = JSON.stringify(res.body);
  expect(BOBS.filter((id) => idsIn(res.body).includes(id))).toEqual([]);
  expect(text).not.toContain('Bobson');
  expect(text).not.toContain('1950-02-02');
}

function expectOutcome(res: request.Response, status: number, code: string): void {
  expect([res.status, (res.body as OperationOutcome).resourceType, (res.body as OperationOutcome).issue?.[0]?.code]).toEqual([
    status,
    'OperationOutcome',
    code,
  ]);
}

describe('a patient token and another patient’s records (issue 19)', () => {
  let issuer: TokenIssuer;
  let service: Service;
  let backend: string;
  let alice: string;
  let aliceWrites: string;

  const as = (token: string) => ({
    get: (url: string) => request(service.app).get(`/fhir/${url}`).set('Authorization', `Bearer ${token}`),
    postJson: (url: string, body: unknown) =>
      request(service.app).post(`/fhir/${url}`).set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body)),
    postForm: (url: string, form: string) =>
      request(service.app).post(`/fhir/${url}`).set('Authorization', `Bearer ${token}`).set('Content-Type', FORM).send(form),
    put: (url: string, body: unknown) =>
      request(service.app).put(`/fhir/${url}`).set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body)),
    delete: (url: string) => request(service.app).delete(`/fhir/${url}`).set('Authorization', `Bearer ${token}`),
  });

  beforeAll(async () => {
    issuer = await startTokenIssuer(ISSUER, AUDIENCE);
    service = await startSecuredService({ AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, AUTH_JWKS_URI: issuer.jwksUri, RATE_LIMIT_PER_MINUTE: '0' });
    // Organization is routing data: even a backend needs a scope naming it to write one.
    backend = await issuer.sign({ sub: 'backend', scope: 'system/*.cruds system/Organization.cu' });
    alice = await issuer.sign({ sub: 'alice-user', scope: PATIENT_SCOPES, patient: 'alice' });
    aliceWrites = await issuer.sign({ sub: 'alice-user', scope: PATIENT_EVERYTHING, patient: 'alice' });
    const people = [
      { id: 'alice', family: 'Aliceson', birthDate: '1960-01-01' },
      { id: 'bob', family: 'Bobson', birthDate: '1950-02-02' },
    ];
    const entry: unknown[] = [
      { request: { method: 'PUT', url: 'Organization/shared-clinic' }, resource: { resourceType: 'Organization', id: 'shared-clinic', name: 'Shared clinic' } },
    ];
    for (const { id, family, birthDate } of people) {
      const patient = `Patient/${id}`;
      entry.push(
        { request: { method: 'PUT', url: patient }, resource: { resourceType: 'Patient', id, name: [{ family }], birthDate } },
        {
          request: { method: 'PUT', url: `QuestionnaireResponse/qr-${id}` },
          resource: { resourceType: 'QuestionnaireResponse', id: `qr-${id}`, status: 'completed', subject: { reference: patient } },
        },
        {
          request: { method: 'PUT', url: `Task/task-${id}` },
          // Both Tasks have the same owner: `_include=Task:owner&_revinclude:iterate=Task:owner` walked from alice's to bob's.
          resource: {
            resourceType: 'Task',
            id: `task-${id}`,
            status: 'ready',
            intent: 'order',
            for: { reference: patient },
            owner: { reference: 'Organization/shared-clinic' },
          },
        },
        {
          request: { method: 'PUT', url: `RiskAssessment/ra-${id}` },
          resource: { resourceType: 'RiskAssessment', id: `ra-${id}`, status: 'final', subject: { reference: patient } },
        }
      );
    }
    await as(backend).postJson('', { resourceType: 'Bundle', type: 'transaction', entry }).expect(200);
  });
  afterAll(async () => {
    await service.close();
    await issuer.close();
  });

  describe('searches', () => {
    it('her own search answers her own records (the control that the others are not just empty)', async () => {
      const res = await as(alice).get('QuestionnaireResponse?subject=Patient/alice').expect(200);
      expect(idsIn(res.body)).toEqual(['qr-alice']);
      const tasks = await as(alice).get('Task?patient=alice').expect(200);
      expect(idsIn(tasks.body)).toEqual(['task-alice']);
    });

    it.each([
      ['GET naming bob', 'Task?patient=bob'],
      ['GET naming both (OR)', 'Task?patient=alice,bob'],
      ['GET naming nobody', 'QuestionnaireResponse'],
      ['GET with _include', 'QuestionnaireResponse?subject=Patient/alice&_include=QuestionnaireResponse:subject'],
      ['GET with _revinclude:iterate', 'Task?patient=alice&_include=Task:owner&_revinclude:iterate=Task:owner'],
      ['GET with _include:iterate', 'Task?patient=alice&_include:iterate=Task:owner'],
      ['GET with a chain', 'Task?patient=alice&owner.name=Shared'],
    ])('%s → 403, nothing of bob’s', async (_name, url) => {
      const res = await as(alice).get(url);
      expectOutcome(res, 403, 'forbidden');
      expectNothingOfBobs(res);
    });

    it('POST _search: the query names alice, the JSON body names bob and an _include → 403', async () => {
      const res = await as(alice).postJson('QuestionnaireResponse/_search?subject=Patient/alice', {
        subject: 'Patient/bob',
        _include: 'QuestionnaireResponse:subject',
      });
      expectOutcome(res, 403, 'forbidden');
      expectNothingOfBobs(res);
    });

    it('POST _search: the same as a form body → 403', async () => {
      const res = await as(alice).postForm('QuestionnaireResponse/_search?subject=Patient/alice', 'subject=Patient/bob&_include=QuestionnaireResponse:subject');
      expectOutcome(res, 403, 'forbidden');
      expectNothingOfBobs(res);
    });

    it.each([
      ['a form body naming only bob', () => as(alice).postForm('Task/_search', 'patient=bob')],
      ['a JSON body naming only bob', () => as(alice).postJson('Task/_search', { patient: 'Patient/bob' })],
      [
        'a JSON body with _revinclude:iterate',
        () => as(alice).postJson('Task/_search?patient=alice', { '_revinclude:iterate': 'Task:owner', _include: 'Task:owner' }),
      ],
    ])('POST _search with %s → 403', async (_name, send) => {
      const res = await send();
      expectOutcome(res, 403, 'forbidden');
      expectNothingOfBobs(res);
    });

    it('POST _search: alice in the query and bob in the body run as both (AND), so nothing of bob’s', async () => {
      const res = await as(alice).postForm('Task/_search?patient=alice', 'patient=bob');
      expect(res.status).toBe(200);
      expectNothingOfBobs(res);
    });

    it('POST _search with her own parameters in a form or JSON body finds her records', async () => {
      expect(idsIn((await as(alice).postForm('Task/_search', 'patient=alice').expect(200)).body)).toEqual(['task-alice']);
      expect(idsIn((await as(alice).postJson('Task/_search', { patient: 'alice' }).expect(200)).body)).toEqual(['task-alice']);
    });

    it('a _search body that is not parameters → 400', async () => {
      expectOutcome(await as(alice).postJson('Task/_search', { patient: { reference: 'Patient/bob' } }), 400, 'invalid');
      expectOutcome(await as(alice).postJson('Task/_search', ['patient', 'bob']), 400, 'invalid');
    });

    it('a query padded past 1,000 keys, then _include and _revinclude:iterate → 400, nothing of bob’s', async () => {
      const padding = Array.from({ length: 1_000 }, (_, i) => `pad${i}=x`).join('&');
      const res = await as(alice).get(`Task?patient=alice&${padding}&_include=Task:owner&_revinclude:iterate=Task:owner`);
      expectOutcome(res, 400, 'too-costly');
      expect((res.body as OperationOutcome).issue?.[0]?.details?.text).toContain('at most 100 search parameters');
      expectNothingOfBobs(res);
    });

    it('padding in a _search body counts with the query, and is refused the same way', async () => {
      const padding = Array.from({ length: 120 }, (_, i) => `pad${i}=x`).join('&');
      const res = await as(alice).postForm('Task/_search?patient=alice', `${padding}&_revinclude:iterate=Task:owner`);
      expectOutcome(res, 400, 'too-costly');
    });

    it('a system token may still search widely, padded or not, up to the parameter limit', async () => {
      // Harmless repeats (an unknown name would be a filter that matches nothing).
      const padding = Array.from({ length: 90 }, () => '_pretty=false').join('&');
      const res = await as(backend).get(`Task?${padding}&_include=Task:owner`).expect(200);
      expect(idsIn(res.body).sort()).toEqual(['shared-clinic', 'task-alice', 'task-bob']);
    });
  });

  describe('batch and transaction entries', () => {
    const bundle = (type: 'batch' | 'transaction', ...entries: unknown[]) => ({ resourceType: 'Bundle', type, entry: entries });
    it.each([
      ['a search naming bob', { request: { method: 'GET', url: 'Task?patient=bob' } }],
      ['a read of bob’s Task', { request: { method: 'GET', url: 'Task/task-bob' } }],
      ['a search with _revinclude:iterate', { request: { method: 'GET', url: 'Task?patient=alice&_include=Task:owner&_revinclude:iterate=Task:owner' } }],
      [
        'a POST _search entry (the router reads its resource as the parameters)',
        { request: { method: 'POST', url: 'Task/_search' }, resource: { resourceType: 'Parameters' } },
      ],
      [
        'a padded search',
        {
          request: { method: 'GET', url: `Task?patient=alice&${Array.from({ length: 1_001 }, (_, i) => `p${i}=x`).join('&')}&_revinclude:iterate=Task:owner` },
        },
      ],
    ])('%s, in a batch or a transaction → refused, nothing of bob’s', async (_name, entry) => {
      for (const type of ['batch', 'transaction'] as const) {
        const res = await as(alice).postJson('', bundle(type, { request: { method: 'GET', url: 'Task?patient=alice' } }, entry));
        expect([type, res.status]).toEqual([type, expect.any(Number)]);
        expect(res.status === 403 || res.status === 400).toBe(true);
        expect((res.body as OperationOutcome).resourceType).toBe('OperationOutcome');
        expectNothingOfBobs(res);
      }
    });

    it('a batch of her own searches answers her records, each capped like a search of its own', async () => {
      const res = await as(alice)
        .postJson(
          '',
          bundle(
            'batch',
            { request: { method: 'GET', url: 'Task?patient=alice' } },
            { request: { method: 'GET', url: 'QuestionnaireResponse?subject=Patient/alice' } }
          )
        )
        .expect(200);
      const results = (res.body as Bundle).entry?.map((e) => idsIn(e.resource)) ?? [];
      expect(results).toEqual([['task-alice'], ['qr-alice']]);
      expectNothingOfBobs(res);
    });
  });

  describe('writes outside her compartment (403, and the resource is unchanged)', () => {
    const readBack = async (url: string) => (await as(backend).get(url).expect(200)).body as Resource;

    it.each([
      ['renaming the duty clinician’s HealthcareService', 'HealthcareService/hip-triage-duty-clinician', (r: Resource) => ({ ...r, name: 'Nobody' })],
      ['retiring the ruleset', 'PlanDefinition/hip-pain-triage-rules', (r: Resource) => ({ ...r, status: 'retired' })],
      ['rewriting the due SearchParameter', 'SearchParameter/Task-due', (r: Resource) => ({ ...r, expression: 'Task.id' })],
      ['changing an ActivityDefinition', 'ActivityDefinition/advice-keep-active', (r: Resource) => ({ ...r, status: 'retired' })],
      ['renaming the shared Organization', 'Organization/shared-clinic', (r: Resource) => ({ ...r, name: 'Taken over' })],
    ])('%s with patient/*.cruds → 403', async (_name, url, change) => {
      const before = await readBack(url);
      const res = await as(aliceWrites).put(url, change(before));
      expectOutcome(res, 403, 'forbidden');
      expect(await readBack(url)).toEqual(before);
    });

    it('deleting the emergency department’s HealthcareService → 403, it is still there', async () => {
      const before = await readBack('HealthcareService/hip-triage-emergency-department');
      expectOutcome(await as(aliceWrites).delete('HealthcareService/hip-triage-emergency-department'), 403, 'forbidden');
      expect(await readBack('HealthcareService/hip-triage-emergency-department')).toEqual(before);
    });

    it('creating content or routing resources → 403, nothing created', async () => {
      for (const resource of [
        { resourceType: 'PlanDefinition', status: 'active', name: 'Rogue' },
        { resourceType: 'HealthcareService', name: 'Rogue' },
        {
          resourceType: 'SearchParameter',
          url: 'https://rogue.example/sp',
          name: 'rogue',
          status: 'active',
          description: 'x',
          code: 'rogue',
          base: ['Task'],
          type: 'token',
          expression: 'Task.id',
        },
        { resourceType: 'Organization', name: 'Rogue' },
      ]) {
        const res = await as(aliceWrites).postJson(resource.resourceType, resource);
        expectOutcome(res, 403, 'forbidden');
        const search = await as(backend).get(`${resource.resourceType}?name=Rogue`).expect(200);
        expect([resource.resourceType, (search.body as Bundle).total]).toEqual([resource.resourceType, 0]);
      }
    });

    it('the same writes inside a transaction → 403, the HealthcareService unchanged', async () => {
      const before = await readBack('HealthcareService/hip-triage-duty-clinician');
      const res = await as(aliceWrites).postJson('', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            request: { method: 'PUT', url: 'RiskAssessment/ra-alice' },
            resource: { resourceType: 'RiskAssessment', id: 'ra-alice', status: 'final', subject: { reference: 'Patient/alice' } },
          },
          { request: { method: 'PUT', url: 'HealthcareService/hip-triage-duty-clinician' }, resource: { ...before, name: 'Nobody' } },
        ],
      });
      expectOutcome(res, 403, 'forbidden');
      expect(await readBack('HealthcareService/hip-triage-duty-clinician')).toEqual(before);
    });

    it('her own records stay writable with the same token', async () => {
      await as(aliceWrites)
        .put('RiskAssessment/ra-alice', { resourceType: 'RiskAssessment', id: 'ra-alice', status: 'amended', subject: { reference: 'Patient/alice' } })
        .expect(200);
      expect(((await readBack('RiskAssessment/ra-alice')) as { status?: string }).status).toBe('amended');
    });

    it('she may still read shared content her scopes grant', async () => {
      await as(aliceWrites).get('PlanDefinition/hip-pain-triage-rules').expect(200);
      await as(aliceWrites).get('HealthcareService/hip-triage-duty-clinician').expect(200);
    });

    it('content and routing writes need a user/ or system/ scope naming the type: a wildcard is not enough', async () => {
      const before = await readBack('HealthcareService/hip-triage-gp-practice');
      const wildcard = await issuer.sign({ sub: 'admin', scope: 'user/*.cruds' });
      expectOutcome(await as(wildcard).put('HealthcareService/hip-triage-gp-practice', { ...before, comment: 'changed' }), 403, 'forbidden');
      const named = await issuer.sign({ sub: 'admin', scope: 'user/HealthcareService.ru' });
      await as(named)
        .put('HealthcareService/hip-triage-gp-practice', { ...before, comment: 'changed' })
        .expect(200);
      expect((await readBack('HealthcareService/hip-triage-gp-practice')) as { comment?: string }).toMatchObject({ comment: 'changed' });
      const patientNamed = await issuer.sign({ sub: 'alice-user', scope: 'patient/HealthcareService.cruds', patient: 'alice' });
      expectOutcome(await as(patientNamed).put('HealthcareService/hip-triage-gp-practice', before), 403, 'forbidden');
    });
  });
});
