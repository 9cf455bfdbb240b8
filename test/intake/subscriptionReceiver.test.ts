import type { Bundle, OperationOutcome, QuestionnaireResponse } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { loadConfig } from '../../src/config';
import { signNotification } from '../../src/intake/webhookAuth';
import { ROOT } from '../support/responses';
import { type SecondInstance, startSecondInstance } from '../support/secondInstance';
import { startTestService } from '../support/testService';
import { countsOf, notificationFixture, recordOf, responseFor } from './intakeFixtures';

/**
 * The Subscription receiver in remote mode: the service under test has FHIR_BASE_URL pointing
 * at a second instance of this service over loopback HTTP, which stands in for the external
 * FHIR server (its own intake is switched off, so only the receiver triages). Results are read
 * back from the second instance's store.
 */
const SECRET = 'webhook-secret-for-the-intake-tests';
const RECEIVER = '/subscriptions/questionnaire-response';
const NOTHING = { responses: 1, risks: 0, carePlans: 0, guidance: 0, requests: 0, tasks: 0 };
const URGENT = { responses: 1, risks: 1, carePlans: 1, guidance: 1, requests: 1, tasks: 2 };

async function externalServer(): Promise<SecondInstance> {
  const instance = await startSecondInstance();
  // An external server does not triage by itself: only notifications should.
  await instance.service.intake.close();
  return instance;
}

/** Stores a response on the external server as a client would, and returns it with its id. */
async function storeOnServer(instance: SecondInstance, response: QuestionnaireResponse): Promise<QuestionnaireResponse & { id: string }> {
  const answer = await instance.service.store.executeTransaction({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ resource: response, request: { method: 'POST', url: 'QuestionnaireResponse' } }],
  });
  return answer.entry?.[0]?.resource as QuestionnaireResponse & { id: string };
}

function texts(body: unknown): string[] {
  return ((body as OperationOutcome).issue ?? []).map((i) => i.details?.text ?? '');
}

