import type { Reference, Resource, Task } from '@medplum/fhirtypes';
import type { RequestPriority, TaskOwner } from '../../routing/routingTable';
import { describeDueRule } from '../../routing/dueTime';
import { type ResultRole, resultIdentifier } from './idempotencyKey';
import type { PlannedReferral } from './planReferrals';
import { firedRuleIds, type ResultContext, roleMeta, roleReference } from './resultContext';
import { REVIEW_STALE_TRIAGE, TASK_FULFILL, TRIAGE_TASK_SYSTEM } from './terminology';

export interface TaskOptions {
  readonly context: ResultContext;
  readonly referral: PlannedReferral;
}

/** The work item for the service that receives a referral, due when the referral is. */
export function buildTask(options: TaskOptions): Task {
  const { context, referral } = options;
  const { route } = referral;
  const what = route.code.text ?? route.code.coding?.[0]?.display ?? route.label;
  return {
    ...common(context, referral),
    meta: roleMeta(context, referral.taskRole),
    identifier: [resultIdentifier(context.key, referral.taskRole)],
    priority: route.priority,
    // Rule ids and the service only: Task descriptions show in work queues, so no patient data.
    description: `Hip pain triage: ${context.result.disposition.code} (rules ${firedRuleIds(context.result)}). ${what}, ${describeDueRule(route.due)}.`,
    owner: route.owner,
    restriction: { period: { end: referral.due.toISOString() } },
  };
}

/**
 * The duty clinician's safety net for an emergency or urgent result. The patient has
 * been told to act alone ("nobody will contact you"), so a clinician sees every such
 * result by its deadline. Undefined when the route has no safety net.
 */
export function buildSafetyNetTask(options: TaskOptions): Task | undefined {
  const { context, referral } = options;
  const safetyNet = referral.route.safetyNet;
  if (!safetyNet || !referral.safetyNetDue) {
    return undefined;
  }
  return {
    ...common(context, referral),
    meta: roleMeta(context, 'task-safety-net'),
    identifier: [resultIdentifier(context.key, 'task-safety-net')],
    partOf: [roleReference(context, referral.taskRole)],
    priority: referral.route.priority,
    description: `Safety net: hip pain triage ${context.result.disposition.code} (rules ${firedRuleIds(context.result)}). The patient was told to act on this themselves; review it ${describeDueRule(safetyNet.due)}.`,
    owner: safetyNet.owner,
    restriction: { period: { end: referral.safetyNetDue.toISOString() } },
  };
}

function common(context: ResultContext, referral: PlannedReferral): Task {
  const serviceRequest = roleReference(context, referral.role);
  return {
    resourceType: 'Task',
    basedOn: [serviceRequest],
    status: 'requested',
    intent: 'order',
    code: TASK_FULFILL,
    focus: serviceRequest,
    for: context.subject,
    ...(context.encounter ? { encounter: context.encounter } : {}),
    authoredOn: context.now.toISOString(),
    requester: context.device,
  };
}

export interface ReviewTaskOptions {
  readonly context: ResultContext;
  readonly owner: Reference<TaskOwner>;
  readonly priority: RequestPriority;
  readonly due: Date;
  readonly authored: string;
}

/**
 * For a response triaged long after it was written (a re-triaged waiting list): the
 * referrals are recorded, but instead of routing them to services' queues a clinician
 * reviews the result first, since the patient's condition may have changed since.
 */
export function buildReviewTask(options: ReviewTaskOptions): Task {
  const { context } = options;
  const risk = roleReference(context, 'risk');
  return {
    resourceType: 'Task',
    meta: roleMeta(context, 'task-review'),
    identifier: [resultIdentifier(context.key, 'task-review')],
    status: 'requested',
    intent: 'order',
    code: REVIEW_STALE_TRIAGE,
    focus: risk,
    for: context.subject,
    ...(context.encounter ? { encounter: context.encounter } : {}),
    authoredOn: context.now.toISOString(),
    requester: context.device,
    priority: options.priority,
    description: `Review: hip pain triage ${context.result.disposition.code} (rules ${firedRuleIds(context.result)}) of a response written on ${options.authored.slice(0, 10)}; confirm or change the referral before it is acted on.`,
    owner: options.owner,
    restriction: { period: { end: options.due.toISOString() } },
  };
}

/** Clinician-only reviews a triage itself asks for, beside its results (contract 1.1.0). */
export type ClinicianReviewKind = 'review-identity' | 'review-safeguarding';

const CLINICIAN_REVIEW: Readonly<Record<ClinicianReviewKind, { role: ResultRole; display: string }>> = {
  'review-identity': { role: 'task-identity', display: 'Check whose record a triage was answered in' },
  'review-safeguarding': { role: 'task-safeguarding', display: 'Safeguarding review' },
};

/** The codes of the clinician-only reviews: never shown to, nor written with the token of, the person answering. */
export const CLINICIAN_ONLY_TASK_CODES: readonly ClinicianReviewKind[] = ['review-identity', 'review-safeguarding'];

/**
 * A clinician-only review Task. Matched by code whatever the code system, so a site that
 * recodes its Tasks still keeps them from the person answering.
 */
export function isClinicianOnlyTask(resource: Resource | undefined): boolean {
  return (
    resource?.resourceType === 'Task' &&
    (resource.code?.coding ?? []).some((c) => c.code !== undefined && (CLINICIAN_ONLY_TASK_CODES as readonly string[]).includes(c.code))
  );
}

/** The idempotency role of a clinician-only review Task. */
export function clinicianReviewRole(kind: ClinicianReviewKind): ResultRole {
  return CLINICIAN_REVIEW[kind].role;
}

export interface ClinicianReviewTaskOptions {
  readonly context: ResultContext;
  readonly kind: ClinicianReviewKind;
  readonly owner: Reference<TaskOwner>;
  readonly priority: RequestPriority;
  readonly due: Date;
  /** Shown in work queues: codes, ages and rule ids only, never names or answers. */
  readonly description: string;
  /** The clinician-facing text (SG1's note); never written anywhere the patient reads. */
  readonly note?: string | undefined;
}

/**
 * A Task for the duty clinician about this triage. Like every review Task, `focus` is the
 * response (so `Task?focus=QuestionnaireResponse/{id}` finds it with the response's other
 * work); the result it is about is its input. It is written in the triage's own transaction;
 * a SMART write with the user's token must leave it to the service's credentials
 * (isClinicianOnly).
 */
export function buildClinicianReviewTask(options: ClinicianReviewTaskOptions): Task {
  const { context, kind } = options;
  const { role, display } = CLINICIAN_REVIEW[kind];
  return {
    resourceType: 'Task',
    meta: roleMeta(context, role),
    identifier: [resultIdentifier(context.key, role)],
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: TRIAGE_TASK_SYSTEM, code: kind, display }], text: display },
    focus: context.response,
    for: context.subject,
    ...(context.encounter ? { encounter: context.encounter } : {}),
    authoredOn: context.now.toISOString(),
    requester: context.device,
    priority: options.priority,
    description: options.description,
    owner: options.owner,
    restriction: { period: { end: options.due.toISOString() } },
    input: [{ type: { text: 'Triage result' }, valueReference: roleReference(context, 'risk') }],
    ...(options.note ? { note: [{ text: options.note }] } : {}),
  };
}
