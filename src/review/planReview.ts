import { createHash } from 'node:crypto';
import type { AuditEvent, AuditEventEntityDetail, Bundle, BundleEntry, CodeableConcept, Practitioner, PractitionerRole, Provenance, Reference, RiskAssessment, ServiceRequest, Task } from '@medplum/fhirtypes';

/** Who reviews: a person (the token's fhirUser, or the `reviewer` parameter with auth off). */
export type Reviewer = Reference<Practitioner | PractitionerRole>;
import type { EarlierResult } from '../intake/earlierResults';
import { isOpenTask } from '../intake/earlierResults';
import { buildReviewTask } from '../intake/reviewTask';
import { statusUpdate, REVIEW_INPUT_NEW_ASSESSMENT, REVIEW_INPUT_OPEN_TASK } from '../intake/statusChanges';
import { describeDueRule } from '../routing/dueTime';
import { priorityRank, type RequestPriority, type Route, type TaskOwner } from '../routing/routingTable';
import { IDEMPOTENCY_TAG_SYSTEM, RESULT_IDENTIFIER_SYSTEM, type ResultRole, resultUuid } from '../triage/results/idempotencyKey';
import { HIP_PAIN, PATIENT_REFERRAL, TASK_FULFILL } from '../triage/results/terminology';
import type { Disposition } from '../triage/ruleset';
import {
  AGENT_AUTHOR,
  AGENT_VERIFIER,
  AUDIT_REST,
  DETAIL,
  PROVENANCE_UPDATE,
  PROVENANCE_VERIFY,
  REVIEW_OPERATION_URL,
  REVIEW_SUCCESSOR_URL,
  type ReviewDecision,
  rulesOfRationale,
  TRIAGE_REVIEW_EVENT,
} from './reviewTerms';

/** The automated assessment under review, as stored (id and version known). */
export type StoredAssessment = RiskAssessment & { id: string; meta: { versionId: string } };

/**
 * The identity of one review: the same clinician taking the same decision on the same
 * version of a triage gives the same key, so a resent review finds what the first wrote
 * (conditional creates on `<key>:<role>`) instead of recording a second one. Hashed, like
 * the triage's key, so it is 64 hex characters and safe in a `_tag` search.
 */
export function reviewKey(parts: { assessmentId: string; version: string; decision: ReviewDecision; disposition: string | undefined; reviewer: string }): string {
  return createHash('sha256').update(`review|${parts.assessmentId}|${parts.version}|${parts.decision}|${parts.disposition ?? ''}|${parts.reviewer}`).digest('hex');
}

/** Where the new disposition's referral goes (undefined for self-care), worked out by the caller from the routing table. */
export interface NewReferral {
  readonly route: Route;
  readonly due: Date;
  readonly safetyNetDue: Date | undefined;
}

/**
 * A review's resources carry the reviewed triage's own key in their tag
 * (`<triage key>:rv-<review>-<role>`), so intake treats them as results of the same content
 * (a redelivered response leaves them alone; an amended one supersedes them with the rest),
 * and the review's own key (`<review>`) keeps each review's resources apart.
 */
export interface ReviewKeys {
  /** reviewKey(…): this review. */
  readonly review: string;
  /** The reviewed assessment's triage key (its idempotency tag before `:`). */
  readonly triage: string;
}

export function reviewRoleCode(keys: ReviewKeys, role: string): string {
  return `${keys.triage}:rv-${keys.review.slice(0, 16)}-${role}`;
}

/** Whether an idempotency role is one a review wrote for `role` (`rv-<review>-referral`). */
export function isReviewRole(role: string | undefined, roles: readonly string[]): boolean {
  const match = /^rv-[0-9a-f]{16}-(.+)$/.exec(role ?? '');
  return match !== null && roles.includes(match[1] as string);
}

