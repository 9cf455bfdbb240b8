import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Frame, Page } from 'playwright-core';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { launchSmartChromium, type SmartChromium } from './smartChromium';
import { putPatient, resultsFor, type RunningService, startService } from './smartTestbed';

/**
 * Issue 16, embeddable: an EHR that shows apps in an iframe. The EHR's page is on another
 * origin AND another site (`http://localhost:<port>` framing the app at `http://127.0.0.1:<port>`),
 * so the session cookie must be `SameSite=None` to be sent in the frame at all. With the EHR's
 * origin in SMART_FRAME_ANCESTORS the whole launch runs in the frame (sign-in redirects, the
 * form, the submission, the result); a page on an origin not listed gets no app in its frame.
 */
jest.setTimeout(120_000);

const SCOPES =
  'launch openid fhirUser patient/Patient.r patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus';

/** A stand-in EHR page: one iframe with the launch URL it is given (`?src=`). */
async function startParentPage(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const src = new URL(req.url ?? '/', 'http://localhost').searchParams.get('src') ?? '';
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><html lang="en"><head><title>EHR</title></head><body><h1>EHR</h1><iframe id="app" title="Hip pain app" width="400" height="800" src="${src.replace(/"/g, '&quot;')}"></iframe></body></html>`
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as AddressInfo).port };
}

const closeServer = (server: Server | undefined): Promise<void> =>
  new Promise((resolve) => {
    if (!server) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });

let authorization: SmartAuthorizationServer;
let listed: { server: Server; port: number };
let unlisted: { server: Server; port: number };
let ehr: RunningService;
let chromium: SmartChromium | undefined;
let page: Page;
const consoleMessages: string[] = [];

beforeAll(async () => {
  authorization = await startSmartAuthorizationServer();
  listed = await startParentPage();
  unlisted = await startParentPage();
  ehr = await startService({ authorization, env: { SMART_FRAME_ANCESTORS: `http://localhost:${listed.port}` } });
  await putPatient(ehr.service, { resourceType: 'Patient', id: 'framed', name: [{ given: ['Fay'], family: 'Frame-Example' }], birthDate: '1966-01-02' });
  chromium = await launchSmartChromium({ width: 1024, height: 900 });
  page = await chromium.context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('console', (message) => consoleMessages.push(`${message.type()}: ${message.text()}`));
});

afterAll(async () => {
  await chromium?.close();
  await ehr?.close();
  await Promise.all([closeServer(listed?.server), closeServer(unlisted?.server)]);
  await authorization?.close();
});

function launchUrl(launch: string): string {
  return `${ehr.base}/smart/launch?${new URLSearchParams({ iss: ehr.fhirBase, launch }).toString()}`;
}

async function appFrame(): Promise<Frame> {
  const handle = await page.waitForSelector('iframe#app');
  const frame = await handle.contentFrame();
  if (!frame) {
    throw new Error('the EHR page has no frame');
  }
  return frame;
}

/** Every yes/no question "No" but one red flag "Yes", the choices every response needs, a pain score: inside the frame. */
async function answerInFrame(frame: Frame): Promise<void> {
  const noIds = (await frame.evaluate(`[...document.querySelectorAll('label[id$="|false"]')].map((l) => l.id)`)) as string[];
  expect(noIds.length).toBeGreaterThanOrEqual(20);
  for (const id of noIds) {
    await frame.locator(`label[id="${id}"]`).click();
  }
  const label = (linkId: string, code: string) => frame.locator(`label[id^="${linkId}/"][id$="|${code}"]`);
  await label('cannot-weight-bear', 'true').click();
  await label('risk-factors', 'none').click();
  await label('duration', 'under-3-days').click();
  await label('daily-activities', 'none').click();
  await label('painkillers', 'none').click();
  await frame.locator('input[id^="pain-score/"]').first().fill('3');
}

describe('the app in an EHR frame', () => {
  it('runs a whole launch in a frame of a listed origin on another site: form, submission, result, saved', async () => {
    authorization.grant({ patient: 'framed', scope: SCOPES });
    await page.goto(`http://localhost:${listed.port}/?${new URLSearchParams({ src: launchUrl('framed-1') }).toString()}`);
    const frame = await appFrame();
    await frame.waitForSelector('body[data-form-ready="true"]');
    expect(await frame.locator('h1').innerText()).toBe('Hip pain: check what to do next');
    await answerInFrame(frame);
    await frame.getByRole('button', { name: 'Check what to do' }).click();
    await frame.waitForURL(/\/smart\/result$/);
    expect(await frame.locator('h1').innerText()).toBe('Call 999 or go to A&E now');
    expect(await frame.locator('section.saving').innerText()).toContain('are saved in your health record');
    expect(await resultsFor(ehr.service, 'RiskAssessment', 'framed')).toHaveLength(1);
    // The EHR page itself is still there around the app.
    expect(await page.locator('h1').innerText()).toBe('EHR');
  });

  it('the cookie and headers that make it work: SameSite=None; Secure; Partitioned, frame-ancestors the listed origin, no X-Frame-Options', async () => {
    const res = await fetch(launchUrl('framed-2'), { redirect: 'manual' });
    expect(res.headers.get('set-cookie')).toMatch(/SameSite=None/i);
    expect(res.headers.get('set-cookie')).toMatch(/; Secure/i);
    expect(res.headers.get('set-cookie')).toMatch(/Partitioned/i);
    expect(res.headers.get('content-security-policy')).toContain(`frame-ancestors http://localhost:${listed.port}`);
    expect(res.headers.get('x-frame-options')).toBeNull();
  });

  it('a page on an origin that is not listed gets no app in its frame', async () => {
    authorization.grant({ patient: 'framed', scope: SCOPES });
    const before = (await ehr.service.store.searchResources('QuestionnaireResponse', {})).length;
    await page.goto(`http://localhost:${unlisted.port}/?${new URLSearchParams({ src: launchUrl('framed-3') }).toString()}`);
    const frame = await appFrame();
    // The browser refuses the frame (CSP frame-ancestors): it never shows the form, and says why.
    const refused = (): boolean => consoleMessages.some((m) => /frame-ancestors/.test(m) && m.includes(ehr.base));
    for (let waited = 0; !refused() && waited < 20_000; waited += 100) {
      await page.waitForTimeout(100);
    }
    expect(refused()).toBe(true);
    expect(await frame.locator('#triage').count()).toBe(0);
    expect(await frame.locator('body[data-form-ready="true"]').count()).toBe(0);
    expect(frame.url()).not.toMatch(/\/smart\/app$/);
    expect((await ehr.service.store.searchResources('QuestionnaireResponse', {})).length).toBe(before);
  });
});
