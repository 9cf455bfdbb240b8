import { join } from 'node:path';
import type { SearchParameter, Task } from '@medplum/fhirtypes';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { indexShippedSearchParameters } from '../../src/fhir/fhirDefinitions';
import type { Service } from '../../src/composeService';
import { URGENCY_ORDER, compareQueueItems } from '../../src/queue/queueOrder';
import { ruleFixture, searchIds, type StoredTriage, triageAndStore } from './queueFixtures';
import { ROOT } from '../support/responses';
import { startTestService } from '../support/testService';

/**
 * The FHIR searches the README's "Work queues" section documents for clinic systems, run
 * through `/fhir` on the embedded store against the results of real triages.
 */
let service: Service;
const triaged: Record<'E1' | 'U1' | 'G1' | 'P1', StoredTriage> = {} as Record<'E1' | 'U1' | 'G1' | 'P1', StoredTriage>;

beforeAll(async () => {
  service = await startTestService();
  for (const rule of ['E1', 'U1', 'G1', 'P1'] as const) {
    triaged[rule] = await triageAndStore(service.app, ruleFixture(rule));
  }
});
afterAll(async () => {
  await service.close();
});

const DISPOSITION_SYSTEM = 'https://fhir.hip-triage.example.org/CodeSystem/triage-disposition';
const SAFETY_NET = 'HealthcareService/hip-triage-duty-clinician';

function ids(resources: readonly { id?: string }[]): string[] {
  return resources.map((r) => r.id ?? '').sort();
}
const allTasks = (): Task[] => Object.values(triaged).flatMap((t) => t.tasks);
const referralTask = (rule: keyof typeof triaged): Task => {
  const task = triaged[rule].tasks.find((t) => t.owner?.reference !== SAFETY_NET);
  if (!task) {
    throw new Error(`${rule} stored no referral Task`);
  }
  return task;
};
const safetyNetTask = (rule: keyof typeof triaged): Task | undefined => triaged[rule].tasks.find((t) => t.owner?.reference === SAFETY_NET);
const dueOf = (task: Task): string => task.restriction?.period?.end ?? '';
/** The UTC calendar date after an instant's, as `YYYY-MM-DD`. */
const dayAfter = (instant: string): string => new Date(Date.parse(instant) + 86_400_000).toISOString().slice(0, 10);

