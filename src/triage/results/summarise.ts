import type { TriageResult } from '../scoreResponse';

/**
 * A result as APIs and the CLI show it: codes and titles only, nothing about the patient,
 * and no clinician note (SG1): a summary may reach the person who answered.
 */
export interface TriageSummary {
  readonly disposition: string;
  readonly rules: readonly string[];
  readonly additionalReferrals: readonly string[];
  readonly advice: readonly string[];
}

export function triageSummary(result: TriageResult): TriageSummary {
  return {
    disposition: result.disposition.code,
    rules: result.firedRules.map((rule) => rule.id),
    additionalReferrals: [...result.additionalReferrals],
    advice: result.advice.map((advice) => advice.title),
  };
}