export interface ReviewPlanOptions {
  readonly key: ReviewKeys;
  readonly decision: ReviewDecision;
  readonly assessment: StoredAssessment;
  readonly reviewer: Reviewer;
  readonly now: Date;
  /** The disposition the automated triage gave. */
  readonly from: Disposition;
  /** Override only: the new disposition, its referral, the reason, the triage's earlier results and the duty clinician. */
  readonly override?: {
    readonly to: Disposition;
    readonly referral: NewReferral | undefined;
    readonly reason: CodeableConcept;
    /** The open referral work of the automated triage (its ServiceRequests and Tasks). */
    readonly earlier: readonly EarlierResult[];
    readonly dutyClinician: Reference<TaskOwner> | undefined;
  };
}

export interface ReviewPlan {
  readonly bundle: Bundle;
  /** Index in the bundle of each entry the answer names. */
  readonly positions: { readonly provenance: number; readonly auditEvent: number; readonly successor: number | undefined };
  /** Open Tasks more urgent than the new disposition, left open beside a review-downgrade Task. */
  readonly keptOpen: readonly Task[];
}

const OWN_REFERRAL_ROLES: ReadonlySet<string> = new Set(['referral', 'task', 'task-safety-net']);

/**
 * What a review writes, as one transaction. Pure: the caller has read everything.
 *
 * Every new resource is a conditional create on our idempotency tag (`<review key>:<role>`),
 * the tag system of the triage's own results, so a later amendment of the response (intake)
 * supersedes the review's referral too, exactly as it does the triage's. The automated
 * assessment is changed with a PUT guarded by `ifMatch` on the version reviewed: if anyone
 * changed it meanwhile, the whole transaction fails and nothing is written.
 */
