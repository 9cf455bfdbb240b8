import type { Bundle, BundleEntry, QuestionnaireResponse, Resource, RiskAssessment, Task } from '@medplum/fhirtypes';
import pino from 'pino';
import { type EmbeddedStore, openEmbeddedStore } from '../../src/fhir/embedded/embeddedStore';
import { isClinicianOnly, userTokenWrites } from '../../src/smart/clinicianOnlyWrites';
import { patientTokenStore } from '../../src/smart/patientTokenWriteBack';
import { buildTriageTransaction } from '../../src/triage/results/buildTriageTransaction';
import { answersWith, buildResponse } from '../support/responses';
import { scoreFixture, shippedContent, shippedRouting, TIME_ZONE } from '../triage/results/resultFixtures';

/**
 * The seam between the triage's results and the user's token: a clinician-only Task
 * (review-safeguarding, review-identity) and a clinician-facing note never go with the
 * user's token; the Task goes with the service's own credentials. The core's own builder of
 * that Task is another branch's work: the Task here is built by hand, as the contract says it
 * looks (code review-safeguarding, for the duty clinician, priority asap, focus the response).
 */
const NOW = new Date('2026-06-10T09:00:00.000Z');
const CHILD = 'child-under-2';

function logCapture(): { logger: pino.Logger; text: () => string } {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  return { logger, text: () => lines.join('') };
}

async function store(): Promise<EmbeddedStore> {
  const opened = await openEmbeddedStore({ dataDir: ':memory:', logger: pino({ level: 'silent' }) });
  await opened.executeTransaction({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        resource: { resourceType: 'Patient', id: CHILD, birthDate: '2025-09-01', name: [{ given: ['Pip'], family: 'Tiny-Example' }] },
        request: { method: 'PUT', url: `Patient/${CHILD}` },
      },
    ],
  });
  return opened;
}

/** An injured one-year-old's triage (U1, and the SG1 note), plus a hand-built review-safeguarding Task. */
function safeguardingTransaction(): Bundle {
  const response: QuestionnaireResponse = buildResponse(answersWith({ age: 1, 'fall-or-injury': true }), {
    subject: { reference: `Patient/${CHILD}` },
    authored: NOW.toISOString(),
  });
  const { bundle } = buildTriageTransaction({
    result: scoreFixture(response, NOW),
    response,
    content: shippedContent(),
    routing: shippedRouting(),
    now: NOW,
    timeZone: TIME_ZONE,
    responseAlreadyStored: false,
  });
  const responseUrl = bundle.entry?.find((e) => e.resource?.resourceType === 'QuestionnaireResponse')?.fullUrl ?? '';
  // The core builds the safeguarding review itself (SG1); the seam must keep it out of the user's write.
  const built = bundle.entry?.filter((e) => e.resource?.resourceType === 'Task' && JSON.stringify(e.resource.code).includes('review-safeguarding')) ?? [];
  if (built.length !== 1) {
    throw new Error(`expected the core to build one review-safeguarding Task, found ${built.length}`);
  }
  // The identity review (answered age and record disagree) is clinician-only too.
  const identity: BundleEntry = {
    fullUrl: 'urn:uuid:5d0c2f7e-5b7c-4d0c-9a55-2d5e3a1c0b02',
    resource: {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      priority: 'asap',
      code: { coding: [{ system: 'https://fhir.hip-triage.example.org/CodeSystem/triage-task', code: 'review-identity', display: 'Identity review' }] },
      for: { reference: `Patient/${CHILD}` },
      focus: { reference: responseUrl },
      description: 'The answered age and the record do not match: possible wrong record or proxy answer.',
    },
    request: { method: 'POST', url: 'Task' },
  };
  return { ...bundle, entry: [...(bundle.entry ?? []), identity] };
}

function text(resources: readonly Resource[]): string {
  return JSON.stringify(resources);
}

async function everything(target: EmbeddedStore): Promise<Resource[]> {
  const types = ['QuestionnaireResponse', 'RiskAssessment', 'CarePlan', 'ServiceRequest', 'Task', 'GuidanceResponse', 'Provenance'] as const;
  return (await Promise.all(types.map((t) => target.searchResources(t, {})))).flat();
}

