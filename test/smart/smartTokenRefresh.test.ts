import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { type BareFhirServer, startBareFhirServer } from '../support/bareFhirServer';
import { answersWith, buildResponse } from '../support/responses';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { launchOverHttp, pageData, putPatient, resultsFor, type RunningService, startService, submitResponse } from './smartTestbed';

/**
 * Sessions that last (issue 16): the app asks for `online_access` (`offline_access` when
 * SMART_OFFLINE_ACCESS=true), keeps the refresh token server-side, and refreshes the access
 * token when it has expired or is about to (before using it), and once when the EHR answers
 * 401 before the token's stated expiry. Against the real test authorization server, which
 * issues and honours refresh tokens.
 */
jest.setTimeout(60_000);

const SCOPES =
  'launch openid fhirUser patient/Patient.r patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus';

let authorization: SmartAuthorizationServer;
let ehr: RunningService;
let app: RunningService;
let offline: RunningService;

beforeAll(async () => {
  authorization = await startSmartAuthorizationServer();
  ehr = await startService({ authorization });
  app = await startService();
  offline = await startService({ env: { SMART_OFFLINE_ACCESS: 'true' } });
  await putPatient(ehr.service, { resourceType: 'Patient', id: 'refresh-1', name: [{ given: ['Rae'], family: 'Refresh-Example' }], birthDate: '1972-08-09' });
});

afterAll(async () => {
  await Promise.all([ehr?.close(), app?.close(), offline?.close()]);
  await authorization?.close();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function responseFor(patientId: string, changes: Record<string, boolean | number | string | string[]> = {}): QuestionnaireResponse {
  return buildResponse(answersWith({ age: 54, ...changes }), { subject: { reference: `Patient/${patientId}` } });
}

describe('the scopes asked for', () => {
  it('online_access by default; offline_access instead when SMART_OFFLINE_ACCESS=true', async () => {
    authorization.grant({ patient: 'refresh-1', scope: SCOPES, refreshTokens: true });
    await launchOverHttp({ app: app.base, iss: ehr.fhirBase, launch: 'scopes-1', authorization });
    const online = (authorization.authorizations.at(-1)?.get('scope') ?? '').split(' ');
    expect(online).toContain('online_access');
    expect(online).not.toContain('offline_access');
    await launchOverHttp({ app: offline.base, iss: ehr.fhirBase, launch: 'scopes-2', authorization });
    const offlineScopes = (authorization.authorizations.at(-1)?.get('scope') ?? '').split(' ');
    expect(offlineScopes).toContain('offline_access');
    expect(offlineScopes).not.toContain('online_access');
  });
});

describe('a token that expires while the person answers', () => {
  it('is refreshed before the write: saved with the sign-in, one set, the refresh token never in a log', async () => {
    authorization.grant({ patient: 'refresh-1', scope: SCOPES, expiresIn: 1, refreshTokens: true });
    const refreshesBefore = authorization.tokenRequests.filter((r) => r.get('grant_type') === 'refresh_token').length;
    const { browser, html } = await launchOverHttp({ app: app.base, iss: ehr.fhirBase, launch: 'refresh-a', authorization });
    await sleep(1_500);
    const submitted = await submitResponse(browser, app.base, { response: responseFor('refresh-1', { 'cannot-weight-bear': true }) }, pageData(html).csrfToken);
    expect(submitted.status).toBe(200);
    const page = await (await browser.request(`${app.base}/smart/result`)).text();
    expect(page).toContain('Call 999 or go to A&amp;E now');
    expect(page).toContain('are saved in your health record');
    expect(page).not.toMatch(/sign-in had ended/i);
    const refreshes = authorization.tokenRequests.filter((r) => r.get('grant_type') === 'refresh_token');
    expect(refreshes.length).toBeGreaterThan(refreshesBefore);
    expect(await resultsFor(ehr.service, 'RiskAssessment', 'refresh-1')).toHaveLength(1);
    const refreshToken = refreshes.at(-1)?.get('refresh_token') ?? '';
    expect(refreshToken).not.toBe('');
    expect(app.service.logs.text()).not.toContain(refreshToken);
    expect(browser.setCookies.join('\n')).not.toContain(refreshToken);
  });
});

describe('a token the EHR refuses before its stated expiry (401)', () => {
  let fake: BareFhirServer;
  /** Access tokens the fake EHR has revoked. */
  const revoked = new Set<string>();
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
        if (revoked.has((req.get('authorization') ?? '').replace(/^Bearer /, ''))) {
          res.status(401).json({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
          return;
        }
        next();
      },
    });
    await fake.store.executeTransaction({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Patient', id: 'refresh-9', birthDate: '1970-05-05' }, request: { method: 'PUT', url: 'Patient/refresh-9' } }],
    });
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('refreshes once and saves with the new token', async () => {
    authorization.grant({ patient: 'refresh-9', scope: SCOPES, refreshTokens: true });
    const { browser, html } = await launchOverHttp({ app: app.base, iss: fake.fhirBaseUrl, launch: 'refresh-b', authorization });
    // The token given at sign-in is revoked by the EHR while the person answers.
    revoked.add(authorization.issuedAccessTokens.at(-1) ?? '');
    expect(
      (await submitResponse(browser, app.base, { response: responseFor('refresh-9', { 'bladder-bowel-change': true }) }, pageData(html).csrfToken)).status
    ).toBe(200);
    const page = await (await browser.request(`${app.base}/smart/result`)).text();
    expect(page).toContain('are saved in your health record');
    expect(authorization.tokenRequests.at(-1)?.get('grant_type')).toBe('refresh_token');
    expect(await fake.store.searchResources('RiskAssessment', { subject: 'Patient/refresh-9' })).toHaveLength(1);
    expect(await fake.store.searchResources('QuestionnaireResponse', { subject: 'Patient/refresh-9' })).toHaveLength(1);
  });
});
