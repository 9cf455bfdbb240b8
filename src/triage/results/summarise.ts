import type { TriageResult } from '../scoreResponse';

/** A result as APIs and the CLI show it: codes and titles only, nothing about the patient. */
export interface TriageSummary {
  readonly disposition: string;
  readonly rules: readonly string[];
  readonly notes: readonly string[];
  readonly additionalReferrals: readonly string[];
  readonly advice: readonly string[];
}

export function triageSummary(result: TriageResult): TriageSummary {
  return {
    disposition: result.disposition.code,
    rules: result.firedRules.map((rule) => rule.id),
    notes: result.notes.map((note) => note.id),
    additionalReferrals: [...result.additionalReferrals],
    advice: result.advice.map((advice) => advice.title),
  };
}
