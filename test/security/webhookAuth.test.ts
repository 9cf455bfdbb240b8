import { createHmac, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { signNotification, SIGNATURE_WINDOW_SECONDS, WebhookAuthenticator } from '../../src/intake/webhookAuth';
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

const now = () => Math.floor(Date.now() / 1000);

/** The headers a sender signs a notification with: a fresh timestamp and id unless given. */
function signed(body: string | Buffer, options: { key?: string; timestamp?: number; id?: string } = {}): Record<string, string> {
  const timestamp = options.timestamp ?? now();
  const id = options.id ?? randomUUID();
  return { 'X-Hub-Signature-256': signNotification(options.key ?? SECRET, timestamp, id, body), 'X-Webhook-Timestamp': String(timestamp), 'X-Webhook-Id': id };
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

  const notify = (headers: Record<string, string>, body = HEARTBEAT) =>
    request(service.app).post(RECEIVER).set('Content-Type', 'application/fhir+json').set(headers).send(body);

  it.each<[string, Record<string, string>]>([
    ['no secret', {}],
    ['a wrong secret', { Authorization: 'Bearer not-the-secret' }],
    ['the secret as Basic', { Authorization: `Basic ${Buffer.from(SECRET).toString('base64')}` }],
    ['a bad HMAC', { ...signed(HEARTBEAT), 'X-Hub-Signature-256': `sha256=${'0'.repeat(64)}` }],
    ['an HMAC with another key', signed(HEARTBEAT, { key: 'another-key' })],
    ['an HMAC of another body', signed(`${HEARTBEAT} `)],
    ['a malformed HMAC', { ...signed(HEARTBEAT), 'X-Hub-Signature-256': 'sha256=xyz' }],
    [
      'an HMAC of the body alone (the old scheme: no timestamp, no id)',
      { 'X-Hub-Signature-256': `sha256=${createHmac('sha256', SECRET).update(HEARTBEAT).digest('hex')}` },
    ],
    ['a signature whose timestamp header was changed after signing', { ...signed(HEARTBEAT, { timestamp: now() - 10 }), 'X-Webhook-Timestamp': String(now()) }],
    ['a signature whose id header was changed after signing', { ...signed(HEARTBEAT, { id: 'original-id-1' }), 'X-Webhook-Id': 'another-id-2' }],
    ['a stale timestamp (signed 10 minutes ago)', signed(HEARTBEAT, { timestamp: now() - 600 })],
    ['a timestamp 10 minutes in the future', signed(HEARTBEAT, { timestamp: now() + 600 })],
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

  it('an HMAC-SHA256 of timestamp, id and the raw body keyed with the secret → accepted', async () => {
    await notify(signed(HEARTBEAT)).expect(200);
  });

  it('a replayed signed notification (same id, still fresh) → 409, handled once', async () => {
    const headers = signed(HEARTBEAT);
    await notify(headers).expect(200);
    const replay = await notify(headers);
    expect(replay.status).toBe(409);
    expect(replay.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'duplicate' }] });
    // The same id re-signed with a new timestamp is a replay too.
    await notify(signed(HEARTBEAT, { id: headers['X-Webhook-Id'] })).expect(409);
  });

  it('the HMAC is over the bytes received: a compressed body signed over its inflated JSON is refused (415), and so is one signed over the gzip bytes', async () => {
    const gzipped = gzipSync(HEARTBEAT);
    // Bytes as given: supertest would otherwise serialise the Buffer as JSON.
    const sendGzip = (headers: Record<string, string>) =>
      request(service.app)
        .post(RECEIVER)
        .set('Content-Type', 'application/fhir+json')
        .set('Content-Encoding', 'gzip')
        .set(headers)
        .serialize((b: unknown) => b as string)
        .send(gzipped as unknown as string);
    // Signed over the inflated JSON while the wire carried gzip: the old bypass (a relay could re-compress anything).
    const inflatedSigned = await sendGzip(signed(HEARTBEAT));
    expect(inflatedSigned.status).toBe(415);
    expect(inflatedSigned.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-supported' }] });
    // Signed over the gzip bytes: the receiver only sees the inflated body, so it cannot check them.
    const wireSigned = await sendGzip(signed(gzipped));
    expect(wireSigned.status).toBe(401);
  });

  it('the HMAC covers the bytes exactly as sent: the same JSON laid out differently fails', async () => {
    const pretty = JSON.stringify(JSON.parse(HEARTBEAT), null, 2);
    const headers = signed(pretty);
    await notify(headers, HEARTBEAT).expect(401);
    await notify(headers, pretty).expect(200);
  });
});

describe('WebhookAuthenticator: the timestamp window and the id memory', () => {
  const settings = { secret: SECRET, allowInsecure: false };
  const body = Buffer.from(HEARTBEAT);
  const credentials = (timestamp: number, id: string) => ({
    authorization: undefined,
    signature: signNotification(SECRET, timestamp, id, body),
    timestamp: String(timestamp),
    id,
    contentEncoding: undefined,
    rawBody: body,
  });

  it('takes a timestamp up to the window either side, not past it', () => {
    const clock = 1_800_000_000;
    const auth = new WebhookAuthenticator(settings, () => clock);
    expect(auth.check(credentials(clock - SIGNATURE_WINDOW_SECONDS, 'edge-past-1')).verdict).toBe('accepted');
    expect(auth.check(credentials(clock + SIGNATURE_WINDOW_SECONDS, 'edge-future-1')).verdict).toBe('accepted');
    expect(auth.check(credentials(clock - SIGNATURE_WINDOW_SECONDS - 1, 'too-old-1'))).toMatchObject({ verdict: 'refused', status: 401 });
    expect(auth.check(credentials(clock + SIGNATURE_WINDOW_SECONDS + 1, 'too-new-1'))).toMatchObject({ verdict: 'refused', status: 401 });
  });

  it('remembers an id once its notification was handled; a failed one may be retried; concurrent copies are refused', () => {
    const clock = 1_800_000_000;
    const auth = new WebhookAuthenticator(settings, () => clock);
    const first = auth.check(credentials(clock, 'notification-1'));
    expect(first.verdict).toBe('accepted');
    // While the first is being handled, a copy is refused.
    expect(auth.check(credentials(clock, 'notification-1'))).toMatchObject({ verdict: 'refused', status: 409 });
    auth.settle(first.verdict === 'accepted' ? first.replayKey : undefined, false);
    const retry = auth.check(credentials(clock + 5, 'notification-1'));
    expect(retry.verdict).toBe('accepted');
    auth.settle(retry.verdict === 'accepted' ? retry.replayKey : undefined, true);
    expect(auth.check(credentials(clock + 6, 'notification-1'))).toMatchObject({ verdict: 'refused', status: 409 });
  });
});

describe('without WEBHOOK_SECRET', () => {
  it('every notification is refused (401), whatever it carries', async () => {
    const service = await startSecuredService({});
    try {
      for (const headers of [{}, { Authorization: 'Bearer anything' }, signed(HEARTBEAT, { key: '' })]) {
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
