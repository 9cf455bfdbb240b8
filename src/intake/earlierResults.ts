import type { CarePlan, GuidanceResponse, Provenance, Resource, RiskAssessment, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { FhirStore, WaitOptions } from '../fhir/fhirStore';
import { IDEMPOTENCY_TAG_SYSTEM } from '../triage/results/idempotencyKey';

/** What a triage of a response leaves that a later amendment or retraction must change. */
export type ResultResource = RiskAssessment | CarePlan | GuidanceResponse | ServiceRequest | Task;

const RESULT_TYPES = ['RiskAssessment', 'CarePlan', 'GuidanceResponse', 'ServiceRequest', 'Task'] as const;
type ResultType = (typeof RESULT_TYPES)[number];

/** One stored result and the triage (idempotency key) that wrote it. */
export interface EarlierResult {
  /** The key of the triage that wrote it; undefined for a resource without our tag. */
  readonly key: string | undefined;
  /** `task`, `referral`, `review`, … (the part of the tag after the key). */
  readonly role: string | undefined;
  readonly resource: ResultResource & { id: string };
}

/** Task statuses in which the work is still to do (R4 task-status). */
const OPEN_TASK_STATUSES: ReadonlySet<string> = new Set(['draft', 'requested', 'received', 'accepted', 'ready', 'in-progress', 'on-hold']);

export function isOpenTask(resource: Resource): resource is Task {
  return resource.resourceType === 'Task' && OPEN_TASK_STATUSES.has(resource.status ?? '');
}

/**
 * Every result this service wrote for one stored response, whatever its content was at the
 * time. Found through the response, not through the content: each triage's Provenance names
 * the response as its source entity (`Provenance?entity=QuestionnaireResponse/{id}`) and
 * lists what it created as targets; review Tasks point at the response itself
 * (`Task?focus=QuestionnaireResponse/{id}`). RiskAssessment, CarePlan and ServiceRequest
 * have no standard search parameter on their `basis`/`supportingInfo`, and the idempotency
 * tags name content, which is exactly what changed. The targets are then read in one search
 * per type (`_id=a,b,c`), so a remote server costs at most seven requests.
 */
export async function findEarlierResults(store: FhirStore, responseId: string, wait?: WaitOptions): Promise<EarlierResult[]> {
  const responseReference = `QuestionnaireResponse/${responseId}`;
  const [provenances, reviewTasks] = await Promise.all([
    store.searchResources<Provenance>('Provenance', { entity: responseReference, _count: '100' }, wait),
    store.searchResources<Task>('Task', { focus: responseReference, _count: '100' }, wait),
  ]);
  const idsByType = new Map<ResultType, Set<string>>();
  for (const provenance of provenances) {
    for (const target of provenance.target ?? []) {
      const parsed = parseReference(target.reference);
      if (parsed) {
        const ids = idsByType.get(parsed.type) ?? new Set<string>();
        ids.add(parsed.id);
        idsByType.set(parsed.type, ids);
      }
    }
  }
  const found = new Map<string, ResultResource & { id: string }>();
  const searches = [...idsByType.entries()].map(async ([type, ids]) => {
    const resources = await store.searchResources<ResultResource>(type, { _id: [...ids].join(','), _count: String(ids.size) }, wait);
    for (const resource of resources) {
      if (resource.id) {
        found.set(`${type}/${resource.id}`, resource as ResultResource & { id: string });
      }
    }
  });
  await Promise.all(searches);
  for (const task of reviewTasks) {
    if (task.id) {
      found.set(`Task/${task.id}`, task as Task & { id: string });
    }
  }
  // Only what this service wrote (our tag): a Task staff made about the response is theirs to close.
  return [...found.values()].map((resource) => ({ ...keyAndRole(resource), resource })).filter((e) => e.key !== undefined);
}

/** The idempotency key and role from our tag (`<key>:<role>`). */
export function keyAndRole(resource: Resource): { key: string | undefined; role: string | undefined } {
  const code = resource.meta?.tag?.find((t) => t.system === IDEMPOTENCY_TAG_SYSTEM)?.code;
  const separator = code?.indexOf(':') ?? -1;
  if (!code || separator < 0) {
    return { key: undefined, role: undefined };
  }
  return { key: code.slice(0, separator), role: code.slice(separator + 1) };
}

/** `Type/id` of a result type, from a relative or absolute (possibly versioned) reference. */
function parseReference(reference: string | undefined): { type: ResultType; id: string } | undefined {
  const match = /(?:^|\/)([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference ?? '');
  const type = match?.[1];
  const id = match?.[2];
  if (!type || !id || !(RESULT_TYPES as readonly string[]).includes(type)) {
    return undefined;
  }
  return { type: type as ResultType, id };
}
