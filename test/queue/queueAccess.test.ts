import request from 'supertest';
import { loadConfig } from '../../src/config';
import type { Service } from '../../src/composeService';
import { type QueueAccessInput, queueAccess } from '../../src/queue/queueAccess';
import { QUEUE_CSP, SESSION_COOKIE, SIGN_IN_COOKIE } from '../../src/queue/queueRoutes';
import { CookieSigner, readCookie } from '../../src/queue/staffSession';
import { claimAt, hasRole } from '../../src/queue/staffSignIn';
import { startTestAuthorizationServer, type TestAuthorizationServer } from '../support/testAuthorizationServer';
import { type LogCapture, startTestService } from '../support/testService';

const base: QueueAccessInput = { signInRequired: false, staffClientConfigured: false, remoteAddress: '127.0.0.1', hasStaffSession: false };

describe('queueAccess: who may see the queue', () => {
  it.each<[string, Partial<QueueAccessInput>, ReturnType<typeof queueAccess>]>([
    ['no sign-in, IPv4 loopback', {}, 'allowed'],
    ['no sign-in, IPv6 loopback', { remoteAddress: '::1' }, 'allowed'],
    ['no sign-in, IPv4-mapped loopback', { remoteAddress: '::ffff:127.0.0.1' }, 'allowed'],
    ['no sign-in, another machine', { remoteAddress: '192.168.1.20' }, 'forbidden'],
    ['no sign-in, another machine over IPv6', { remoteAddress: '2001:db8::5' }, 'forbidden'],
    ['no sign-in, address unknown (socket already gone)', { remoteAddress: undefined }, 'forbidden'],
    ['no sign-in: a session cookie changes nothing for another machine', { remoteAddress: '10.0.0.7', hasStaffSession: true }, 'forbidden'],
    ['sign-in on but no staff client registered: fail closed, loopback too', { signInRequired: true }, 'unavailable'],
    ['sign-in on, loopback without a session: loopback is not enough', { signInRequired: true, staffClientConfigured: true }, 'sign-in'],
    ['sign-in on, another machine without a session', { signInRequired: true, staffClientConfigured: true, remoteAddress: '203.0.113.9' }, 'sign-in'],
    [
      'sign-in on, another machine with a staff session',
      { signInRequired: true, staffClientConfigured: true, remoteAddress: '203.0.113.9', hasStaffSession: true },
      'allowed',
    ],
  ])('%s', (_name, input, expected) => {
    expect(queueAccess({ ...base, ...input })).toBe(expected);
  });
});

describe('staff cookies and role claims', () => {
  const signer = new CookieSigner('a-session-secret-of-at-least-32-characters');
  const session = { purpose: 'session' as const, sid: 'session-1', sub: 'staff-1', name: 'A Clinician', exp: 2_000 };

  it('a signed session verifies until it expires, and not after', () => {
    const cookie = signer.sign(session);
    expect(signer.verify(cookie, 'session', 1_999)).toEqual(session);
    expect(signer.verify(cookie, 'session', 2_000)).toBeUndefined();
  });

  it('refuses a changed payload, another secret, and a sign-in cookie used as a session', () => {
    const cookie = signer.sign(session);
    const [body, mac] = cookie.split('.');
    const forged = Buffer.from(JSON.stringify({ ...session, exp: 9_999_999 })).toString('base64url');
    expect(signer.verify(`${forged}.${mac ?? ''}`, 'session', 1_000)).toBeUndefined();
    expect(new CookieSigner('another-secret-of-at-least-32-characters!').verify(cookie, 'session', 1_000)).toBeUndefined();
    expect(signer.verify(`${body ?? ''}.${mac ?? ''}x`, 'session', 1_000)).toBeUndefined();
    const signIn = signer.sign({ purpose: 'sign-in', state: 's', nonce: 'n', codeVerifier: 'v', exp: 2_000 });
    expect(signer.verify(signIn, 'session', 1_000)).toBeUndefined();
    expect(signer.verify(signIn, 'sign-in', 1_000)).toMatchObject({ state: 's' });
  });

  it('reads a role from an array, a space-separated string, or a dotted path', () => {
    expect(hasRole(claimAt({ roles: ['staff', 'admin'] }, 'roles'), 'staff')).toBe(true);
    expect(hasRole(claimAt({ roles: 'admin staff' }, 'roles'), 'staff')).toBe(true);
    expect(hasRole(claimAt({ realm_access: { roles: ['staff'] } }, 'realm_access.roles'), 'staff')).toBe(true);
    expect(hasRole(claimAt({ roles: ['staffing'] }, 'roles'), 'staff')).toBe(false);
    expect(hasRole(claimAt({ roles: 'staff-ish' }, 'roles'), 'staff')).toBe(false);
    expect(hasRole(claimAt({}, 'roles'), 'staff')).toBe(false);
  });

  it('a session without a session id (signed before sign-out could revoke) is not a session', () => {
    const { sid: _sid, ...withoutSid } = session;
    const old = signer.sign(withoutSid as unknown as typeof session);
    expect(signer.verify(old, 'session', 1_000)).toBeUndefined();
  });

  it('reads one cookie from a Cookie header', () => {
    expect(readCookie('a=1; hip_triage_staff=x.y; b=2', 'hip_triage_staff')).toBe('x.y');
    expect(readCookie('hip_triage_staff_sign_in=z', 'hip_triage_staff')).toBeUndefined();
    expect(readCookie(undefined, 'hip_triage_staff')).toBeUndefined();
  });
});

