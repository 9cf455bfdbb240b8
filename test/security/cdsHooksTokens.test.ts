import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { ReplayGuard } from '../../src/auth/tokenVerification';
import { startSecuredService } from './securedService';
import { startTokenIssuer, type TokenIssuer } from './tokenIssuer';

const BASE = 'http://127.0.0.1:8080';
const SERVICE_URL = `${BASE}/cds-services/hip-pain-triage`;
const EHR = 'https://ehr.hospital.test';
const API_ISSUER = 'https://auth.hip-triage.test';

function hookRequest() {
  return { hook: 'patient-view', hookInstance: randomUUID(), context: { patientId: 'p-1' }, prefetch: { lastTriage: null } };
}

describe('CDS Hooks client JWTs (CDS_TRUSTED_ISSUERS)', () => {
  let ehr: TokenIssuer;
  let api: TokenIssuer;
  let service: Service;
  /** Not in CDS_TRUSTED_ISSUERS; and one claiming the trusted EHR's name with keys of its own. */
  let otherEhr: TokenIssuer;
  let impostor: TokenIssuer;
  beforeAll(async () => {
    ehr = await startTokenIssuer(EHR, SERVICE_URL);
    otherEhr = await startTokenIssuer('https://other-ehr.test', SERVICE_URL);
    impostor = await startTokenIssuer(EHR, SERVICE_URL);
    api = await startTokenIssuer(API_ISSUER, 'hip-triage-api');
    service = await startSecuredService({
      PUBLIC_BASE_URL: BASE,
      CDS_TRUSTED_ISSUERS: JSON.stringify({ [EHR]: ehr.jwksUri }),
      AUTH_ISSUER: API_ISSUER,
      AUTH_AUDIENCE: 'hip-triage-api',
      AUTH_JWKS_URI: api.jwksUri,
      RATE_LIMIT_PER_MINUTE: '0',
    });
  });
  afterAll(async () => {
    await service.close();
    await ehr.close();
    await api.close();
    await otherEhr.close();
    await impostor.close();
  });

  const call = (token: string | undefined, path = '/cds-services/hip-pain-triage') => {
    const req = request(service.app).post(path).set('Content-Type', 'application/json');
    return (token === undefined ? req : req.set('Authorization', `Bearer ${token}`)).send(path.endsWith('/feedback') ? { feedback: [] } : hookRequest());
  };
  const cdsToken = (claims: Record<string, unknown> = {}) => ehr.sign({ jti: randomUUID(), ...claims });

  it('accepts a token from a trusted EHR, for the endpoint called, used once', async () => {
    const res = await call(await cdsToken()).expect(200);
    expect(Array.isArray((res.body as { cards?: unknown }).cards)).toBe(true);
  });

  it('discovery needs no token', async () => {
    await request(service.app).get('/cds-services').expect(200);
  });

  const refused: Array<[string, () => Promise<string | undefined>]> = [
    ['no token', async () => undefined],
    ['an issuer not in CDS_TRUSTED_ISSUERS', () => otherEhr.sign({ jti: randomUUID() })],
    ['a trusted issuer name signed with another key', () => impostor.sign({ jti: randomUUID() })],
    ['aud = the base URL instead of the endpoint', async () => cdsToken({ aud: BASE })],
    ['no jti', async () => ehr.sign({})],
    ['no iat', async () => cdsToken({ iat: undefined })],
    ['a lifetime of an hour', async () => cdsToken({ exp: Math.floor(Date.now() / 1000) + 3600 })],
    ['expired', async () => cdsToken({ iat: Math.floor(Date.now() / 1000) - 400, exp: Math.floor(Date.now() / 1000) - 100 })],
    ['this service’s own API token', async () => api.sign({ scope: 'system/*.cruds' })],
  ];
  it.each(refused)('%s → 401', async (_name, make) => {
    const res = await call(await make());
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="hip-pain-triage"/);
    expect((res.body as { resourceType?: string }).resourceType).toBe('OperationOutcome');
  });

  it('a CDS token is no key to the FHIR API', async () => {
    await request(service.app)
      .get('/fhir/RiskAssessment?subject=Patient/p-1')
      .set('Authorization', `Bearer ${await cdsToken()}`)
      .expect(401);
  });

  it('a replayed token (same jti) → 401', async () => {
    const token = await cdsToken();
    await call(token).expect(200);
    await call(token).expect(401);
  });

  it('feedback takes its own URL as aud, or the service URL', async () => {
    await call(await cdsToken({ aud: `${SERVICE_URL}/feedback` }), '/cds-services/hip-pain-triage/feedback').expect(200);
    await call(await cdsToken({ aud: SERVICE_URL }), '/cds-services/hip-pain-triage/feedback').expect(200);
    await call(await cdsToken({ aud: `${BASE}/cds-services/other` }), '/cds-services/hip-pain-triage/feedback').expect(401);
  });
});

describe('CDS Hooks without CDS_TRUSTED_ISSUERS', () => {
  it('follows the general rule: a valid AUTH_* token, no scope needed', async () => {
    const api = await startTokenIssuer(API_ISSUER, 'hip-triage-api');
    const service = await startSecuredService({ PUBLIC_BASE_URL: BASE, AUTH_ISSUER: API_ISSUER, AUTH_AUDIENCE: 'hip-triage-api', AUTH_JWKS_URI: api.jwksUri });
    try {
      await request(service.app).post('/cds-services/hip-pain-triage').send(hookRequest()).expect(401);
      const token = await api.sign({ scope: 'openid' });
      await request(service.app).post('/cds-services/hip-pain-triage').set('Authorization', `Bearer ${token}`).send(hookRequest()).expect(200);
    } finally {
      await service.close();
      await api.close();
    }
  });
});

describe('the jti replay guard', () => {
  it('refuses a key seen before it expired, and stays within its capacity', () => {
    let now = 1_000;
    const guard = new ReplayGuard(3, () => now);
    expect(guard.firstUse('a', now + 60)).toBe(true);
    expect(guard.firstUse('a', now + 60)).toBe(false);
    expect(guard.firstUse('b', now + 60)).toBe(true);
    expect(guard.firstUse('c', now + 60)).toBe(true);
    // Full: the oldest makes room.
    expect(guard.firstUse('d', now + 60)).toBe(true);
    expect(guard.firstUse('b', now + 60)).toBe(false);
    now += 1_000;
    expect(guard.firstUse('e', now + 60)).toBe(true);
    expect(guard.firstUse('e', now + 60)).toBe(false);
  });
});
