import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { ROOT } from '../support/responses';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { launchSmartChromium, type SmartChromium } from './smartChromium';
import { putPatient, type RunningService, startService } from './smartTestbed';

/**
 * Issue 16, static files compressed and cached, in a real browser: the form page refers to
 * its scripts and styles by content-hashed URLs; Chromium gets them brotli-compressed; a warm
 * launch (same browser profile) fetches none of them again. Launch-to-ready-form is measured
 * cold (a fresh profile) and warm, compressed and not (`Accept-Encoding: identity`, as before
 * this change), and written to test-artifacts/smart-launch-timings.json for docs/smart-app.md.
 * Times are reported, never asserted.
 */
jest.setTimeout(180_000);

const SCOPES =
  'launch openid fhirUser patient/Patient.r patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus';
const ARTIFACTS = join(ROOT, 'test-artifacts');

let authorization: SmartAuthorizationServer;
let ehr: RunningService;
let launches = 0;

beforeAll(async () => {
  authorization = await startSmartAuthorizationServer();
  ehr = await startService({ authorization });
  await putPatient(ehr.service, { resourceType: 'Patient', id: 'timed', name: [{ given: ['Tim'], family: 'Timing-Example' }], birthDate: '1980-02-03' });
  authorization.grant({ patient: 'timed', scope: SCOPES });
});

afterAll(async () => {
  await ehr?.close();
  await authorization?.close();
});

/** Asset requests that reached the server so far (its request log lines). */
function assetRequests(): number {
  return ehr.service.logs
    .text()
    .split('\n')
    .filter((line) => line.includes('"route":"/smart/assets/*path"')).length;
}

interface Launch {
  readonly ms: number;
  readonly assetRequests: number;
  readonly mainEncoding: string | undefined;
  readonly mainUrl: string | undefined;
  readonly transferredBytes: number;
}

/** One EHR launch to a ready form in this browser context: how long, and what the server was asked for. */
async function timedLaunch(context: BrowserContext, network: Network | undefined): Promise<Launch> {
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  if (network) {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: network.latencyMs,
      downloadThroughput: network.downloadBytesPerSecond,
      uploadThroughput: network.uploadBytesPerSecond,
    });
  }
  let mainEncoding: string | undefined;
  let mainUrl: string | undefined;
  let transferredBytes = 0;
  page.on('response', (response) => {
    if (response.url().includes('/smart/assets/lforms/main.js')) {
      mainUrl = response.url();
      mainEncoding = response.headers()['content-encoding'];
    }
    if (response.url().includes('/smart/assets/')) {
      transferredBytes += Number(response.headers()['content-length'] ?? 0);
    }
  });
  const before = assetRequests();
  launches += 1;
  const started = Date.now();
  await page.goto(`${ehr.base}/smart/launch?${new URLSearchParams({ iss: ehr.fhirBase, launch: `timed-${launches}` }).toString()}`);
  await page.waitForSelector('body[data-form-ready="true"]');
  const ms = Date.now() - started;
  // The request log line is written when the answer closes: give the last one a moment.
  await page.waitForTimeout(200);
  await page.close();
  return { ms, assetRequests: assetRequests() - before, mainEncoding, mainUrl, transferredBytes };
}

/** A phone on a fair mobile connection (Chromium's network emulation): 20 Mbit/s down, 5 up, 40 ms round trip. */
interface Network {
  readonly latencyMs: number;
  readonly downloadBytesPerSecond: number;
  readonly uploadBytesPerSecond: number;
}
const MOBILE: Network = { latencyMs: 40, downloadBytesPerSecond: (20 * 1024 * 1024) / 8, uploadBytesPerSecond: (5 * 1024 * 1024) / 8 };

async function coldAndWarm(headers: Record<string, string>, network?: Network): Promise<{ cold: Launch; warm: Launch }> {
  const chromium: SmartChromium = await launchSmartChromium({ width: 390, height: 844 });
  try {
    await chromium.context.setExtraHTTPHeaders(headers);
    const cold = await timedLaunch(chromium.context, network);
    const warm = await timedLaunch(chromium.context, network);
    return { cold, warm };
  } finally {
    await chromium.close();
  }
}

/** Three fresh profiles, each launched cold then warm: the runs and their medians. */
async function measured(
  headers: Record<string, string>,
  network?: Network
): Promise<{ runs: { cold: Launch; warm: Launch }[]; coldMs: number; warmMs: number }> {
  const runs = [];
  for (let i = 0; i < 3; i += 1) {
    runs.push(await coldAndWarm(headers, network));
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[1] ?? 0;
  return { runs, coldMs: median(runs.map((r) => r.cold.ms)), warmMs: median(runs.map((r) => r.warm.ms)) };
}

describe('launch to a ready form', () => {
  it('compressed and cached: brotli, hashed URLs, nothing fetched again when warm; timings written down', async () => {
    // The server's one-off compression is done before anything is timed (it starts at start-up).
    await coldAndWarm({});
    const identity = { 'Accept-Encoding': 'identity' };
    const loopbackBefore = await measured(identity);
    const loopbackAfter = await measured({});
    const mobileBefore = await measured(identity, MOBILE);
    const mobileAfter = await measured({}, MOBILE);

    for (const { cold, warm } of [...loopbackAfter.runs, ...mobileAfter.runs]) {
      expect(cold.mainEncoding).toBe('br');
      expect(cold.mainUrl).toMatch(/\/smart\/assets\/lforms\/main\.js\?v=[0-9a-f]{16}$/);
      expect(cold.assetRequests).toBeGreaterThanOrEqual(7);
      expect(warm.assetRequests).toBe(0);
    }
    const uncompressed = loopbackBefore.runs[0];
    const compressed = loopbackAfter.runs[0];
    expect(uncompressed?.cold.mainEncoding).toBeUndefined();
    expect(compressed?.cold.transferredBytes ?? Infinity).toBeLessThan((uncompressed?.cold.transferredBytes ?? 0) / 3);

    const timings = {
      measuredAt: new Date().toISOString(),
      note: 'headless Chromium on a shared 2-core machine; GET /smart/launch through the sign-in redirects to the form ready; medians of 3 fresh profiles (cold) and their second launch (warm); before = Accept-Encoding: identity',
      loopback: {
        before: { coldMs: loopbackBefore.coldMs, warmMs: loopbackBefore.warmMs },
        after: { coldMs: loopbackAfter.coldMs, warmMs: loopbackAfter.warmMs },
      },
      mobile20Mbit40ms: {
        before: { coldMs: mobileBefore.coldMs, warmMs: mobileBefore.warmMs },
        after: { coldMs: mobileAfter.coldMs, warmMs: mobileAfter.warmMs },
      },
      coldAssetBytes: { before: uncompressed?.cold.transferredBytes, after: compressed?.cold.transferredBytes },
    };
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'smart-launch-timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
    console.log(JSON.stringify(timings));
  });
});
