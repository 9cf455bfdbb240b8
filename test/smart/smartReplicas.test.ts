import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { composeService, type Service } from '../../src/composeService';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { type HeldAnswersStore, MemoryHeldAnswersStore } from '../../src/smart/heldAnswers';
import { MemorySmartSessionStore, type SmartSessionStore } from '../../src/smart/smartSessions';
import { answersWith, buildResponse, ROOT } from '../support/responses';
import { LogCapture } from '../support/testService';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { CookieBrowser, launchOverHttp, pageData, putPatient, type RunningService, startService, submitResponse } from './smartTestbed';

/**
 * Issue 16, sessions that scale: two app instances (two composed services) behind one
 * address, the requests of one launch dealt to them in turn as a load balancer without sticky
 * sessions would, with one session store object and one SESSION_SECRET between them. The
 * launch starts on one, signs in on the other, and so on to the saved result. Without a shared
 * store the same walk fails at the callback.
 */
jest.setTimeout(60_000);

const SCOPES =
  'launch openid fhirUser patient/Patient.r patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus';
const SECRET = 'replicas-share-this-session-secret-0123456789';
/**
 * The instances' clock runs this far ahead of the real one: a token is made to expire by moving
 * it on, not by waiting, so a busy machine can neither expire a token early nor late.
 */
let clockAheadMs = 0;
const instanceClock = (): Date => new Date(Date.now() + clockAheadMs);
beforeEach(() => {
  clockAheadMs = 0;
});

interface Replicas {
  readonly base: string;
  /** Which instance answered each request, in order. */
  readonly servedBy: number[];
  /** Sends every request to one instance (as a load balancer draining the other would), or back to taking turns. */
  pin(which: number | undefined): void;
  close(): Promise<void>;
}

/** What one instance keeps its sessions and held answers in (undefined: its own memory). */
interface ReplicaStores {
  readonly sessions?: SmartSessionStore | undefined;
  readonly held?: HeldAnswersStore | undefined;
}

/** Two instances behind one loopback address, dealt requests in turn. */
async function startReplicas(stores: readonly [ReplicaStores, ReplicaStores]): Promise<Replicas> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const instances: Service[] = [];
  for (const store of stores) {
    const config = loadConfig({ DATA_DIR: ':memory:', PUBLIC_BASE_URL: base, RATE_LIMIT_PER_MINUTE: '0', SESSION_SECRET: SECRET }, ROOT);
    instances.push(
      await composeService(config, createLogger(config.logLevel, new LogCapture()), instanceClock, {
        smartSessionStore: store.sessions,
        smartHeldAnswersStore: store.held,
      })
    );
  }
  const servedBy: number[] = [];
  let next = 0;
  let pinned: number | undefined;
  server.on('request', (req, res) => {
    const which = pinned ?? next % instances.length;
    next += 1;
    servedBy.push(which);
    instances[which]?.app(req, res);
  });
  return {
    base,
    servedBy,
    pin: (which) => {
      pinned = which;
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all(instances.map((i) => i.close()));
    },
  };
}

let authorization: SmartAuthorizationServer;
let ehr: RunningService;

beforeAll(async () => {
  authorization = await startSmartAuthorizationServer();
  ehr = await startService({ authorization });
  await putPatient(ehr.service, { resourceType: 'Patient', id: 'replica-1', name: [{ given: ['Rita'], family: 'Replica-Example' }], birthDate: '1969-09-09' });
  for (const id of ['replica-2', 'replica-3']) {
    await putPatient(ehr.service, { resourceType: 'Patient', id, name: [{ given: ['Hal'], family: 'Held-Example' }], birthDate: '1958-08-08' });
  }
});

afterAll(async () => {
  await ehr?.close();
  await authorization?.close();
});

describe('two app instances behind one cookie', () => {
  it('with one shared session store: launch, sign-in, form, submission and result each on the other instance; saved once', async () => {
    const shared = new MemorySmartSessionStore();
    const replicas = await startReplicas([{ sessions: shared }, { sessions: shared }]);
    try {
      authorization.grant({ patient: 'replica-1', scope: SCOPES });
      const { browser, html, callback, page } = await launchOverHttp({ app: replicas.base, iss: ehr.fhirBase, launch: 'replica-a', authorization });
      expect(callback.status).toBe(303);
      expect(page.status).toBe(200);
      expect(html).toContain('Rita Replica-Example');
      const submitted = await submitResponse(
        browser,
        replicas.base,
        { response: buildResponse(answersWith({ age: 57, 'cannot-weight-bear': true }), { subject: { reference: 'Patient/replica-1' } }) },
        pageData(html).csrfToken
      );
      expect(submitted.status).toBe(200);
      const result = await (await browser.request(`${replicas.base}/smart/result`)).text();
      expect(result).toContain('Call 999 or go to A&amp;E now');
      expect(result).toContain('are saved in your health record');
      // Every step went to the other instance from the one before.
      expect(replicas.servedBy).toEqual([0, 1, 0, 1, 0]);
      expect(await ehr.service.store.searchResources('RiskAssessment', { subject: 'Patient/replica-1' })).toHaveLength(1);
      expect(await ehr.service.store.searchResources('QuestionnaireResponse', { subject: 'Patient/replica-1' })).toHaveLength(1);
      // One cookie, a session reference only: no token in it.
      expect(browser.cookies.size).toBe(1);
      for (const token of authorization.issuedAccessTokens) {
        expect([...browser.cookies.values()].join(';')).not.toContain(token);
      }
    } finally {
      await replicas.close();
    }
  });

  it('each with its own memory: the sign-in comes back to the instance that did not start it, and is refused', async () => {
    const replicas = await startReplicas([{}, {}]);
    try {
      authorization.grant({ patient: 'replica-1', scope: SCOPES });
      await expect(launchOverHttp({ app: replicas.base, iss: ehr.fhirBase, launch: 'replica-b', authorization })).resolves.toMatchObject({
        callback: { status: 400 },
      });
    } finally {
      await replicas.close();
    }
  });
});

