import { createHash } from 'node:crypto';
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { type BareFhirServer, startBareFhirServer } from '../support/bareFhirServer';
import { answersWith, buildResponse } from '../support/responses';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { CookieBrowser, launchOverHttp, pageData, putPatient, resultsFor, type RunningService, startService, submitResponse } from './smartTestbed';

jest.setTimeout(60_000);

const PATIENT_SCOPES =
  'launch openid fhirUser patient/Patient.r patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus';
const READ_ONLY_SCOPES = 'launch openid fhirUser patient/Patient.r patient/QuestionnaireResponse.r';

let authorization: SmartAuthorizationServer;
/** EHR and app in one instance: the app's backend (its embedded store) is the EHR's own store. */
let together: RunningService;
/** An EHR of its own, and an app instance that has no credentials for it. */
let ehr: RunningService;
let app: RunningService;

beforeAll(async () => {
  authorization = await startSmartAuthorizationServer();
  together = await startService({ authorization });
  ehr = await startService({ authorization });
  app = await startService();
  for (const running of [together, ehr]) {
    await putPatient(running.service, {
      resourceType: 'Patient',
      id: 'pat-1',
      name: [{ given: ['Ada'], family: 'Lovelace-Example' }],
      birthDate: '1986-04-02',
    });
    await putPatient(running.service, { resourceType: 'Patient', id: 'pat-2', name: [{ given: ['Bob'], family: 'Other-Example' }], birthDate: '1990-01-01' });
  }
});

afterAll(async () => {
  await Promise.all([together?.close(), ehr?.close(), app?.close()]);
  await authorization?.close();
});

function responseFor(patientId: string, changes: Record<string, boolean | number | string | string[]> = {}): QuestionnaireResponse {
  return buildResponse(answersWith({ age: 40, ...changes }), { subject: { reference: `Patient/${patientId}` } });
}

describe('discovery', () => {
  it('publishes the SMART configuration at the FHIR base, without a token, from AUTH_ISSUER', async () => {
    const res = await fetch(`${together.fhirBase}/.well-known/smart-configuration`);
    expect(res.status).toBe(200);
    const config = (await res.json()) as Record<string, unknown>;
    expect(config).toMatchObject({
      issuer: authorization.issuerUrl,
      jwks_uri: authorization.jwksUri,
      authorization_endpoint: `${authorization.issuerUrl}/authorize`,
      token_endpoint: `${authorization.issuerUrl}/token`,
      code_challenge_methods_supported: ['S256'],
    });
    expect(config.capabilities).toEqual(
      expect.arrayContaining(['launch-ehr', 'launch-standalone', 'client-public', 'client-confidential-symmetric', 'context-ehr-patient', 'permission-v2'])
    );
  });

  it('has no SMART configuration without AUTH_*', async () => {
    const res = await fetch(`${app.fhirBase}/.well-known/smart-configuration`);
    expect(res.status).toBe(404);
  });
});

