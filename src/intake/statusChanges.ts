import type { BundleEntry, CodeableConcept, Reference, Resource, Task } from '@medplum/fhirtypes';
import { priorityRank, type RequestPriority } from '../routing/routingTable';
import { type EarlierResult, isOpenTask, type ResultResource } from './earlierResults';

/**
 * A status change as a plain `PUT` of the changed copy, guarded by `ifMatch` on the version
 * read: if staff changed the resource meanwhile (accepted the Task, say), the whole
 * transaction fails with 412 and intake starts again from what is stored now, rather than
 * overwriting their change.
 */
export function statusUpdate(resource: ResultResource & { id: string }, changed: ResultResource): BundleEntry {
  const versionId = resource.meta?.versionId;
  return {
    fullUrl: `${resource.resourceType}/${resource.id}`,
    resource: { ...changed, id: resource.id },
    request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}`, ...(versionId ? { ifMatch: `W/"${versionId}"` } : {}) },
  };
}

function cancelled(task: Task, reason: string, now: Date): Task {
  return {
    ...task,
    status: 'cancelled',
    statusReason: { text: reason },
    lastModified: now.toISOString(),
  };
}

/** Whether a result still needs the status a retraction gives it. */
function retractable(resource: Resource): boolean {
  if (resource.resourceType === 'Task') {
    return isOpenTask(resource);
  }
  return (resource as { status?: string }).status !== 'entered-in-error';
}

/**
 * A response recorded in error takes its results with it: every RiskAssessment, CarePlan,
 * GuidanceResponse and ServiceRequest of every triage of it becomes `entered-in-error`
 * (they were derived from data that should not exist), and every open Task is cancelled
 * with the reason (work done stays as it is: a completed Task records what happened).
 */
export function retractionEntries(earlier: readonly EarlierResult[], now: Date): BundleEntry[] {
  const reason = 'The QuestionnaireResponse this Task came from was marked entered-in-error.';
  return earlier
    .filter((e) => retractable(e.resource))
    .map(({ resource }) => {
      const changed: ResultResource =
        resource.resourceType === 'Task' ? cancelled(resource, reason, now) : ({ ...resource, status: 'entered-in-error' } as ResultResource);
      return statusUpdate(resource, changed);
    });
}

export interface SupersessionOptions {
  /** Results of earlier content of the response (not the content being triaged now). */
  readonly earlier: readonly EarlierResult[];
  /**
   * The most urgent priority among the new triage's Tasks, or undefined when it makes none
   * (self-care): an open Task more urgent than this is never cancelled automatically.
   */
  readonly newPriority: RequestPriority | undefined;
  readonly now: Date;
}

export interface SupersessionPlan {
  readonly entries: BundleEntry[];
  /** Open Tasks left open because the new triage is less urgent: a clinician decides. */
  readonly keptOpen: readonly (Task & { id: string })[];
  readonly superseded: number;
}

/**
 * What the triage of amended content does to the results of the earlier content.
 *
 * Codes (R4 has no "superseded" status for any of these):
 * - RiskAssessment `amended` (observation-status: "subsequent to being final, modified …
 *   updates/new information"). Not `entered-in-error`, which would say the earlier
 *   assessment was wrong (it was right for the answers it had), nor `cancelled`, which
 *   says it was never completed. A note says it was superseded and when; the new
 *   assessment of the same response is the current one.
 * - CarePlan `revoked` ("terminated prior to reaching completion"): the new CarePlan is the plan now.
 * - ServiceRequest `revoked` ("no further activity should occur"): its referral is replaced
 *   by the new triage's own. Not `completed` (nothing was done) nor `entered-in-error`.
 * - GuidanceResponse: unchanged; it records an evaluation that did happen (`success`).
 * - open Tasks `cancelled` with a statusReason, EXCEPT a Task more urgent than anything the
 *   new triage asks for: a downgrade never cancels urgent work by itself. Such a Task, and
 *   the ServiceRequest it acts on, stay as they are, and the caller adds a clinician review.
 */
export function supersessionPlan(options: SupersessionOptions): SupersessionPlan {
  const { earlier, newPriority, now } = options;
  const newRank = newPriority === undefined ? -1 : priorityRank(newPriority);
  const keptOpen = earlier.map((e) => e.resource).filter((r): r is Task & { id: string } => isOpenTask(r) && priorityRank(r.priority ?? 'routine') > newRank);
  const keptRequests = new Set(keptOpen.flatMap((task) => [...(task.basedOn ?? []), ...(task.focus ? [task.focus] : [])]).map(referenceKey));
  const entries: BundleEntry[] = [];
  const when = now.toISOString();
  for (const { resource } of earlier) {
    switch (resource.resourceType) {
      case 'RiskAssessment':
        if (resource.status === 'final' || resource.status === 'preliminary') {
          const note = `Superseded on ${when}: the QuestionnaireResponse it was based on was amended and triaged again; the later RiskAssessment of the same response is the current one.`;
          entries.push(statusUpdate(resource, { ...resource, status: 'amended', note: [...(resource.note ?? []), { time: when, text: note }] }));
        }
        break;
      case 'CarePlan':
        if (resource.status === 'active' || resource.status === 'draft' || resource.status === 'on-hold') {
          entries.push(statusUpdate(resource, { ...resource, status: 'revoked' }));
        }
        break;
      case 'ServiceRequest':
        if (
          (resource.status === 'active' || resource.status === 'draft' || resource.status === 'on-hold') &&
          !keptRequests.has(`ServiceRequest/${resource.id}`)
        ) {
          entries.push(statusUpdate(resource, { ...resource, status: 'revoked' }));
        }
        break;
      case 'Task':
        if (isOpenTask(resource) && !keptOpen.includes(resource)) {
          entries.push(statusUpdate(resource, cancelled(resource, 'Superseded: the QuestionnaireResponse was amended and triaged again.', now)));
        }
        break;
      default:
        break;
    }
  }
  return { entries, keptOpen, superseded: entries.length };
}

function referenceKey(reference: Reference): string {
  return (reference.reference ?? '').replace(/^.*?([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/, '$1');
}

/** The most urgent of some priorities; undefined when there are none. */
export function mostUrgentPriority(priorities: readonly (RequestPriority | undefined)[]): RequestPriority | undefined {
  return priorities.reduce<RequestPriority | undefined>(
    (best, p) => (p === undefined ? best : best === undefined || priorityRank(p) > priorityRank(best) ? p : best),
    undefined
  );
}

export const REVIEW_INPUT_OPEN_TASK: CodeableConcept = { text: 'Open Task of the earlier triage, left open' };
export const REVIEW_INPUT_NEW_ASSESSMENT: CodeableConcept = { text: 'New RiskAssessment' };