export function planReview(options: ReviewPlanOptions): ReviewPlan {
  const { key, decision, assessment, reviewer, now, from, override } = options;
  const when = now.toISOString();
  const versioned: Reference<RiskAssessment> = { reference: `RiskAssessment/${assessment.id}/_history/${assessment.meta.versionId}` };
  const current: Reference<RiskAssessment> = { reference: `RiskAssessment/${assessment.id}` };
  const response = assessment.basis?.find((b) => b.reference?.startsWith('QuestionnaireResponse/'));
  const entries: BundleEntry[] = [];
  const targets: Reference[] = [];
  let successor: number | undefined;
  let keptOpen: Task[] = [];
  const rules = rulesOfRationale(assessment.prediction?.[0]?.rationale);

  if (decision === 'override' && override) {
    const successorUrl = resultUuid(key.review, 'risk');
    successor = entries.length;
    entries.push(create(key, 'risk', successorAssessment({ key, assessment, versioned, response, reviewer, when, from, to: override.to, reason: override.reason })));
    targets.push({ reference: successorUrl });
    const note = `Overridden on ${when} by a clinician's review (${from.code} to ${override.to.code}); the successor RiskAssessment is the current assessment.`;
    entries.push(
      statusUpdate(assessment, {
        ...assessment,
        status: 'amended',
        extension: [...(assessment.extension ?? []).filter((e) => e.url !== REVIEW_SUCCESSOR_URL), { url: REVIEW_SUCCESSOR_URL, valueReference: { reference: successorUrl } }],
        note: [...(assessment.note ?? []), { time: when, text: note }],
      })
    );
    targets.push(current);
    const newPriority: RequestPriority | undefined = override.referral?.route.priority;
    const superseded = supersede({ earlier: override.earlier, newPriority, now, reason: `Superseded: a clinician overrode the triage (${from.code} to ${override.to.code}).` });
    keptOpen = superseded.keptOpen;
    const replaced = override.earlier.filter((e) => e.resource.resourceType === 'ServiceRequest' && (e.role === 'referral' || isReviewRole(e.role, ['referral'])) && ['active', 'on-hold'].includes((e.resource as ServiceRequest).status ?? '')).map((e): Reference<ServiceRequest> => ({ reference: `ServiceRequest/${e.resource.id}` }));
    if (override.referral) {
      const context = { key, assessment, reviewer, when, to: override.to, from, rules, replaced, successorUrl, response };
      const referral = override.referral;
      entries.push(create(key, 'referral', newServiceRequest(context, referral)));
      entries.push(create(key, 'task', newTask(context, referral)));
      targets.push({ reference: resultUuid(key.review, 'referral') }, { reference: resultUuid(key.review, 'task') });
      const safetyNet = newSafetyNetTask(context, referral);
      if (safetyNet) {
        entries.push(create(key, 'task-safety-net', safetyNet));
        targets.push({ reference: resultUuid(key.review, 'task-safety-net') });
      }
    }
    for (const entry of superseded.entries) {
      entries.push(entry);
      targets.push({ reference: entry.request?.url ?? '' });
    }
    if (keptOpen.length > 0 && response?.reference) {
      const priority = keptOpen.map((t) => t.priority ?? 'routine').reduce((a, b) => (priorityRank(b) > priorityRank(a) ? b : a));
      const due = keptOpen.map((t) => t.restriction?.period?.end).filter((d): d is string => d !== undefined).sort()[0];
      const task = buildReviewTask({
        kind: 'review-downgrade',
        key: key.review,
        response: { resourceType: 'QuestionnaireResponse', status: 'completed', id: response.reference.slice('QuestionnaireResponse/'.length), subject: assessment.subject },
        priority,
        owner: override.dutyClinician,
        description: `Review: a clinician overrode hip pain triage ${from.code} (rules ${rules.join(', ')}) to ${override.to.code}; ${keptOpen.length} more urgent open Task(s) were left open. Decide whether to close them.`,
        now,
        requester: assessment.performer as Reference<never>,
        inputs: [
          ...keptOpen.map((t) => ({ type: REVIEW_INPUT_OPEN_TASK, valueReference: { reference: `Task/${t.id}` } })),
          { type: REVIEW_INPUT_NEW_ASSESSMENT, valueReference: { reference: successorUrl } },
        ],
        due: due ? new Date(due) : undefined,
      });
      entries.push(create(key, 'review-downgrade', { ...task, meta: { tag: [tag(key, 'review-downgrade')] }, identifier: [identifier(key, 'review-downgrade')], requester: reviewer as Task['requester'] }));
      targets.push({ reference: resultUuid(key.review, 'review-downgrade' as ResultRole) });
    }
  } else {
    // Unversioned, so `Provenance?target=RiskAssessment/{id}` finds it; the version reviewed is the source entity.
    targets.push(current);
  }

  const provenance: Provenance = {
    resourceType: 'Provenance',
    meta: { tag: [tag(key, 'provenance')] },
    target: targets,
    recorded: when,
    policy: [REVIEW_OPERATION_URL],
    activity: decision === 'override' ? PROVENANCE_UPDATE : PROVENANCE_VERIFY,
    ...(decision === 'override' && override ? { reason: [override.reason] } : {}),
    agent: [{ type: decision === 'override' ? AGENT_AUTHOR : AGENT_VERIFIER, who: reviewer }],
    // The response as a source: intake finds the review's results through it (Provenance?entity=).
    entity: [{ role: 'source', what: versioned }, ...(response ? [{ role: 'source' as const, what: { reference: response.reference } }] : [])],
  };
  const provenanceIndex = entries.length;
  entries.push(create(key, 'provenance', provenance));

  const detail: AuditEventEntityDetail[] = [
    { type: DETAIL.decision, valueString: decision },
    { type: DETAIL.from, valueString: from.code },
    ...(override ? [{ type: DETAIL.to, valueString: override.to.code }] : []),
    ...(override?.reason.coding ?? []).map((c) => ({ type: DETAIL.reason, valueString: c.code ?? '' })),
    { type: DETAIL.reviewedVersion, valueString: assessment.meta.versionId },
    { type: DETAIL.reviewer, valueString: reviewer.reference ?? '' },
    { type: DETAIL.rules, valueString: rules.join(' ') },
  ];
  const audit: AuditEvent = {
    resourceType: 'AuditEvent',
    meta: { tag: [tag(key, 'audit')] },
    type: AUDIT_REST,
    subtype: [TRIAGE_REVIEW_EVENT],
    action: decision === 'override' ? 'U' : 'E',
    recorded: when,
    outcome: '0',
    agent: [{ who: reviewer, requestor: true }],
    source: { observer: assessment.performer ?? { display: 'hip-pain-triage' } },
    entity: [
      { what: current, detail },
      ...(successor !== undefined ? [{ what: { reference: resultUuid(key.review, 'risk') } }] : []),
      { what: { reference: resultUuid(key.review, 'provenance') } },
    ],
  };
  const auditIndex = entries.length;
  entries.push(create(key, 'audit', audit));
  return { bundle: { resourceType: 'Bundle', type: 'transaction', entry: entries }, positions: { provenance: provenanceIndex, auditEvent: auditIndex, successor }, keptOpen };
}

