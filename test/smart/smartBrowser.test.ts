import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CarePlan, QuestionnaireResponse, RiskAssessment } from '@medplum/fhirtypes';
import type { Page } from 'playwright-core';
import { type HeadlessChromium, launchHeadlessChromium } from '../queue/headlessChromium';
import { ROOT } from '../support/responses';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { bornYearsAgoToday, putPatient, resultsFor, type RunningService, startService } from './smartTestbed';

/**
 * The whole path in a real browser (Debian's chromium, headless): an EHR launch against the
 * test authorization server, with this service's embedded FHIR server as the EHR (one
 * instance is EHR and app: AUTH_* on, so the EHR really verifies the app's tokens); the form
 * filled by clicks and typing; the result pages; the results found in the EHR.
 */
jest.setTimeout(120_000);

const ARTIFACTS = join(ROOT, 'test-artifacts');
const PHONE = { width: 390, height: 844 };
const SCOPES =
  'launch openid fhirUser patient/Patient.r patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus';
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let authorization: SmartAuthorizationServer;
let ehr: RunningService;
let browser: HeadlessChromium | undefined;
let page: Page;
/** Console messages of the page: a Content-Security-Policy violation shows here. */
const consoleMessages: string[] = [];

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  authorization = await startSmartAuthorizationServer();
  ehr = await startService({ authorization });
  // Born exactly 40 years ago today: the pre-filled age must be 40, not 39.
  await putPatient(ehr.service, {
    resourceType: 'Patient',
    id: 'birthday-today',
    name: [{ given: ['Eve'], family: 'Birthday-Example' }],
    birthDate: bornYearsAgoToday(40),
  });
  // No birth date in the record: the form asks the age (with a full one, the age is the record's and read-only).
  await putPatient(ehr.service, { resourceType: 'Patient', id: 'home-care', name: [{ given: ['Sam'], family: 'Home-Example' }] });
  browser = await launchHeadlessChromium(PHONE);
  page = await browser.context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('console', (message) => consoleMessages.push(`${message.type()}: ${message.text()}`));
});

afterAll(async () => {
  await browser?.close();
  await ehr?.close();
  await authorization?.close();
});

/** Runs an expression in the page. Strings, because the project's TypeScript has no DOM library. */
async function inPage<T = unknown>(expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}

async function launch(launchId: string): Promise<void> {
  const query = new URLSearchParams({ iss: ehr.fhirBase, launch: launchId });
  await page.goto(`${ehr.base}/smart/launch?${query.toString()}`);
  await page.waitForSelector('body[data-form-ready="true"]');
}

/** LHC-Forms gives each answer a label whose id ends in `|<code>` (`|true`, `|false` for yes/no). */
function answer(linkId: string, code: string) {
  return page.locator(`label[id^="${linkId}/"][id$="|${code}"]`);
}

function field(linkId: string) {
  return page.locator(`input[id^="${linkId}/"]`).first();
}

/** Every yes/no question "No", then the given ones "Yes"; choices by tapping; numbers by typing. */
async function fillIn(yes: readonly string[]): Promise<void> {
  const noIds = await inPage<string[]>(`[...document.querySelectorAll('label[id$="|false"]')].map((l) => l.id)`);
  expect(noIds.length).toBeGreaterThanOrEqual(20);
  for (const id of noIds) {
    await page.locator(`label[id="${id}"]`).click();
  }
  for (const linkId of yes) {
    await answer(linkId, 'true').click();
  }
  await answer('risk-factors', 'none').click();
  await answer('duration', 'under-3-days').click();
  await answer('daily-activities', 'none').click();
  await answer('painkillers', 'none').click();
  await field('pain-score').click();
  await page.keyboard.type('3');
}

async function submitAndWaitForResult(): Promise<void> {
  await page.getByRole('button', { name: 'Check what to do' }).click();
  await page.waitForURL(/\/smart\/result$/);
}

interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly nodes: readonly unknown[];
}

/** axe-core run in the page (evaluated through the DevTools protocol, so the page's CSP still holds for everything else). */
async function axeViolations(): Promise<AxeViolation[]> {
  await page.evaluate(`${AXE_SOURCE};0`);
  const results = await inPage<{ violations: AxeViolation[] }>(`axe.run(document, { resultTypes: ['violations'] })`);
  return results.violations;
}

