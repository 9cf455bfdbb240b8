import type { Page } from 'playwright-core';
import type { Service } from '../../src/composeService';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { answerEverything, inPage, launchSmartChromium, type SmartChromium } from './smartChromium';
import { putPatient, type RunningService, startService } from './smartTestbed';

/**
 * Issue 16: one form instance, one set of results. In a real browser, the person submits,
 * goes back, reloads, answers the same again and submits: the idempotency key is bound to
 * the launch and the answers (not to the page load), so the EHR holds ONE set. Every
 * resource type the triage writes is counted, read back from the EHR's store. One instance
 * is EHR and app (embedded), so the service record (GuidanceResponse, Provenance) is written too.
 */
jest.setTimeout(120_000);

const SCOPES =
  'launch openid fhirUser patient/Patient.r patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus';
const WRITTEN_TYPES = ['QuestionnaireResponse', 'RiskAssessment', 'CarePlan', 'ServiceRequest', 'Task', 'GuidanceResponse', 'Provenance', 'Device'] as const;
const ANSWERED_YES_NO = `[...document.querySelectorAll('input:checked')].filter((i) => /\\|(true|false)$/.test(i.closest('label')?.id ?? '')).length`;

let authorization: SmartAuthorizationServer;
let ehr: RunningService;
let chromium: SmartChromium | undefined;
let page: Page;

beforeAll(async () => {
  authorization = await startSmartAuthorizationServer();
  ehr = await startService({ authorization });
  await putPatient(ehr.service, { resourceType: 'Patient', id: 'resubmit', name: [{ given: ['Ray'], family: 'Resubmit-Example' }], birthDate: '1961-03-04' });
  chromium = await launchSmartChromium({ width: 390, height: 844 });
  page = await chromium.context.newPage();
  page.setDefaultTimeout(20_000);
});

afterAll(async () => {
  await chromium?.close();
  await ehr?.close();
  await authorization?.close();
});

async function countsOf(service: Service): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const type of WRITTEN_TYPES) {
    counts[type] = (await service.store.searchResources(type, {})).length;
  }
  return counts;
}

async function answerAndSubmit(): Promise<void> {
  await answerEverything(page, ['cannot-weight-bear']);
  await page.getByRole('button', { name: 'Check what to do' }).click();
  await page.waitForURL(/\/smart\/result$/);
  expect(await page.locator('h1').innerText()).toBe('Call 999 or go to A&E now');
  const saving = await page.locator('section.saving').innerText();
  expect(saving).toContain('are saved in your health record');
}

describe('back and resubmit in a browser', () => {
  it('writes one set of results: the same answers in the same launch are the same triage', async () => {
    authorization.grant({ patient: 'resubmit', scope: SCOPES });
    await page.goto(`${ehr.base}/smart/launch?${new URLSearchParams({ iss: ehr.fhirBase, launch: 'resubmit-1' }).toString()}`);
    await page.waitForSelector('body[data-form-ready="true"]');
    await answerAndSubmit();
    const first = await countsOf(ehr.service);
    // One set: the response, its risk, care plan, the A&E referral and its tasks, the service record.
    expect(first.QuestionnaireResponse).toBe(1);
    expect(first.RiskAssessment).toBe(1);
    expect(first.ServiceRequest).toBeGreaterThanOrEqual(1);
    expect(first.Task).toBeGreaterThanOrEqual(1);
    expect(first.GuidanceResponse).toBe(1);

    // Back to the form (a fresh page: it is never cached), answered the same again, submitted.
    await page.goBack();
    await page.waitForURL(/\/smart\/app$/);
    await page.waitForSelector('body[data-form-ready="true"]');
    expect(await inPage<number>(page, ANSWERED_YES_NO)).toBe(0);
    await answerAndSubmit();
    // And once more after a reload of the form.
    await page.goto(`${ehr.base}/smart/app`);
    await page.reload();
    await page.waitForSelector('body[data-form-ready="true"]');
    await answerAndSubmit();

    expect(await countsOf(ehr.service)).toEqual(first);
  });
});
