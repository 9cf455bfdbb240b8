import type { AuditEvent, RiskAssessment } from '@medplum/fhirtypes';
import express from 'express';
import pino from 'pino';
import request from 'supertest';
import { loadRouting, type Service } from '../../src/composeService';
import { loadConfig } from '../../src/config';
import { staffGateFromConfig } from '../../src/dashboard/staffGate';
import { loadReviewStates, renderReviewCell } from '../../src/review/queueReviewForm';
import { QueueReviewCsrf, queueReviewRoutes } from '../../src/review/queueReviewRoutes';
import { ROOT } from '../support/responses';
import { startTestService } from '../support/testService';
import { readBack, search, triageRule } from './reviewFixtures';

const DISPOSITIONS = [
  { code: 'emergency', display: 'Emergency' },
  { code: 'urgent', display: 'Urgent (today)' },
  { code: 'gp', display: 'See a GP' },
  { code: 'physio', display: 'Physiotherapy' },
  { code: 'self-care', display: 'Self-care' },
];

/** The hidden inputs of the rendered row form, as a browser would post them. */
function hiddenInputs(markup: string): Record<string, string> {
  return Object.fromEntries([...markup.matchAll(/<input type="hidden" name="([a-z]+)" value="([^"]*)">/g)].map((m) => [m[1] as string, m[2] as string]));
}

describe('/queue row review forms (the seam: loadReviewStates, renderReviewCell, POST /queue/review/{id})', () => {
  let service: Service;
  beforeAll(async () => {
    // Auth off: the queue is loopback-only and supertest connects over loopback.
    service = await startTestService();
  });
  afterAll(async () => {
    await service.close();
  });

  it('an open row renders labelled Confirm and Override controls with a CSRF token; a token under another key is refused (403), nothing written', async () => {
    const risk = await triageRule(service.app, 'G3', 'p-row-confirm');
    const states = await loadReviewStates(service.store, [risk.id]);
    const state = states.get(risk.id);
    expect(state?.state).toBe('open');
    // Without SESSION_SECRET the service keys its CSRF tokens with a random key of its own: a token made elsewhere never passes.
    const csrf = new QueueReviewCsrf(undefined);
    const cell = renderReviewCell({
      state: state as NonNullable<typeof state>,
      csrfToken: csrf.tokenFor(undefined),
      dispositions: DISPOSITIONS,
      askReviewer: true,
    }).text;
    expect(cell).toContain('<label for="disposition-');
    expect(cell).toContain('Confirm triage');
    // A token from another key is refused (the service's key is its own).
    const refused = await request(service.app)
      .post(`/queue/review/${risk.id}`)
      .type('form')
      .send({ ...hiddenInputs(cell), decision: 'confirm', reviewer: 'dr-row' });
    expect(refused.status).toBe(403);
    expect(await search<AuditEvent>(service.app, `AuditEvent?entity=RiskAssessment/${risk.id}`)).toHaveLength(0);
  });

  it('with the service CSRF key: confirm and override through the form, marks in place, a stale form gets 409, another origin 403', async () => {
    const config = loadConfig({ DATA_DIR: ':memory:' }, ROOT);
    const csrf = new QueueReviewCsrf('a-session-secret-of-at-least-32-characters');
    const app = express().use(
      queueReviewRoutes(
        {
          store: service.store,
          content: service.content,
          routing: loadRouting(config),
          clock: () => new Date('2026-11-20T12:30:00Z'),
          timeZone: 'Europe/London',
          logger: pino({ level: 'silent' }),
          staff: staffGateFromConfig(config),
          sessionSecret: undefined,
          issuer: undefined,
        },
        csrf
      )
    );
    const token = csrf.tokenFor(undefined);

    const confirmRisk = await triageRule(service.app, 'G3', 'p-row-a');
    const confirmState = (await loadReviewStates(service.store, [confirmRisk.id])).get(confirmRisk.id);
    const confirmed = await request(app)
      .post(`/queue/review/${confirmRisk.id}`)
      .type('form')
      .send({ csrf: token, version: confirmState?.versionId, decision: 'confirm', reviewer: 'dr-row' });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.location).toBe(`/queue#review-${confirmRisk.id}`);

    const overrideRisk = await triageRule(service.app, 'P1', 'p-row-b');
    const overrideState = (await loadReviewStates(service.store, [overrideRisk.id])).get(overrideRisk.id);
    const form = {
      csrf: token,
      version: overrideState?.versionId,
      decision: 'override',
      disposition: 'gp',
      reason: 'clinical-history',
      reasonText: 'Known inflammatory arthritis.',
      reviewer: 'dr-row',
    };
    expect((await request(app).post(`/queue/review/${overrideRisk.id}`).set('Origin', 'https://evil.example').type('form').send(form)).status).toBe(403);
    expect((await request(app).post(`/queue/review/${overrideRisk.id}`).type('form').send(form)).status).toBe(303);
    const stale = await request(app)
      .post(`/queue/review/${overrideRisk.id}`)
      .type('form')
      .send({ ...form, disposition: 'urgent' });
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('Changed meanwhile');

    const states = await loadReviewStates(service.store, [confirmRisk.id, overrideRisk.id]);
    expect(states.get(confirmRisk.id)?.state).toBe('confirmed');
    expect(states.get(overrideRisk.id)).toMatchObject({ state: 'overridden', overriddenTo: 'gp' });
    const marks = [...states.values()]
      .map((state) => renderReviewCell({ state, csrfToken: token, dispositions: DISPOSITIONS, askReviewer: true }).text)
      .join('\n');
    expect(marks).toContain('<strong>Confirmed</strong> by a clinician.');
    expect(marks).toContain('<strong>Overridden</strong> to See a GP by a clinician.');
    expect((await readBack<RiskAssessment>(service.app, `RiskAssessment/${overrideRisk.id}`)).status).toBe('amended');
  });
});
