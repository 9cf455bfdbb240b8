import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** Debian's chromium (`.ci/system-packages`); playwright-core never downloads a browser. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Flags for a quiet, offline-friendly headless run: no sandbox (CI containers run as root),
 * no GPU, and none of the background traffic (updates, sync, QUIC probes) that would reach
 * beyond loopback.
 */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface HeadlessChromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile in a temp folder, removed again by close(). */
export async function launchHeadlessChromium(viewport: { width: number; height: number }): Promise<HeadlessChromium> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does it from .ci/system-packages)`);
  }
  // playwright refuses --user-data-dir in args; a persistent context is how it takes one.
  const profile = mkdtempSync(join(tmpdir(), 'hip-triage-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport, timeout: 30_000 });
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
