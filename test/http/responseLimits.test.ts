import type { Bundle, QuestionnaireResponse } from '@medplum/fhirtypes';
import express from 'express';
import request from 'supertest';
import { responseLimits, responsesIn } from '../../src/http/responseLimits';
import { outcomeErrorHandler } from '../../src/http/sendOutcome';

const QR: QuestionnaireResponse = { resourceType: 'QuestionnaireResponse', status: 'completed' };

describe('responsesIn: what counts as a QuestionnaireResponse written', () => {
  const bundle = (entry: Bundle['entry']): Bundle => ({ resourceType: 'Bundle', type: 'transaction', entry });
  const cases: [name: string, method: string, path: string, body: unknown, count: number][] = [
    ['a create', 'POST', '/QuestionnaireResponse', QR, 1],
    ['an update', 'PUT', '/QuestionnaireResponse/abc', QR, 1],
    ['a patch', 'PATCH', '/QuestionnaireResponse/abc', [], 1],
    ['$triage', 'POST', '/QuestionnaireResponse/$triage', QR, 1],
    ['$triage on a stored response', 'POST', '/QuestionnaireResponse/abc/$triage', undefined, 1],
    ['a read', 'GET', '/QuestionnaireResponse/abc', undefined, 0],
    ['a search by POST', 'POST', '/QuestionnaireResponse/_search', undefined, 0],
    ['another type', 'POST', '/Patient', { resourceType: 'Patient' }, 0],
    ['a type that only starts the same', 'POST', '/QuestionnaireResponseX', {}, 0],
    [
      'a transaction: responses by resource, by URL (PATCH, $triage), not other types',
      'POST',
      '/',
      bundle([
        { resource: QR, request: { method: 'POST', url: 'QuestionnaireResponse' } },
        { resource: QR, request: { method: 'PUT', url: 'QuestionnaireResponse/1' } },
        { request: { method: 'PATCH', url: 'QuestionnaireResponse/2' } },
        { resource: QR, request: { method: 'POST', url: '/QuestionnaireResponse/$triage' } },
        { request: { method: 'GET', url: 'QuestionnaireResponse?status=completed' } },
        { request: { method: 'POST', url: 'QuestionnaireResponse/_search' } },
        { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
      ]),
      4,
    ],
    ['a Bundle with junk entries', 'POST', '/', bundle([null, 3, { request: 'x' }] as unknown as Bundle['entry']), 0],
    ['not a Bundle at the root', 'POST', '/', QR, 0],
  ];
  it.each(cases)('%s → %i', (_name, method, path, body, count) => {
    expect(responsesIn({ method, path, body })).toBe(count);
  });
});

describe('the per-minute budget refills continuously', () => {
  let now = 1_000_000;
  const app = express()
    .use(express.json({ type: () => true }))
    .use(responseLimits({ perMinute: 6, perTransaction: 3 }, { nowMs: () => now }))
    .post('/fhir/QuestionnaireResponse', (_req, res) => {
      res.status(201).json({});
    })
    .use(outcomeErrorHandler(() => undefined));
  const send = () => request(app).post('/fhir/QuestionnaireResponse').send(QR);

  it('spends a burst, then waits exactly as long as the refill takes', async () => {
    for (let i = 0; i < 6; i++) {
      await send().expect(201);
    }
    const refused = await send().expect(429);
    // Six a minute: one comes back every 10 s.
    expect(refused.headers['retry-after']).toBe('10');
    now += 9_000;
    expect((await send().expect(429)).headers['retry-after']).toBe('1');
    now += 1_000;
    await send().expect(201);
    await send().expect(429);
    now += 60_000;
    for (let i = 0; i < 6; i++) {
      await send().expect(201);
    }
  });
});
