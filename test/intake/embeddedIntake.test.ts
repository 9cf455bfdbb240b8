import type { Bundle, OperationOutcome, QuestionnaireResponse, Task } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import type { CommittedChange, EmbeddedStore } from '../../src/fhir/embedded/embeddedStore';
import { TRIAGE_TASK_SYSTEM } from '../../src/intake/reviewTask';
import { type LogCapture, startTestService } from '../support/testService';
import { countsOf, createThroughFhir, dispositionOf, recordOf, responseFor, taskCode, updateThroughFhir, withoutItem } from './intakeFixtures';

/**
 * Embedded mode: a response stored through `/fhir` is triaged by itself, after the write is
 * durable, and everything is read back from the store by search. The store is the double.
 */
let service: Service & { logs: LogCapture };
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service.close();
});

const app = () => service.app;
const settle = () => service.intake.idle();

describe('a response stored through /fhir', () => {
  it('completed: gets its RiskAssessment, CarePlan, GuidanceResponse, ServiceRequest and Task', async () => {
    const subject = 'Patient/intake-completed';
    const stored = await createThroughFhir(app(), responseFor(subject, { 'pain-worsening': true }));
    await settle();
    const record = await recordOf(service.store, subject);
    // urgent: the referral Task and the duty clinician's safety-net Task
    expect(countsOf(record)).toEqual({ responses: 1, risks: 1, carePlans: 1, guidance: 1, requests: 1, tasks: 2 });
    expect(dispositionOf(record.risks[0])).toBe('urgent');
    expect(record.risks[0]?.basis).toEqual([{ reference: `QuestionnaireResponse/${stored.id}` }]);
    expect(record.tasks.map((t) => [t.status, t.priority])).toEqual([
      ['requested', 'asap'],
      ['requested', 'asap'],
    ]);
    // The response is the client's: intake references it and does not rewrite it.
    expect(record.responses[0]?.meta?.versionId).toBe(stored.meta?.versionId);
  });

  it.each([['in-progress'], ['stopped']] as const)('%s: stored and left alone', async (status) => {
    const subject = `Patient/intake-${status}`;
    await createThroughFhir(app(), responseFor(subject, { 'cannot-weight-bear': true }, { status }));
    await settle();
    expect(countsOf(await recordOf(service.store, subject))).toEqual({ responses: 1, risks: 0, carePlans: 0, guidance: 0, requests: 0, tasks: 0 });
  });

  it('for another Questionnaire: stored and left alone', async () => {
    const subject = 'Patient/intake-other-questionnaire';
    await createThroughFhir(
      app(),
      responseFor(subject, { 'cannot-weight-bear': true }, { questionnaire: 'https://example.org/Questionnaire/knee-pain|1.0.0' })
    );
    await settle();
    expect(countsOf(await recordOf(service.store, subject))).toEqual({ responses: 1, risks: 0, carePlans: 0, guidance: 0, requests: 0, tasks: 0 });
  });

  it('inside a transaction and a batch: each response is triaged', async () => {
    const subjects = ['Patient/intake-in-transaction', 'Patient/intake-in-batch'];
    for (const [type, subject] of [
      ['transaction', subjects[0]],
      ['batch', subjects[1]],
    ] as const) {
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type,
        entry: [{ resource: responseFor(subject ?? '', { 'pain-worsening': true }), request: { method: 'POST', url: 'QuestionnaireResponse' } }],
      };
      const res = await request(app()).post('/fhir').set('Content-Type', 'application/fhir+json').send(JSON.stringify(bundle));
      expect([type, res.status]).toEqual([type, 200]);
    }
    await settle();
    for (const subject of subjects) {
      expect([subject, dispositionOf((await recordOf(service.store, subject)).risks[0])]).toEqual([subject, 'urgent']);
    }
  });

  it('triaged through $triage first: not triaged again, and $triage’s own stored response is skipped by its tag', async () => {
    const subject = 'Patient/intake-after-triage';
    const response = responseFor(subject, { 'pain-worsening': true });
    const triaged = await request(app())
      .post('/fhir/QuestionnaireResponse/$triage')
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(response));
    expect(triaged.status).toBe(200);
    await settle();
    const ownResponseId = ((triaged.body as Bundle).entry ?? []).find((e) => e.resource?.resourceType === 'QuestionnaireResponse')?.resource?.id;
    const skipped = service.logs.lines
      .map((line) => JSON.parse(line) as { msg: string; responseId?: string; reason?: string })
      .find((l) => l.msg === 'intake' && l.responseId === ownResponseId);
    expect(skipped?.reason).toBe('own-write-back');

    // The same content again, stored by a client under a new id: the idempotency key finds the results.
    await createThroughFhir(app(), response);
    await settle();
    expect(countsOf(await recordOf(service.store, subject))).toEqual({ responses: 2, risks: 1, carePlans: 1, guidance: 1, requests: 1, tasks: 2 });
  });
});

