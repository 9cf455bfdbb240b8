import type { Annotation, RiskAssessment } from '@medplum/fhirtypes';
import { resultIdentifier } from './idempotencyKey';
import { type ResultContext, roleMeta, rulesetCanonical } from './resultContext';
import { TRIAGE_BASE } from '../ruleset';

/** The system of RiskAssessment.method: searching `method=<system>|hip-pain-triage` finds this service's assessments. */
export const TRIAGE_METHOD_SYSTEM = `${TRIAGE_BASE}/CodeSystem/triage-method`;
export const TRIAGE_METHOD_CODE = 'hip-pain-triage';

/**
 * The clinical judgement of one triage: the disposition as the predicted outcome, every
 * fired rule in words as the rationale, and what the patient should do as mitigation.
 *
 * `method` is coded in a CodeSystem of our own (not the PlanDefinition's URL, which is
 * not a code system), with the ruleset version as the Coding's version, so CDS Hooks and
 * work queues can find this service's assessments by search. The ruleset itself is a
 * typed canonical in GuidanceResponse.moduleCanonical and CarePlan.instantiatesCanonical.
 * No `qualitativeRisk`: a disposition is a recommended action, not a risk grade.
 */
export function buildRiskAssessment(context: ResultContext): RiskAssessment {
  const { result, content, key } = context;
  const ruleset = content.ruleset;
  // No clinician note (SG1) here: the RiskAssessment is in the patient's record, so a
  // safeguarding note goes only into its review Task (contract 1.1.0, "Safeguarding").
  const notes: Annotation[] = result.warnings.map((warning) => ({ text: `Warning: ${warning.details?.text ?? warning.diagnostics ?? warning.code}` }));
  return {
    resourceType: 'RiskAssessment',
    meta: roleMeta(context, 'risk'),
    identifier: [resultIdentifier(key, 'risk')],
    status: 'final',
    subject: context.subject,
    ...(context.encounter ? { encounter: context.encounter } : {}),
    occurrenceDateTime: context.now.toISOString(),
    performer: context.device,
    method: {
      coding: [{ system: TRIAGE_METHOD_SYSTEM, code: TRIAGE_METHOD_CODE, version: ruleset.version, display: 'Hip pain triage ruleset' }],
      text: `${ruleset.planDefinition.title ?? 'Hip pain triage ruleset'} ${ruleset.version} (${rulesetCanonical(context)})`,
    },
    basis: [context.response],
    prediction: [
      {
        outcome: { coding: [result.disposition.coding], text: result.disposition.display },
        rationale: result.firedRules.map((rule) => `${rule.id}: ${rule.reason}`).join('; '),
      },
    ],
    mitigation: result.disposition.definition,
    ...(notes.length > 0 ? { note: notes } : {}),
  };
}