describe('GET /queue without AUTH_*: loopback clients only', () => {
  let service: Service;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service.close();
  });

  it('serves a loopback client the page, with a strict CSP and no caching', async () => {
    const res = await request(service.app).get('/queue');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toBe(QUEUE_CSP);
    expect(res.headers['content-security-policy']).not.toMatch(/unsafe-inline|script-src/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('<h1>Work queues</h1>');
  });

  it('serves its stylesheet, and the page needs no other asset', async () => {
    const css = await request(service.app).get('/queue/queue.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    expect(css.text).toContain(':focus-visible');
    const page = await request(service.app).get('/queue');
    const assets = [...page.text.matchAll(/(?:href|src)="([^"#]*)"/g)].map((m) => m[1]);
    expect(assets.filter((a) => a !== undefined && !a.startsWith('/'))).toEqual([]);
    expect(page.text).not.toMatch(/<script|style=/);
  });

  it('has no sign-in callback when sign-in is off', async () => {
    expect((await request(service.app).get('/queue/callback?code=x&state=y')).status).toBe(404);
  });
});

/** `name=value` of a Set-Cookie header, and its attributes. */
function setCookie(res: request.Response, name: string): { pair: string; attributes: string } | undefined {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined;
  const line = header?.find((c) => c.startsWith(`${name}=`));
  if (!line) {
    return undefined;
  }
  const [pair = '', ...rest] = line.split(';');
  return { pair: pair.trim(), attributes: rest.join(';') };
}

describe('GET /queue with AUTH_*: OpenID Connect staff sign-in', () => {
  let provider: TestAuthorizationServer;
  let service: Service & { logs: LogCapture };
  beforeAll(async () => {
    provider = await startTestAuthorizationServer();
    service = await startTestService({
      AUTH_ISSUER: provider.issuerUrl,
      AUTH_AUDIENCE: 'hip-triage',
      AUTH_JWKS_URI: provider.jwksUri,
      STAFF_CLIENT_ID: 'hip-triage-staff',
      STAFF_CLIENT_SECRET: 'staff-client-secret',
      SESSION_SECRET: 'test-session-secret-0123456789abcdef',
    });
  });
  afterAll(async () => {
    await service.close();
    await provider.close();
  });

  /** Runs the code flow as a browser would; returns the callback's answer. */
  async function signIn(claims: Record<string, unknown>): Promise<request.Response> {
    provider.setExtraClaims(claims);
    const start = await request(service.app).get('/queue');
    const state = setCookie(start, SIGN_IN_COOKIE);
    const back = await provider.authorize(start.headers.location ?? '');
    return request(service.app)
      .get(`${back.pathname}${back.search}`)
      .set('Cookie', state?.pair ?? '');
  }

  it('sends a client without a session to the issuer, with PKCE, state and nonce', async () => {
    const res = await request(service.app).get('/queue');
    expect(res.status).toBe(302);
    const location = new URL(res.headers.location ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(`${provider.issuerUrl}/authorize`);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({
      client_id: 'hip-triage-staff',
      response_type: 'code',
      redirect_uri: 'http://127.0.0.1:8080/queue/callback',
      code_challenge_method: 'S256',
      scope: 'openid profile',
    });
    expect(location.searchParams.get('state')).toMatch(/.{20,}/);
    expect(location.searchParams.get('nonce')).toMatch(/.{20,}/);
    expect(setCookie(res, SIGN_IN_COOKIE)?.attributes).toMatch(/HttpOnly/);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('signs a staff member in: session cookie, then the page', async () => {
    const callback = await signIn({ roles: ['staff'], name: 'Dr Queue Tester' });
    expect(callback.status).toBe(303);
    expect(callback.headers.location).toBe('/queue');
    const session = setCookie(callback, SESSION_COOKIE);
    expect(session?.attributes).toMatch(/HttpOnly/);
    expect(session?.attributes).toMatch(/SameSite=Lax/);
    expect(session?.attributes).toMatch(/Path=\/queue/);
    expect(session?.attributes).not.toMatch(/Secure/); // PUBLIC_BASE_URL is http here; https makes it Secure
    const page = await request(service.app)
      .get('/queue')
      .set('Cookie', session?.pair ?? '');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1>Work queues</h1>');
    expect(page.text).toContain('Signed in as Dr Queue Tester');
    // Who signed in is never logged.
    expect(service.logs.text()).not.toContain('Dr Queue Tester');
    // The session is for the page only: it is not a token for FHIR REST (README, "Known limits").
    const fhir = await request(service.app)
      .get('/fhir/QuestionnaireResponse/any')
      .set('Cookie', session?.pair ?? '');
    expect(fhir.status).toBe(401);
  });

  it('refuses an account without the staff role (403), and sets no session', async () => {
    const callback = await signIn({ roles: ['patient'], name: 'Not Staff' });
    expect(callback.status).toBe(403);
    expect(callback.text).toContain('needs the &#39;staff&#39; role in &#39;roles&#39;');
    expect(setCookie(callback, SESSION_COOKIE)).toBeUndefined();
  });

  it('refuses a callback whose sign-in was not started here, or whose state differs', async () => {
    provider.setExtraClaims({ roles: ['staff'] });
    const start = await request(service.app).get('/queue');
    const back = await provider.authorize(start.headers.location ?? '');
    expect((await request(service.app).get(`${back.pathname}${back.search}`)).status).toBe(400);
    const other = setCookie(await request(service.app).get('/queue'), SIGN_IN_COOKIE);
    const crossed = await request(service.app)
      .get(`${back.pathname}${back.search}`)
      .set('Cookie', other?.pair ?? '');
    expect(crossed.status).toBe(400);
    expect(setCookie(crossed, SESSION_COOKIE)).toBeUndefined();
  });

  it('a forged or altered session cookie is not a session', async () => {
    const forged = new CookieSigner('someone-elses-secret-0123456789abcdef').sign({
      purpose: 'session',
      sid: 's',
      sub: 'x',
      name: 'x',
      exp: Date.now() + 60_000,
    });
    const res = await request(service.app).get('/queue').set('Cookie', `${SESSION_COOKIE}=${forged}`);
    expect(res.status).toBe(302);
  });

  it('signing out with no session clears the cookie', async () => {
    const res = await request(service.app).post('/queue/sign-out');
    expect(res.status).toBe(200);
    expect(setCookie(res, SESSION_COOKIE)?.attributes).toMatch(/Expires=Thu, 01 Jan 1970/);
  });

  it("sign-out needs the page's CSRF token, and ends the session on the server: the old cookie no longer opens the queue", async () => {
    const callback = await signIn({ roles: ['staff'], name: 'Dr Sign Out' });
    const cookie = setCookie(callback, SESSION_COOKIE)?.pair ?? '';
    const page = await request(service.app).get('/queue').set('Cookie', cookie).expect(200);
    const token = /<input type="hidden" name="csrf" value="([^"]+)">/.exec(page.text)?.[1] ?? '';
    expect(token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const signOut = (body: string) => request(service.app).post('/queue/sign-out').set('Cookie', cookie).type('form').send(body);

    // A cross-site form (no token, or a token of its own making) signs nobody out.
    for (const body of [
      '',
      'csrf=',
      `csrf=${token.slice(0, -2)}xx`,
      `csrf=${new CookieSigner('test-session-secret-0123456789abcdef').csrfToken({ purpose: 'session', sid: 'other', sub: 'x', name: 'x', exp: 1 })}`,
    ]) {
      const refused = await signOut(body);
      expect(refused.status).toBe(403);
      expect(setCookie(refused, SESSION_COOKIE)).toBeUndefined();
    }
    await request(service.app).get('/queue').set('Cookie', cookie).expect(200);

    const done = await signOut(`csrf=${encodeURIComponent(token)}`).expect(200);
    expect(setCookie(done, SESSION_COOKIE)?.attributes).toMatch(/Expires=Thu, 01 Jan 1970/);
    // The cookie is still correctly signed and unexpired, but the server has revoked it.
    const after = await request(service.app).get('/queue').set('Cookie', cookie);
    expect(after.status).toBe(302);
    expect(after.headers.location).not.toBe('/queue');
    expect(after.text).not.toContain('Dr Sign Out');
  });
});

describe('GET /queue with AUTH_* but no staff client registered', () => {
  it('fails closed: 503, loopback included', async () => {
    const service = await startTestService({ AUTH_ISSUER: 'http://127.0.0.1:9/', AUTH_AUDIENCE: 'x', AUTH_JWKS_URI: 'http://127.0.0.1:9/jwks' });
    try {
      const res = await request(service.app).get('/queue');
      expect(res.status).toBe(503);
      expect(res.text).toContain('STAFF_CLIENT_ID');
    } finally {
      await service.close();
    }
  });
});

describe('staff sign-in configuration', () => {
  it('refuses half a staff client registration, and defaults the role claim to `roles`', () => {
    expect(() => loadConfig({ STAFF_CLIENT_ID: 'hip-triage-staff' }, '/srv/app')).toThrow(/STAFF_CLIENT_ID and STAFF_CLIENT_SECRET must be set together/);
    expect(() => loadConfig({ STAFF_CLIENT_SECRET: 'secret' }, '/srv/app')).toThrow(/STAFF_CLIENT_ID and STAFF_CLIENT_SECRET must be set together/);
    expect(loadConfig({ STAFF_CLIENT_ID: 'a', STAFF_CLIENT_SECRET: 'b' }, '/srv/app').staff).toEqual({ clientId: 'a', clientSecret: 'b', roleClaim: 'roles' });
    expect(loadConfig({ STAFF_ROLE_CLAIM: 'realm_access.roles' }, '/srv/app').staff.roleClaim).toBe('realm_access.roles');
  });
});

describe('GET /queue when the issuer cannot be reached', () => {
  it('answers 503 with Retry-After, and does not open the page', async () => {
    // Port 9 (discard) on loopback: nothing listens, so the discovery request is refused at once.
    const service = await startTestService({
      AUTH_ISSUER: 'http://127.0.0.1:9',
      AUTH_AUDIENCE: 'x',
      AUTH_JWKS_URI: 'http://127.0.0.1:9/jwks',
      STAFF_CLIENT_ID: 'hip-triage-staff',
      STAFF_CLIENT_SECRET: 'staff-client-secret',
    });
    try {
      const res = await request(service.app).get('/queue');
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.text).toContain('could not be reached');
      expect(res.text).not.toContain('<table');
    } finally {
      await service.close();
    }
  });
});
