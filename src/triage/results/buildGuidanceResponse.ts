import type { GuidanceResponse, OperationOutcome, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { IDEMPOTENCY_TAG_SYSTEM, resultIdentifier } from './idempotencyKey';
import { type ResultContext, roleMeta, roleReference, rulesetCanonical } from './resultContext';

const OUTPUTS_ID = 'outputs';
const WARNINGS_ID = 'warnings';

/**
 * The machine-readable record of running the ruleset: which module ran, on which
 * response, and what it concluded, with every fired rule coded.
 *
 * The response is reached through the output parameters, not reasonReference: in R4
 * reasonReference may only point at Condition, Observation, DiagnosticReport or
 * DocumentReference.
 */
/*
 * Clinician notes (SG1) are not recorded here: a GuidanceResponse sits beside the patient's
 * results and may be read with their access; the note lives only in its review Task.
 */
export function buildGuidanceResponse(context: ResultContext): GuidanceResponse {
  const { result, key } = context;
  const outputs: Parameters = {
    resourceType: 'Parameters',
    id: OUTPUTS_ID,
    parameter: [
      { name: 'response', valueReference: context.response },
      { name: 'disposition', valueCoding: result.disposition.coding },
      ...result.firedRules.map((rule): ParametersParameter => ({ name: 'rule', valueCoding: rule.coding })),
      ...result.additionalReferrals.map((service): ParametersParameter => ({ name: 'additional-referral', valueCode: service })),
      { name: 'ruleset', valueCanonical: rulesetCanonical(context) },
      { name: 'questionnaire', valueCanonical: context.content.questionnaire.canonical },
    ],
  };
  const warnings: OperationOutcome | undefined =
    result.warnings.length > 0 ? { resourceType: 'OperationOutcome', id: WARNINGS_ID, issue: [...result.warnings] } : undefined;
  const request = { system: IDEMPOTENCY_TAG_SYSTEM, value: key };
  return {
    resourceType: 'GuidanceResponse',
    meta: roleMeta(context, 'guidance'),
    contained: warnings ? [outputs, warnings] : [outputs],
    requestIdentifier: request,
    identifier: [request, resultIdentifier(key, 'guidance')],
    moduleCanonical: rulesetCanonical(context),
    status: 'success',
    subject: context.subject,
    ...(context.encounter ? { encounter: context.encounter } : {}),
    occurrenceDateTime: context.now.toISOString(),
    performer: context.device,
    ...(warnings ? { evaluationMessage: [{ reference: `#${WARNINGS_ID}` }] } : {}),
    outputParameters: { reference: `#${OUTPUTS_ID}` },
    result: roleReference(context, 'careplan'),
  };
}
