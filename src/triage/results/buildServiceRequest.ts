import type { ServiceRequest } from '@medplum/fhirtypes';
import { resultIdentifier } from './idempotencyKey';
import type { PlannedReferral } from './planReferrals';
import { type ResultContext, roleMeta, roleReference, rulesetCanonical } from './resultContext';
import { HIP_PAIN, PATIENT_REFERRAL } from './terminology';

export interface ServiceRequestOptions {
  readonly context: ResultContext;
  readonly referral: PlannedReferral;
}

/**
 * One referral: to the disposition's service or, for P2, to occupational therapy. The
 * priority and deadline come from the routing table, which start-up has checked is never
 * less urgent than the clinical contract.
 */
export function buildServiceRequest(options: ServiceRequestOptions): ServiceRequest {
  const { context, referral } = options;
  const { result } = context;
  const { route } = referral;
  return {
    resourceType: 'ServiceRequest',
    meta: roleMeta(context, referral.role),
    identifier: [resultIdentifier(context.key, referral.role)],
    instantiatesCanonical: [rulesetCanonical(context)],
    status: 'active',
    intent: 'order',
    category: [{ coding: [PATIENT_REFERRAL] }, { coding: [result.disposition.coding], text: result.disposition.display }],
    priority: route.priority,
    code: route.code,
    subject: context.subject,
    ...(context.encounter ? { encounter: context.encounter } : {}),
    occurrencePeriod: { start: context.now.toISOString(), end: referral.due.toISOString() },
    authoredOn: context.now.toISOString(),
    requester: context.device,
    performerType: route.performerType,
    performer: [route.healthcareService],
    reasonCode: [HIP_PAIN],
    supportingInfo: [roleReference(context, 'risk'), context.response],
    // The patient-facing action belongs to the disposition's own referral; an additional one rides with it.
    ...(referral.service === undefined ? { patientInstruction: result.disposition.definition } : {}),
  };
}
