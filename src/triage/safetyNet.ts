import type { ActivityDefinition } from '@medplum/fhirtypes';
import { type CompiledRule, type CompiledRuleset, TRIAGE_BASE } from './ruleset';

/** On the safety-net ActivityDefinition: one list, by disposition (`disposition`) under its `heading`. */
export const SAFETY_NET_LIST_EXTENSION = `${TRIAGE_BASE}/StructureDefinition/safety-net-list`;
/** On the safety-net ActivityDefinition: the line after the lists. */
export const SAFETY_NET_CLOSING_EXTENSION = `${TRIAGE_BASE}/StructureDefinition/safety-net-closing`;

export interface SafetyNetList {
  readonly disposition: string;
  readonly heading: string;
  /** Every rule of that disposition with the warning signs listed for it, in ruleset order. */
  readonly rules: readonly CompiledRule[];
  readonly signs: readonly string[];
}

/** Whether an ActivityDefinition is a safety net whose lists the ruleset fills in. */
export function isSafetyNet(definition: ActivityDefinition): boolean {
  return (definition.extension ?? []).some((e) => e.url === SAFETY_NET_LIST_EXTENSION);
}

/**
 * The safety net's lists, derived from the ruleset rather than written by hand (contract
 * 1.1.0, "the safety net is complete by construction"): for each list the ActivityDefinition
 * declares (999: emergency; 111 or same day: urgent), the warning signs of every rule of
 * that disposition, in ruleset order, each sign once. A rule without a warning sign is
 * still named in `rules`, so verification can report it.
 */
export function safetyNetLists(definition: ActivityDefinition, ruleset: CompiledRuleset): SafetyNetList[] {
  return (definition.extension ?? [])
    .filter((e) => e.url === SAFETY_NET_LIST_EXTENSION)
    .map((e) => {
      const disposition = e.extension?.find((x) => x.url === 'disposition')?.valueCode ?? '';
      const heading = e.extension?.find((x) => x.url === 'heading')?.valueString ?? '';
      const rules = ruleset.rules.filter((r) => r.disposition.code === disposition);
      return { disposition, heading, rules, signs: [...new Set(rules.flatMap((r) => r.warningSigns))] };
    });
}

/** The patient-facing text: the introduction, each list (a heading, then `- ` lines) and the closing line. */
export function safetyNetText(definition: ActivityDefinition, ruleset: CompiledRuleset): string {
  const closing = definition.extension?.find((e) => e.url === SAFETY_NET_CLOSING_EXTENSION)?.valueString;
  const lists = safetyNetLists(definition, ruleset)
    .filter((list) => list.signs.length > 0)
    .map((list) => [list.heading, ...list.signs.map((sign) => `- ${sign}`)].join('\n'));
  return [definition.description ?? '', ...lists, ...(closing ? [closing] : [])].filter((part) => part !== '').join('\n\n');
}

/** The ActivityDefinition as a result shows it: its description is the full safety net for this ruleset. */
export function withSafetyNet(definition: ActivityDefinition, ruleset: CompiledRuleset): ActivityDefinition {
  return isSafetyNet(definition) ? { ...definition, description: safetyNetText(definition, ruleset) } : definition;
}