function tag(keys: ReviewKeys, role: string) {
  return { system: IDEMPOTENCY_TAG_SYSTEM, code: reviewRoleCode(keys, role) };
}

function identifier(keys: ReviewKeys, role: string) {
  return { system: RESULT_IDENTIFIER_SYSTEM, value: reviewRoleCode(keys, role) };
}

function create(keys: ReviewKeys, role: string, resource: BundleEntry['resource'] & { resourceType: string }): BundleEntry {
  return {
    fullUrl: resultUuid(keys.review, role as ResultRole),
    resource,
    request: { method: 'POST', url: resource.resourceType, ifNoneExist: `_tag=${IDEMPOTENCY_TAG_SYSTEM}|${reviewRoleCode(keys, role)}` },
  };
}

interface SuccessorOptions {
  readonly key: ReviewKeys;
  readonly assessment: StoredAssessment;
  readonly versioned: Reference<RiskAssessment>;
  readonly response: Reference | undefined;
  readonly reviewer: Reviewer;
  readonly when: string;
  readonly from: Disposition;
  readonly to: Disposition;
  readonly reason: CodeableConcept;
}

/** The clinician's assessment: the new disposition, based on the automated one (the version reviewed) and the response. */
function successorAssessment(o: SuccessorOptions): RiskAssessment {
  const why = o.reason.text ?? o.reason.coding?.map((c) => c.display).join('; ') ?? '';
  return {
    resourceType: 'RiskAssessment',
    meta: { tag: [tag(o.key, 'risk')] },
    identifier: [identifier(o.key, 'risk')],
    status: 'final',
    subject: o.assessment.subject,
    ...(o.assessment.encounter ? { encounter: o.assessment.encounter } : {}),
    occurrenceDateTime: o.when,
    performer: o.reviewer as RiskAssessment['performer'],
    ...(o.assessment.method ? { method: o.assessment.method } : {}),
    basis: [o.versioned, ...(o.response ? [o.response] : [])],
    reasonCode: [o.reason],
    prediction: [{ outcome: { coding: [o.to.coding], text: o.to.display }, rationale: `Clinician override of ${o.from.code} (${o.assessment.prediction?.[0]?.rationale ?? ''}).` }],
    mitigation: o.to.definition,
    note: [{ authorReference: o.reviewer as never, time: o.when, text: `Override (${o.from.code} to ${o.to.code}): ${why}` }],
  };
}

interface ReferralContext {
  readonly key: ReviewKeys;
  readonly assessment: StoredAssessment;
  readonly reviewer: Reviewer;
  readonly when: string;
  readonly from: Disposition;
  readonly to: Disposition;
  readonly rules: readonly string[];
  readonly replaced: readonly Reference<ServiceRequest>[];
  readonly successorUrl: string;
  readonly response: Reference | undefined;
}

function newServiceRequest(c: ReferralContext, referral: NewReferral): ServiceRequest {
  const { route } = referral;
  return {
    resourceType: 'ServiceRequest',
    meta: { tag: [tag(c.key, 'referral')] },
    identifier: [identifier(c.key, 'referral')],
    ...(c.replaced.length > 0 ? { replaces: [...c.replaced] } : {}),
    status: 'active',
    intent: 'order',
    category: [{ coding: [PATIENT_REFERRAL] }, { coding: [c.to.coding], text: c.to.display }],
    priority: route.priority,
    code: route.code,
    subject: c.assessment.subject as ServiceRequest['subject'],
    ...(c.assessment.encounter ? { encounter: c.assessment.encounter } : {}),
    occurrencePeriod: { start: c.when, end: referral.due.toISOString() },
    authoredOn: c.when,
    requester: c.reviewer as ServiceRequest['requester'],
    performerType: route.performerType,
    performer: [route.healthcareService],
    reasonCode: [HIP_PAIN],
    supportingInfo: [{ reference: c.successorUrl }, ...(c.response ? [c.response] : [])],
    patientInstruction: c.to.definition,
  };
}