describe('a clinician-only Task and note, with the user token', () => {
  let user: EmbeddedStore;
  let service: EmbeddedStore;
  beforeEach(async () => {
    user = await store();
    service = await store();
  });
  afterEach(async () => {
    await user.close();
    await service.close();
  });

  it('the input really carries them (so the checks below can fail)', () => {
    const bundle = safeguardingTransaction();
    expect((bundle.entry ?? []).filter(isClinicianOnly)).toHaveLength(2);
    expect(JSON.stringify(bundle)).toContain('non-accidental injury');
  });

  it('user-token plan: the user store gets no review-safeguarding Task and no SG1 note; the service store gets the Task, pointing at the stored response', async () => {
    const { logger, text: logs } = logCapture();
    const bundle = safeguardingTransaction();
    const answer = await userTokenWrites({ user, userWrites: () => true, serviceWriter: (b) => service.executeTransaction(b), logger }).executeTransaction(
      bundle
    );
    expect(answer.entry).toHaveLength(bundle.entry?.length ?? -1);

    const written = await everything(user);
    expect(written.filter((r) => r.resourceType === 'RiskAssessment')).toHaveLength(1);
    expect(text(written)).not.toContain('review-safeguarding');
    expect(text(written)).not.toMatch(/non-accidental|safeguarding/i);
    const [risk] = written.filter((r): r is RiskAssessment => r.resourceType === 'RiskAssessment');
    expect(risk?.prediction?.[0]?.outcome?.coding?.some((c) => c.code === 'urgent')).toBe(true);

    expect(text(written)).not.toContain('review-identity');
    const tasks = (await service.searchResources<Task>('Task', {})).filter((t) => t.code?.coding?.some((c) => c.code === 'review-safeguarding'));
    expect(tasks).toHaveLength(1);
    expect((await service.searchResources<Task>('Task', {})).filter((t) => t.code?.coding?.some((c) => c.code === 'review-identity'))).toHaveLength(1);
    const [response] = await user.searchResources<QuestionnaireResponse>('QuestionnaireResponse', {});
    expect(tasks[0]?.focus?.reference).toBe(`QuestionnaireResponse/${response?.id ?? 'missing'}`);
    expect(await service.searchResources('RiskAssessment', {})).toHaveLength(0);
    expect(logs()).not.toContain('Tiny-Example');
  });

  it('patient-token plan: the same, the Task by the service and never in the user transaction', async () => {
    const { logger } = logCapture();
    const bundle = safeguardingTransaction();
    const patientScoped = patientTokenStore({ user, backend: service, patientId: CHILD, logger });
    await userTokenWrites({
      user: patientScoped,
      userWrites: (type) => !['Device', 'GuidanceResponse', 'Provenance'].includes(type),
      serviceWriter: (b) => service.executeTransaction(b),
      logger,
    }).executeTransaction(bundle);
    const written = await everything(user);
    expect(written.filter((r) => r.resourceType === 'RiskAssessment')).toHaveLength(1);
    expect(text(written)).not.toMatch(/review-safeguarding|non-accidental/i);
    expect((await service.searchResources<Task>('Task', {})).filter((t) => t.code?.coding?.some((c) => c.code === 'review-safeguarding'))).toHaveLength(1);
  });

  it('without service credentials: not written anywhere, and the log says so without patient data', async () => {
    const { logger, text: logs } = logCapture();
    await userTokenWrites({ user, userWrites: () => true, serviceWriter: undefined, logger }).executeTransaction(safeguardingTransaction());
    expect(text(await everything(user))).not.toMatch(/review-safeguarding|non-accidental/i);
    expect(await user.searchResources('RiskAssessment', {})).toHaveLength(1);
    expect(logs()).toContain('clinician-only Task not written');
    expect(logs()).toContain('review-safeguarding');
    expect(logs()).not.toContain(CHILD);
    expect(logs()).not.toContain('Tiny-Example');
  });

  it('a service write that fails does not undo the person’s save', async () => {
    const { logger, text: logs } = logCapture();
    await userTokenWrites({
      user,
      userWrites: () => true,
      serviceWriter: async () => {
        throw new Error('backend down');
      },
      logger,
    }).executeTransaction(safeguardingTransaction());
    expect(await user.searchResources('RiskAssessment', {})).toHaveLength(1);
    expect(logs()).toContain('could not be written with the service credentials');
  });
});