describe('answers held by one instance', () => {
  const retry = (browser: CookieBrowser, base: string, csrf: string): Promise<Response> =>
    browser.request(`${base}/smart/retry`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf }).toString(),
    });

  /**
   * On instance 0: a launch whose token expires before the red-flag answers are sent, so they
   * are held (this EHR is not the app's own: nothing saves them without the user's token).
   * Then every request goes to instance 1: a new sign-in for the same patient.
   */
  async function holdOnOneSignInOnTheOther(replicas: Replicas, patient: string): Promise<{ browser: CookieBrowser; html: string }> {
    replicas.pin(0);
    authorization.grant({ patient, scope: SCOPES, expiresIn: 60 });
    const first = await launchOverHttp({ app: replicas.base, iss: ehr.fhirBase, launch: `${patient}-a`, authorization });
    expect(first.page.status).toBe(200);
    // The token's minute passes while the form is open (it has no refresh token).
    clockAheadMs = 61_000;
    const response = buildResponse(answersWith({ age: 68, 'saddle-numbness': true }), { subject: { reference: `Patient/${patient}` } });
    expect((await submitResponse(first.browser, replicas.base, { response }, pageData(first.html).csrfToken)).status).toBe(200);
    expect(await (await first.browser.request(`${replicas.base}/smart/result`)).text()).toContain('Sign in again to save your answers');
    expect(await ehr.service.store.searchResources('RiskAssessment', { subject: `Patient/${patient}` })).toHaveLength(0);
    replicas.pin(1);
    authorization.grant({ patient, scope: SCOPES });
    const again = await launchOverHttp({ app: replicas.base, iss: ehr.fhirBase, launch: `${patient}-b`, authorization, browser: first.browser });
    return { browser: first.browser, html: again.html };
  }

  it('with a shared held-answers store: are offered and saved by the other instance, written once', async () => {
    const sessions = new MemorySmartSessionStore();
    const held = new MemoryHeldAnswersStore();
    const replicas = await startReplicas([
      { sessions, held },
      { sessions, held },
    ]);
    try {
      const { browser, html } = await holdOnOneSignInOnTheOther(replicas, 'replica-2');
      expect(held.size).toBe(1);
      expect(html).toContain('Save the answers you gave earlier');
      expect((await retry(browser, replicas.base, pageData(html).csrfToken)).status).toBe(303);
      const result = await (await browser.request(`${replicas.base}/smart/result`)).text();
      expect(result).toContain('Call 999 or go to A&amp;E now');
      expect(result).toContain('are saved in your health record');
      // Held on instance 0 only, offered and saved on instance 1 only.
      const heldAt = replicas.servedBy.indexOf(1);
      expect(replicas.servedBy.slice(0, heldAt).every((w) => w === 0)).toBe(true);
      expect(replicas.servedBy.slice(heldAt).every((w) => w === 1)).toBe(true);
      // Read back: one set of results, the answers as given; nothing held any more, and a second save writes nothing.
      expect(await ehr.service.store.searchResources('RiskAssessment', { subject: 'Patient/replica-2' })).toHaveLength(1);
      expect(await ehr.service.store.searchResources('CarePlan', { subject: 'Patient/replica-2' })).toHaveLength(1);
      const answers = await ehr.service.store.searchResources<QuestionnaireResponse>('QuestionnaireResponse', { subject: 'Patient/replica-2' });
      expect(answers).toHaveLength(1);
      expect(JSON.stringify(answers[0]?.item)).toMatch(/"linkId":"saddle-numbness","answer":\[\{"valueBoolean":true\}\]/);
      expect(held.size).toBe(0);
      replicas.pin(0);
      expect((await retry(browser, replicas.base, pageData(html).csrfToken)).headers.get('location')).toBe('/smart/app');
      expect(await ehr.service.store.searchResources('RiskAssessment', { subject: 'Patient/replica-2' })).toHaveLength(1);
    } finally {
      await replicas.close();
    }
  });

  it('each instance holding in its own memory: the other instance has nothing to offer', async () => {
    const sessions = new MemorySmartSessionStore();
    const replicas = await startReplicas([{ sessions }, { sessions }]);
    try {
      const { html } = await holdOnOneSignInOnTheOther(replicas, 'replica-3');
      expect(html).not.toContain('Save the answers you gave earlier');
    } finally {
      await replicas.close();
    }
  });
});
