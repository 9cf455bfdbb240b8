import { OperationOutcomeError } from '@medplum/core';
import type { ActivityDefinition, CodeSystem, PlanDefinition, Questionnaire, Resource } from '@medplum/fhirtypes';
import { worstCaseCompletions } from '../triage/evaluateRules';
import { indexQuestionnaire, type QuestionnaireIndex } from '../triage/questionnaireIndex';
import { type CompiledRuleset, compileRuleset, TRIAGE_BASE } from '../triage/ruleset';
import { withSafetyNet } from '../triage/safetyNet';
import { RED_FLAG_DISPOSITIONS, type TriageContent } from '../triage/triageContent';

export const QUESTIONNAIRE_URL = `${TRIAGE_BASE}/Questionnaire/hip-pain-triage`;
export const RULESET_URL = `${TRIAGE_BASE}/PlanDefinition/hip-pain-triage-rules`;
export const DISPOSITION_SYSTEM = `${TRIAGE_BASE}/CodeSystem/triage-disposition`;
/**
 * The most answer combinations the red-flag check of an invalid response may try for one
 * rule (three-valued logic enumerates the missing inputs). The shipped rules need at most
 * about a thousand; a replacement rule reading, say, age, pain score and every risk factor
 * together would need millions, and a patient's 422 with its advice would wait for it.
 */
export const MAX_RED_FLAG_COMPLETIONS = 100_000;

/**
 * Assembles the scoring content from the service's resources. `ruleset` replaces the
 * shipped PlanDefinition (RULESET_FILE); the caller runs verifyRuleset on it. The
 * safety-net advice is completed here from the ruleset's E and U rules, so every
 * reader of the content (CarePlan, 422 advice, SMART result page) shows the same lists.
 */
export function buildTriageContent(resources: readonly Resource[], ruleset?: PlanDefinition): TriageContent {
  const questionnaire = find<Questionnaire>(resources, 'Questionnaire', QUESTIONNAIRE_URL);
  const planDefinition = ruleset ?? find<PlanDefinition>(resources, 'PlanDefinition', RULESET_URL);
  const dispositions = find<CodeSystem>(resources, 'CodeSystem', DISPOSITION_SYSTEM);
  const index = indexQuestionnaire(questionnaire);
  const compiled = compileRuleset({ planDefinition, dispositions, questionnaire: index });
  checkRedFlagCost(compiled, index);
  const activityDefinitions = new Map<string, ActivityDefinition>();
  for (const resource of resources) {
    if (resource.resourceType === 'ActivityDefinition' && resource.url) {
      const shown = withSafetyNet(resource, compiled);
      activityDefinitions.set(`${resource.url}|${resource.version ?? ''}`, shown);
      activityDefinitions.set(resource.url, shown);
    }
  }
  // A missing advice item would otherwise surface only when the first patient needs it.
  const unresolved = compiled.advice.filter((a) => !activityDefinitions.has(a.canonical) && !activityDefinitions.has(a.canonical.split('|')[0] ?? ''));
  if (unresolved.length > 0) {
    throw new Error(`The ruleset's advice names ActivityDefinitions the service does not have: ${unresolved.map((a) => a.canonical).join(', ')}`);
  }
  return { questionnaire: index, ruleset: compiled, activityDefinitions };
}

/** Refuses a ruleset whose red-flag rules would be too costly to judge on an invalid response. */
function checkRedFlagCost(ruleset: CompiledRuleset, questionnaire: QuestionnaireIndex): void {
  const costly = ruleset.rules
    .filter((rule) => RED_FLAG_DISPOSITIONS.includes(rule.disposition.code))
    .map((rule) => ({ rule, completions: worstCaseCompletions(rule, questionnaire) }))
    .filter(({ completions }) => completions > MAX_RED_FLAG_COMPLETIONS);
  if (costly.length > 0) {
    throw new OperationOutcomeError({
      resourceType: 'OperationOutcome',
      id: 'invalid-ruleset',
      issue: costly.map(({ rule, completions }) => ({
        severity: 'error',
        code: 'too-costly',
        details: {
          text: `Rule ${rule.id} reads too many items at once: judging it on an incomplete response could need ${completions} combinations (at most ${MAX_RED_FLAG_COMPLETIONS}). Split it into simpler rules.`,
        },
        expression: [`PlanDefinition.action.where(id='${rule.id}').condition`],
      })),
    });
  }
}

/**
 * The resources as the service publishes them (push-content): the safety-net advice with its
 * lists filled in from the shipped ruleset, so the ActivityDefinition a CarePlan points at
 * says what the CarePlan says.
 */
export function publishableContent(resources: readonly Resource[]): Resource[] {
  const { activityDefinitions } = buildTriageContent(resources);
  return resources.map((r) => (r.resourceType === 'ActivityDefinition' && r.url ? (activityDefinitions.get(`${r.url}|${r.version ?? ''}`) ?? r) : r));
}

function find<T extends Resource>(resources: readonly Resource[], resourceType: T['resourceType'], url: string): T {
  const found = resources.find((r) => r.resourceType === resourceType && (r as { url?: string }).url === url);
  if (!found) {
    throw new Error(`The service content has no ${resourceType} with url ${url}`);
  }
  return found as T;
}
