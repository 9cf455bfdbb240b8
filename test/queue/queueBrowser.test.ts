import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import type { Page } from 'playwright-core';
import type { Service } from '../../src/composeService';
import { ROOT } from '../support/responses';
import { startTestService } from '../support/testService';
import { type HeadlessChromium, launchHeadlessChromium } from './headlessChromium';
import { ruleFixture, type StoredTriage, triageAndStore } from './queueFixtures';

jest.setTimeout(90_000);

const SCREENSHOT = join(ROOT, 'test-artifacts', 'queue.png');
/** A 10.5-inch tablet held upright, in CSS pixels. */
const TABLET = { width: 834, height: 1112 };

let service: Service;
let server: Server;
let base: string;
let browser: HeadlessChromium | undefined;
let page: Page;
let emergency: StoredTriage;
let physio: StoredTriage;

beforeAll(async () => {
  service = await startTestService();
  server = service.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const patients: Patient[] = [
    { resourceType: 'Patient', id: 'rule-e1', name: [{ given: ['Ada'], family: 'Emergency-Example' }], birthDate: '1986-04-02' },
    { resourceType: 'Patient', id: 'rule-p1', name: [{ given: ['Piers'], family: 'Physio-Example' }], birthDate: '1979-09-30' },
  ];
  for (const patient of patients) {
    const res = await fetch(`${base}/fhir/Patient/${patient.id ?? ''}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify(patient),
    });
    expect(res.status).toBeLessThan(300);
  }
  // Physio first, so the page's order cannot come from the order the referrals were made in.
  physio = await triageAndStore(service.app, ruleFixture('P1'));
  emergency = await triageAndStore(service.app, ruleFixture('E1'));
  browser = await launchHeadlessChromium(TABLET);
  page = await browser.context.newPage();
  page.setDefaultTimeout(15_000);
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await service.close();
});

/** Runs an expression in the page. Strings, because the project's TypeScript has no DOM library. */
async function inPage<T = unknown>(expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}

function referralTaskId(triage: StoredTriage): string {
  const task = triage.tasks.find((t) => t.owner?.reference !== 'HealthcareService/hip-triage-duty-clinician');
  expect(task?.id).toBeDefined();
  return task?.id ?? '';
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('/queue in headless Chromium', () => {
  it('shows the emergency referral above the physio one, and the screenshot shows it', async () => {
    const response = await page.goto(`${base}/queue`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    await expect(page.title()).resolves.toBe('Work queues: hip pain triage');

    const emergencyRow = page.locator(`tr[data-task="${referralTaskId(emergency)}"]`);
    const physioRow = page.locator(`tr[data-task="${referralTaskId(physio)}"]`);
    await expect(emergencyRow.innerText()).resolves.toMatch(/Immediate[\s\S]*Ada Emergency-Example[\s\S]*Emergency[\s\S]*E1/);
    await expect(physioRow.innerText()).resolves.toMatch(/Routine[\s\S]*Piers Physio-Example[\s\S]*Physiotherapy[\s\S]*P1/);

    // DOM order: every row of the page, top to bottom.
    const order = await inPage<string[]>(`[...document.querySelectorAll('tbody tr')].map((r) => r.getAttribute('data-task'))`);
    expect(order.indexOf(referralTaskId(emergency))).toBeGreaterThanOrEqual(0);
    expect(order.indexOf(referralTaskId(emergency))).toBeLessThan(order.indexOf(referralTaskId(physio)));

    // What a reader sees: the text in reading order, and where the rows are drawn.
    const text = await page.locator('main').innerText();
    expect(text.indexOf('Ada Emergency-Example')).toBeGreaterThan(-1);
    expect(text.indexOf('Ada Emergency-Example')).toBeLessThan(text.indexOf('Piers Physio-Example'));
    const emergencyBox = await emergencyRow.boundingBox();
    const physioBox = await physioRow.boundingBox();
    expect(emergencyBox && physioBox && emergencyBox.y + emergencyBox.height <= physioBox.y).toBe(true);

    // The stylesheet loaded under the CSP: the stat badge has its colour (and its word).
    await expect(inPage(`getComputedStyle(document.querySelector('.priority-stat')).backgroundColor`)).resolves.toBe('rgb(139, 26, 26)');

    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    const png = await page.screenshot({ fullPage: true });
    writeFileSync(SCREENSHOT, png);
    const size = pngSize(readFileSync(SCREENSHOT));
    expect(size.width).toBe(TABLET.width);
    const pageHeight = await inPage<number>('document.documentElement.scrollHeight');
    expect(size.height).toBe(pageHeight);
    // Both rows are inside the captured image, the emergency one higher up.
    expect(physioBox && physioBox.y + physioBox.height <= size.height).toBe(true);
    expect(png.length).toBeGreaterThan(20_000);
  });

  it('fits a tablet: every column, the response link included, is in view without scrolling sideways', async () => {
    for (const width of [TABLET.width, 768]) {
      await page.setViewportSize({ width, height: TABLET.height });
      await page.goto(`${base}/queue`);
      const overflow = await inPage<number[]>(
        `[document.documentElement, ...document.querySelectorAll('.table-wrap')].map((el) => el.scrollWidth - el.clientWidth)`
      );
      expect(overflow.length).toBeGreaterThan(1);
      expect([width, Math.max(...overflow)]).toEqual([width, 0]);
    }
    await page.setViewportSize(TABLET);
  });

  it('shows keyboard focus: the first Tab lands on the skip link, visibly', async () => {
    await page.goto(`${base}/queue`);
    await page.keyboard.press('Tab');
    const focused = await inPage<{ text: string; outline: string; shadow: string; left: number }>(`(() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      return { text: el.textContent, outline: style.outlineStyle, shadow: style.boxShadow, left: el.getBoundingClientRect().left };
    })()`);
    expect(focused.text).toBe('Skip to the queues');
    expect(focused.outline).toBe('solid');
    expect(focused.shadow).not.toBe('none');
    expect(focused.left).toBeGreaterThanOrEqual(0);
  });

  it('its Content-Security-Policy blocks an inline script, and axe-core finds no serious or critical violation', async () => {
    await page.goto(`${base}/queue`);
    await inPage(`(() => {
      window.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (event) => window.__cspViolations.push(event.effectiveDirective));
    })()`);
    // A script tag added to the page is refused by the CSP, as an injected one would be.
    await page.addScriptTag({ content: 'window.__inlineRan = true;' }).catch(() => undefined);
    await page.waitForFunction('window.__cspViolations.length > 0', undefined, { timeout: 5_000 });
    await expect(inPage('window.__cspViolations')).resolves.toContain('script-src-elem');
    await expect(inPage('window.__inlineRan')).resolves.toBeUndefined();

    // So axe-core is evaluated through the DevTools protocol, which page CSP does not govern.
    const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    await page.evaluate(`${axeSource}\n;undefined`);
    const results = await inPage<AxeSummary>(`(async () => {
      const run = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } });
      return {
        violations: run.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })),
        passes: run.passes.map((p) => p.id),
        incomplete: run.incomplete.map((i) => i.id),
      };
    })()`);
    console.log(
      `axe-core on /queue: ${results.passes.length} rules passed, ${results.violations.length} violated ${JSON.stringify(results.violations)}, ${results.incomplete.length} need review ${JSON.stringify(results.incomplete)}`
    );
    expect(results.passes).toEqual(expect.arrayContaining(['color-contrast', 'th-has-data-cells', 'html-has-lang', 'landmark-one-main']));
    expect(results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);

    // And the check can fail: faint grey text added to the page is reported.
    const faint = await inPage<string[]>(`(async () => {
      const p = document.createElement('p');
      p.textContent = 'Faint text';
      p.style.color = '#bbbbbb';
      document.querySelector('main').append(p);
      const run = await window.axe.run(document, { runOnly: ['color-contrast'] });
      return run.violations.map((v) => v.id + ':' + v.impact);
    })()`);
    expect(faint).toEqual(['color-contrast:serious']);
  });
});

interface AxeSummary {
  violations: { id: string; impact: string | null; nodes: number }[];
  passes: string[];
  incomplete: string[];
}