describe('Subscription receiver (remote mode, a second instance as the FHIR server)', () => {
  let instance: SecondInstance;
  let service: Service;
  beforeAll(async () => {
    instance = await externalServer();
    service = await startTestService({ FHIR_BASE_URL: instance.fhirBaseUrl, WEBHOOK_SECRET: SECRET });
  });
  afterAll(async () => {
    await service.close();
    await instance.close();
  });

  const notify = (path: string, body: unknown, headers: Record<string, string> = { Authorization: `Bearer ${SECRET}` }, method: 'post' | 'put' = 'post') => {
    const req = request(service.app)[method](path).set(headers);
    return body === undefined ? req : req.set('Content-Type', 'application/fhir+json').send(JSON.stringify(body));
  };

  it('R4 rest-hook with the resource as payload (PUT {endpoint}/QuestionnaireResponse/{id}): triaged and written back', async () => {
    const subject = 'Patient/webhook-payload';
    const stored = await storeOnServer(instance, responseFor(subject, { 'pain-worsening': true }));
    instance.received.length = 0;
    const res = await notify(`${RECEIVER}/QuestionnaireResponse/${stored.id}`, stored, undefined, 'put');
    expect(res.status).toBe(200);
    expect(texts(res.body)).toEqual([`QuestionnaireResponse/${stored.id}: triaged: urgent`]);
    expect(countsOf(await recordOf(instance.service.store, subject))).toEqual(URGENT);
    // The response is read from the server (the payload only names it), and the results land in one transaction
    // after one look-up batch (the client-ids write strategy, src/fhir/remote/writeStrategy.ts).
    expect(instance.received.filter((r) => r.method !== 'GET')).toEqual([
      { method: 'POST', path: '/fhir/' },
      { method: 'POST', path: '/fhir/' },
    ]);
    console.log(
      `round trips for one notification of a new response: ${instance.received.length} (${instance.received.map((r) => `${r.method} ${r.path}`).join(', ')})`
    );
  });

  it.each([
    ['an R4 Backport notification (history Bundle, Parameters status)', 'backport-event-notification'],
    ['an R5 notification (subscription-notification Bundle, SubscriptionStatus)', 'r5-event-notification'],
  ])('%s: the focus is fetched from FHIR_BASE_URL and triaged', async (_name, fixture) => {
    const subject = `Patient/webhook-${fixture}`;
    const stored = await storeOnServer(instance, responseFor(subject, { 'pain-worsening': true }));
    instance.received.length = 0;
    const bundle = notificationFixture(fixture, {
      focus: `${instance.fhirBaseUrl}/QuestionnaireResponse/${stored.id}/_history/1`,
      eventNumber: `${fixture}-1`,
    });
    const res = await notify(RECEIVER, bundle);
    expect(res.status).toBe(200);
    expect(instance.received).toContainEqual({ method: 'GET', path: `/fhir/QuestionnaireResponse/${stored.id}` });
    expect(countsOf(await recordOf(instance.service.store, subject))).toEqual(URGENT);
  });

  it.each([
    ['a Backport handshake', notificationFixture('backport-handshake')],
    [
      'a Backport heartbeat',
      JSON.parse(JSON.stringify(notificationFixture('backport-handshake')).replace('"valueCode":"handshake"', '"valueCode":"heartbeat"')) as Bundle,
    ],
    ['an R5 heartbeat', notificationFixture('r5-heartbeat')],
  ])('%s is acknowledged without asking the server anything', async (_name, bundle) => {
    instance.received.length = 0;
    const res = await notify(RECEIVER, bundle);
    expect(res.status).toBe(200);
    expect(texts(res.body)[0]).toMatch(/^(handshake|heartbeat): acknowledged$/);
    expect(instance.received).toEqual([]);
  });

  it('the same notification three times gives one set of results; a new event for the same content too', async () => {
    const subject = 'Patient/webhook-redelivered';
    const stored = await storeOnServer(instance, responseFor(subject, { 'pain-worsening': true }));
    const bundle = notificationFixture('backport-event-notification', { focus: `QuestionnaireResponse/${stored.id}`, eventNumber: '41' });
    const answers: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const res = await notify(RECEIVER, bundle);
      expect(res.status).toBe(200);
      answers.push(texts(res.body));
    }
    expect(answers).toEqual([[`QuestionnaireResponse/${stored.id}: triaged: urgent`], ['event 41: already handled'], ['event 41: already handled']]);
    const again = await notify(
      RECEIVER,
      notificationFixture('backport-event-notification', { focus: `QuestionnaireResponse/${stored.id}`, eventNumber: '42' })
    );
    expect(texts(again.body)).toEqual([`QuestionnaireResponse/${stored.id}: ignored (already-triaged)`]);
    expect(countsOf(await recordOf(instance.service.store, subject))).toEqual(URGENT);
  });

  it.each([
    ['no credentials', 'none', {}],
    ['a wrong bearer secret', 'wrong-bearer', { Authorization: `Bearer ${SECRET}x` }],
    ['the secret as Basic auth', 'basic', { Authorization: `Basic ${Buffer.from(`hip:${SECRET}`).toString('base64')}` }],
    ['a signature made with another key', 'other-key', { 'X-Hub-Signature-256': 'sha256=SIGNED-WITH-ANOTHER-KEY' }],
  ])('%s: 401, and nothing is read or written', async (_name, label, headers) => {
    const subject = `Patient/webhook-refused-${label}`;
    const stored = await storeOnServer(instance, responseFor(subject, { 'pain-worsening': true }));
    const body = JSON.stringify(stored);
    const SIGNED_AT = Math.floor(Date.now() / 1000);
    const signed: Record<string, string> = Object.fromEntries(
      Object.entries(headers).map(([k, v]) => [
        k,
        v === 'sha256=SIGNED-WITH-ANOTHER-KEY' ? signNotification('another-key-entirely-0123', SIGNED_AT, 'notification-other-key', body) : v,
      ])
    );
    if (label === 'other-key') {
      Object.assign(signed, { 'X-Webhook-Timestamp': String(SIGNED_AT), 'X-Webhook-Id': 'notification-other-key' });
    }
    instance.received.length = 0;
    const res = await request(service.app)
      .put(`${RECEIVER}/QuestionnaireResponse/${stored.id}`)
      .set(signed)
      .set('Content-Type', 'application/fhir+json')
      .send(body);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="subscriptions"');
    expect((res.body as OperationOutcome).issue?.[0]?.code).toBe('login');
    expect(instance.received).toEqual([]);
    expect(countsOf(await recordOf(instance.service.store, subject))).toEqual(NOTHING);
  });

  it('a body signed with WEBHOOK_SECRET (X-Hub-Signature-256, HMAC-SHA256 of timestamp, id and the raw bytes) is accepted without a bearer', async () => {
    const subject = 'Patient/webhook-signed';
    const stored = await storeOnServer(instance, responseFor(subject, { 'pain-worsening': true }));
    // Deliberately not JSON.stringify's layout: the signature covers the bytes as sent.
    const body = JSON.stringify(stored, null, 2);
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'X-Hub-Signature-256': signNotification(SECRET, timestamp, 'notification-signed-1', body),
      'X-Webhook-Timestamp': String(timestamp),
      'X-Webhook-Id': 'notification-signed-1',
    };
    const res = await request(service.app).post(RECEIVER).set(headers).set('Content-Type', 'application/fhir+json').send(body);
    expect(res.status).toBe(200);
    expect(countsOf(await recordOf(instance.service.store, subject))).toEqual(URGENT);

    const tampered = body.replace('"status": "completed"', '"status": "completed" ');
    const refused = await request(service.app)
      .post(RECEIVER)
      .set({ ...headers, 'X-Webhook-Id': 'notification-signed-2' })
      .set('Content-Type', 'application/fhir+json')
      .send(tampered);
    expect(refused.status).toBe(401);
  });

  it('a response to another Questionnaire is acknowledged and ignored', async () => {
    const subject = 'Patient/webhook-other-questionnaire';
    const stored = await storeOnServer(
      instance,
      responseFor(subject, { 'pain-worsening': true }, { questionnaire: 'https://example.org/Questionnaire/knee-pain|2.0.0' })
    );
    const res = await notify(`${RECEIVER}/QuestionnaireResponse/${stored.id}`, stored, undefined, 'put');
    expect(res.status).toBe(200);
    expect(texts(res.body)).toEqual([`QuestionnaireResponse/${stored.id}: ignored (other-questionnaire)`]);
    expect(countsOf(await recordOf(instance.service.store, subject))).toEqual(NOTHING);
  });

  it.each([
    ['a Patient', { resourceType: 'Patient', id: 'p1' }],
    ['a searchset Bundle', { resourceType: 'Bundle', type: 'searchset' }],
    ['a payload whose id differs from the URL', { resourceType: 'QuestionnaireResponse', id: 'other-id', status: 'completed' }],
  ])('%s is not a notification: 400', async (_name, body) => {
    const res = await notify(`${RECEIVER}${body.resourceType === 'QuestionnaireResponse' ? '/QuestionnaireResponse/this-id' : ''}`, body);
    expect(res.status).toBe(400);
    expect((res.body as OperationOutcome).resourceType).toBe('OperationOutcome');
  });

  it('while the FHIR server is down: 503 with Retry-After, so the sender redelivers; once it is back, the redelivery is triaged', async () => {
    const subject = 'Patient/webhook-server-down';
    const stored = await storeOnServer(instance, responseFor(subject, { 'pain-worsening': true }));
    await instance.stop();
    let down;
    const started = performance.now();
    try {
      down = await notify(`${RECEIVER}/QuestionnaireResponse/${stored.id}`, stored, undefined, 'put');
    } finally {
      await instance.restart();
    }
    const elapsedMs = Math.round(performance.now() - started);
    console.log(`Subscription receiver: time to 503 with the FHIR server down: ${elapsedMs} ms`);
    expect(elapsedMs).toBeLessThan(20_000); // hang guard only
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    expect(countsOf(await recordOf(instance.service.store, subject))).toEqual(NOTHING);

    const redelivered = await notify(`${RECEIVER}/QuestionnaireResponse/${stored.id}`, stored, undefined, 'put');
    expect(redelivered.status).toBe(200);
    expect(countsOf(await recordOf(instance.service.store, subject))).toEqual(URGENT);
  });
});

