import { SESSION_IDLE_MS, SESSION_KEEP_MS, SmartSessions, tokenUsable } from '../../src/smart/smartSessions';
import type { LaunchContext } from '../../src/smart/smartSessions';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { CookieBrowser, launchOverHttp, putPatient, type RunningService, startService } from './smartTestbed';

jest.setTimeout(60_000);

const CONTEXT: LaunchContext = {
  iss: 'http://127.0.0.1:1/fhir',
  endpoints: { authorizationEndpoint: 'http://127.0.0.1:1/authorize', tokenEndpoint: 'http://127.0.0.1:1/token', issuer: undefined, jwksUri: undefined, capabilities: [] },
  patientId: 'p',
  fhirUser: undefined,
  needPatientBanner: false,
  accessToken: 'token',
  grantedScope: '',
  tokenExpiresAt: Number.MAX_SAFE_INTEGER,
};

describe('SMART sessions under a launch flood', () => {
  const limits = { maxSessions: 50, maxPerClient: 10, maxUnsignedPerClient: 5 };

  it("one client's flood of launches evicts only its own launches: other clients' sessions, and its own signed-in one, stay", () => {
    const sessions = new SmartSessions('s'.repeat(32), Date.now, limits);
    const victimSignedIn = sessions.create('ip:victim');
    victimSignedIn.context = CONTEXT;
    const victimLaunch = sessions.create('ip:victim');
    const attackerSignedIn = sessions.create('ip:attacker');
    attackerSignedIn.context = CONTEXT;
    const flood = Array.from({ length: 1_000 }, () => sessions.create('ip:attacker'));

    expect(sessions.find(sessions.cookieValue(victimSignedIn))).toBe(victimSignedIn);
    expect(sessions.find(sessions.cookieValue(victimLaunch))).toBe(victimLaunch);
    expect(sessions.find(sessions.cookieValue(attackerSignedIn))).toBe(attackerSignedIn);
    // Bounded: the attacker keeps only its newest launches.
    expect(sessions.size).toBe(3 + limits.maxUnsignedPerClient);
    expect(sessions.find(sessions.cookieValue(flood[0]!))).toBeUndefined();
    expect(sessions.find(sessions.cookieValue(flood.at(-1)!))).toBeDefined();
  });

  it('a client with many sign-ins is bounded too, its own oldest first', () => {
    const sessions = new SmartSessions('s'.repeat(32), Date.now, limits);
    const other = sessions.create('ip:other');
    other.context = CONTEXT;
    const own = Array.from({ length: 30 }, () => {
      const s = sessions.create('ip:ward');
      s.context = CONTEXT;
      return s;
    });
    expect(sessions.find(sessions.cookieValue(other))).toBe(other);
    expect(own.filter((s) => sessions.find(sessions.cookieValue(s)) !== undefined)).toHaveLength(limits.maxPerClient);
    expect(sessions.find(sessions.cookieValue(own.at(-1)!))).toBeDefined();
  });

  it('at the overall limit, launches that have not signed in go before signed-in sessions', () => {
    const sessions = new SmartSessions('s'.repeat(32), Date.now, { maxSessions: 20, maxPerClient: 10, maxUnsignedPerClient: 5 });
    const signedIn = Array.from({ length: 10 }, (_v, i) => {
      const s = sessions.create(`ip:user-${i}`);
      s.context = CONTEXT;
      return s;
    });
    // Many clients (a distributed flood), each within its own limit.
    for (let i = 0; i < 200; i += 1) {
      sessions.create(`ip:bot-${i}`);
    }
    expect(sessions.size).toBe(20);
    expect(signedIn.every((s) => sessions.find(sessions.cookieValue(s)) === s)).toBe(true);
  });
});

describe('an idle session', () => {
  it('is signed out after an hour (its token dropped from memory), keeps what it knows of the launch, and is forgotten after eight', () => {
    let now = 1_000_000;
    const sessions = new SmartSessions('s'.repeat(32), () => now);
    const session = sessions.create('ip:a');
    session.context = CONTEXT;
    const cookie = sessions.cookieValue(session);
    now += SESSION_IDLE_MS + 1;
    const found = sessions.find(cookie);
    expect(found?.context?.patientId).toBe('p');
    expect(found?.context?.accessToken).toBe('');
    expect(tokenUsable(found?.context, now)).toBe(false);
    now += SESSION_KEEP_MS + 1;
    expect(sessions.find(cookie)).toBeUndefined();
  });
});

describe('over HTTP', () => {
  let authorization: SmartAuthorizationServer;
  let running: RunningService;
  beforeAll(async () => {
    authorization = await startSmartAuthorizationServer();
    running = await startService({ authorization });
    await putPatient(running.service, { resourceType: 'Patient', id: 'flood-1', birthDate: '1970-01-01' });
  });
  afterAll(async () => {
    await running?.close();
    await authorization?.close();
  });

  it('a signed-in person keeps their session through 60 launches from the same address; the flood keeps only its newest launches', async () => {
    authorization.grant({ patient: 'flood-1', scope: 'launch openid patient/Patient.r' });
    const { browser } = await launchOverHttp({ app: running.base, iss: running.fhirBase, launch: 'victim', authorization });
    expect((await browser.request(`${running.base}/smart/app`)).status).toBe(200);
    const flood: CookieBrowser[] = [];
    const locations: string[] = [];
    for (let i = 0; i < 60; i += 1) {
      const attacker = new CookieBrowser();
      const res = await attacker.request(`${running.base}/smart/launch?${new URLSearchParams({ iss: running.fhirBase, launch: `flood-${i}` }).toString()}`);
      expect(res.status).toBe(303);
      flood.push(attacker);
      locations.push(res.headers.get('location') ?? '');
    }
    expect((await browser.request(`${running.base}/smart/app`)).status).toBe(200);
    // The first launch of the flood was pushed out (its callback matches nothing); the last still works.
    const first = await flood[0]!.request((await authorization.authorize(locations[0]!)).toString());
    expect(first.status).toBe(400);
    const last = await flood.at(-1)!.request((await authorization.authorize(locations.at(-1)!)).toString());
    expect(last.status).toBe(303);
  });
});
