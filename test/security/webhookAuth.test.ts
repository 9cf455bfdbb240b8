import { createHmac } from 'node:crypto';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { startSecuredService } from './securedService';
import { startTokenIssuer, type TokenIssuer } from './tokenIssuer';

const SECRET = 'webhook-secret-4c1d8e2f9a7b';
const RECEIVER = '/subscriptions/questionnaire-response';

/** An R4 Backport heartbeat: acknowledged without touching any data. */
const HEARTBEAT = JSON.stringify({
  resourceType: 'Bundle',
  type: 'history',
  entry: [{ resource: { resourceType: 'SubscriptionStatus', status: 'active', type: 'heartbeat', subscription: { reference: 'Subscription/triage' } } }],
});

function signature(body: string, key = SECRET): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

describe('the Subscription receiver is authenticated by WEBHOOK_SECRET, not by a JWT', () => {
  let issuer: TokenIssuer;
  let service: Service;
  beforeAll(async () => {
    issuer = await startTokenIssuer('https://auth.hip-triage.test', 'hip-triage-api');
    service = await startSecuredService({
      WEBHOOK_SECRET: SECRET,
      AUTH_ISSUER: issuer.issuer,
      AUTH_AUDIENCE: 'hip-triage-api',
      AUTH_JWKS_URI: issuer.jwksUri,
    });
  });
  afterAll(async () => {
    await service.close();
    await issuer.close();
  });

  const notify = (headers: Record<string, string>, body = HEARTBEAT) => request(service.app).post(RECEIVER).set('Content-Type', 'application/fhir+json').set(headers).send(body);

  it.each<[string, Record<string, string>]>([
    ['no secret', {}],
    ['a wrong secret', { Authorization: 'Bearer not-the-secret' }],
    ['the secret as Basic', { Authorization: `Basic ${Buffer.from(SECRET).toString('base64')}` }],
    ['a bad HMAC', { 'X-Hub-Signature-256': `sha256=${'0'.repeat(64)}` }],
    ['an HMAC with another key', { 'X-Hub-Signature-256': signature(HEARTBEAT, 'another-key') }],
    ['an HMAC of another body', { 'X-Hub-Signature-256': signature(`${HEARTBEAT} `) }],
    ['a malformed HMAC', { 'X-Hub-Signature-256': 'sha256=xyz' }],
  ])('%s → 401 with an OperationOutcome', async (_name, headers) => {
    const res = await notify(headers);
    expect(res.status).toBe(401);
    expect((res.body as { resourceType?: string }).resourceType).toBe('OperationOutcome');
  });

  it('a valid JWT from AUTH_ISSUER is not a webhook credential → 401', async () => {
    const token = await issuer.sign({ scope: 'system/*.cruds' });
    await notify({ Authorization: `Bearer ${token}` }).expect(401);
  });

  it('the secret as the Subscription channel.header sends it → accepted', async () => {
    await notify({ Authorization: `Bearer ${SECRET}` }).expect(200);
  });

  it('an HMAC-SHA256 of the raw body keyed with the secret → accepted', async () => {
    await notify({ 'X-Hub-Signature-256': signature(HEARTBEAT) }).expect(200);
  });
});

describe('without WEBHOOK_SECRET', () => {
  it('every notification is refused (401), whatever it carries', async () => {
    const service = await startSecuredService({});
    try {
      for (const headers of [{}, { Authorization: 'Bearer anything' }, { 'X-Hub-Signature-256': signature(HEARTBEAT, '') }]) {
        await request(service.app).post(RECEIVER).set('Content-Type', 'application/fhir+json').set(headers).send(HEARTBEAT).expect(401);
      }
    } finally {
      await service.close();
    }
  });

  it('ALLOW_INSECURE=true takes them unauthenticated (a local demo), and says so in the log', async () => {
    const service = await startSecuredService({ ALLOW_INSECURE: 'true' });
    try {
      await request(service.app).post(RECEIVER).set('Content-Type', 'application/fhir+json').send(HEARTBEAT).expect(200);
      expect(service.logs.text()).toContain('unauthenticated notifications');
    } finally {
      await service.close();
    }
  });
});
