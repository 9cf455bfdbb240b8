import type { CodeableConcept, Practitioner, PractitionerRole, Reference, RiskAssessment, ServiceRequest, Task } from '@medplum/fhirtypes';
import { describeDueRule } from '../routing/dueTime';
import type { Route } from '../routing/routingTable';
import { resultUuid } from '../triage/results/idempotencyKey';
import { HIP_PAIN, PATIENT_REFERRAL, TASK_FULFILL } from '../triage/results/terminology';
import type { Disposition } from '../triage/ruleset';
import { identifier, type ReviewKeys, tag } from './reviewKeys';

/** The resources an override creates: the clinician's RiskAssessment and the new referral (ServiceRequest, Task, safety net). */

/** Who reviews: a person (the token's fhirUser, or the `reviewer` parameter with auth off). */
export type Reviewer = Reference<Practitioner | PractitionerRole>;

/** The automated assessment under review, as stored (id and version known). */
export type StoredAssessment = RiskAssessment & { id: string; meta: { versionId: string } };

/** Where the new disposition's referral goes (undefined for self-care), worked out by the caller from the routing table. */
export interface NewReferral {
  readonly route: Route;
  readonly due: Date;
  readonly safetyNetDue: Date | undefined;
}

export interface SuccessorOptions {
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
export function successorAssessment(o: SuccessorOptions): RiskAssessment {
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
    prediction: [
      {
        outcome: { coding: [o.to.coding], text: o.to.display },
        rationale: `Clinician override of ${o.from.code} (${o.assessment.prediction?.[0]?.rationale ?? ''}).`,
      },
    ],
    mitigation: o.to.definition,
    note: [{ authorReference: o.reviewer as never, time: o.when, text: `Override (${o.from.code} to ${o.to.code}): ${why}` }],
  };
}

export interface ReferralContext {
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

export function newServiceRequest(c: ReferralContext, referral: NewReferral): ServiceRequest {
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

export function newTask(c: ReferralContext, referral: NewReferral): Task {
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

export function newSafetyNetTask(c: ReferralContext, referral: NewReferral): Task | undefined {
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
