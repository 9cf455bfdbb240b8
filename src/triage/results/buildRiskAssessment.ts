import type { Annotation, RiskAssessment } from '@medplum/fhirtypes';
import { resultIdentifier } from './idempotencyKey';
import { clinicianNoteText, type ResultContext, roleMeta, rulesetCanonical } from './resultContext';

/**
 * The clinical judgement of one triage: the disposition as the predicted outcome, every
 * fired rule in words as the rationale, and what the patient should do as mitigation.
 *
 * `method` names the ruleset in text only: a PlanDefinition is not a code system, so
 * putting its URL in Coding.system would mislead terminology services. Machines find
 * the ruleset as a typed canonical in GuidanceResponse.moduleCanonical and
 * CarePlan.instantiatesCanonical, and the fired rules coded in the GuidanceResponse.
 * No `qualitativeRisk`: a disposition is a recommended action, not a risk grade.
 */
export function buildRiskAssessment(context: ResultContext): RiskAssessment {
  const { result, content, key } = context;
  const ruleset = content.ruleset;
  const notes: Annotation[] = [
    ...result.notes.map((note) => ({ text: clinicianNoteText(note) })),
    ...result.warnings.map((warning) => ({ text: `Warning: ${warning.details?.text ?? warning.diagnostics ?? warning.code}` })),
  ];
  return {
    resourceType: 'RiskAssessment',
    meta: roleMeta(context, 'risk'),
    identifier: [resultIdentifier(key, 'risk')],
    status: 'final',
    subject: context.subject,
    ...(context.encounter ? { encounter: context.encounter } : {}),
    occurrenceDateTime: context.now.toISOString(),
    performer: context.device,
    method: { text: `${ruleset.planDefinition.title ?? 'Hip pain triage ruleset'} ${ruleset.version} (${rulesetCanonical(context)})` },
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
