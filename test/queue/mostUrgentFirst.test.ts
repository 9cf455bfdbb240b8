import { join } from 'node:path';
import type { Bundle, SearchParameter, Task } from '@medplum/fhirtypes';
import { readResourceFile } from '../../src/content/readResourceFiles';
import { type EmbeddedStore, openEmbeddedStore } from '../../src/fhir/embedded/embeddedStore';
import type { FhirStore } from '../../src/fhir/fhirStore';
import type { RequestPriority } from '../../src/routing/routingTable';
import { loadWorkQueue } from '../../src/queue/workQueue';
import { recordingLogger } from '../fhir/embedded/fixtures';
import { ROOT } from '../support/responses';

/**
 * What a short page keeps: the queue's searches run by priority, most urgent first, each
 * sorted by due time on the store, so whatever the page leaves out is less urgent (or as
 * urgent and due later) than everything it shows, and is counted.
 */
let store: EmbeddedStore;

/** Stored in an order that is the reverse of urgency: routine work first, the emergency last. */
const STORED: [name: string, priority: RequestPriority | undefined, due: string][] = [
  ['routine-late', 'routine', '2026-11-23T09:00:00Z'],
  ['routine-early', 'routine', '2026-11-21T09:00:00Z'],
  ['no-priority', undefined, '2026-11-20T13:00:00Z'],
  ['urgent', 'urgent', '2026-11-20T18:00:00Z'],
  ['asap', 'asap', '2026-11-20T14:00:00Z'],
  ['stat-later', 'stat', '2026-11-20T12:30:00Z'],
  ['stat-first', 'stat', '2026-11-20T12:05:00Z'],
  ['closed-stat', 'stat', '2026-11-20T12:00:00Z'],
];

function task(name: string, priority: RequestPriority | undefined, due: string): Task {
  return {
    resourceType: 'Task',
    status: name.startsWith('closed') ? 'completed' : 'requested',
    intent: 'order',
    ...(priority ? { priority } : {}),
    description: name,
    owner: { reference: 'HealthcareService/hip-triage-duty-clinician' },
    restriction: { period: { end: due } },
  };
}

beforeAll(async () => {
  // The shipped `due` SearchParameter, which the queue sorts by (the service seeds it the same way).
  const due = readResourceFile<SearchParameter>(join(ROOT, 'fhir-resources/SearchParameter-Task-due.json'));
  store = await openEmbeddedStore({ dataDir: ':memory:', logger: recordingLogger(), seed: [due] });
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: STORED.map(([name, priority, due]) => ({ resource: task(name, priority, due), request: { method: 'POST', url: 'Task' } })),
  };
  await store.executeTransaction(bundle);
});
afterAll(async () => {
  await store.close();
});

const shownNames = async (from: FhirStore, limit: number) => {
  const queue = await loadWorkQueue(from, limit);
  return { names: queue.services.flatMap((s) => s.items.map((i) => i.description)), queue };
};

describe('a page shorter than the open work', () => {
  it.each<[limit: number, shown: string[], notShown: Record<RequestPriority, number>]>([
    [1, ['stat-first'], { stat: 1, asap: 1, urgent: 1, routine: 3 }],
    [2, ['stat-first', 'stat-later'], { stat: 0, asap: 1, urgent: 1, routine: 3 }],
    [4, ['stat-first', 'stat-later', 'asap', 'urgent'], { stat: 0, asap: 0, urgent: 0, routine: 3 }],
    // A Task without a priority is routine: it competes with the routine ones by due time.
    [5, ['stat-first', 'stat-later', 'asap', 'urgent', 'no-priority'], { stat: 0, asap: 0, urgent: 0, routine: 2 }],
    [6, ['stat-first', 'stat-later', 'asap', 'urgent', 'no-priority', 'routine-early'], { stat: 0, asap: 0, urgent: 0, routine: 1 }],
    [7, ['stat-first', 'stat-later', 'asap', 'urgent', 'no-priority', 'routine-early', 'routine-late'], { stat: 0, asap: 0, urgent: 0, routine: 0 }],
  ])('with room for %i shows %j and counts the rest exactly', async (limit, shown, notShown) => {
    const { names, queue } = await shownNames(store, limit);
    expect(names).toEqual(shown);
    const total = Object.values(notShown).reduce((a, b) => a + b, 0);
    expect(queue.notShown).toEqual({ total, byPriority: notShown, exact: true });
    expect(queue.truncated).toBe(total > 0);
  });

  it('with a store that cannot count, says "at least" and still keeps the most urgent', async () => {
    const cannotCount: FhirStore = {
      readResource: (type, id, options) => store.readResource(type, id, options),
      searchResources: (type, query, options) => store.searchResources(type, query, options),
      executeTransaction: (bundle, options) => store.executeTransaction(bundle, options),
      checkReady: () => store.checkReady(),
      close: async () => undefined,
    };
    const { names, queue } = await shownNames(cannotCount, 2);
    expect(names).toEqual(['stat-first', 'stat-later']);
    expect(queue.notShown.exact).toBe(false);
    expect(queue.notShown.total).toBeGreaterThanOrEqual(1);
    expect(queue.truncated).toBe(true);
  });
});
