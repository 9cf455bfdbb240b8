import type { AuditEvent, Parameters, Practitioner, RiskAssessment } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import type { FhirStore } from '../../src/fhir/fhirStore';
import { loadReviewStates } from '../../src/review/queueReviewStates';
import { startTestService } from '../support/testService';
import { reviewBlock, rowForms, spoken } from './queueRows';
import { confirmBody, overrideBody, parameter, readBack, review, search, triageRule } from './reviewFixtures';

/** Counts the searches made through the port: how many one page load costs. */
function countingStore(store: FhirStore): { store: FhirStore; searches: () => number } {
  let searches = 0;
  return {
    store: {
      ...store,
      searchResources: (type, query, options) => {
        searches += 1;
        return store.searchResources(type, query, options);
      },
    } as FhirStore,
    searches: () => searches,
  };
}

describe('/queue marks each row with its review (auth off: loopback, the form names the reviewer)', () => {
  let service: Service;
  const queue = async () => {
    const res = await request(service.app).get('/queue');
    expect(res.status).toBe(200);
    return res.text;
  };
  beforeAll(async () => {
    service = await startTestService({ SESSION_SECRET: 'a-session-secret-of-at-least-32-characters!' });
    const practitioner: Practitioner = { resourceType: 'Practitioner', id: 'dr-row', name: [{ prefix: ['Dr'], given: ['Rowena'], family: 'Reviewer' }] };
    await request(service.app).put('/fhir/Practitioner/dr-row').set('Content-Type', 'application/fhir+json').send(JSON.stringify(practitioner)).expect(200);
  });
  afterAll(async () => {
    await service.close();
  });

  it('confirm: the row then says who confirmed it and when, and offers Override but not Confirm again', async () => {
    const risk = await triageRule(service.app, 'G3', 'p-row-confirm');
    const before = reviewBlock(await queue(), risk.id);
    expect(spoken(before)).not.toMatch(/Confirmed|Overridden/);
    const confirm = rowForms(before).get('confirm');
    expect(confirm?.action).toBe(`/queue/review/${risk.id}`);

    const posted = await request(service.app)
      .post(confirm?.action ?? '')
      .type('form')
      .send({ ...confirm?.fields, reviewer: 'dr-row' });
    expect(posted.status).toBe(303);
    expect(posted.headers.location).toBe(`/queue#review-${risk.id}`);

    const after = reviewBlock(await queue(), risk.id);
    expect(spoken(after)).toBe('Confirmed by Dr Rowena Reviewer on Fri, 20 Nov 2026, 12:00 GMT .');
    expect(after).toContain('<time datetime="2026-11-20T12:00:00.000Z">');
    expect([...rowForms(after).keys()]).toEqual(['override']);
    expect(after).toContain('<summary>Override triage</summary>');
    // The mark comes from what the store holds: the review's AuditEvent names the same reviewer.
    const [audit] = await search<AuditEvent>(service.app, `AuditEvent?entity=RiskAssessment/${risk.id}`);
    expect(audit?.agent?.[0]?.who?.reference).toBe('Practitioner/dr-row');
  });

  it("override: the old row leaves the queue, the new referral's row says old → new, by whom and why, and can be overridden again", async () => {
    const risk = await triageRule(service.app, 'P1', 'p-row-override');
    const override = rowForms(reviewBlock(await queue(), risk.id)).get('override');
    const form = { ...override?.fields, disposition: 'gp', reason: 'clinical-history', reasonText: 'Known inflammatory arthritis.', reviewer: 'dr-row' };
    expect(
      (
        await request(service.app)
          .post(override?.action ?? '')
          .set('Origin', 'https://evil.example')
          .type('form')
          .send(form)
      ).status
    ).toBe(403);
    expect(
      (
        await request(service.app)
          .post(override?.action ?? '')
          .type('form')
          .send({ ...form, csrf: 'forged' })
      ).status
    ).toBe(403);
    const posted = await request(service.app)
      .post(override?.action ?? '')
      .type('form')
      .send(form);
    expect(posted.status).toBe(303);
    const successorId = /^\/queue#review-(.+)$/.exec(posted.headers.location ?? '')?.[1] ?? '';
    expect(successorId).not.toBe(risk.id);
    const successor = await readBack<RiskAssessment>(service.app, `RiskAssessment/${successorId}`);
    expect(successor.basis?.[0]?.reference).toMatch(new RegExp(`^RiskAssessment/${risk.id}/_history/`));
    expect(successor.performer?.reference).toBe('Practitioner/dr-row');
    // The same form again is stale: someone (here, the same clinician) changed the triage since.
    const stale = await request(service.app)
      .post(override?.action ?? '')
      .type('form')
      .send({ ...form, disposition: 'urgent' });
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('Changed meanwhile');

    const page = await queue();
    expect(reviewBlock(page, risk.id)).toBe('');
    const row = reviewBlock(page, successorId);
    expect(spoken(row)).toBe(
      'Overridden: Physiotherapy changed to See a GP by Dr Rowena Reviewer on Fri, 20 Nov 2026, 12:00 GMT , reason: Clinical history known to the clinician; Known inflammatory arthritis.'
    );
    expect(row).toContain('<span aria-hidden="true">→</span>');
    // A clinician's override is not confirmed again; it can be changed again.
    expect([...rowForms(row).keys()]).toEqual(['override']);
    expect(row).toContain('<summary>Override again</summary>');
    // Its row shows the disposition in force, not the one the rules gave.
    const task = page.slice(page.lastIndexOf('<tr data-task=', page.indexOf(`id="review-${successorId}"`)), page.indexOf(`id="review-${successorId}"`));
    expect(task).toContain('<td>See a GP</td>');

    const again = rowForms(row).get('override');
    const reOverride = await request(service.app)
      .post(again?.action ?? '')
      .type('form')
      .send({ ...again?.fields, disposition: 'urgent', reason: 'examination-findings', reviewer: 'dr-row' });
    expect(reOverride.status).toBe(303);
    const thirdId = /^\/queue#review-(.+)$/.exec(reOverride.headers.location ?? '')?.[1] ?? '';
    expect(spoken(reviewBlock(await queue(), thirdId))).toMatch(
      /^Overridden: See a GP changed to Urgent.* by Dr Rowena Reviewer on .*, reason: Examination findings\.$/
    );
  });

  it('an override to a less urgent disposition: the emergency work left open says it was overridden and offers nothing; the review-downgrade row belongs to the override', async () => {
    const risk = await triageRule(service.app, 'E1', 'p-row-downgrade');
    const res = await review(service.app, risk.id, overrideBody('physio', { code: 'rule-misfired', reviewer: 'Practitioner/dr-row' })).expect(200);
    const successorId = (parameter(res.body as Parameters, 'assessment')?.valueReference?.reference ?? '').replace('RiskAssessment/', '');
    const page = await queue();
    const kept = reviewBlock(page, risk.id);
    expect(spoken(kept)).toBe(
      'Overridden: Emergency changed to Physiotherapy by Dr Rowena Reviewer on Fri, 20 Nov 2026, 12:00 GMT , reason: Rule misfired. This triage is no longer in force: this more urgent task was left open for the duty clinician to close or keep.'
    );
    expect(rowForms(kept).size).toBe(0);
    const successorRows = [...page.matchAll(new RegExp(`action="/queue/review/${successorId}"`, 'g'))];
    // The physio referral's row and the duty clinician's review-downgrade row: Override again on each.
    expect(successorRows).toHaveLength(2);
  });

  it('a triage with two rows (referral and safety net) has unique ids on the page, and one anchor', async () => {
    const risk = await triageRule(service.app, 'E1', 'p-row-two');
    const page = await queue();
    expect(page.match(new RegExp(`action="/queue/review/${risk.id}"`, 'g'))?.length).toBe(4);
    const ids = [...page.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(10);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect(ids.filter((id) => id === `review-${risk.id}`)).toHaveLength(1);
  });

  it('the review states of a page cost the same few searches for 1 reviewed row as for 6 rows', async () => {
    const ids = await Promise.all(['G3', 'P1', 'G1', 'G3', 'P1', 'G1'].map((rule, i) => triageRule(service.app, rule, `p-count-${i}`).then((r) => r.id)));
    await review(service.app, ids[0] ?? '', confirmBody('Practitioner/dr-row')).expect(200);
    const overridden = await review(service.app, ids[1] ?? '', overrideBody('gp', { text: 'Seen today.', reviewer: 'Practitioner/dr-row' })).expect(200);
    const successorId = (parameter(overridden.body as Parameters, 'assessment')?.valueReference?.reference ?? '').replace('RiskAssessment/', '');
    const rows = [successorId, ...ids.filter((_, i) => i !== 1)];
    const one = countingStore(service.store);
    await loadReviewStates(one.store, [successorId]);
    const six = countingStore(service.store);
    const states = await loadReviewStates(six.store, rows);
    expect(states.get(successorId)?.isOverride).toMatchObject({ from: 'physio', to: 'gp', reviewer: { display: 'Dr Rowena Reviewer' }, reason: 'Seen today.' });
    expect(states.get(ids[0] ?? '')?.confirmations).toHaveLength(1);
    expect(states.size).toBe(6);
    // The rows' RiskAssessments and AuditEvents, the other side of the override, the reviewers' names.
    expect([one.searches(), six.searches()]).toEqual([4, 4]);
  });
});
