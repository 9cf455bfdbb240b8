import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RiskAssessment } from '@medplum/fhirtypes';
import type { Page } from 'playwright-core';
import type { Service } from '../../src/composeService';
import { type HeadlessChromium, launchHeadlessChromium } from '../queue/headlessChromium';
import { startTestService } from '../support/testService';
import { triageRule } from './reviewFixtures';

jest.setTimeout(120_000);

let service: Service;
let server: Server;
let base: string;
let browser: HeadlessChromium | undefined;
let page: Page;
let riskId: string;

/** The real /queue (loopback, no sign-in configured: the form asks the reviewer's Practitioner id). */
beforeAll(async () => {
  // The port first, so the service knows the address its forms come from (the review route checks Origin).
  server = createServer();
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  service = await startTestService({ SESSION_SECRET: 'a-session-secret-of-at-least-32-characters!', PUBLIC_BASE_URL: base });
  server.on('request', service.app);
  riskId = (await triageRule(service.app, 'G3', 'p-queue-row')).id;
  browser = await launchHeadlessChromium({ width: 834, height: 1112 });
  page = await browser.context.newPage();
  page.setDefaultTimeout(15_000);
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await service.close();
});

describe('/queue: a clinician overrides a row in headless Chromium', () => {
  it('the row offers Confirm and Override; axe-core finds no violation; the override is recorded and the queue shows it', async () => {
    await page.goto(`${base}/queue`);
    await expect(page.locator(`#review-${riskId} summary`).innerText()).resolves.toBe('Override triage');
    const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    await page.evaluate(`${axeSource}\n;undefined`);
    await page.focus(`#review-${riskId} summary`);
    await page.keyboard.press('Enter');
    const violations = (await page.evaluate(`(async () => {
      const run = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } });
      return run.violations.map((v) => v.id + ':' + v.impact);
    })()`)) as string[];
    expect(violations).toEqual([]);

    await page.selectOption(`#disposition-${riskId}`, 'physio');
    await page.selectOption(`#reason-${riskId}`, 'patient-preference');
    await page.fill(`#reviewer-override-${riskId}`, 'dr-queue');
    await page.focus(`#reviewer-override-${riskId}`);
    await Promise.all([page.waitForURL(new RegExp(`/queue#review-${riskId}$`)), page.keyboard.press('Enter')]);

    // Recorded in FHIR: the automated assessment amended, a clinician's assessment in its place.
    const assessments = await service.store.searchResources<RiskAssessment>('RiskAssessment', { _id: riskId });
    expect(assessments[0]?.status).toBe('amended');
    // The queue now shows the referral for the new disposition, and no longer offers the old one for review.
    const main = await page.locator('main').innerText();
    expect(main).toMatch(/Physiotherapy|physio/i);
    expect(await page.locator(`#review-${riskId} summary`).count()).toBe(0);
  });
});
