import type { ActivityDefinition } from '@medplum/fhirtypes';
import type { QuestionnaireIndex } from './questionnaireIndex';
import type { CompiledRuleset } from './ruleset';

/** Everything the pure core scores with, loaded and compiled once at start-up. */
export interface TriageContent {
  readonly questionnaire: QuestionnaireIndex;
  readonly ruleset: CompiledRuleset;
  /** Advice and material ActivityDefinitions, by `url|version` and by bare `url`. */
  readonly activityDefinitions: ReadonlyMap<string, ActivityDefinition>;
}

/** The dispositions whose rules are red flags: judged even on an invalid response (contract, "Validity"). */
export const RED_FLAG_DISPOSITIONS: readonly string[] = ['emergency', 'urgent'];

export function findActivityDefinition(content: TriageContent, canonical: string): ActivityDefinition | undefined {
  return content.activityDefinitions.get(canonical) ?? content.activityDefinitions.get(canonical.split('|')[0] ?? '');
}

/**
 * What an advice item is, from its ActivityDefinition's `topic` texts: the checks on a
 * replacement ruleset (verifyRuleset) read these, not ids, so they hold whatever the
 * advice actions are called.
 */
export const ADVICE_TOPIC = {
  actNow: 'act now',
  exercise: 'exercise',
  keepActive: 'keep active',
  weight: 'weight',
  painRelief: 'pain relief',
  avoid: 'avoid',
  safetyNet: 'safety-net advice',
  information: 'information',
} as const;

export function adviceTopics(content: TriageContent, canonical: string): string[] {
  return (findActivityDefinition(content, canonical)?.topic ?? []).map((t) => t.text ?? '').filter((t) => t !== '');
}