describe('Subscription receiver: an empty-payload ping', () => {
  let instance: SecondInstance;
  let service: Service;
  beforeAll(async () => {
    instance = await externalServer();
    // The real clock: the first ping looks back a day from now, against the server's lastUpdated.
    service = await startTestService({ FHIR_BASE_URL: instance.fhirBaseUrl, WEBHOOK_SECRET: SECRET }, () => new Date());
  });
  afterAll(async () => {
    await service.close();
    await instance.close();
  });

  const ping = () => request(service.app).post(RECEIVER).set('Authorization', `Bearer ${SECRET}`);

  it('searches for the responses updated since the last one seen, triages the completed ones, and remembers where it got to', async () => {
    const first = await storeOnServer(instance, responseFor('Patient/ping-1', { 'pain-worsening': true }));
    const second = await storeOnServer(instance, responseFor('Patient/ping-2', { 'pain-score': 8 }));
    await storeOnServer(instance, responseFor('Patient/ping-in-progress', { 'pain-worsening': true }, { status: 'in-progress' }));
    await storeOnServer(
      instance,
      responseFor('Patient/ping-knee', { 'pain-worsening': true }, { questionnaire: 'https://example.org/Questionnaire/knee-pain' })
    );

    const res = await ping();
    expect(res.status).toBe(200);
    expect(texts(res.body)).toEqual([`QuestionnaireResponse/${first.id}: triaged: urgent`, `QuestionnaireResponse/${second.id}: triaged: gp`]);
    expect(countsOf(await recordOf(instance.service.store, 'Patient/ping-1'))).toEqual(URGENT);
    expect(countsOf(await recordOf(instance.service.store, 'Patient/ping-in-progress'))).toEqual(NOTHING);
    expect(countsOf(await recordOf(instance.service.store, 'Patient/ping-knee'))).toEqual(NOTHING);

    // The mark moved past both: the next ping sees only what is new.
    const third = await storeOnServer(instance, responseFor('Patient/ping-3', { 'pain-worsening': true }));
    const next = await ping();
    expect(texts(next.body)).toEqual([`QuestionnaireResponse/${third.id}: triaged: urgent`]);
    const idle = await ping();
    expect(texts(idle.body)).toEqual(['ping: acknowledged']);
  });
});

