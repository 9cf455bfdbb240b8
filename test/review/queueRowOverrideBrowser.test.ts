import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuditEvent, Provenance, RiskAssessment } from '@medplum/fhirtypes';
import type { Page } from 'playwright-core';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { type HeadlessChromium, launchHeadlessChromium } from '../queue/headlessChromium';
import { startTestAuthorizationServer, type TestAuthorizationServer } from '../support/testAuthorizationServer';
import { REVIEW_OPERATION_URL } from '../../src/review/reviewTerms';
import { startTestService } from '../support/testService';
import { FHIR_JSON, triageRule } from './reviewFixtures';

jest.setTimeout(120_000);

const AUDIENCE = 'hip-triage';
const CLINICIAN = 'Practitioner/dr-oidc';

let provider: TestAuthorizationServer;
let service: Service;
let server: Server;
let base: string;
let browser: HeadlessChromium | undefined;
let page: Page;
let overrideId: string;
let confirmId: string;

/**
 * The real service with authentication on and staff sign-in configured against the test
 * OpenID provider (it approves every authorization request at once, as if the clinician
 * had typed their password), so the browser goes through the whole code flow.
 */
beforeAll(async () => {
  // The port first, so the service knows its public address (the sign-in's redirect_uri).
  server = createServer();
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  provider = await startTestAuthorizationServer();
  service = await startTestService({
    AUTH_ISSUER: provider.issuerUrl,
    AUTH_AUDIENCE: AUDIENCE,
    AUTH_JWKS_URI: provider.jwksUri,
    STAFF_CLIENT_ID: 'hip-triage-staff',
    STAFF_CLIENT_SECRET: 'staff-client-secret',
    SESSION_SECRET: 'a-session-secret-of-at-least-32-characters!',
    PUBLIC_BASE_URL: base,
    RATE_LIMIT_PER_MINUTE: '0',
  });
  server.on('request', service.app);
  // The clinician's identity at the provider: staff, and their Practitioner as fhirUser (SMART's claim).
  provider.setExtraClaims({ sub: 'olivia', roles: ['staff'], name: 'Dr Olivia Idc', fhirUser: `${base}/fhir/${CLINICIAN}` });
  const backend = await provider.server.issuer.buildToken({
    scopesOrTransform: (_header: unknown, payload: Record<string, unknown>) =>
      Object.assign(payload, { aud: AUDIENCE, sub: 'backend', scope: 'system/*.cruds' }),
  });
  await request(service.app)
    .put(`/fhir/${CLINICIAN}`)
    .set('Authorization', `Bearer ${backend}`)
    .set('Content-Type', FHIR_JSON)
    .send(JSON.stringify({ resourceType: 'Practitioner', id: 'dr-oidc', name: [{ prefix: ['Dr'], given: ['Olivia'], family: 'Idc' }] }))
    .expect((res) => expect(res.status).toBeLessThan(300));
  overrideId = (await triageRule(service.app, 'G3', 'p-browser-override', backend)).id;
  confirmId = (await triageRule(service.app, 'E1', 'p-browser-confirm', backend)).id;
  browser = await launchHeadlessChromium({ width: 834, height: 1112 });
  page = await browser.context.newPage();
  page.setDefaultTimeout(15_000);
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await service.close();
  await provider.close();
});

interface AxeSummary {
  violations: string[];
  incomplete: string[];
  passes: number;
}

/** axe-core on the current page (evaluated through DevTools: the page's CSP allows no script). */
async function axe(): Promise<AxeSummary> {
  const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(`${axeSource}\n;undefined`);
  return (await page.evaluate(`(async () => {
    const run = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } });
    return {
      violations: run.violations.map((v) => v.id + ':' + v.impact),
      incomplete: run.incomplete.map((v) => v.id + ':' + v.nodes.map((n) => n.target.join(' ')).join('|')),
      passes: run.passes.length,
    };
  })()`)) as AxeSummary;
}

