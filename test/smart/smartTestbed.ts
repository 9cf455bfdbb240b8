import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Patient, Resource } from '@medplum/fhirtypes';
import type { Service } from '../../src/composeService';
import { startTestService } from '../support/testService';
import type { SmartAuthorizationServer } from './smartAuthorizationServer';

/** One instance of the service listening on loopback, with PUBLIC_BASE_URL its real address. */
export interface RunningService {
  readonly base: string;
  /** `{base}/fhir` */
  readonly fhirBase: string;
  readonly service: Service & { logs: { text(): string } };
  close(): Promise<void>;
}

/**
 * Starts the service on a free loopback port. The port is taken first, so PUBLIC_BASE_URL
 * (the SMART redirect URI, the embedded FHIR base) is the address the service really has.
 * With `authorization`, AUTH_* point at it and the FHIR base is the audience: the service is
 * then an EHR's FHIR server that verifies the app's tokens and publishes its SMART configuration.
 */
export async function startService(
  options: { readonly authorization?: SmartAuthorizationServer; readonly env?: NodeJS.ProcessEnv } = {}
): Promise<RunningService> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const auth = options.authorization;
  const service = await startTestService(
    {
      PUBLIC_BASE_URL: base,
      RATE_LIMIT_PER_MINUTE: '0',
      ...(auth ? { AUTH_ISSUER: auth.issuerUrl, AUTH_JWKS_URI: auth.jwksUri, AUTH_AUDIENCE: `${base}/fhir` } : {}),
      ...options.env,
    },
    () => new Date()
  );
  server.on('request', service.app);
  return {
    base,
    fhirBase: `${base}/fhir`,
    service,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await service.close();
    },
  };
}

/** Stores a patient straight into a service's store (its FHIR API may need a token). */
export async function putPatient(service: Service, patient: Patient & { id: string }): Promise<void> {
  await service.store.executeTransaction({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ resource: patient, request: { method: 'PUT', url: `Patient/${patient.id}` } }],
  });
}

export async function resultsFor(
  service: Service,
  resourceType: 'RiskAssessment' | 'CarePlan' | 'GuidanceResponse' | 'Provenance' | 'QuestionnaireResponse' | 'ServiceRequest',
  patientId: string
): Promise<Resource[]> {
  if (resourceType === 'Provenance') {
    return service.store.searchResources('Provenance', {});
  }
  return service.store.searchResources(resourceType, { subject: `Patient/${patientId}` });
}

/** The calendar date `years` before today in Europe/London (TZ_CLINICAL's default): a birthday today. */
export function bornYearsAgoToday(years: number, now: Date = new Date()): string {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
  const [y, m, d] = today.split('-');
  // 29 February has no anniversary in most years; the day before is a birthday already passed.
  const day = m === '02' && d === '29' ? '28' : (d ?? '');
  return `${Number(y) - years}-${m ?? ''}-${day}`;
}

/**
 * A browser stand-in for HTTP-level tests: keeps cookies per name, follows nothing by itself
 * (each redirect is a step the test looks at).
 */
export class CookieBrowser {
  readonly cookies = new Map<string, string>();
  /** Every Set-Cookie header seen, as sent. */
  readonly setCookies: string[] = [];
  /** Every Location the app redirected to. */
  readonly locations: string[] = [];

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set('Cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const res = await fetch(url, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(15_000) });
    for (const cookie of res.headers.getSetCookie()) {
      this.setCookies.push(cookie);
      const [pair] = cookie.split(';');
      const eq = (pair ?? '').indexOf('=');
      const name = (pair ?? '').slice(0, eq);
      const value = (pair ?? '').slice(eq + 1);
      if (/expires=Thu, 01 Jan 1970/i.test(cookie) || value === '') {
        this.cookies.delete(name);
      } else {
        this.cookies.set(name, value);
      }
    }
    const location = res.headers.get('location');
    if (location) {
      this.locations.push(location);
    }
    return res;
  }
}

/** The page data block of `/smart/app` (questionnaire, initial response, subject, CSRF token). */
export function pageData(html: string): { csrfToken: string; subject: string; author?: string; initialResponse: unknown } {
  const match = /<script type="application\/json" id="smart-data">([\s\S]*?)<\/script>/.exec(html);
  if (!match?.[1]) {
    throw new Error('the app page has no data block');
  }
  return JSON.parse(match[1]) as { csrfToken: string; subject: string; author?: string; initialResponse: unknown };
}

/**
 * An EHR launch (or a standalone one without `launch`) driven over HTTP: launch, the
 * authorization server's redirect, the callback, the app page. Returns the page and the
 * steps' answers for tests to look at.
 */
export async function launchOverHttp(options: {
  readonly app: string;
  readonly iss: string;
  readonly launch?: string;
  readonly authorization: SmartAuthorizationServer;
  readonly browser?: CookieBrowser;
}): Promise<{ browser: CookieBrowser; launch: Response; callbackUrl: URL; callback: Response; page: Response; html: string }> {
  const browser = options.browser ?? new CookieBrowser();
  const query = new URLSearchParams({ iss: options.iss, ...(options.launch ? { launch: options.launch } : {}) });
  const launch = await browser.request(`${options.app}/smart/launch?${query.toString()}`);
  const authorizationUrl = launch.headers.get('location');
  if (launch.status !== 303 || !authorizationUrl) {
    throw new Error(`launch answered ${launch.status}: ${await launch.text()}`);
  }
  const callbackUrl = await options.authorization.authorize(authorizationUrl);
  const callback = await browser.request(callbackUrl.toString());
  const page = await browser.request(`${options.app}/smart/app`);
  return { browser, launch, callbackUrl, callback, page, html: await page.text() };
}

export async function submitResponse(browser: CookieBrowser, app: string, body: unknown, csrfToken: string | undefined): Promise<Response> {
  return browser.request(`${app}/smart/submit`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(csrfToken ? { 'X-CSRF-Token': csrfToken } : {}) },
    body: JSON.stringify(body),
  });
}