describe('EHR launch', () => {
  it('asks with PKCE S256, a state, aud = iss and the launch, and keeps the token on the server', async () => {
    authorization.grant({ patient: 'pat-1', needPatientBanner: true, scope: PATIENT_SCOPES, fhirUser: 'Practitioner/dr-1' });
    const before = authorization.tokenRequests.length;
    const { browser, launch, callback, page, html } = await launchOverHttp({
      app: together.base,
      iss: together.fhirBase,
      launch: 'opaque-launch-123',
      authorization,
    });

    const asked = authorization.authorizations.at(-1);
    expect(asked?.get('response_type')).toBe('code');
    expect(asked?.get('client_id')).toBe('hip-pain-triage');
    expect(asked?.get('redirect_uri')).toBe(`${together.base}/smart/callback`);
    expect(asked?.get('aud')).toBe(together.fhirBase);
    expect(asked?.get('launch')).toBe('opaque-launch-123');
    expect(asked?.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['launch', 'openid', 'fhirUser', 'patient/RiskAssessment.crus']));
    expect(asked?.get('code_challenge_method')).toBe('S256');
    expect(asked?.get('state')?.length).toBeGreaterThanOrEqual(32);
    const token = authorization.tokenRequests.slice(before).find((t) => t.get('grant_type') === 'authorization_code');
    const verifier = token?.get('code_verifier') ?? '';
    expect(createHash('sha256').update(verifier).digest('base64url')).toBe(asked?.get('code_challenge'));

    expect(launch.status).toBe(303);
    expect(callback.status).toBe(303);
    expect(callback.headers.get('location')).toBe('/smart/app');
    expect(page.status).toBe(200);
    // The banner, because the token response asked for one.
    expect(html).toContain('Ada Lovelace-Example');
    expect(html).toContain('2 April 1986');
    const data = pageData(html);
    expect(data.subject).toBe('Patient/pat-1');
    expect(data.author).toBe('Practitioner/dr-1');

    const cookies = browser.setCookies.filter((c) => c.startsWith('hip_triage_smart='));
    expect(cookies.length).toBe(2);
    for (const cookie of cookies) {
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Lax/i);
      expect(cookie).toMatch(/Path=\/smart/);
      expect(cookie).not.toMatch(/Secure/i);
    }
    // A new session id at sign-in: the one from before it is worth nothing now.
    expect(cookies[0]).not.toBe(cookies[1]);
    const stale = new CookieBrowser();
    stale.cookies.set('hip_triage_smart', (cookies[0] ?? '').split(';')[0]?.split('=')[1] ?? '');
    expect((await stale.request(`${together.base}/smart/app`)).status).toBe(401);

    const accessToken = authorization.issuedAccessTokens.at(-1) ?? 'none';
    for (const location of browser.locations) {
      expect(location).not.toContain(accessToken);
      expect(location).not.toContain('pat-1');
    }
    expect(html).not.toContain(accessToken);
    expect(together.service.logs.text()).not.toContain(accessToken);
    expect(together.service.logs.text()).not.toContain('Lovelace');
  });

  it('writes the results with a patient token: clinical results in one transaction, GuidanceResponse and Provenance by the backend, never twice', async () => {
    authorization.grant({ patient: 'pat-1', scope: PATIENT_SCOPES, fhirUser: 'Practitioner/dr-1' });
    const { browser, html } = await launchOverHttp({ app: together.base, iss: together.fhirBase, launch: 'l-2', authorization });
    const { csrfToken } = pageData(html);
    const response = responseFor('pat-1', { 'fall-or-injury': true });
    const first = await submitResponse(browser, together.base, { response }, csrfToken);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ next: '/smart/result' });
    const result = await (await browser.request(`${together.base}/smart/result`)).text();
    expect(result).toContain('Get medical help today');
    expect(result).toContain('Nobody will contact you');
    expect(result).toContain('saved in your health record');

    const risks = await resultsFor(together.service, 'RiskAssessment', 'pat-1');
    expect(risks.length).toBe(1);
    expect(await resultsFor(together.service, 'CarePlan', 'pat-1')).toHaveLength(1);
    expect(await resultsFor(together.service, 'GuidanceResponse', 'pat-1')).toHaveLength(1);
    const [stored] = await resultsFor(together.service, 'QuestionnaireResponse', 'pat-1');
    expect((stored as QuestionnaireResponse).author?.reference).toBe('Practitioner/dr-1');
    // The same answers again (a double click, a retry): found, not written again.
    expect((await submitResponse(browser, together.base, { response }, csrfToken)).status).toBe(200);
    // Found (every result type searched by its compartment parameter), so still saved: not refused and held.
    expect(await (await browser.request(`${together.base}/smart/result`)).text()).toContain('are saved in your health record');
    expect(await resultsFor(together.service, 'RiskAssessment', 'pat-1')).toHaveLength(1);
    expect(await resultsFor(together.service, 'GuidanceResponse', 'pat-1')).toHaveLength(1);
  });

  it('without backend credentials for the EHR, saves the clinical results and leaves the service record out, with a log line', async () => {
    authorization.grant({ patient: 'pat-1', scope: PATIENT_SCOPES });
    const { browser, html } = await launchOverHttp({ app: app.base, iss: ehr.fhirBase, launch: 'l-3', authorization });
    const res = await submitResponse(browser, app.base, { response: responseFor('pat-1') }, pageData(html).csrfToken);
    expect(res.status).toBe(200);
    const result = await (await browser.request(`${app.base}/smart/result`)).text();
    expect(result).toContain('You can look after this at home');
    expect(result).toContain('saved in your health record');
    // Never asked for (outside the patient's compartment), so not "your record system does not let this app".
    expect(result).toContain(
      'Not saved: the record of how the result was worked out (GuidanceResponse), the record of who made the result (Provenance). This app does not ask'
    );
    expect(result).not.toContain('did not let this app save them');
    expect(await resultsFor(ehr.service, 'RiskAssessment', 'pat-1')).toHaveLength(1);
    expect(await resultsFor(ehr.service, 'CarePlan', 'pat-1')).toHaveLength(1);
    expect(await resultsFor(ehr.service, 'GuidanceResponse', 'pat-1')).toHaveLength(0);
    expect(app.service.logs.text()).toContain('GuidanceResponse and Provenance left out');
  });
});