describe('/queue with OIDC staff sign-in, in headless Chromium', () => {
  it('signs in through the provider, overrides one row and confirms another, and sees both marked; the store names the clinician', async () => {
    // Not signed in: /queue sends the browser to the provider, which sends it back signed in.
    const visited: string[] = [];
    page.on('request', (req) => {
      if (req.isNavigationRequest()) {
        visited.push(new URL(req.url()).pathname);
      }
    });
    await page.goto(`${base}/queue`);
    expect(visited).toEqual(['/queue', '/authorize', '/queue/callback', '/queue']);
    expect(page.url()).toBe(`${base}/queue`);
    await expect(page.locator('.account').innerText()).resolves.toMatch(/Signed in as Dr Olivia Idc/);
    // Signed in, the form does not ask who is reviewing.
    expect(await page.locator('input[name="reviewer"]').count()).toBe(0);

    // axe-core with an Override form open: no violation, and nothing left for a person to check.
    await page.focus(`#review-${overrideId} summary`);
    await page.keyboard.press('Enter');
    const queueAxe = await axe();
    console.log(
      `axe-core on /queue signed in: ${queueAxe.passes} rules passed, violations ${JSON.stringify(queueAxe.violations)}, incomplete ${JSON.stringify(queueAxe.incomplete)}`
    );
    expect(queueAxe).toMatchObject({ violations: [], incomplete: [] });

    // Override with the keyboard: disposition, coded reason, words, then Enter.
    const row = page.locator(`#review-${overrideId}`);
    await row.locator('select[name="disposition"]').selectOption('physio');
    await row.locator('select[name="reason"]').selectOption('patient-preference');
    await row.locator('textarea[name="reasonText"]').fill('Prefers physiotherapy first.');
    await row.locator('details button[type="submit"]').focus();
    await Promise.all([page.waitForURL(/\/queue#review-/), page.keyboard.press('Enter')]);
    const successorId = new URL(page.url()).hash.slice('#review-'.length);
    expect(successorId).not.toBe(overrideId);
    await expect(page.locator(`#review-${successorId} .review-mark`).first().innerText()).resolves.toMatch(
      /^Overridden: See a GP\s*→\s*changed to\s*Physiotherapy by Dr Olivia Idc on Fri, 20 Nov 2026, 12:00 GMT, reason: Patient preference; Prefers physiotherapy first\.$/
    );
    // The automated triage's row has left the queue; the new referral's row can be overridden again.
    expect(await page.locator(`#review-${overrideId}`).count()).toBe(0);
    await expect(page.locator(`#review-${successorId} summary`).innerText()).resolves.toBe('Override again');

    // Confirm the other row.
    await Promise.all([page.waitForURL(new RegExp(`/queue#review-${confirmId}$`)), page.locator(`#review-${confirmId} button:text("Confirm triage")`).click()]);
    await expect(page.locator(`#review-${confirmId} .review-mark`).innerText()).resolves.toBe('Confirmed by Dr Olivia Idc on Fri, 20 Nov 2026, 12:00 GMT.');
    expect(await page.locator(`#review-${confirmId} button:text("Confirm triage")`).count()).toBe(0);

    // The store: the clinician's RiskAssessment, the Provenances and the AuditEvents name the signed-in clinician.
    const successor = await service.store.readResource<RiskAssessment>('RiskAssessment', successorId);
    expect(successor).toMatchObject({ status: 'final', performer: { reference: CLINICIAN } });
    expect(successor.basis?.[0]?.reference).toMatch(new RegExp(`^RiskAssessment/${overrideId}/_history/`));
    expect(successor.reasonCode?.[0]?.text).toBe('Prefers physiotherapy first.');
    await expect(service.store.readResource<RiskAssessment>('RiskAssessment', overrideId)).resolves.toMatchObject({ status: 'amended' });
    for (const [assessment, activity] of [
      [successorId, 'UPDATE'],
      [confirmId, 'VERIFY'],
    ] as const) {
      const provenances = await service.store.searchResources<Provenance>('Provenance', { target: `RiskAssessment/${assessment}` });
      // The review's (policy: the $review OperationDefinition), not the triage's own CREATE by the service Device.
      const reviews = provenances.filter((p) => p.policy?.includes(REVIEW_OPERATION_URL));
      expect(reviews.map((p) => [p.activity?.coding?.[0]?.code, p.agent?.[0]?.who?.reference])).toEqual([[activity, CLINICIAN]]);
    }
    const audits = await service.store.searchResources<AuditEvent>('AuditEvent', { entity: `RiskAssessment/${overrideId},RiskAssessment/${confirmId}` });
    expect(audits.map((a) => [a.action, a.agent?.[0]?.who?.reference]).sort()).toEqual([
      ['E', CLINICIAN],
      ['U', CLINICIAN],
    ]);
  });

  it('axe-core finds no violation and nothing left to check on the dashboard, signed in', async () => {
    const response = await page.goto(`${base}/queue/dashboard`);
    expect(response?.status()).toBe(200);
    const dashboardAxe = await axe();
    console.log(
      `axe-core on /queue/dashboard signed in: ${dashboardAxe.passes} rules passed, violations ${JSON.stringify(dashboardAxe.violations)}, incomplete ${JSON.stringify(dashboardAxe.incomplete)}`
    );
    expect(dashboardAxe).toMatchObject({ violations: [], incomplete: [] });
  });
});
