import type { QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { type BareFhirServer, startBareFhirServer } from '../support/bareFhirServer';
import { answersWith, buildResponse } from '../support/responses';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { CookieBrowser, launchOverHttp, pageData, putPatient, resultsFor, type RunningService, startService, submitResponse } from './smartTestbed';

/**
 * Answers sent when the sign-in has ended (a short-lived token, or one the EHR refuses) or the
 * page is no longer tied to a launch: they are scored all the same, the advice is shown with
 * one message, and, where the app cannot save them itself, they are kept and saved after
 * signing in again, without answering again, once.
 */
jest.setTimeout(60_000);

const SCOPES =
  'launch openid fhirUser patient/Patient.r patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus';

let authorization: SmartAuthorizationServer;
/** An EHR of its own, and an app instance with no credentials for it: nothing can be saved without the user's token. */
let ehr: RunningService;
let app: RunningService;
/** EHR and app in one: the service has its own credentials for this EHR. */
let together: RunningService;

beforeAll(async () => {
  authorization = await startSmartAuthorizationServer();
  ehr = await startService({ authorization });
  app = await startService();
  together = await startService({ authorization });
  for (const running of [ehr, together]) {
    await putPatient(running.service, { resourceType: 'Patient', id: 'ended-1', name: [{ given: ['Nia'], family: 'Ended-Example' }], birthDate: '1961-02-03' });
    await putPatient(running.service, {
      resourceType: 'Patient',
      id: 'ended-2',
      name: [{ given: ['Otto'], family: 'Other-Example' }],
      birthDate: '1955-06-07',
    });
  }
});

afterAll(async () => {
  await Promise.all([ehr?.close(), app?.close(), together?.close()]);
  await authorization?.close();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function responseFor(patientId: string, changes: Record<string, boolean | number | string | string[]> = {}): QuestionnaireResponse {
  return buildResponse(answersWith({ age: 65, ...changes }), { subject: { reference: `Patient/${patientId}` } });
}

/** The visible text of a page: tags out, entities as characters. */
function visibleText(html: string): string {
  const main = /<main[^>]*>([\s\S]*)<\/main>/.exec(html)?.[1] ?? html;
  return main
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ');
}

function occurrences(text: string, phrase: RegExp): number {
  return text.match(new RegExp(phrase.source, `${phrase.flags.replace('g', '')}g`))?.length ?? 0;
}

async function answersIn(
  running: { readonly store: { searchResources<T extends Resource>(type: T['resourceType'], query: Record<string, string>): Promise<T[]> } },
  patientId: string
): Promise<QuestionnaireResponse[]> {
  return running.store.searchResources<QuestionnaireResponse>('QuestionnaireResponse', { subject: `Patient/${patientId}` });
}

describe('a red-flag submission after the token expired', () => {
  it('is scored (999 advice, said once), kept, and saved after signing in again without answering again: one set of results', async () => {
    authorization.grant({ patient: 'ended-1', scope: SCOPES, expiresIn: 1 });
    const { browser, html } = await launchOverHttp({ app: app.base, iss: ehr.fhirBase, launch: 'ended-a', authorization });
    const { csrfToken } = pageData(html);
    await sleep(1_500);
    const response = responseFor('ended-1', { 'cannot-weight-bear': true });
    const submitted = await submitResponse(browser, app.base, { response }, csrfToken);
    expect(submitted.status).toBe(200);
    const page = await (await browser.request(`${app.base}/smart/result`)).text();
    const text = visibleText(page);
    expect(text).toContain('Call 999 or go to A&E now');
    expect(text).toContain('NOT saved in your health record yet');
    expect(occurrences(text, /sign-in had ended/i)).toBe(1);
    expect(text).not.toMatch(/session has ended/i);
    expect(page).toContain(`href="/smart/launch?iss=${encodeURIComponent(ehr.fhirBase)}"`);
    expect(text).toContain('Sign in again to save your answers');
    expect(await resultsFor(ehr.service, 'RiskAssessment', 'ended-1')).toHaveLength(0);

    // Signing in again (a fresh token) in the same browser: the form offers the earlier answers.
    authorization.grant({ patient: 'ended-1', scope: SCOPES });
    const again = await launchOverHttp({ app: app.base, iss: ehr.fhirBase, launch: 'ended-b', authorization, browser });
    expect(again.html).toContain('Save the answers you gave earlier');
    const fresh = pageData(again.html).csrfToken;
    const saved = await browser.request(`${app.base}/smart/retry`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: fresh }).toString(),
    });
    expect(saved.status).toBe(303);
    const result = visibleText(await (await browser.request(`${app.base}/smart/result`)).text());
    expect(result).toContain('Call 999 or go to A&E now');
    expect(result).toContain('saved in your health record');
    expect(result).not.toContain('Sign in again');

    // Read back: one set, with the answers as given (the red flag), authored when the first form was shown.
    expect(await resultsFor(ehr.service, 'RiskAssessment', 'ended-1')).toHaveLength(1);
    expect(await resultsFor(ehr.service, 'CarePlan', 'ended-1')).toHaveLength(1);
    const answers = await answersIn(ehr.service, 'ended-1');
    expect(answers).toHaveLength(1);
    expect(JSON.stringify(answers[0]?.item)).toMatch(/"linkId":"cannot-weight-bear","answer":\[\{"valueBoolean":true\}\]/);

    // Once saved, nothing is offered again, and saving again writes nothing.
    const later = await browser.request(`${app.base}/smart/app`);
    expect(await later.text()).not.toContain('Save the answers you gave earlier');
    const twice = await browser.request(`${app.base}/smart/retry`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: fresh }).toString(),
    });
    expect(twice.headers.get('location')).toBe('/smart/app');
    expect(await resultsFor(ehr.service, 'RiskAssessment', 'ended-1')).toHaveLength(1);
  });

  it('the held answers are offered only for the same patient', async () => {
    authorization.grant({ patient: 'ended-2', scope: SCOPES, expiresIn: 1 });
    const { browser, html } = await launchOverHttp({ app: app.base, iss: ehr.fhirBase, launch: 'ended-c', authorization });
    await sleep(1_500);
    expect((await submitResponse(browser, app.base, { response: responseFor('ended-2', { 'leg-deformed': true }) }, pageData(html).csrfToken)).status).toBe(
      200
    );
    authorization.grant({ patient: 'ended-1', scope: SCOPES });
    const other = await launchOverHttp({ app: app.base, iss: ehr.fhirBase, launch: 'ended-d', authorization, browser });
    expect(other.html).toContain('Nia Ended-Example');
    expect(other.html).not.toContain('Save the answers you gave earlier');
    // ...and a retry there finds nothing to save for this patient.
    const retried = await browser.request(`${app.base}/smart/retry`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: pageData(other.html).csrfToken }).toString(),
    });
    expect(retried.headers.get('location')).toBe('/smart/app');
    expect(await resultsFor(ehr.service, 'RiskAssessment', 'ended-2')).toHaveLength(0);
    // Opening the app from the right record later still finds them.
    authorization.grant({ patient: 'ended-2', scope: SCOPES });
    const right = await launchOverHttp({ app: app.base, iss: ehr.fhirBase, launch: 'ended-d2', authorization, browser });
    expect(right.html).toContain('Save the answers you gave earlier');
  });

  it('where the service has its own credentials for the EHR, it saves them at once, and says so', async () => {
    authorization.grant({ patient: 'ended-2', scope: SCOPES, expiresIn: 1 });
    const { browser, html } = await launchOverHttp({ app: together.base, iss: together.fhirBase, launch: 'ended-e', authorization });
    await sleep(1_500);
    expect(
      (await submitResponse(browser, together.base, { response: responseFor('ended-2', { 'saddle-numbness': true }) }, pageData(html).csrfToken)).status
    ).toBe(200);
    const text = visibleText(await (await browser.request(`${together.base}/smart/result`)).text());
    expect(text).toContain('Call 999 or go to A&E now');
    expect(text).toContain('saved in your health record');
    expect(text).toContain('Your sign-in had ended');
    expect(await resultsFor(together.service, 'RiskAssessment', 'ended-2')).toHaveLength(1);
  });
});

