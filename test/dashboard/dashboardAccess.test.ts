import type { Request } from 'express';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { loadConfig } from '../../src/config';
import { staffGateFromConfig } from '../../src/dashboard/staffGate';
import { CookieSigner, RevokedSessions } from '../../src/queue/staffSession';
import { ROOT } from '../support/responses';
import { startSecuredService } from '../security/securedService';
import { startTokenIssuer, type TokenIssuer } from '../security/tokenIssuer';

const ISSUER = 'https://auth.hip-triage.test/realms/clinic';
const SESSION_SECRET = 'a-session-secret-of-at-least-32-characters!';

describe('/queue/dashboard with staff sign-in on (the /queue session, reused)', () => {
  let issuer: TokenIssuer;
  let service: Service;
  beforeAll(async () => {
    issuer = await startTokenIssuer(ISSUER, 'hip-triage-api');
    service = await startSecuredService({
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: 'hip-triage-api',
      AUTH_JWKS_URI: issuer.jwksUri,
      STAFF_CLIENT_ID: 'hip-triage-staff',
      STAFF_CLIENT_SECRET: 'staff-client-secret',
      SESSION_SECRET,
      RATE_LIMIT_PER_MINUTE: '0',
    });
  });
  afterAll(async () => {
    await service.close();
    await issuer.close();
  });

  const session = (secret: string, exp = Date.now() + 60_000) =>
    `hip_triage_staff=${new CookieSigner(secret).sign({ purpose: 'session', sid: 'session-1', sub: 'staff-1', name: 'Sam Staff', exp })}`;

  it('without a staff session: to /queue, which signs in (never the figures); a bearer token is not a session', async () => {
    const res = await request(service.app).get('/queue/dashboard').expect(303);
    expect(res.headers.location).toBe('/queue');
    const csv = await request(service.app)
      .get('/queue/dashboard.csv')
      .set('Authorization', `Bearer ${await issuer.sign({ scope: 'system/*.cruds' })}`)
      .expect(303);
    expect(csv.text).not.toContain('per rule');
  });

  it('a session signed with another secret, or expired, is refused', async () => {
    await request(service.app).get('/queue/dashboard').set('Cookie', session('another-secret-of-at-least-32-characters!!')).expect(303);
    await request(service.app)
      .get('/queue/dashboard')
      .set('Cookie', session(SESSION_SECRET, Date.now() - 1000))
      .expect(303);
  });

  it('with the /queue staff session: the page, naming who is signed in', async () => {
    const res = await request(service.app).get('/queue/dashboard').set('Cookie', session(SESSION_SECRET)).expect(200);
    expect(res.text).toContain('Signed in as Sam Staff.');
  });

  it('/dashboard needs no bearer token: it only redirects', async () => {
    const res = await request(service.app).get('/dashboard').expect(302);
    expect(res.headers.location).toBe('/queue/dashboard');
  });

  it('the row review form refuses a post without a staff session', async () => {
    await request(service.app).post('/queue/review/some-id').type('form').send({ csrf: 'x', version: '1', decision: 'confirm' }).expect(403);
  });

  it('a session signed out on /queue is refused here too (shared revocations)', () => {
    const config = loadConfig(
      {
        DATA_DIR: ':memory:',
        AUTH_ISSUER: ISSUER,
        AUTH_AUDIENCE: 'hip-triage-api',
        AUTH_JWKS_URI: issuer.jwksUri,
        STAFF_CLIENT_ID: 'hip-triage-staff',
        STAFF_CLIENT_SECRET: 'staff-client-secret',
        SESSION_SECRET,
      },
      ROOT
    );
    const revoked = new RevokedSessions();
    const gate = staffGateFromConfig(config, { revoked });
    const req = { headers: { cookie: session(SESSION_SECRET) }, socket: { remoteAddress: '203.0.113.9' } } as unknown as Request;
    expect(gate(req).kind).toBe('allowed');
    revoked.revoke({ purpose: 'session', sid: 'session-1', sub: 'staff-1', name: 'Sam Staff', exp: Date.now() + 60_000 }, Date.now());
    expect(gate(req).kind).not.toBe('allowed');
  });
});