describe('an invalid completed response', () => {
  it.each([
    ['an emergency red flag (E1)', { 'cannot-weight-bear': true }, 'stat', 'emergency'],
    ['an urgent red flag (U6)', { 'pain-worsening': true }, 'asap', 'urgent'],
    ['no red flag', {}, 'routine', undefined],
  ] as const)(
    'with %s: stays as sent, and gets ONE review Task of that priority with the validation outcome contained',
    async (_name, changes, priority, redFlag) => {
      const subject = `Patient/intake-invalid-${priority}`;
      const invalid = withoutItem(responseFor(subject, changes), 'pain-score');
      const stored = await createThroughFhir(app(), invalid);
      await settle();
      // A second save of the same content (a retrying kiosk) adds nothing.
      await updateThroughFhir(app(), { ...stored, meta: undefined } as QuestionnaireResponse & { id: string });
      await settle();

      const record = await recordOf(service.store, subject);
      expect(countsOf(record)).toEqual({ responses: 1, risks: 0, carePlans: 0, guidance: 0, requests: 0, tasks: 1 });
      expect(record.responses[0]?.item).toEqual(invalid.item);
      const task = record.tasks[0] as Task;
      expect(task).toMatchObject({
        status: 'requested',
        intent: 'order',
        priority,
        code: { coding: [{ system: TRIAGE_TASK_SYSTEM, code: 'review-response' }] },
        focus: { reference: `QuestionnaireResponse/${stored.id}` },
        for: { reference: subject },
        owner: { reference: 'HealthcareService/hip-triage-duty-clinician' },
        input: [{ type: { text: 'Validation outcome' }, valueReference: { reference: '#outcome' } }],
      });
      const outcome = task.contained?.[0] as OperationOutcome;
      expect(outcome.id).toBe('outcome');
      expect(outcome.issue?.some((i) => i.severity === 'error' && i.diagnostics === 'linkId=pain-score')).toBe(true);
      if (redFlag) {
        expect([outcome.issue?.[0]?.severity, outcome.issue?.[0]?.details?.coding?.[0]?.code]).toEqual(['information', redFlag]);
        expect(task.description).toContain(`already show ${redFlag}`);
        expect(task.restriction?.period?.end).toBeDefined();
      } else {
        expect(outcome.issue?.some((i) => i.severity === 'information')).toBe(false);
      }
      // Work-queue text: rule ids and codes, never answers or the patient.
      expect(task.description).not.toMatch(/intake-invalid|pain-score|Patient\//);
    }
  );
});

describe('status changes', () => {
  it('entered-in-error retracts every result and cancels the open Tasks, in one go', async () => {
    const subject = 'Patient/intake-entered-in-error';
    const stored = await createThroughFhir(app(), responseFor(subject, { 'cannot-weight-bear': true }));
    await settle();
    const before = await recordOf(service.store, subject);
    expect(countsOf(before)).toEqual({ responses: 1, risks: 1, carePlans: 1, guidance: 1, requests: 1, tasks: 2 });

    await updateThroughFhir(app(), { ...stored, status: 'entered-in-error' });
    await settle();
    const after = await recordOf(service.store, subject);
    expect(countsOf(after)).toEqual(countsOf(before));
    expect([...after.risks, ...after.carePlans, ...after.guidance, ...after.requests].map((r) => `${r.resourceType} ${r.status}`).sort()).toEqual([
      'CarePlan entered-in-error',
      'GuidanceResponse entered-in-error',
      'RiskAssessment entered-in-error',
      'ServiceRequest entered-in-error',
    ]);
    for (const task of after.tasks) {
      expect([task.status, task.statusReason?.text]).toEqual(['cancelled', 'The QuestionnaireResponse this Task came from was marked entered-in-error.']);
    }
  });

  it('an amendment with new answers is triaged again and supersedes the earlier results in the same transaction', async () => {
    const subject = 'Patient/intake-amended-up';
    const stored = await createThroughFhir(app(), responseFor(subject, { 'pain-score': 8 }));
    await settle();
    const gp = await recordOf(service.store, subject);
    expect(dispositionOf(gp.risks[0])).toBe('gp');

    const commits: CommittedChange[][] = [];
    const stopListening = (service.store as EmbeddedStore).onCommitted((changes) => commits.push([...changes]));
    await updateThroughFhir(app(), { ...responseFor(subject, { 'pain-score': 8, 'pain-worsening': true }, { status: 'amended' }), id: stored.id });
    await settle();
    stopListening();
    const after = await recordOf(service.store, subject);
    const earlier = (id: string | undefined) => (r: { id?: string }) => r.id === id;
    expect(after.risks.find(earlier(gp.risks[0]?.id))?.status).toBe('amended');
    expect(after.risks.find(earlier(gp.risks[0]?.id))?.note?.at(-1)?.text).toMatch(/^Superseded on .*amended and triaged again/);
    expect(after.carePlans.find(earlier(gp.carePlans[0]?.id))?.status).toBe('revoked');
    expect(after.requests.find(earlier(gp.requests[0]?.id))?.status).toBe('revoked');
    const oldTask = after.tasks.find(earlier(gp.tasks[0]?.id));
    expect([oldTask?.status, oldTask?.statusReason?.text]).toEqual(['cancelled', 'Superseded: the QuestionnaireResponse was amended and triaged again.']);

    const current = after.risks.filter((r) => r.status === 'final');
    expect(current.map(dispositionOf)).toEqual(['urgent']);
    expect(after.tasks.filter((t) => t.status === 'requested').map((t) => t.priority)).toEqual(['asap', 'asap']);
    // One commit (one transaction): the amended response's, then the new results with every supersession.
    const newRisk = after.risks.find((r) => r.status === 'final')?.id;
    const writeBack = commits.find((changes) => changes.some((c) => c.resourceType === 'RiskAssessment' && c.id === newRisk));
    expect(commits).toHaveLength(2);
    expect(writeBack?.filter((c) => [gp.risks[0]?.id, gp.carePlans[0]?.id, gp.requests[0]?.id, gp.tasks[0]?.id].includes(c.id))).toHaveLength(4);
  });

  it('a downgrade leaves the urgent Tasks open and asks a clinician to review, at their priority', async () => {
    const subject = 'Patient/intake-downgrade';
    const stored = await createThroughFhir(app(), responseFor(subject, { 'pain-worsening': true }));
    await settle();
    const urgent = await recordOf(service.store, subject);
    expect(urgent.tasks.map((t) => t.priority)).toEqual(['asap', 'asap']);

    await updateThroughFhir(app(), { ...responseFor(subject, {}, { status: 'amended' }), id: stored.id });
    await settle();
    const after = await recordOf(service.store, subject);
    expect(after.risks.filter((r) => r.status === 'final').map(dispositionOf)).toEqual(['self-care']);
    for (const task of urgent.tasks) {
      expect(after.tasks.find((t) => t.id === task.id)?.status).toBe('requested');
    }
    // The referral those Tasks act on stays in force with them.
    expect(after.requests.find((r) => r.id === urgent.requests[0]?.id)?.status).toBe('active');
    expect(after.carePlans.find((c) => c.id === urgent.carePlans[0]?.id)?.status).toBe('revoked');
    const reviews = after.tasks.filter((t) => taskCode(t) === 'review-downgrade');
    expect(reviews).toHaveLength(1);
    expect(reviews[0]).toMatchObject({
      status: 'requested',
      priority: 'asap',
      focus: { reference: `QuestionnaireResponse/${stored.id}` },
      owner: { reference: 'HealthcareService/hip-triage-duty-clinician' },
    });
    expect(
      reviews[0]?.input
        ?.filter((i) => i.type?.text === 'Open Task of the earlier triage, left open')
        .map((i) => i.valueReference?.reference)
        .sort()
    ).toEqual(urgent.tasks.map((t) => `Task/${t.id ?? ''}`).sort());
    expect(reviews[0]?.input?.find((i) => i.type?.text === 'New RiskAssessment')?.valueReference?.reference).toBe(
      `RiskAssessment/${after.risks.find((r) => r.status === 'final')?.id ?? ''}`
    );
    expect(reviews[0]?.description).toMatch(/triaged again as self-care .*2 open Tasks of the earlier, more urgent triage \(urgent\) were left open/);

    // Delivered again (the same content re-saved): nothing more.
    const counts = countsOf(after);
    await updateThroughFhir(app(), { ...responseFor(subject, {}, { status: 'amended' }), id: stored.id });
    await settle();
    expect(countsOf(await recordOf(service.store, subject))).toEqual(counts);
  });

  it.each([
    ['completed', 'PUT'],
    ['accepted', 'PATCH'],
  ] as const)('staff marking a Task %s (%s through /fhir) triggers nothing', async (status, method) => {
    const subject = `Patient/intake-task-${status}`;
    await createThroughFhir(app(), responseFor(subject, { 'pain-score': 8 }));
    await settle();
    const before = await recordOf(service.store, subject);
    const task = before.tasks[0] as Task & { id: string };
    const res =
      method === 'PUT'
        ? await request(app())
            .put(`/fhir/Task/${task.id}`)
            .set('Content-Type', 'application/fhir+json')
            .send(JSON.stringify({ ...task, status }))
        : await request(app())
            .patch(`/fhir/Task/${task.id}`)
            .set('Content-Type', 'application/json-patch+json')
            .send(JSON.stringify([{ op: 'replace', path: '/status', value: status }]));
    expect(res.status).toBe(200);
    await settle();
    const after = await recordOf(service.store, subject);
    expect(countsOf(after)).toEqual(countsOf(before));
    expect(after.tasks.find((t) => t.id === task.id)?.status).toBe(status);
    expect(after.risks.map((r) => r.meta?.versionId)).toEqual(before.risks.map((r) => r.meta?.versionId));
  });
});