describe('a page no longer tied to a launch', () => {
  it('without a session (the app restarted): 401, the 999 advice, one message', async () => {
    const res = await submitResponse(new CookieBrowser(), app.base, { response: responseFor('ended-1', { 'cannot-weight-bear': true }) }, 'stale-token');
    expect(res.status).toBe(401);
    const body = (await res.json()) as { message: string; advice?: string; urgent?: boolean; problems: unknown[] };
    expect(body.advice).toContain('999');
    expect(body.urgent).toBe(true);
    expect(body.message).toContain('NOT saved');
    expect(body.problems).toEqual([]);
    // Without a red flag the advice comes too, not dressed as an emergency.
    const calm = (await (await submitResponse(new CookieBrowser(), app.base, { response: responseFor('ended-1') }, 'stale-token')).json()) as {
      advice?: string;
      urgent?: boolean;
    };
    expect(calm.advice).toBeDefined();
    expect(calm.urgent).toBe(false);
  });

  it('an invalid response without a session still gets its red-flag advice', async () => {
    const res = await submitResponse(
      new CookieBrowser(),
      app.base,
      { response: responseFor('ended-1', { 'saddle-numbness': true, 'pain-score': 11 }) },
      'stale-token'
    );
    expect(res.status).toBe(401);
    expect(((await res.json()) as { advice?: string }).advice).toContain('999');
  });

  it('the form page after the sign-in ended says the session has ended once', async () => {
    authorization.grant({ patient: 'ended-1', scope: SCOPES, expiresIn: 1 });
    const { browser } = await launchOverHttp({ app: app.base, iss: ehr.fhirBase, launch: 'ended-f', authorization });
    await sleep(1_500);
    const res = await browser.request(`${app.base}/smart/app`);
    expect(res.status).toBe(401);
    expect(occurrences(visibleText(await res.text()), /session has ended/i)).toBe(1);
  });
});

