import { MemorySmartSessionStore, SESSION_IDLE_MS, SESSION_KEEP_MS, type SmartSession, SmartSessions, tokenUsable } from '../../src/smart/smartSessions';
import type { LaunchContext } from '../../src/smart/smartSessions';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { CookieBrowser, launchOverHttp, putPatient, type RunningService, startService } from './smartTestbed';

jest.setTimeout(60_000);

const CONTEXT: LaunchContext = {
  iss: 'http://127.0.0.1:1/fhir',
  endpoints: {
    authorizationEndpoint: 'http://127.0.0.1:1/authorize',
    tokenEndpoint: 'http://127.0.0.1:1/token',
    issuer: undefined,
    jwksUri: undefined,
    capabilities: [],
  },
  patientId: 'p',
  fhirUser: undefined,
  needPatientBanner: false,
  accessToken: 'token',
  grantedScope: '',
  tokenExpiresAt: Number.MAX_SAFE_INTEGER,
};

describe('SMART sessions under a launch flood', () => {
  const limits = { maxSessions: 50, maxPerClient: 10, maxUnsignedPerClient: 5 };
  const bounded = (l: typeof limits): { store: MemorySmartSessionStore; sessions: SmartSessions } => {
    const store = new MemorySmartSessionStore(Date.now, l);
    return { store, sessions: new SmartSessions('s'.repeat(32), { store }) };
  };
  const signIn = async (sessions: SmartSessions, session: SmartSession): Promise<SmartSession> => {
    session.context = CONTEXT;
    await sessions.save(session);
    return session;
  };
  const idOf = async (sessions: SmartSessions, session: SmartSession): Promise<string | undefined> => (await sessions.find(sessions.cookieValue(session)))?.id;

  it("one client's flood of launches evicts only its own launches: other clients' sessions, and its own signed-in one, stay", async () => {
    const { store, sessions } = bounded(limits);
    const victimSignedIn = await signIn(sessions, await sessions.create('ip:victim'));
    const victimLaunch = await sessions.create('ip:victim');
    const attackerSignedIn = await signIn(sessions, await sessions.create('ip:attacker'));
    const flood: SmartSession[] = [];
    for (let i = 0; i < 1_000; i += 1) {
      flood.push(await sessions.create('ip:attacker'));
    }

    expect(await idOf(sessions, victimSignedIn)).toBe(victimSignedIn.id);
    expect(await idOf(sessions, victimLaunch)).toBe(victimLaunch.id);
    expect(await idOf(sessions, attackerSignedIn)).toBe(attackerSignedIn.id);
    // Bounded: the attacker keeps only its newest launches.
    expect(store.size).toBe(3 + limits.maxUnsignedPerClient);
    expect(await idOf(sessions, flood[0]!)).toBeUndefined();
    expect(await idOf(sessions, flood.at(-1)!)).toBeDefined();
  });

  it('a client with many sign-ins is bounded too, its own oldest first', async () => {
    const { sessions } = bounded(limits);
    const other = await signIn(sessions, await sessions.create('ip:other'));
    const own: SmartSession[] = [];
    for (let i = 0; i < 30; i += 1) {
      own.push(await signIn(sessions, await sessions.create('ip:ward')));
    }
    expect(await idOf(sessions, other)).toBe(other.id);
    const live = await Promise.all(own.map((s) => idOf(sessions, s)));
    expect(live.filter((id) => id !== undefined)).toHaveLength(limits.maxPerClient);
    expect(await idOf(sessions, own.at(-1)!)).toBeDefined();
  });

  it('at the overall limit, launches that have not signed in go before signed-in sessions', async () => {
    const { store, sessions } = bounded({ maxSessions: 20, maxPerClient: 10, maxUnsignedPerClient: 5 });
    const signedIn: SmartSession[] = [];
    for (let i = 0; i < 10; i += 1) {
      signedIn.push(await signIn(sessions, await sessions.create(`ip:user-${i}`)));
    }
    // Many clients (a distributed flood), each within its own limit.
    for (let i = 0; i < 200; i += 1) {
      await sessions.create(`ip:bot-${i}`);
    }
    expect(store.size).toBe(20);
    expect(await Promise.all(signedIn.map((s) => idOf(sessions, s)))).toEqual(signedIn.map((s) => s.id));
  });
});

describe('an idle session', () => {
  it('is signed out after an hour (its token dropped from memory), keeps what it knows of the launch, and is forgotten after eight', async () => {
    let now = 1_000_000;
    const sessions = new SmartSessions('s'.repeat(32), { nowMs: () => now });
    const session = await sessions.create('ip:a');
    session.context = CONTEXT;
    await sessions.save(session);
    const cookie = sessions.cookieValue(session);
    now += SESSION_IDLE_MS + 1;
    const found = await sessions.find(cookie);
    expect(found?.context?.patientId).toBe('p');
    expect(found?.context?.accessToken).toBe('');
    expect(tokenUsable(found?.context, now)).toBe(false);
    now += SESSION_KEEP_MS + 1;
    expect(await sessions.find(cookie)).toBeUndefined();
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
