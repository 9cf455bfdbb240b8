import type { Bundle, BundleEntry, QuestionnaireResponse, RiskAssessment } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { SESSION_COOKIE } from '../../src/queue/queueRoutes';
import { CookieSigner } from '../../src/queue/staffSession';
import { loadWorkQueue, QUEUE_TASK_LIMIT } from '../../src/queue/workQueue';
import { ruleFixture } from '../queue/queueFixtures';
import { startSecuredService } from './securedService';
import { startTokenIssuer, type TokenIssuer } from './tokenIssuer';

/**
 * Issue 19, "one caller can hide emergencies from the queue": a clinic system (or a stolen
 * token) floods the service with invalid completed responses, each of which makes a review
 * Task; a kiosk then submits an emergency. The emergency must be triaged and its Tasks on
 * the first page of /queue, whatever the flood left in the store; and the flood itself is
 * bounded per caller.
 */
const ISSUER = 'https://auth.hip-triage.test';
const AUDIENCE = 'hip-triage-api';
const SESSION_SECRET = 'a-session-secret-of-at-least-32-characters';
const QUESTIONNAIRE = 'https://fhir.hip-triage.example.org/Questionnaire/hip-pain-triage|1.0.0';
/** More than one page of the queue, so the page must choose what to leave out. */
const FLOOD = QUEUE_TASK_LIMIT + 100;
const PER_TRANSACTION = 100;

/** Completed, but with no answers: invalid, so intake makes a routine review Task for each. */
function invalidResponse(n: number): QuestionnaireResponse {
  return {
    resourceType: 'QuestionnaireResponse',
    status: 'completed',
    questionnaire: QUESTIONNAIRE,
    subject: { reference: `Patient/flood-${n}` },
    authored: '2026-11-20T10:00:00Z',
  };
}

function transactionOf(responses: QuestionnaireResponse[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: responses.map((resource): BundleEntry => ({ resource, request: { method: 'POST', url: 'QuestionnaireResponse' } })),
  };
}

describe('a flood of invalid responses from one caller', () => {
  let issuer: TokenIssuer;
  let service: Service;
  let flooder: string;
  let kiosk: string;

  beforeAll(async () => {
    issuer = await startTokenIssuer(ISSUER, AUDIENCE);
    service = await startSecuredService({
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URI: issuer.jwksUri,
      STAFF_CLIENT_ID: 'queue',
      STAFF_CLIENT_SECRET: 'queue-secret',
      SESSION_SECRET,
      RATE_LIMIT_PER_MINUTE: '0',
      RESPONSE_LIMIT_PER_MINUTE: String(FLOOD),
      RESPONSE_LIMIT_PER_TRANSACTION: String(PER_TRANSACTION),
      LOG_LEVEL: 'warn',
    });
    flooder = await issuer.sign({ sub: 'clinic-system', scope: 'system/*.cruds' });
    kiosk = await issuer.sign({ sub: 'kiosk-7', scope: 'system/*.cruds' });
  });
  afterAll(async () => {
    await service.close();
    await issuer.close();
  });

  const post = (token: string, path: string, body: unknown) =>
    request(service.app).post(path).set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/fhir+json').send(JSON.stringify(body));

  it(`after ${FLOOD} invalid responses, a kiosk emergency is triaged and its Tasks lead the first page of /queue`, async () => {
    for (let start = 0; start < FLOOD; start += PER_TRANSACTION) {
      const batch = Array.from({ length: PER_TRANSACTION }, (_, i) => invalidResponse(start + i));
      await post(flooder, '/fhir', transactionOf(batch)).expect(200);
    }

    const triage = await post(kiosk, '/fhir/QuestionnaireResponse/$triage', ruleFixture('E1')).expect(200);
    const risk = ((triage.body as Bundle).entry ?? []).map((e) => e.resource).find((r): r is RiskAssessment => r?.resourceType === 'RiskAssessment');
    expect(risk?.prediction?.[0]?.outcome?.coding?.[0]?.code).toBe('emergency');
    await service.intake.idle();

    const queue = await loadWorkQueue(service.store);
    const shown = queue.services.flatMap((s) => s.items);
    expect(shown).toHaveLength(QUEUE_TASK_LIMIT);
    const emergency = shown.filter((i) => i.rules.includes('E1'));
    expect(emergency.length).toBeGreaterThanOrEqual(2); // the referral and the duty clinician's safety net
    expect(emergency.every((i) => i.priority === 'stat')).toBe(true);
    // Exactly what is left out, and only routine review work is.
    const openTasks = await service.store.searchResources('Task', { status: 'requested,accepted,in-progress', _count: '5000' });
    expect(openTasks.length).toBeGreaterThanOrEqual(FLOOD);
    expect(queue.notShown).toEqual({
      total: openTasks.length - QUEUE_TASK_LIMIT,
      byPriority: { stat: 0, asap: 0, urgent: 0, routine: openTasks.length - QUEUE_TASK_LIMIT },
      exact: true,
    });

    // The page a clinician sees: the emergency is in the first service's rows, and the page says how many are not shown.
    const cookie = new CookieSigner(SESSION_SECRET).sign({
      purpose: 'session',
      sid: 'flood-test-session',
      sub: 'nurse-1',
      name: 'A Nurse',
      exp: Date.now() + 3_600_000,
    });
    const page = await request(service.app).get('/queue').set('Cookie', `${SESSION_COOKIE}=${cookie}`).expect(200);
    const firstSection = page.text.slice(page.text.indexOf('<section'), page.text.indexOf('</section>'));
    expect(firstSection).toContain('E1');
    expect(page.text).toContain(`data-not-shown="${openTasks.length - QUEUE_TASK_LIMIT}"`);
  });
});

