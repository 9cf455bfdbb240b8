import type { CodeableConcept, Coding } from '@medplum/fhirtypes';

import { TRIAGE_BASE } from '../ruleset';

export const SNOMED_CT = 'http://snomed.info/sct';

/** The ruleset's rule codes (CodeSystem-triage-rule.json): how results name the rules that fired. */
export const TRIAGE_RULE_SYSTEM = `${TRIAGE_BASE}/CodeSystem/triage-rule`;

/**
 * SNOMED CT 3457005 |Patient referral|: the ServiceRequest category for a referral, as
 * used by the NHS England FHIR IG (England-ServiceRequest.category: "At present the
 * only code in use is Patient Referral") and the FHIR R4 ServiceRequest examples.
 */
export const PATIENT_REFERRAL: Coding = { system: SNOMED_CT, code: '3457005', display: 'Patient referral' };

/** SNOMED CT 49218002 |Hip pain| (finding): why every referral is made. */
export const HIP_PAIN: CodeableConcept = { coding: [{ system: SNOMED_CT, code: '49218002', display: 'Hip pain' }], text: 'Hip pain' };

/**
 * Task code `fulfill` (R4 CodeSystem task-code): act on the focal request. Used for the
 * referral Task and for the duty clinician's safety-net Task too: the code set has no
 * "review", and the safety net is a second, clinician-side way of seeing the same request
 * fulfilled (the patient was told to act alone); its own role, owner and `partOf` tell it apart.
 */
export const TASK_FULFILL: CodeableConcept = {
  coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill', display: 'Fulfill the focal request' }],
};

/**
 * Provenance agent type `performer`: the Device carried out the triage. Not `assembler`,
 * which is for compiling existing data without judgement; the ruleset makes a decision.
 */
export const PROVENANCE_PERFORMER: CodeableConcept = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'performer', display: 'Performer' }],
};

/** v3 DataOperation CREATE: the triage created these resources. */
export const PROVENANCE_CREATE: CodeableConcept = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'CREATE', display: 'create' }],
};

/** Task codes of this service's own, for work the R4 task-code set has no code for. */
export const TRIAGE_TASK_SYSTEM = `${TRIAGE_BASE}/CodeSystem/triage-task`;

/** A clinician reviews a triage of an old response before any referral from it is acted on. */
export const REVIEW_STALE_TRIAGE: CodeableConcept = {
  coding: [{ system: TRIAGE_TASK_SYSTEM, code: 'review-stale-triage', display: 'Review a triage of an old response' }],
};
