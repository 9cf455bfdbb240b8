import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { RuleEvaluation } from './evaluateRules';
import type { CompiledAdvice } from './ruleset';
import { findActivityDefinition, type TriageContent } from './triageContent';

/**
 * The `information` issue that carries a disposition and its advice inside an error
 * OperationOutcome (an invalid response with a red flag, or a failed write-back), so a
 * patient is never left without the advice because something else went wrong.
 */
export function dispositionAdviceIssue(content: TriageContent, evaluation: RuleEvaluation, advice: readonly CompiledAdvice[]): OperationOutcomeIssue {
  const sentences = advice.map((a) => findActivityDefinition(content, a.canonical)?.description).filter((d): d is string => typeof d === 'string' && d !== '');
  return {
    severity: 'information',
    code: 'informational',
    details: {
      coding: [evaluation.disposition.coding, ...evaluation.firedRules.map((r) => r.coding)],
      text: [evaluation.disposition.definition, ...sentences].join(' '),
    },
    diagnostics: `disposition=${evaluation.disposition.code}; rules=${evaluation.firedRules.map((r) => r.id).join(',')}`,
  };
}