describe('standalone launch', () => {
  it('asks for launch/patient instead of a launch context, and opens the app for the patient chosen', async () => {
    authorization.grant({ patient: 'pat-2', needPatientBanner: true, scope: PATIENT_SCOPES.replace('launch ', 'launch/patient ') });
    const { page, html } = await launchOverHttp({ app: together.base, iss: together.fhirBase, authorization });
    const asked = authorization.authorizations.at(-1);
    expect(asked?.has('launch')).toBe(false);
    const scopes = asked?.get('scope')?.split(' ') ?? [];
    expect(scopes).toContain('launch/patient');
    expect(scopes).not.toContain('launch');
    expect(asked?.get('aud')).toBe(together.fhirBase);
    expect(page.status).toBe(200);
    expect(html).toContain('Bob Other-Example');
    expect(pageData(html).subject).toBe('Patient/pat-2');
  });
});

describe('refusals', () => {
  it('shows a clear page, without a stack trace, when the person does not allow access', async () => {
    authorization.refuseNext('access_denied');
    const before = authorization.tokenRequests.length;
    const browser = new CookieBrowser();
    const launch = await browser.request(`${together.base}/smart/launch?${new URLSearchParams({ iss: together.fhirBase, launch: 'l-4' }).toString()}`);
    const callbackUrl = await authorization.authorize(launch.headers.get('location') ?? '');
    expect(callbackUrl.searchParams.get('error')).toBe('access_denied');
    const callback = await browser.request(callbackUrl.toString());
    expect(callback.status).toBe(400);
    expect(callback.headers.get('content-type')).toMatch(/text\/html/);
    const text = await callback.text();
    expect(text).toContain('Access was not allowed');
    expect(text).not.toMatch(/\bat [\w.<>]+ \(|Error:|node_modules/);
    expect(authorization.tokenRequests.length).toBe(before);
    expect((await browser.request(`${together.base}/smart/app`)).status).toBe(401);
  });

  it('refuses a callback whose state was tampered with, before any token request, and the state is single-use', async () => {
    authorization.grant({ patient: 'pat-1', scope: PATIENT_SCOPES });
    const before = authorization.tokenRequests.length;
    const browser = new CookieBrowser();
    const launch = await browser.request(`${together.base}/smart/launch?${new URLSearchParams({ iss: together.fhirBase, launch: 'l-5' }).toString()}`);
    const callbackUrl = await authorization.authorize(launch.headers.get('location') ?? '');
    const tampered = new URL(callbackUrl);
    tampered.searchParams.set('state', `${callbackUrl.searchParams.get('state') ?? ''}x`);
    const refused = await browser.request(tampered.toString());
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('could not be matched to a launch');
    // The genuine answer now finds the state spent.
    expect((await browser.request(callbackUrl.toString())).status).toBe(400);
    expect(authorization.tokenRequests.length).toBe(before);
  });

  it('refuses an iss that is not a URL, and one outside SMART_ALLOWED_ISS', async () => {
    const bad = await fetch(`${together.base}/smart/launch?iss=not-a-url&launch=x`, { redirect: 'manual' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('not a URL');
    const guarded = await startService({ env: { SMART_ALLOWED_ISS: 'https://ehr.example.org/fhir' } });
    try {
      const res = await fetch(`${guarded.base}/smart/launch?${new URLSearchParams({ iss: together.fhirBase }).toString()}`, { redirect: 'manual' });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('not set up to work with that record system');
    } finally {
      await guarded.close();
    }
  });

  it('refuses a response about another patient (403) and a submission without the CSRF token (403)', async () => {
    authorization.grant({ patient: 'pat-1', scope: PATIENT_SCOPES });
    const { browser, html } = await launchOverHttp({ app: together.base, iss: together.fhirBase, launch: 'l-6', authorization });
    const { csrfToken } = pageData(html);
    const other = await submitResponse(browser, together.base, { response: responseFor('pat-2') }, csrfToken);
    expect(other.status).toBe(403);
    expect(((await other.json()) as { message: string }).message).toContain('different patient');
    const noToken = await submitResponse(browser, together.base, { response: responseFor('pat-1') }, undefined);
    expect(noToken.status).toBe(403);
    const wrongToken = await submitResponse(browser, together.base, { response: responseFor('pat-1') }, `${csrfToken}x`);
    expect(wrongToken.status).toBe(403);
    expect(await resultsFor(together.service, 'RiskAssessment', 'pat-2')).toHaveLength(0);
  });

  it('answers an invalid response with its problems by item, red-flag advice first', async () => {
    authorization.grant({ patient: 'pat-2', scope: PATIENT_SCOPES });
    const { browser, html } = await launchOverHttp({ app: together.base, iss: together.fhirBase, launch: 'l-7', authorization });
    const response = responseFor('pat-2', { 'cannot-weight-bear': true, 'risk-factors': ['none', 'steroids'], 'pain-score': 11 });
    const res = await submitResponse(browser, together.base, { response }, pageData(html).csrfToken);
    expect(res.status).toBe(422);
    const body = (await res.json()) as { advice?: string; problems: { linkId?: string; question?: string; text: string }[] };
    expect(body.advice).toContain('Call 999');
    expect(body.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ linkId: 'risk-factors', text: expect.stringContaining('None of these') }),
        expect.objectContaining({ linkId: 'pain-score', text: 'Enter a whole number from 0 to 10.', question: expect.stringContaining('worst pain') }),
      ])
    );
    expect(await resultsFor(together.service, 'RiskAssessment', 'pat-2')).toHaveLength(0);
  });
});

