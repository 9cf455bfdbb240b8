import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import type { Page } from 'playwright-core';
import { answerEverything, inPage, itemInput, launchSmartChromium, type SmartChromium } from './smartChromium';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { bornYearsAgoToday, putPatient, resultsFor, type RunningService, startService } from './smartTestbed';

/**
 * Whom the form is about, in a real browser: with a full birth date the age is the record's,
 * shown and not editable, with the patient's name and date of birth, and the form tells someone
 * answering for another person to do so in that person's record; with a partial birth date
 * (or none) the age is asked.
 */
jest.setTimeout(120_000);

const SCOPES =
  'launch openid fhirUser patient/Patient.r patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus';

let authorization: SmartAuthorizationServer;
let ehr: RunningService;
let chromium: SmartChromium | undefined;
let page: Page;

beforeAll(async () => {
  authorization = await startSmartAuthorizationServer();
  ehr = await startService({ authorization });
  await putPatient(ehr.service, {
    resourceType: 'Patient',
    id: 'full-dob',
    name: [{ given: ['Ada'], family: 'Identity-Example' }],
    birthDate: bornYearsAgoToday(40),
  });
  await putPatient(ehr.service, { resourceType: 'Patient', id: 'year-only', name: [{ given: ['Kit'], family: 'Partial-Example' }], birthDate: '2015' });
  chromium = await launchSmartChromium({ width: 390, height: 844 });
  page = await chromium.context.newPage();
  page.setDefaultTimeout(20_000);
});

afterAll(async () => {
  await chromium?.close();
  await ehr?.close();
  await authorization?.close();
});

async function launch(launchId: string): Promise<void> {
  await page.goto(`${ehr.base}/smart/launch?${new URLSearchParams({ iss: ehr.fhirBase, launch: launchId }).toString()}`);
  await page.waitForSelector('body[data-form-ready="true"]');
}

describe('whom the SMART form is about', () => {
  it('full birth date: name and date of birth shown, the proxy told to use the other person’s record, the age read-only and saved as the record’s', async () => {
    // No banner asked for: the form says whom it is about all the same.
    authorization.grant({ patient: 'full-dob', needPatientBanner: false, scope: SCOPES });
    await launch('identity-full');
    const about = await page.locator('.about-patient').innerText();
    expect(about).toContain('These questions are about Ada Identity-Example');
    const [year, month, day] = bornYearsAgoToday(40).split('-').map(Number);
    const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
    expect(about).toContain(`born ${day ?? ''} ${months[(month ?? 1) - 1] ?? ''} ${year ?? ''}`);
    expect(about).toMatch(/Answering for someone else, such as your child\?/);
    expect(about).toContain('open the app from that person’s own record');
    expect(about).toContain('Age: 40');
    // The questionnaire's "give their age" hint is not shown in the app.
    expect(await page.locator('main').innerText()).not.toContain('give their age');

    const age = itemInput(page, 'age');
    expect(await age.inputValue()).toBe('40');
    expect(await age.isEditable()).toBe(false);
    // Typing at it changes nothing.
    await age.click({ force: true });
    await page.keyboard.type('9');
    expect(await age.inputValue()).toBe('40');
    // An adult's age: the child questions stay hidden.
    expect(await page.locator('[id^="item-child-limp/"]').count()).toBe(0);

    await answerEverything(page, []);
    await page.getByRole('button', { name: 'Check what to do' }).click();
    await page.waitForURL(/\/smart\/result$/);
    const [response] = (await resultsFor(ehr.service, 'QuestionnaireResponse', 'full-dob')) as QuestionnaireResponse[];
    expect(JSON.stringify(response?.item)).toContain('"linkId":"age","answer":[{"valueInteger":40}]');
  });

  it('partial birth date (year only): the age is asked, editable, and drives the child questions', async () => {
    authorization.grant({ patient: 'year-only', needPatientBanner: false, scope: SCOPES });
    await launch('identity-partial');
    const about = await page.locator('.about-patient').innerText();
    expect(about).toContain('These questions are about Kit Partial-Example, born 2015');
    expect(about).toContain('no full date of birth');
    const age = itemInput(page, 'age');
    expect(await age.inputValue()).toBe('');
    expect(await age.isEditable()).toBe(true);
    await age.click();
    await page.keyboard.type('11');
    await page.keyboard.press('Tab');
    expect(await age.inputValue()).toBe('11');
    await page.locator('[id^="item-child-limp/"]').waitFor({ state: 'visible' });
    expect(await inPage<boolean>(page, `document.querySelector('#age-from-record') === null`)).toBe(true);
  });
});
