import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Service } from '../../src/composeService';
import { type HeadlessChromium, launchHeadlessChromium } from '../queue/headlessChromium';
import { confirmBody, overrideBody, review, triageRule } from '../review/reviewFixtures';
import { ROOT } from '../support/responses';
import { startTestService } from '../support/testService';

jest.setTimeout(90_000);

const SCREENSHOT = join(ROOT, 'test-artifacts', 'dashboard.png');
const TABLET = { width: 834, height: 1112 };

let service: Service;
let server: Server;
let base: string;
let browser: HeadlessChromium | undefined;
let page: Page;

beforeAll(async () => {
  service = await startTestService();
  for (const [i, rule] of ['G3', 'G3', 'G3', 'G3', 'E1', 'P1', 'S1', 'U1'].entries()) {
    const risk = await triageRule(service.app, rule, `p-browser-${i}`);
    if (i === 0) {
      await review(service.app, risk.id, overrideBody('urgent', { code: 'examination-findings', reviewer: 'Practitioner/dr-a' })).expect(200);
    } else if (i === 1) {
      await review(service.app, risk.id, confirmBody('Practitioner/dr-a')).expect(200);
    }
  }
  server = service.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchHeadlessChromium(TABLET);
  page = await browser.context.newPage();
  page.setDefaultTimeout(15_000);
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await service.close();
});

async function inPage<T = unknown>(expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}

interface AxeSummary {
  violations: { id: string; impact: string | null; nodes: number }[];
  passes: string[];
  /** What axe-core could not decide and leaves for a person: each node with the reasons its checks gave. */
  incomplete: { id: string; nodes: { target: string; reasons: string[] }[] }[];
}

describe('/queue/dashboard in headless Chromium', () => {
  it('renders the charts and tables, takes a screenshot, and axe-core finds no violation and nothing left for a person to check', async () => {
    const response = await page.goto(`${base}/queue/dashboard?from=2026-11-01&to=2026-11-30`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    await expect(page.title()).resolves.toBe('Triage dashboard: hip pain triage');
    await expect(page.locator('svg[role="img"]').count()).resolves.toBe(4);
    await expect(page.locator('table caption').count()).resolves.toBe(4);
    await expect(page.locator('#chart-rules-desc').textContent()).resolves.toContain('G3: 25% (1 of 4; 1 up, 0 down)');
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    writeFileSync(SCREENSHOT, await page.screenshot({ fullPage: true }));
    // Nothing scrolls sideways at tablet width but the tables' own focusable regions.
    await expect(inPage('document.documentElement.scrollWidth <= window.innerWidth')).resolves.toBe(true);

    const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    await page.evaluate(`${axeSource}\n;undefined`);
    const results = await inPage<AxeSummary>(`(async () => {
      const run = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } });
      return {
        violations: run.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })),
        passes: run.passes.map((p) => p.id),
        incomplete: run.incomplete.map((v) => ({
          id: v.id,
          nodes: v.nodes.map((n) => ({ target: n.target.join(' '), reasons: [...n.any, ...n.all, ...n.none].map((c) => c.data?.messageKey ?? c.message) })),
        })),
      };
    })()`);
    expect(results.passes).toEqual(expect.arrayContaining(['color-contrast', 'html-has-lang', 'landmark-one-main', 'svg-img-alt', 'label']));
    expect(results.violations).toEqual([]);
    // The chart text and the table cells a scrolling wrapper clips declare their white background, so contrast is computed, not guessed.
    expect(results.incomplete).toEqual([]);
  });

  it('the range form is keyboard-operable and changes the figures', async () => {
    await page.goto(`${base}/queue/dashboard`);
    await page.fill('#from', '2026-11-21');
    await page.fill('#to', '2026-11-30');
    await page.keyboard.press('Enter');
    await page.waitForURL(/from=2026-11-21/);
    await expect(page.locator('main').textContent()).resolves.toContain('0 triages from 2026-11-21 to 2026-11-30');
  });
});
