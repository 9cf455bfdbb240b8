import type { CarePlan, RiskAssessment, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { EarlierResult } from '../../src/intake/earlierResults';
import { retractionEntries, supersessionPlan } from '../../src/intake/statusChanges';
import type { RequestPriority } from '../../src/routing/routingTable';

const NOW = new Date('2026-11-20T12:00:00Z');
const OLD = 'a'.repeat(64);

function result(resource: RiskAssessment | CarePlan | ServiceRequest | Task, role: string): EarlierResult {
  return { key: OLD, role, resource: { ...resource, meta: { versionId: `v-${resource.id ?? ''}` } } as EarlierResult['resource'] };
}

/** An earlier urgent-style triage: assessment, plan, referral and its Task at `priority`. */
function earlierTriage(priority: RequestPriority, taskStatus: Task['status'] = 'requested'): EarlierResult[] {
  return [
    result({ resourceType: 'RiskAssessment', id: 'risk', status: 'final', subject: { reference: 'Patient/p' } }, 'risk'),
    result({ resourceType: 'CarePlan', id: 'plan', status: 'active', intent: 'plan', subject: { reference: 'Patient/p' } }, 'careplan'),
    result({ resourceType: 'ServiceRequest', id: 'referral', status: 'active', intent: 'order', subject: { reference: 'Patient/p' } }, 'referral'),
    result(
      {
        resourceType: 'Task',
        id: 'task',
        status: taskStatus,
        intent: 'order',
        priority,
        focus: { reference: 'ServiceRequest/referral' },
        basedOn: [{ reference: 'ServiceRequest/referral' }],
      },
      'task'
    ),
  ];
}

function changed(entries: ReturnType<typeof supersessionPlan>['entries']): string[] {
  return entries.map((e) => `${e.request?.url ?? ''} ${(e.resource as { status?: string }).status ?? ''}`);
}

describe('supersession of an earlier triage by the triage of amended content', () => {
  it.each([
    // earlier Task, new triage's most urgent Task, whether the earlier Task (and its referral) stay
    ['stat', 'stat', false],
    ['asap', 'stat', false],
    ['routine', 'routine', false],
    ['stat', 'asap', true],
    ['asap', 'routine', true],
    ['routine', undefined, true],
  ] as const)('earlier %s Task, new triage %s: kept open = %s', (earlier, newPriority, kept) => {
    const plan = supersessionPlan({ earlier: earlierTriage(earlier), newPriority, now: NOW });
    expect(plan.keptOpen.map((t) => t.id)).toEqual(kept ? ['task'] : []);
    expect(changed(plan.entries)).toEqual(
      kept
        ? ['RiskAssessment/risk amended', 'CarePlan/plan revoked']
        : ['RiskAssessment/risk amended', 'CarePlan/plan revoked', 'ServiceRequest/referral revoked', 'Task/task cancelled']
    );
  });

  it('guards every update with the version it read (If-Match), so a concurrent staff change is never overwritten', () => {
    const plan = supersessionPlan({ earlier: earlierTriage('routine'), newPriority: 'stat', now: NOW });
    expect(plan.entries.map((e) => [e.request?.method, e.request?.ifMatch])).toEqual([
      ['PUT', 'W/"v-risk"'],
      ['PUT', 'W/"v-plan"'],
      ['PUT', 'W/"v-referral"'],
      ['PUT', 'W/"v-task"'],
    ]);
  });

  it('leaves work that is already finished alone', () => {
    const plan = supersessionPlan({ earlier: earlierTriage('stat', 'completed'), newPriority: undefined, now: NOW });
    expect(plan.keptOpen).toEqual([]);
    expect(changed(plan.entries)).toEqual(['RiskAssessment/risk amended', 'CarePlan/plan revoked', 'ServiceRequest/referral revoked']);
  });
});

describe('retraction of an entered-in-error response', () => {
  it('marks every result entered-in-error and cancels open Tasks with a reason, whatever their priority; done work stays', () => {
    const earlier = [...earlierTriage('stat'), result({ resourceType: 'Task', id: 'done', status: 'completed', intent: 'order' }, 'task-safety-net')];
    const entries = retractionEntries(earlier, NOW);
    expect(changed(entries)).toEqual([
      'RiskAssessment/risk entered-in-error',
      'CarePlan/plan entered-in-error',
      'ServiceRequest/referral entered-in-error',
      'Task/task cancelled',
    ]);
    expect((entries[3]?.resource as Task).statusReason?.text).toMatch(/entered-in-error/);
    // Already retracted: nothing more to write.
    const retracted = entries.map(
      (e) => ({ ...earlier.find((r) => `${r.resource.resourceType}/${r.resource.id ?? ''}` === e.request?.url), resource: e.resource }) as EarlierResult
    );
    expect(retractionEntries(retracted, NOW)).toEqual([]);
  });
});
