import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/**
 * The SMART app's own headless Chromium (Debian's /usr/bin/chromium; playwright-core never
 * downloads one), independent of the other features' test launchers: a fresh profile per
 * launch in a temp folder, removed by close(); no sandbox (CI containers run as root), no GPU,
 * and no background traffic beyond loopback.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface SmartChromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launchSmartChromium(viewport: { readonly width: number; readonly height: number }): Promise<SmartChromium> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'hip-triage-smart-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { ...viewport },
      timeout: 30_000,
    });
    return {
      context,
      async close() {
        try {
          await context.close();
        } finally {
          rmSync(profile, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}

/** Runs an expression in the page. Strings, because the project's TypeScript has no DOM library. */
export async function inPage<T = unknown>(page: Page, expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}

/** LHC-Forms gives each answer a label whose id ends in `|<code>` (`|true`, `|false` for yes/no). */
export function answerLabel(page: Page, linkId: string, code: string) {
  return page.locator(`label[id^="${linkId}/"][id$="|${code}"]`);
}

/** The input of an item (LHC-Forms ids start with `<linkId>/`). */
export function itemInput(page: Page, linkId: string) {
  return page.locator(`input[id^="${linkId}/"]`).first();
}

/** Every yes/no question "No", then the given ones "Yes"; the choices that every response needs; the pain score. */
export async function answerEverything(page: Page, yes: readonly string[]): Promise<void> {
  const noIds = await inPage<string[]>(page, `[...document.querySelectorAll('label[id$="|false"]')].map((l) => l.id)`);
  for (const id of noIds) {
    await page.locator(`label[id="${id}"]`).click();
  }
  for (const linkId of yes) {
    await answerLabel(page, linkId, 'true').click();
  }
  await answerLabel(page, 'risk-factors', 'none').click();
  await answerLabel(page, 'duration', 'under-3-days').click();
  await answerLabel(page, 'daily-activities', 'none').click();
  await answerLabel(page, 'painkillers', 'none').click();
  await itemInput(page, 'pain-score').click();
  await page.keyboard.type('3');
}