function taskBase(c: ReferralContext): Task {
  const request = { reference: resultUuid(c.key.review, 'referral') };
  return {
    resourceType: 'Task',
    basedOn: [request],
    status: 'requested',
    intent: 'order',
    code: TASK_FULFILL,
    focus: request,
    for: c.assessment.subject,
    ...(c.assessment.encounter ? { encounter: c.assessment.encounter } : {}),
    authoredOn: c.when,
    requester: c.reviewer as Task['requester'],
  };
}

function newTask(c: ReferralContext, referral: NewReferral): Task {
  const { route } = referral;
  const what = route.code.text ?? route.code.coding?.[0]?.display ?? route.label;
  return {
    ...taskBase(c),
    meta: { tag: [tag(c.key, 'task')] },
    identifier: [identifier(c.key, 'task')],
    priority: route.priority,
    // Codes and rule ids only: Task descriptions show in work queues.
    description: `Hip pain triage: ${c.to.code} (clinician override of ${c.from.code}, rules ${c.rules.join(', ')}). ${what}, ${describeDueRule(route.due)}.`,
    owner: route.owner,
    restriction: { period: { end: referral.due.toISOString() } },
  };
}

function newSafetyNetTask(c: ReferralContext, referral: NewReferral): Task | undefined {
  const safetyNet = referral.route.safetyNet;
  if (!safetyNet || !referral.safetyNetDue) {
    return undefined;
  }
  return {
    ...taskBase(c),
    meta: { tag: [tag(c.key, 'task-safety-net')] },
    identifier: [identifier(c.key, 'task-safety-net')],
    partOf: [{ reference: resultUuid(c.key.review, 'task') }],
    priority: referral.route.priority,
    description: `Safety net: hip pain triage ${c.to.code} (clinician override of ${c.from.code}). The patient was told to act on this themselves; review it ${describeDueRule(safetyNet.due)}.`,
    owner: safetyNet.owner,
    restriction: { period: { end: referral.safetyNetDue.toISOString() } },
  };
}

/**
 * The automated triage's own referral, superseded as intake's amendment does: the
 * ServiceRequest `revoked`, open Tasks `cancelled` with a reason, EXCEPT an open Task more
 * urgent than the new disposition asks for (and the request it acts on): an override
 * never cancels more urgent work by itself; the duty clinician decides (review-downgrade).
 */
export function supersede(options: { earlier: readonly EarlierResult[]; newPriority: RequestPriority | undefined; now: Date; reason: string }): { entries: BundleEntry[]; keptOpen: Task[] } {
  const own = options.earlier.filter((e) => OWN_REFERRAL_ROLES.has(e.role ?? '') || isReviewRole(e.role, [...OWN_REFERRAL_ROLES]));
  const newRank = options.newPriority === undefined ? -1 : priorityRank(options.newPriority);
  const keptOpen = own.map((e) => e.resource).filter((r): r is Task & { id: string } => isOpenTask(r) && priorityRank(r.priority ?? 'routine') > newRank);
  const keptRequests = new Set(keptOpen.flatMap((t) => [...(t.basedOn ?? []), ...(t.focus ? [t.focus] : [])]).map((r) => r.reference));
  const entries: BundleEntry[] = [];
  for (const { resource } of own) {
    if (resource.resourceType === 'ServiceRequest' && ['active', 'draft', 'on-hold'].includes(resource.status ?? '') && !keptRequests.has(`ServiceRequest/${resource.id}`)) {
      entries.push(statusUpdate(resource, { ...resource, status: 'revoked' }));
    }
    if (resource.resourceType === 'Task' && isOpenTask(resource) && !keptOpen.includes(resource)) {
      entries.push(statusUpdate(resource, { ...resource, status: 'cancelled', statusReason: { text: options.reason }, lastModified: options.now.toISOString() }));
    }
  }
  return { entries, keptOpen };
}