describe('what the EHR will not take', () => {
  it('with a token that cannot write and no backend credentials: shows the advice and says it was not saved', async () => {
    authorization.grant({ patient: 'pat-2', scope: READ_ONLY_SCOPES });
    const { browser, html } = await launchOverHttp({ app: app.base, iss: ehr.fhirBase, launch: 'l-8', authorization });
    const res = await submitResponse(browser, app.base, { response: responseFor('pat-2', { 'cannot-weight-bear': true }) }, pageData(html).csrfToken);
    expect(res.status).toBe(200);
    const result = await (await browser.request(`${app.base}/smart/result`)).text();
    expect(result).toContain('Call 999 or go to A&amp;E now');
    expect(result).toContain('were NOT saved in your health record');
    expect(result).toContain('does not allow saving');
    expect(result).toContain('the result (RiskAssessment)');
    expect(await resultsFor(ehr.service, 'RiskAssessment', 'pat-2')).toHaveLength(0);
  });

  it('with a token that cannot write, on the server the service has credentials for: saved by the service, and it says so', async () => {
    authorization.grant({ patient: 'pat-2', scope: READ_ONLY_SCOPES });
    const { browser, html } = await launchOverHttp({ app: together.base, iss: together.fhirBase, launch: 'l-9', authorization });
    const res = await submitResponse(browser, together.base, { response: responseFor('pat-2', { 'pain-worsening': true }) }, pageData(html).csrfToken);
    expect(res.status).toBe(200);
    const result = await (await browser.request(`${together.base}/smart/result`)).text();
    expect(result).toContain('saved in your health record');
    expect(result).toContain('triage service’s own connection');
    expect(await resultsFor(together.service, 'RiskAssessment', 'pat-2')).toHaveLength(1);
  });
});

