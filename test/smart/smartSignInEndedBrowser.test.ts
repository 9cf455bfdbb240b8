import { readFileSync } from 'node:fs';
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import type { Page } from 'playwright-core';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { answerEverything, inPage, launchSmartChromium, type SmartChromium } from './smartChromium';
import { putPatient, resultsFor, type RunningService, startService } from './smartTestbed';

/**
 * In a real browser, with a SHORT-LIVED token: the person answers a red flag after the token
 * has expired. The answers are scored anyway and the 999 advice shown; they are kept; after
 * signing in again the app offers to save them, and one click saves them without answering
 * again: read back from the EHR, one set of results.
 * The EHR is an instance of its own and the app has no credentials for it, so nothing can be
 * saved without the person's own sign-in.
 */
jest.setTimeout(120_000);

const SCOPES =
  'launch openid fhirUser patient/Patient.r patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus';
const TOKEN_SECONDS = 2;
/** How many yes/no questions have an answer on the page (LHC-Forms' third radio, `|null`, is "not answered"). */
const ANSWERED_YES_NO = `[...document.querySelectorAll('input:checked')].filter((i) => /\\|(true|false)$/.test(i.closest('label')?.id ?? '')).length`;

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Serious or critical axe-core findings on the page now (axe evaluated through the DevTools protocol, so the page's CSP holds otherwise). */
async function seriousAxeViolations(): Promise<string[]> {
  await page.evaluate(`${AXE_SOURCE};0`);
  const results = await inPage<{ violations: { id: string; impact: string | null; nodes: unknown[] }[] }>(
    page,
    `axe.run(document, { resultTypes: ['violations'] })`
  );
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.nodes.length})`);
}

let authorization: SmartAuthorizationServer;
let ehr: RunningService;
let app: RunningService;
let chromium: SmartChromium | undefined;
let page: Page;
const consoleMessages: string[] = [];

beforeAll(async () => {
  authorization = await startSmartAuthorizationServer();
  ehr = await startService({ authorization });
  app = await startService();
  await putPatient(ehr.service, { resourceType: 'Patient', id: 'expiring', name: [{ given: ['Lou'], family: 'Expiry-Example' }], birthDate: '1950-07-08' });
  chromium = await launchSmartChromium({ width: 390, height: 844 });
  page = await chromium.context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('console', (message) => consoleMessages.push(`${message.type()}: ${message.text()}`));
});

afterAll(async () => {
  await chromium?.close();
  await Promise.all([ehr?.close(), app?.close()]);
  await authorization?.close();
});

function answerOf(response: QuestionnaireResponse | undefined, linkId: string): unknown {
  const all = (items: QuestionnaireResponse['item']): NonNullable<QuestionnaireResponse['item']> => (items ?? []).flatMap((i) => [i, ...all(i.item)]);
  return all(response?.item).find((i) => i.linkId === linkId)?.answer;
}

describe('a red-flag submission after the token expired, in a browser', () => {
  it('shows the 999 advice, keeps the answers, and saves them after signing in again without retyping: one set', async () => {
    authorization.grant({ patient: 'expiring', scope: SCOPES, expiresIn: TOKEN_SECONDS });
    const signedInAt = Date.now();
    await page.goto(`${app.base}/smart/launch?${new URLSearchParams({ iss: ehr.fhirBase, launch: 'expiring-1' }).toString()}`);
    await page.waitForSelector('body[data-form-ready="true"]');
    await answerEverything(page, ['cannot-weight-bear']);
    expect(await inPage<number>(page, ANSWERED_YES_NO)).toBeGreaterThanOrEqual(20);
    // The token has run out by the time the person presses the button.
    const left = signedInAt + TOKEN_SECONDS * 1000 + 500 - Date.now();
    if (left > 0) {
      await page.waitForTimeout(left);
    }
    await page.getByRole('button', { name: 'Check what to do' }).click();
    await page.waitForURL(/\/smart\/result$/);

    expect(await page.locator('h1').innerText()).toBe('Call 999 or go to A&E now');
    const text = await page.locator('main').innerText();
    expect(text).toContain('Until you get help');
    expect(text).toContain('NOT saved in your health record yet');
    expect(text.match(/sign-in had ended/gi)).toHaveLength(1);
    expect(text).not.toMatch(/session has ended/i);
    expect(await resultsFor(ehr.service, 'RiskAssessment', 'expiring')).toHaveLength(0);
    expect(await seriousAxeViolations()).toEqual([]);

    // Signing in again: a fresh token, from the link on the result page (a standalone launch at the same EHR).
    authorization.grant({ patient: 'expiring', scope: SCOPES });
    await page.getByRole('link', { name: 'Sign in again to save your answers' }).click();
    await page.waitForSelector('body[data-form-ready="true"]');
    expect(await page.locator('.held-answers').innerText()).toContain('You answered these questions earlier');
    // Nothing was typed into this new form.
    expect(await inPage<number>(page, ANSWERED_YES_NO)).toBe(0);
    expect(await seriousAxeViolations()).toEqual([]);
    await page.getByRole('button', { name: 'Save the answers you gave earlier' }).click();
    await page.waitForURL(/\/smart\/result$/);
    expect(await page.locator('h1').innerText()).toBe('Call 999 or go to A&E now');
    expect(await page.locator('main').innerText()).toContain('saved in your health record');

    const risks = await resultsFor(ehr.service, 'RiskAssessment', 'expiring');
    expect(risks).toHaveLength(1);
    expect(await resultsFor(ehr.service, 'CarePlan', 'expiring')).toHaveLength(1);
    const answers = (await resultsFor(ehr.service, 'QuestionnaireResponse', 'expiring')) as QuestionnaireResponse[];
    expect(answers).toHaveLength(1);
    expect(answerOf(answers[0], 'cannot-weight-bear')).toEqual([{ valueBoolean: true }]);

    // Back to the form: the offer is gone once saved.
    await page.goto(`${app.base}/smart/app`);
    await page.waitForSelector('body[data-form-ready="true"]');
    expect(await page.locator('.held-answers').count()).toBe(0);
  });

  it('ran with no Content-Security-Policy violation', () => {
    expect(consoleMessages.filter((m) => /Content Security Policy/i.test(m))).toEqual([]);
  });
});
