import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeService, type Service } from '../../src/composeService';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { MemorySmartSessionStore, type SmartSessionStore } from '../../src/smart/smartSessions';
import { answersWith, buildResponse, ROOT } from '../support/responses';
import { LogCapture } from '../support/testService';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { launchOverHttp, pageData, putPatient, type RunningService, startService, submitResponse } from './smartTestbed';

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

interface Replicas {
  readonly base: string;
  /** Which instance answered each request, in order. */
  readonly servedBy: number[];
  close(): Promise<void>;
}

/** Two instances behind one loopback address, dealt requests in turn. */
async function startReplicas(stores: readonly [SmartSessionStore | undefined, SmartSessionStore | undefined]): Promise<Replicas> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const instances: Service[] = [];
  for (const store of stores) {
    const config = loadConfig({ DATA_DIR: ':memory:', PUBLIC_BASE_URL: base, RATE_LIMIT_PER_MINUTE: '0', SESSION_SECRET: SECRET }, ROOT);
    instances.push(await composeService(config, createLogger(config.logLevel, new LogCapture()), () => new Date(), { smartSessionStore: store }));
  }
  const servedBy: number[] = [];
  let next = 0;
  server.on('request', (req, res) => {
    const which = next % instances.length;
    next += 1;
    servedBy.push(which);
    instances[which]?.app(req, res);
  });
  return {
    base,
    servedBy,
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
});

afterAll(async () => {
  await ehr?.close();
  await authorization?.close();
});

describe('two app instances behind one cookie', () => {
  it('with one shared session store: launch, sign-in, form, submission and result each on the other instance; saved once', async () => {
    const shared = new MemorySmartSessionStore();
    const replicas = await startReplicas([shared, shared]);
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
    const replicas = await startReplicas([undefined, undefined]);
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
