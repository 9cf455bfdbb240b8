import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { REVIEW_REASON_SYSTEM } from '../../src/review/reviewTerms';
import { startTestService } from '../support/testService';
import { search, triageRule } from './reviewFixtures';

describe('CDS Hooks feedback is stored', () => {
  let service: Service;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service.close();
  });

  it('an overridden card with a coded reason becomes one AuditEvent naming the triage and its rules; resent, still one', async () => {
    const risk = await triageRule(service.app, 'G3', 'p-cds');
    const lastTriage: Bundle = { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: risk }] };
    const served = await request(service.app)
      .post('/cds-services/hip-pain-triage')
      .send({ hook: 'patient-view', hookInstance: 'hook-1', context: { userId: 'Practitioner/1', patientId: 'p-cds' }, prefetch: { lastTriage } })
      .expect(200);
    const [card] = served.body.cards;
    expect(card.overrideReasons.map((c: { code: string }) => c.code)).toContain('rule-misfired');
    const feedback = {
      feedback: [
        {
          card: card.uuid,
          outcome: 'overridden',
          outcomeTimestamp: '2026-11-20T12:05:00Z',
          overrideReasons: [{ reason: { system: REVIEW_REASON_SYSTEM, code: 'rule-misfired' }, userComment: 'Mrs X said ...' }],
        },
        { card: 'another-card', outcome: 'accepted', outcomeTimestamp: '2026-11-20T12:06:00Z' },
      ],
    };
    await request(service.app).post('/cds-services/hip-pain-triage/feedback').send(feedback).expect(200);
    await request(service.app).post('/cds-services/hip-pain-triage/feedback').send(feedback).expect(200);
    const audits = await search<AuditEvent>(service.app, 'AuditEvent?subtype=https://fhir.hip-triage.example.org/CodeSystem/review-event|cds-feedback');
    expect(audits).toHaveLength(1);
    const [audit] = audits;
    expect(audit?.entity?.[0]?.what?.reference).toBe(`RiskAssessment/${risk.id}`);
    const details = new Map((audit?.entity?.[0]?.detail ?? []).map((d) => [d.type, d.valueString]));
    expect(details.get('reason-code')).toBe('rule-misfired');
    expect(details.get('rules')).toBe('G3');
    expect(details.get('disposition-from')).toBe('gp');
    expect(JSON.stringify(audit)).not.toContain('Mrs X');
  });
});
