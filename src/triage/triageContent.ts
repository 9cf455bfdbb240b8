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
