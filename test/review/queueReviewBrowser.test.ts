import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Page } from 'playwright-core';
import type { Service } from '../../src/composeService';
import { DASHBOARD_CSS } from '../../src/dashboard/dashboardStyles';
import { loadReviewStates, REVIEW_FORM_CSS, renderReviewCell } from '../../src/review/queueReviewForm';
import { QueueReviewCsrf } from '../../src/review/queueReviewRoutes';
import { type HeadlessChromium, launchHeadlessChromium } from '../queue/headlessChromium';
import { startTestService } from '../support/testService';
import { triageRule } from './reviewFixtures';

jest.setTimeout(90_000);

const SESSION_SECRET = 'a-session-secret-of-at-least-32-characters!';
const DISPOSITIONS = [
  { code: 'emergency', display: 'Emergency' },
  { code: 'urgent', display: 'Urgent (today)' },
  { code: 'gp', display: 'See a GP' },
  { code: 'physio', display: 'Physiotherapy' },
  { code: 'self-care', display: 'Self-care' },
];

let service: Service;
let server: Server;
let base: string;
let browser: HeadlessChromium | undefined;
let page: Page;
let riskId: string;

/**
 * Until /queue renders the row controls (the seam is wired at merge), a harness page on the
 * same origin renders one row's cell exactly as the queue will, under the queue's CSP, and
 * posts to the real `POST /queue/review/{id}`.
 */
beforeAll(async () => {
  service = await startTestService({ SESSION_SECRET });
  riskId = (await triageRule(service.app, 'G3', 'p-browser-row')).id;
  const csrf = new QueueReviewCsrf(SESSION_SECRET);
  const app = express()
    .get('/queue/harness.css', (_req, res) => {
      res.type('text/css').send(DASHBOARD_CSS + REVIEW_FORM_CSS);
    })
    .get('/queue/harness', async (_req, res) => {
      const state = (await loadReviewStates(service.store, [riskId])).get(riskId);
      const cell = state ? renderReviewCell({ state, csrfToken: csrf.tokenFor(undefined), dispositions: DISPOSITIONS, askReviewer: true }).text : '';
      res.setHeader(
        'Content-Security-Policy',
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
      );
      res
        .type('html')
        .send(
          `<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Row review: hip pain triage</title><link rel="stylesheet" href="/queue/harness.css"></head><body><main id="main"><h1>One queue row</h1><table><caption>Row</caption><thead><tr><th scope="col">Triage</th><th scope="col">Review</th></tr></thead><tbody><tr><th scope="row">G3</th><td>${cell}</td></tr></tbody></table></main></body></html>`
        );
    })
    .use(service.app);
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchHeadlessChromium({ width: 834, height: 1112 });
  page = await browser.context.newPage();
  page.setDefaultTimeout(15_000);
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await service.close();
});

describe('a queue row override in headless Chromium', () => {
  it('axe-core finds no violation in the row controls; the override is made with the keyboard and the row is then marked', async () => {
    await page.goto(`${base}/queue/harness`);
    const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    await page.evaluate(`${axeSource}\n;undefined`);
    await page.focus('summary');
    await page.keyboard.press('Enter');
    const violations = (await page.evaluate(`(async () => {
      const run = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } });
      return run.violations.map((v) => v.id + ':' + v.impact);
    })()`)) as string[];
    expect(violations).toEqual([]);

    await page.selectOption(`#disposition-${riskId}`, 'physio');
    await page.selectOption(`#reason-${riskId}`, 'patient-preference');
    await page.fill(`#reason-text-${riskId}`, 'Prefers physiotherapy first.');
    await page.fill(`#reviewer-override-${riskId}`, 'dr-browser');
    await page.focus(`#reviewer-override-${riskId}`);
    await Promise.all([page.waitForURL(new RegExp(`/queue#review-${riskId}$`)), page.keyboard.press('Enter')]);

    await page.goto(`${base}/queue/harness`);
    await expect(page.locator(`#review-${riskId}`).innerText()).resolves.toBe('Overridden to Physiotherapy by a clinician.');
  });
});