describe('per-caller response limits (RESPONSE_LIMIT_PER_MINUTE, RESPONSE_LIMIT_PER_TRANSACTION)', () => {
  let issuer: TokenIssuer;
  let service: Service;
  beforeAll(async () => {
    issuer = await startTokenIssuer(ISSUER, AUDIENCE);
    service = await startSecuredService({
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URI: issuer.jwksUri,
      RATE_LIMIT_PER_MINUTE: '0',
      RESPONSE_LIMIT_PER_MINUTE: '5',
      RESPONSE_LIMIT_PER_TRANSACTION: '3',
      LOG_LEVEL: 'warn',
    });
  });
  afterAll(async () => {
    await service.close();
    await issuer.close();
  });

  const post = (token: string, path: string, body: unknown) =>
    request(service.app).post(path).set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/fhir+json').send(JSON.stringify(body));
  const storedFor = async (prefix: string) =>
    (await service.store.searchResources<QuestionnaireResponse>('QuestionnaireResponse', { _count: '1000' })).filter((r) =>
      r.subject?.reference?.startsWith(`Patient/${prefix}`)
    ).length;

  it('a Bundle with more responses than one request may carry: 413 with an OperationOutcome, nothing written', async () => {
    const token = await issuer.sign({ sub: 'bulk-sender', scope: 'system/*.cruds' });
    const res = await post(
      token,
      '/fhir',
      transactionOf([0, 1, 2, 3].map((n) => ({ ...invalidResponse(n), subject: { reference: `Patient/bulk-${n}` } })))
    ).expect(413);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].code).toBe('too-costly');
    expect(await storedFor('bulk-')).toBe(0);
  });

  it('past the per-minute budget: 429 with Retry-After and an OperationOutcome, nothing written; another caller is not affected', async () => {
    const greedy = await issuer.sign({ sub: 'greedy', scope: 'system/*.cruds' });
    const other = await issuer.sign({ sub: 'other-clinic', scope: 'system/*.cruds' });
    const response = (n: number) => ({ ...invalidResponse(n), subject: { reference: `Patient/greedy-${n}` } });
    await post(greedy, '/fhir', transactionOf([response(0), response(1), response(2)])).expect(200);
    await post(greedy, '/fhir/QuestionnaireResponse', response(3)).expect(201);
    // Two left in the budget: a Bundle of three is refused whole, not partly written.
    const refused = await post(greedy, '/fhir', transactionOf([response(4), response(5), response(6)])).expect(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'throttled' }] });
    await post(greedy, '/fhir/QuestionnaireResponse', response(7)).expect(201);
    const last = await post(greedy, '/fhir/QuestionnaireResponse/$triage', ruleFixture('S1')).expect(429);
    expect(Number(last.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await post(greedy, '/fhir/QuestionnaireResponse', response(8)).expect(429);
    expect(await storedFor('greedy-')).toBe(5);
    await post(other, '/fhir/QuestionnaireResponse/$triage', ruleFixture('E1')).expect(200);
  });

  it('reads and searches are not counted', async () => {
    const reader = await issuer.sign({ sub: 'reader', scope: 'system/*.cruds' });
    for (let i = 0; i < 8; i++) {
      await request(service.app).get('/fhir/QuestionnaireResponse?_count=1').set('Authorization', `Bearer ${reader}`).expect(200);
    }
  });
});