describe('the work-queue searches a clinic system uses, through /fhir', () => {
  it('the triages stored what the searches look for', () => {
    expect(ids(allTasks())).toHaveLength(6); // E1 and U1 each add the duty clinician's safety-net Task
    expect(safetyNetTask('E1')).toBeDefined();
    expect(safetyNetTask('P1')).toBeUndefined();
    for (const task of allTasks()) {
      expect(dueOf(task)).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    }
  });

  const cases: [name: string, path: string, query: () => Record<string, string>, expected: () => string[]][] = [
    [
      "a service's open referrals: Task?owner=HealthcareService/<id>&status=requested",
      'Task',
      () => ({ owner: 'HealthcareService/hip-triage-emergency-department', status: 'requested' }),
      () => ids([referralTask('E1')]),
    ],
    [
      "the physiotherapy service's open referrals",
      'Task',
      () => ({ owner: 'HealthcareService/hip-triage-msk-physiotherapy', status: 'requested' }),
      () => ids([referralTask('P1')]),
    ],
    [
      "the duty clinician's safety-net queue",
      'Task',
      () => ({ owner: SAFETY_NET, status: 'requested' }),
      () => ids([safetyNetTask('E1') ?? {}, safetyNetTask('U1') ?? {}]),
    ],
    ['a status with no open work finds nothing', 'Task', () => ({ owner: SAFETY_NET, status: 'completed' }), () => []],
    [
      'every referral: ServiceRequest?category=http://snomed.info/sct|3457005',
      'ServiceRequest',
      () => ({ category: 'http://snomed.info/sct|3457005' }),
      () => ids(Object.values(triaged).flatMap((t) => t.serviceRequests)),
    ],
    [
      'emergency referrals by disposition category',
      'ServiceRequest',
      () => ({ category: `${DISPOSITION_SYSTEM}|emergency` }),
      () => ids(triaged.E1.serviceRequests),
    ],
    [
      'physiotherapy referrals by disposition category',
      'ServiceRequest',
      () => ({ category: `${DISPOSITION_SYSTEM}|physio` }),
      () => ids(triaged.P1.serviceRequests),
    ],
    [
      "a referral's Tasks: Task?focus=ServiceRequest/<id>",
      'Task',
      () => ({ focus: `ServiceRequest/${triaged.E1.serviceRequests[0]?.id ?? ''}` }),
      () => ids(triaged.E1.tasks),
    ],
    [
      'overdue at a moment: Task?due=lt<instant> (the physio referral, due last, is not yet due)',
      'Task',
      () => ({ due: `lt${dueOf(referralTask('P1'))}` }),
      () => ids(allTasks().filter((t) => Date.parse(dueOf(t)) < Date.parse(dueOf(referralTask('P1'))))),
    ],
    ['due=le includes the boundary itself', 'Task', () => ({ due: `le${dueOf(referralTask('P1'))}` }), () => ids(allTasks())],
    [
      'due=gt: what falls due after the emergency referral',
      'Task',
      () => ({ due: `gt${dueOf(referralTask('E1'))}` }),
      () => ids(allTasks().filter((t) => Date.parse(dueOf(t)) > Date.parse(dueOf(referralTask('E1'))))),
    ],
    [
      'a date without a time: due=lt<the day after the emergency referral> means before that day began',
      'Task',
      () => ({ due: `lt${dayAfter(dueOf(referralTask('E1')))}` }),
      () => ids(allTasks().filter((t) => Date.parse(dueOf(t)) < Date.parse(`${dayAfter(dueOf(referralTask('E1')))}T00:00:00Z`))),
    ],
    [
      'the standard `period` parameter searches executionPeriod, not the due time, so it finds none of them',
      'Task',
      () => ({ period: `le${dueOf(referralTask('P1'))}` }),
      () => [],
    ],
  ];

  it.each(cases)('%s', async (_name, path, query, expected) => {
    expect((await searchIds(service.app, path, query())).sort()).toEqual(expected());
  });

  it('the due-time searches are not vacuous: lt and gt split the Tasks between them', async () => {
    const boundary = dueOf(referralTask('U1'));
    const before = await searchIds(service.app, 'Task', { due: `lt${boundary}` });
    const after = await searchIds(service.app, 'Task', { due: `ge${boundary}` });
    expect(before.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    expect([...before, ...after].sort()).toEqual(ids(allTasks()));
  });
});

describe('ordering by urgency', () => {
  it('_sort=priority sorts the codes alphabetically (asap, routine, stat, urgent), not by urgency', async () => {
    const res = await searchIds(service.app, 'Task', { status: 'requested', _sort: 'priority' });
    const byId = new Map(allTasks().map((t) => [t.id, t.priority]));
    const priorities = res.map((id) => byId.get(id));
    expect(new Set(priorities)).toEqual(new Set(['stat', 'asap', 'urgent', 'routine']));
    expect(priorities).toEqual([...priorities].sort());
    expect(priorities[0]).toBe('asap');
    expect(priorities).not.toEqual([...priorities].sort((a, b) => URGENCY_ORDER.indexOf(a ?? 'routine') - URGENCY_ORDER.indexOf(b ?? 'routine')));
  });

  it('the rank a client orders by itself: stat > asap > urgent > routine, then the earliest due first', () => {
    const at = (iso: string): Date => new Date(iso);
    const items = [
      { id: 'routine-early', priority: 'routine' as const, due: at('2026-01-01T00:00:00Z'), authoredOn: undefined },
      { id: 'urgent', priority: 'urgent' as const, due: at('2026-02-01T00:00:00Z'), authoredOn: undefined },
      { id: 'stat-late', priority: 'stat' as const, due: at('2026-03-02T00:00:00Z'), authoredOn: undefined },
      { id: 'asap', priority: 'asap' as const, due: undefined, authoredOn: undefined },
      { id: 'stat-early', priority: 'stat' as const, due: at('2026-03-01T00:00:00Z'), authoredOn: undefined },
      { id: 'no-priority', priority: undefined, due: at('2025-12-01T00:00:00Z'), authoredOn: undefined },
    ];
    expect([...items].sort(compareQueueItems).map((i) => i.id)).toEqual(['stat-early', 'stat-late', 'asap', 'urgent', 'no-priority', 'routine-early']);
    expect(URGENCY_ORDER).toEqual(['stat', 'asap', 'urgent', 'routine']);
  });
});

describe('indexing shipped SearchParameters', () => {
  it('refuses one that would silently change a standard parameter for every search', () => {
    const clash: SearchParameter = {
      resourceType: 'SearchParameter',
      url: 'https://example.org/SearchParameter/Task-period',
      name: 'TaskPeriod',
      status: 'active',
      description: 'x',
      code: 'period',
      base: ['Task'],
      type: 'date',
      expression: 'Task.restriction.period',
    };
    expect(() => indexShippedSearchParameters([clash])).toThrow(/would replace the standard Task parameter 'period'/);
    // Indexing the shipped one again (every store start does) is fine.
    expect(() => indexShippedSearchParameters(readResourceFiles([join(ROOT, 'fhir-resources')]))).not.toThrow();
  });
});
