import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { startTestService } from '../support/testService';
import { startSecuredService } from './securedService';
import { startTokenIssuer, type TokenIssuer } from './tokenIssuer';

/**
 * Issue 19, resource caps and the low finding: every search has a page size and a `_count`
 * cap; without auth a request addressed to a foreign host name is refused (DNS rebinding);
 * an odd query key gets a fixed sentence, never a JavaScript error message.
 */

const ISSUER = 'https://auth.hip-triage.test/realms/caps';
const AUDIENCE = 'hip-triage-api';
const FHIR_JSON = 'application/fhir+json';
const TASKS = 520;

function entries(body: unknown): number {
  return ((body as Bundle).entry ?? []).length;
}

function outcomeText(body: unknown): string {
  return ((body as OperationOutcome).issue ?? []).map((issue) => `${issue.details?.text ?? ''} ${issue.diagnostics ?? ''}`).join(' ');
}

/** What a JavaScript error, a stack or a path looks like in an answer. */
const JS_TRACES =
  /TypeError|ReferenceError|RangeError|Cannot read|is not a function|undefined|null|Unrecognized search parameter type|\bat \S+ \(|\.[jt]s:\d+|node_modules/;

describe('search caps, the parameter limit and error text, with auth on', () => {
  let issuer: TokenIssuer;
  let service: Service;
  let backend: string;
  let patient: string;
  const get = (token: string, url: string) => request(service.app).get(`/fhir/${url}`).set('Authorization', `Bearer ${token}`);

  beforeAll(async () => {
    issuer = await startTokenIssuer(ISSUER, AUDIENCE);
    service = await startSecuredService({ AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, AUTH_JWKS_URI: issuer.jwksUri, RATE_LIMIT_PER_MINUTE: '0' });
    backend = await issuer.sign({ sub: 'backend', scope: 'system/*.cruds' });
    patient = await issuer.sign({ sub: 'p', scope: 'patient/Task.rs patient/Patient.r', patient: 'many' });
    const entry = Array.from({ length: TASKS }, (_, i) => ({
      request: { method: 'POST', url: 'Task' },
      resource: {
        resourceType: 'Task',
        status: 'ready',
        intent: 'order',
        for: { reference: 'Patient/many' },
        owner: { reference: 'Organization/hip-triage-gp-practice' },
        description: `task ${i}`,
      },
    }));
    await request(service.app)
      .post('/fhir')
      .set('Authorization', `Bearer ${backend}`)
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }))
      .expect(200);
  });
  afterAll(async () => {
    await service.close();
    await issuer.close();
  });

  it('a search without _count answers the default page of 50, and says how many match', async () => {
    const res = await get(backend, 'Task').expect(200);
    expect(entries(res.body)).toBe(50);
    expect((res.body as Bundle).total).toBe(TASKS);
    expect(entries((await get(patient, 'Task?patient=many').expect(200)).body)).toBe(50);
  });

  it('a page that leaves matches out links to the next one, until the last page', async () => {
    const seen = new Set<string>();
    let url: string | undefined = 'Task?_count=200';
    let pages = 0;
    while (url !== undefined) {
      const res: request.Response = await get(backend, url).expect(200);
      for (const e of (res.body as Bundle).entry ?? []) {
        seen.add(e.resource?.id ?? '');
      }
      const next: string | undefined = (res.body as Bundle).link?.find((l) => l.relation === 'next')?.url;
      url = next === undefined ? undefined : next.slice(next.indexOf('/fhir/') + '/fhir/'.length);
      pages += 1;
    }
    expect([pages, seen.size]).toEqual([3, TASKS]);
  });

  it('a _count above 500 is lowered to 500; below it, honoured', async () => {
    expect(entries((await get(backend, 'Task?_count=100000').expect(200)).body)).toBe(500);
    expect(entries((await get(backend, 'Task?_count=7').expect(200)).body)).toBe(7);
    expect(entries((await get(backend, 'Task?_count=5&_count=100000').expect(200)).body)).toBe(500); // the last one counts, as the router reads it
  });

  it('the cap holds for POST _search (form and JSON) and for a search inside a batch', async () => {
    const form = await request(service.app)
      .post('/fhir/Task/_search')
      .set('Authorization', `Bearer ${backend}`)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('_count=9999')
      .expect(200);
    expect(entries(form.body)).toBe(500);
    const json = await request(service.app)
      .post('/fhir/Task/_search')
      .set('Authorization', `Bearer ${backend}`)
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ status: 'ready' }))
      .expect(200);
    expect(entries(json.body)).toBe(50);
    const batch = await request(service.app)
      .post('/fhir')
      .set('Authorization', `Bearer ${backend}`)
      .set('Content-Type', FHIR_JSON)
      .send(
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'batch',
          entry: [{ request: { method: 'GET', url: 'Task' } }, { request: { method: 'GET', url: 'Task?_count=9999' } }],
        })
      )
      .expect(200);
    expect((batch.body as Bundle).entry?.map((e) => entries(e.resource))).toEqual([50, 500]);
  });

  it('_summary=count still answers the count alone', async () => {
    const res = await get(backend, 'Task?_summary=count').expect(200);
    expect([entries(res.body), (res.body as Bundle).total]).toEqual([0, TASKS]);
  });

  it.each(['abc', '-1', '1.5', ''])('_count=%s → 400 OperationOutcome', async (count) => {
    const res = await get(backend, `Task?_count=${count}`);
    expect([res.status, (res.body as OperationOutcome).resourceType]).toEqual([400, 'OperationOutcome']);
  });

  it('100 parameters are served; 101 are refused with 400 before the access check or the store', async () => {
    const params = (n: number) => Array.from({ length: n }, () => '_pretty=false').join('&');
    await get(backend, `Task?${params(99)}&_count=1`).expect(200);
    const res = await get(backend, `Task?${params(100)}&_count=1`);
    expect([res.status, (res.body as OperationOutcome).issue?.[0]?.code]).toEqual([400, 'too-costly']);
    // Not only searches: any /fhir request, a read included.
    expect((await get(backend, `Patient/many?${params(101)}`)).status).toBe(400);
  });

  describe('odd query keys get a fixed sentence, never a JavaScript error', () => {
    it.each([
      'Task?_include=Task:__proto__',
      'Task?_include:iterate=Task:__proto__',
      'Task?_revinclude=Task:constructor',
      'Task?_include=__proto__:owner',
      'Task?__proto__=x',
      'Task?constructor=x',
      'Task?toString=1',
      'Task?hasOwnProperty=1',
      'Task?subject:__proto__=x',
      'Task?_has:__proto__:x:y=1',
      'Task?owner.__proto__=1',
      'Task?_sort=__proto__',
      'Task?_elements=constructor',
      '?_type=__proto__',
      'Task/abc?__proto__=1',
    ])('%s → 400 in our words', async (url) => {
      const res = await get(backend, url);
      expect([res.status, (res.body as OperationOutcome).resourceType]).toEqual([400, 'OperationOutcome']);
      expect(outcomeText(res.body)).not.toMatch(JS_TRACES);
      expect(outcomeText(res.body)).toMatch(/does not know/);
    });

    it('Object.prototype is untouched afterwards', () => {
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(Object.getOwnPropertyNames(Object.getPrototypeOf({})).sort());
      expect(({} as Record<string, unknown>).owner).toBeUndefined();
    });
  });
});

