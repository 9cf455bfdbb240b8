import type { QuestionnaireResponse, Task } from '@medplum/fhirtypes';
import type { Service } from '../../src/composeService';
import { childDefaults } from '../support/responses';
import { startTestService } from '../support/testService';
import { createThroughFhir, recordOf, responseFor, taskCode, updateThroughFhir } from './intakeFixtures';

/**
 * A safeguarding concern (SG1) is closed by a clinician, never withdrawn by the answers: an
 * amendment that drops the injury, or marking the response entered-in-error, cancels the
 * referral work as before but leaves the review-safeguarding Task open.
 */
let service: Service;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service.close();
});

const SG1 = { age: 1, ...childDefaults(1), 'fall-or-injury': true };

function safeguarding(tasks: readonly Task[]): Task[] {
  return tasks.filter((t) => taskCode(t) === 'review-safeguarding');
}

describe('embedded intake keeps a clinician-only review open', () => {
  it('when the response is amended to take the injury back', async () => {
    const subject = 'Patient/sg1-amended';
    const stored = await createThroughFhir(service.app, responseFor(subject, SG1));
    await service.intake.idle();
    const before = await recordOf(service.store, subject);
    expect(safeguarding(before.tasks).map((t) => [t.status, t.priority])).toEqual([['requested', 'asap']]);

    await updateThroughFhir(service.app, {
      ...responseFor(subject, { ...SG1, 'fall-or-injury': false }, { status: 'amended' }),
      id: stored.id,
    } as QuestionnaireResponse & { id: string });
    await service.intake.idle();
    const after = await recordOf(service.store, subject);
    // The earlier referral Tasks are superseded (control: the amendment was triaged again)...
    const cancelled = after.tasks.filter((t) => t.status === 'cancelled');
    expect(cancelled.length).toBeGreaterThan(0);
    expect(cancelled.some((t) => taskCode(t) === 'review-safeguarding')).toBe(false);
    // ...and the safeguarding review stands.
    expect(safeguarding(after.tasks).map((t) => t.status)).toEqual(['requested']);
  });

  it('when the response is marked entered-in-error', async () => {
    const subject = 'Patient/sg1-retracted';
    const stored = await createThroughFhir(service.app, responseFor(subject, SG1));
    await service.intake.idle();
    await updateThroughFhir(service.app, { ...stored, status: 'entered-in-error' });
    await service.intake.idle();
    const after = await recordOf(service.store, subject);
    expect(after.risks.map((r) => r.status)).toEqual(['entered-in-error']);
    expect(after.tasks.filter((t) => taskCode(t) === 'fulfill').every((t) => t.status === 'cancelled')).toBe(true);
    expect(safeguarding(after.tasks).map((t) => t.status)).toEqual(['requested']);
  });
});