describe('WEBHOOK_SECRET itself', () => {
  it.each([
    ['too short', 'short-secret'],
    ['with a space (it travels in an HTTP header)', 'a secret with spaces in it'],
  ])('%s: the service does not start, and says why', (_name, secret) => {
    expect(() => loadConfig({ WEBHOOK_SECRET: secret }, ROOT)).toThrow('WEBHOOK_SECRET must be at least 16 printable characters without spaces');
  });
});

describe('Subscription receiver: WEBHOOK_SECRET unset', () => {
  it.each([
    ['refuses every notification', {}, 401],
    ['with ALLOW_INSECURE=true, takes them unauthenticated (a local demo)', { ALLOW_INSECURE: 'true' }, 200],
  ])('%s', async (_name, env, status) => {
    const service = await startTestService(env);
    try {
      const res = await request(service.app)
        .post(RECEIVER)
        .set('Authorization', 'Bearer anything-at-all-0123456')
        .set('Content-Type', 'application/fhir+json')
        .send(JSON.stringify(notificationFixture('r5-heartbeat')));
      expect(res.status).toBe(status);
    } finally {
      await service.close();
    }
  });
});

describe('Subscription receiver in embedded mode', () => {
  it('reads the focus from the embedded store: a response intake has already triaged is not triaged again', async () => {
    const service = await startTestService({ WEBHOOK_SECRET: SECRET });
    try {
      const subject = 'Patient/webhook-embedded';
      const created = await request(service.app)
        .post('/fhir/QuestionnaireResponse')
        .set('Content-Type', 'application/fhir+json')
        .send(JSON.stringify(responseFor(subject, { 'pain-worsening': true })));
      expect(created.status).toBe(201);
      await service.intake.idle();
      const id = (created.body as QuestionnaireResponse).id ?? '';
      const res = await request(service.app)
        .post(RECEIVER)
        .set('Authorization', `Bearer ${SECRET}`)
        .set('Content-Type', 'application/fhir+json')
        .send(JSON.stringify(notificationFixture('r5-event-notification', { focus: `QuestionnaireResponse/${id}`, eventNumber: '1' })));
      expect(res.status).toBe(200);
      expect(texts(res.body)).toEqual([`QuestionnaireResponse/${id}: ignored (already-triaged)`]);
      expect(countsOf(await recordOf(service.store, subject))).toEqual(URGENT);
    } finally {
      await service.close();
    }
  });
});