describe('the Host header when auth is off (DNS rebinding)', () => {
  let service: Service;
  beforeAll(async () => {
    service = await startTestService({
      PUBLIC_BASE_URL: 'https://triage.hospital.test',
      SESSION_SECRET: 'a-session-secret-of-at-least-32-characters',
      SMART_ALLOWED_ISS: 'https://ehr.hospital.test/fhir',
    });
  });
  afterAll(async () => {
    await service.close();
  });

  it.each(['attacker.example', 'attacker.example:8080', 'triage.hospital.test.attacker.example', '127.0.0.1.nip.io', '', 'a b', 'user@localhost'])(
    'Host "%s" → 421 with an OperationOutcome, on /fhir, /queue and /metrics',
    async (host) => {
      for (const path of ['/fhir/Task', '/queue', '/metrics', '/fhir/metadata']) {
        const res = await request(service.app).get(path).set('Host', host);
        expect([path, res.status, (res.body as OperationOutcome).resourceType]).toEqual([path, 421, 'OperationOutcome']);
      }
    }
  );

  it.each(['triage.hospital.test', 'TRIAGE.hospital.test:443', 'localhost:8080', '127.0.0.1', '[::1]:8080'])('Host "%s" is served', async (host) => {
    const res = await request(service.app).get('/fhir/metadata').set('Host', host);
    expect(res.status).toBe(200);
  });

  it('probes answer whatever the Host (orchestrators call them by address)', async () => {
    await request(service.app).get('/healthz').set('Host', '10.1.2.3:8080').expect(200);
  });

  it('with auth on, the token is the control and the Host is not checked', async () => {
    const issuer = await startTokenIssuer(ISSUER, AUDIENCE);
    const secured = await startSecuredService({
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URI: issuer.jwksUri,
      PUBLIC_BASE_URL: 'https://triage.hospital.test',
      SESSION_SECRET: 'a-session-secret-of-at-least-32-characters',
      SMART_ALLOWED_ISS: 'https://ehr.hospital.test/fhir',
    });
    try {
      const res = await request(secured.app).get('/fhir/metadata').set('Host', 'api.other-name.test');
      expect(res.status).toBe(200);
    } finally {
      await secured.close();
      await issuer.close();
    }
  });
});