describe('an EHR that refuses the token at the write, or is down', () => {
  let fake: BareFhirServer;
  const switches = { refuseWrites: false, down: false };
  beforeAll(async () => {
    fake = await startBareFhirServer({
      before: () => (req, res, next) => {
        if (req.method === 'GET' && req.path === '/.well-known/smart-configuration') {
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
            rest: [{ mode: 'server', interaction: [{ code: 'transaction' }] }],
          });
          return;
        }
        if (switches.down && req.method === 'POST') {
          res.status(503).json({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] });
          return;
        }
        if (switches.refuseWrites && (req.method === 'POST' || req.path !== '/Patient/ended-9')) {
          res.status(401).json({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
          return;
        }
        next();
      },
    });
    await fake.store.executeTransaction({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Patient', id: 'ended-9', birthDate: '1970-05-05' }, request: { method: 'PUT', url: 'Patient/ended-9' } }],
    });
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('refused (401): advice shown, answers kept, "sign in again", then saved once', async () => {
    authorization.grant({ patient: 'ended-9', scope: SCOPES });
    const { browser, html } = await launchOverHttp({ app: app.base, iss: fake.fhirBaseUrl, launch: 'ended-g', authorization });
    switches.refuseWrites = true;
    try {
      expect(
        (await submitResponse(browser, app.base, { response: responseFor('ended-9', { 'bladder-bowel-change': true }) }, pageData(html).csrfToken)).status
      ).toBe(200);
    } finally {
      switches.refuseWrites = false;
    }
    const text = visibleText(await (await browser.request(`${app.base}/smart/result`)).text());
    expect(text).toContain('Call 999 or go to A&E now');
    expect(text).toContain('did not accept your sign-in');
    expect(text).toContain('Sign in again to save your answers');
    expect(await fake.store.searchResources('RiskAssessment', {})).toHaveLength(0);

    const again = await launchOverHttp({ app: app.base, iss: fake.fhirBaseUrl, launch: 'ended-h', authorization, browser });
    expect(again.html).toContain('Save the answers you gave earlier');
    const saved = await browser.request(`${app.base}/smart/retry`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: pageData(again.html).csrfToken }).toString(),
    });
    expect(saved.status).toBe(303);
    expect(await fake.store.searchResources('RiskAssessment', { subject: 'Patient/ended-9' })).toHaveLength(1);
    expect(await fake.store.searchResources('QuestionnaireResponse', { subject: 'Patient/ended-9' })).toHaveLength(1);
  });

  it('down (503) with the sign-in still good: advice shown, "try saving again" keeps the same answers', async () => {
    authorization.grant({ patient: 'ended-9', scope: SCOPES });
    const { browser, html } = await launchOverHttp({ app: app.base, iss: fake.fhirBaseUrl, launch: 'ended-i', authorization });
    const { csrfToken } = pageData(html);
    switches.down = true;
    try {
      expect(
        (await submitResponse(browser, app.base, { response: responseFor('ended-9', { 'hot-swollen-joint': true, 'fever-or-unwell': true }) }, csrfToken))
          .status
      ).toBe(200);
    } finally {
      switches.down = false;
    }
    const text = visibleText(await (await browser.request(`${app.base}/smart/result`)).text());
    expect(text).toContain('Call 999 or go to A&E now');
    expect(text).toContain('could not be reached');
    expect(text).toContain('Try saving again');
    expect(text).not.toContain('Sign in again');
    const before = (await fake.store.searchResources('RiskAssessment', { subject: 'Patient/ended-9' })).length;
    await browser.request(`${app.base}/smart/retry`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: csrfToken }).toString(),
    });
    expect(await fake.store.searchResources('RiskAssessment', { subject: 'Patient/ended-9' })).toHaveLength(before + 1);
  });
});
