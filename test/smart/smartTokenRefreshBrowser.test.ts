import type { Page } from 'playwright-core';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { answerEverything, launchSmartChromium, type SmartChromium } from './smartChromium';
import { putPatient, resultsFor, type RunningService, startService } from './smartTestbed';

/**
 * Issue 16, sessions that last, in a real browser: the EHR gives a SHORT-LIVED token (2 s)
 * and a refresh token; it expires while the person is answering; at "Check what to do" the
 * app refreshes it (the mock authorization server's real refresh grant) and the results are
 * saved with the person's sign-in: no "sign-in had ended", one set read back.
 * The EHR is an instance of its own and the app has no credentials for it.
 */
jest.setTimeout(120_000);

const SCOPES =
  'launch openid fhirUser patient/Patient.r patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus';
const TOKEN_SECONDS = 2;

let authorization: SmartAuthorizationServer;
let ehr: RunningService;
let app: RunningService;
let chromium: SmartChromium | undefined;
let page: Page;

beforeAll(async () => {
  authorization = await startSmartAuthorizationServer();
  ehr = await startService({ authorization });
  app = await startService();
  await putPatient(ehr.service, { resourceType: 'Patient', id: 'refreshing', name: [{ given: ['Max'], family: 'Refresh-Example' }], birthDate: '1958-11-12' });
  chromium = await launchSmartChromium({ width: 390, height: 844 });
  page = await chromium.context.newPage();
  page.setDefaultTimeout(20_000);
});

afterAll(async () => {
  await chromium?.close();
  await Promise.all([ehr?.close(), app?.close()]);
  await authorization?.close();
});

describe('a token that expires mid-form, in a browser', () => {
  it('is refreshed at submit and the results are saved with the sign-in: one set', async () => {
    authorization.grant({ patient: 'refreshing', scope: SCOPES, expiresIn: TOKEN_SECONDS, refreshTokens: true });
    const signedInAt = Date.now();
    await page.goto(`${app.base}/smart/launch?${new URLSearchParams({ iss: ehr.fhirBase, launch: 'refresh-browser' }).toString()}`);
    await page.waitForSelector('body[data-form-ready="true"]');
    // The form was shown with the sign-in's own token: no refresh yet.
    expect(authorization.tokenRequests.filter((r) => r.get('grant_type') === 'refresh_token')).toHaveLength(0);
    await answerEverything(page, ['cannot-weight-bear']);
    const left = signedInAt + TOKEN_SECONDS * 1000 + 500 - Date.now();
    if (left > 0) {
      await page.waitForTimeout(left);
    }
    await page.getByRole('button', { name: 'Check what to do' }).click();
    await page.waitForURL(/\/smart\/result$/);

    expect(await page.locator('h1').innerText()).toBe('Call 999 or go to A&E now');
    const saving = await page.locator('section.saving').innerText();
    expect(saving).toContain('are saved in your health record');
    expect(saving).not.toMatch(/sign-in had ended/i);
    expect(authorization.tokenRequests.filter((r) => r.get('grant_type') === 'refresh_token')).toHaveLength(1);
    expect(await resultsFor(ehr.service, 'RiskAssessment', 'refreshing')).toHaveLength(1);
    expect(await resultsFor(ehr.service, 'QuestionnaireResponse', 'refreshing')).toHaveLength(1);
    expect(await resultsFor(ehr.service, 'CarePlan', 'refreshing')).toHaveLength(1);
  });
});