/** A FHIR server that is not this service (no SMART configuration of its own, no auth): the embedded store with switches. */
async function startFakeEhr(): Promise<{ fake: BareFhirServer; switches: { transactions: boolean; failWrites: boolean } }> {
  const switches = { transactions: true, failWrites: false };
  const fake = await startBareFhirServer({
    before: () => (req, res, next) => {
      if (req.method === 'GET' && req.path === '/.well-known/smart-configuration') {
        // No issuer or jwks_uri: an EHR without OpenID Connect, so no ID token is checked.
        res.json({
          authorization_endpoint: `${authorization.issuerUrl}/authorize`,
          token_endpoint: `${authorization.issuerUrl}/token`,
          capabilities: ['launch-ehr'],
        });
        return;
      }
      if (req.method === 'GET' && req.path === '/metadata') {
        res.json({
          resourceType: 'CapabilityStatement',
          status: 'active',
          kind: 'instance',
          fhirVersion: '4.0.1',
          format: ['json'],
          rest: [{ mode: 'server', interaction: switches.transactions ? [{ code: 'transaction' }] : [{ code: 'batch' }] }],
        });
        return;
      }
      if (switches.failWrites && req.method === 'POST') {
        res.status(503).json({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] });
        return;
      }
      next();
    },
  });
  await fake.store.executeTransaction({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ resource: { resourceType: 'Patient', id: 'pat-9', birthDate: '1970-05-05' }, request: { method: 'PUT', url: 'Patient/pat-9' } }],
  });
  return { fake, switches };
}

describe('an EHR that is not this service', () => {
  it('without transaction support (its CapabilityStatement lacks `transaction`): the advice, and what was not saved', async () => {
    const { fake, switches } = await startFakeEhr();
    try {
      switches.transactions = false;
      authorization.grant({ patient: 'pat-9', scope: PATIENT_SCOPES });
      const { browser, html } = await launchOverHttp({ app: app.base, iss: fake.fhirBaseUrl, launch: 'l-10', authorization });
      const res = await submitResponse(browser, app.base, { response: responseFor('pat-9') }, pageData(html).csrfToken);
      expect(res.status).toBe(200);
      const result = await (await browser.request(`${app.base}/smart/result`)).text();
      expect(result).toContain('You can look after this at home');
      expect(result).toContain('Warning signs');
      expect(result).toContain('were NOT saved');
      expect(result).toContain('all-or-nothing save');
      expect(await fake.store.searchResources('RiskAssessment', {})).toHaveLength(0);
    } finally {
      await fake.close();
    }
  });

  it('when the write fails (server unavailable): the advice anyway, not saved, and "Try saving again" saves it once', async () => {
    const { fake, switches } = await startFakeEhr();
    try {
      authorization.grant({ patient: 'pat-9', scope: PATIENT_SCOPES });
      const { browser, html } = await launchOverHttp({ app: app.base, iss: fake.fhirBaseUrl, launch: 'l-11', authorization });
      const { csrfToken } = pageData(html);
      switches.failWrites = true;
      const started = performance.now();
      const res = await submitResponse(browser, app.base, { response: responseFor('pat-9', { 'leg-deformed': true }) }, csrfToken);
      expect(res.status).toBe(200);
      expect(performance.now() - started).toBeLessThan(12_000);
      const failed = await (await browser.request(`${app.base}/smart/result`)).text();
      expect(failed).toContain('Call 999 or go to A&amp;E now');
      expect(failed).toContain('could not be reached');
      expect(failed).toContain('Try saving again');
      switches.failWrites = false;
      const noCsrf = await browser.request(`${app.base}/smart/retry`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'csrf=wrong',
      });
      expect(noCsrf.status).toBe(403);
      const retried = await browser.request(`${app.base}/smart/retry`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf: csrfToken }).toString(),
      });
      expect(retried.status).toBe(303);
      const saved = await (await browser.request(`${app.base}/smart/result`)).text();
      expect(saved).toContain('saved in your health record');
      expect(saved).not.toContain('Try saving again');
      expect(await fake.store.searchResources('RiskAssessment', { subject: 'Patient/pat-9' })).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });
});