function serious(violations: readonly AxeViolation[]): string[] {
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.nodes.length})`);
}

describe('the SMART app in a browser', () => {
  it('EMERGENCY: launched from the EHR, age pre-filled on a birthday, answered by clicks, "Call 999" first, results in the EHR', async () => {
    authorization.grant({ patient: 'birthday-today', needPatientBanner: true, scope: SCOPES, fhirUser: 'Practitioner/dr-browser' });
    const started = performance.now();
    await launch('browser-emergency');
    console.log(`launch to a ready form: ${Math.round(performance.now() - started)} ms`);
    expect(await page.locator('.patient-banner').innerText()).toContain('Eve Birthday-Example');
    expect(await field('age').inputValue()).toBe('40');
    expect(await field('age').isEditable()).toBe(false);

    await fillIn(['cannot-weight-bear']);
    await page.screenshot({ path: join(ARTIFACTS, 'smart-form-phone.png'), fullPage: true });
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: join(ARTIFACTS, 'smart-form-phone-top.png') });
    const formAxe = await axeViolations();
    console.log(`axe on the form: ${formAxe.map((v) => `${v.id}/${v.impact ?? '?'}(${v.nodes.length})`).join(', ') || 'no violations'}`);
    expect(serious(formAxe)).toEqual([]);

    const submitted = performance.now();
    await submitAndWaitForResult();
    console.log(`submit to the result page: ${Math.round(performance.now() - submitted)} ms`);
    const heading = page.locator('h1');
    expect(await heading.innerText()).toBe('Call 999 or go to A&E now');
    // First on the page, in words.
    expect(await inPage<string>(`document.querySelector('main').innerText.trim().split('\\n').slice(0, 3).join(' ')`)).toContain('Call 999 or go to A&E now');
    const text = await page.locator('main').innerText();
    expect(text).toContain('Nobody will contact you');
    expect(text).toContain('Until you get help');
    expect(text).not.toContain('How to help yourself');
    expect(text).toContain('saved in your health record');
    await page.screenshot({ path: join(ARTIFACTS, 'smart-result-emergency.png'), fullPage: true });
    const resultAxe = await axeViolations();
    console.log(`axe on the emergency result: ${resultAxe.map((v) => `${v.id}/${v.impact ?? '?'}(${v.nodes.length})`).join(', ') || 'no violations'}`);
    expect(serious(resultAxe)).toEqual([]);

    const [risk] = (await resultsFor(ehr.service, 'RiskAssessment', 'birthday-today')) as RiskAssessment[];
    expect(risk?.prediction?.[0]?.outcome?.coding?.some((c) => c.code === 'emergency')).toBe(true);
    expect(await resultsFor(ehr.service, 'CarePlan', 'birthday-today')).toHaveLength(1);
    const [response] = (await resultsFor(ehr.service, 'QuestionnaireResponse', 'birthday-today')) as QuestionnaireResponse[];
    expect(response?.author?.reference).toBe('Practitioner/dr-browser');
  });

  it('SELF-CARE: enableWhen, the exclusive "none" refused next to its item, the age asked (no birth date in the record), self-help and warning signs, results in the EHR', async () => {
    authorization.grant({ patient: 'home-care', needPatientBanner: false, scope: SCOPES });
    await launch('browser-self-care');
    expect(await page.locator('.patient-banner').count()).toBe(0);

    // enableWhen: the child questions appear for a child's age and go again for an adult's.
    const age = field('age');
    await age.click();
    await age.fill('');
    await page.keyboard.type('12');
    await page.keyboard.press('Tab');
    await page.locator('[id^="item-child-limp/"]').waitFor({ state: 'visible' });
    await age.click();
    await age.fill('');
    await page.keyboard.type('45');
    await page.keyboard.press('Tab');
    await page.locator('[id^="item-child-limp/"]').waitFor({ state: 'detached' });

    await fillIn([]);
    // "None of these" with another risk factor: LHC-Forms allows it, the service does not.
    await answer('risk-factors', 'steroids').click();
    await page.getByRole('button', { name: 'Check what to do' }).click();
    const problem = page.locator('[id^="item-risk-factors/"] .item-problem');
    await problem.waitFor();
    expect(await problem.innerText()).toContain('None of these');
    expect(await page.locator('#error-summary').innerText()).toContain('Do any of these apply to you?');
    await page.screenshot({ path: join(ARTIFACTS, 'smart-form-problem.png') });
    await answer('risk-factors', 'steroids').click();

    await submitAndWaitForResult();
    expect(await page.locator('h1').innerText()).toBe('You can look after this at home');
    const text = await page.locator('main').innerText();
    expect(text).toContain('How to help yourself');
    expect(text).toContain('Exercises and information');
    expect(text).toContain('Warning signs: get help at once');
    expect(text).not.toContain('Nobody will contact you');
    expect(text).toContain('saved in your health record');
    expect(await page.locator('a[href="https://www.csp.org.uk/conditions/hip-pain"]').count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'smart-result-self-care.png'), fullPage: true });
    await page.screenshot({ path: join(ARTIFACTS, 'smart-result-self-care-top.png') });
    await page.emulateMedia({ media: 'print' });
    await page.screenshot({ path: join(ARTIFACTS, 'smart-result-self-care-print.png'), fullPage: true });
    expect(await page.locator('.page-actions').isVisible()).toBe(false);
    await page.emulateMedia({ media: 'screen' });
    const resultAxe = await axeViolations();
    console.log(`axe on the self-care result: ${resultAxe.map((v) => `${v.id}/${v.impact ?? '?'}(${v.nodes.length})`).join(', ') || 'no violations'}`);
    expect(serious(resultAxe)).toEqual([]);

    const risks = (await resultsFor(ehr.service, 'RiskAssessment', 'home-care')) as RiskAssessment[];
    expect(risks).toHaveLength(1);
    expect(risks[0]?.prediction?.[0]?.outcome?.coding?.some((c) => c.code === 'self-care')).toBe(true);
    const plans = (await resultsFor(ehr.service, 'CarePlan', 'home-care')) as CarePlan[];
    expect(plans).toHaveLength(1);
    const [response] = (await resultsFor(ehr.service, 'QuestionnaireResponse', 'home-care')) as QuestionnaireResponse[];
    expect(JSON.stringify(response?.item)).toContain('"valueInteger":45');
  });

  it('ran with no Content-Security-Policy violation', () => {
    expect(consoleMessages.filter((m) => /Content Security Policy/i.test(m))).toEqual([]);
  });
});
