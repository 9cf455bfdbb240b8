import type { CodeableConcept, Coding } from '@medplum/fhirtypes';
import { TRIAGE_BASE } from '../triage/ruleset';

/** fhir-resources/CodeSystem-review-reason.json: why a clinician overrode a triage. */
export const REVIEW_REASON_SYSTEM = `${TRIAGE_BASE}/CodeSystem/review-reason`;
export const REVIEW_REASON_CODES: ReadonlyMap<string, string> = new Map([
  ['clinical-history', 'Clinical history known to the clinician'],
  ['examination-findings', 'Examination findings'],
  ['patient-preference', 'Patient preference'],
  ['rule-misfired', 'Rule misfired'],
  ['other', 'Other'],
]);

/** fhir-resources/CodeSystem-review-event.json: the AuditEvent.subtype the dashboard searches by. */
export const REVIEW_EVENT_SYSTEM = `${TRIAGE_BASE}/CodeSystem/review-event`;
export const TRIAGE_REVIEW_EVENT: Coding = { system: REVIEW_EVENT_SYSTEM, code: 'triage-review', display: 'Clinician review of a triage' };
export const CDS_FEEDBACK_EVENT: Coding = { system: REVIEW_EVENT_SYSTEM, code: 'cds-feedback', display: 'CDS Hooks card feedback' };

/** AuditEvent.type: a RESTful operation (R4 audit-event-type). */
export const AUDIT_REST: Coding = { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' };

/** fhir-resources/StructureDefinition-review-successor.json: on an overridden RiskAssessment, its successor. */
export const REVIEW_SUCCESSOR_URL = `${TRIAGE_BASE}/StructureDefinition/review-successor`;

/** The OperationDefinition of `$review`, named as the Provenance policy. */
export const REVIEW_OPERATION_URL = `${TRIAGE_BASE}/OperationDefinition/RiskAssessment-review`;

/** Provenance activities (v3 DataOperation): a confirm verifies, an override updates. */
export const PROVENANCE_VERIFY: CodeableConcept = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'VERIFY', display: 'verify' }],
};
export const PROVENANCE_UPDATE: CodeableConcept = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'UPDATE', display: 'revise' }],
};
/** Provenance agent type `verifier` (confirm) and `author` (override). */
export const AGENT_VERIFIER: CodeableConcept = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'verifier', display: 'Verifier' }],
};
export const AGENT_AUTHOR: CodeableConcept = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'author', display: 'Author' }],
};

export type ReviewDecision = 'confirm' | 'override';

/**
 * AuditEvent.entity.detail types the review writes and the dashboard reads back. Codes,
 * ids and rule ids only: never an answer, a name or free text from the reviewer.
 */
export const DETAIL = {
  decision: 'decision',
  from: 'disposition-from',
  to: 'disposition-to',
  reason: 'reason-code',
  reviewedVersion: 'reviewed-version',
  reviewer: 'reviewer',
  rules: 'rules',
  card: 'card',
  outcome: 'card-outcome',
} as const;

/** The rule ids of an automated RiskAssessment's rationale (`E1: reason; G3: reason`). */
export function rulesOfRationale(rationale: string | undefined): string[] {
  return (rationale ?? '')
    .split('; ')
    .map((part) => /^([A-Z]{1,3}\d{1,3}): /.exec(part)?.[1])
    .filter((id): id is string => id !== undefined);
}
