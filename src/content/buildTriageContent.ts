import type { ActivityDefinition, CodeSystem, PlanDefinition, Questionnaire, Resource } from '@medplum/fhirtypes';
import { indexQuestionnaire } from '../triage/questionnaireIndex';
import { compileRuleset, TRIAGE_BASE } from '../triage/ruleset';
import type { TriageContent } from '../triage/triageContent';

export const QUESTIONNAIRE_URL = `${TRIAGE_BASE}/Questionnaire/hip-pain-triage`;
export const RULESET_URL = `${TRIAGE_BASE}/PlanDefinition/hip-pain-triage-rules`;
export const DISPOSITION_SYSTEM = `${TRIAGE_BASE}/CodeSystem/triage-disposition`;

/**
 * Assembles the scoring content from the service's resources. `ruleset` replaces the
 * shipped PlanDefinition (RULESET_FILE); the caller runs the red-flag suite on it.
 */
export function buildTriageContent(resources: readonly Resource[], ruleset?: PlanDefinition): TriageContent {
  const questionnaire = find<Questionnaire>(resources, 'Questionnaire', QUESTIONNAIRE_URL);
  const planDefinition = ruleset ?? find<PlanDefinition>(resources, 'PlanDefinition', RULESET_URL);
  const dispositions = find<CodeSystem>(resources, 'CodeSystem', DISPOSITION_SYSTEM);
  const index = indexQuestionnaire(questionnaire);
  const activityDefinitions = new Map<string, ActivityDefinition>();
  for (const resource of resources) {
    if (resource.resourceType === 'ActivityDefinition' && resource.url) {
      activityDefinitions.set(`${resource.url}|${resource.version ?? ''}`, resource);
      activityDefinitions.set(resource.url, resource);
    }
  }
  const compiled = compileRuleset({ planDefinition, dispositions, questionnaire: index });
  // A missing advice item would otherwise surface only when the first patient needs it.
  const unresolved = compiled.advice.filter((a) => !activityDefinitions.has(a.canonical) && !activityDefinitions.has(a.canonical.split('|')[0] ?? ''));
  if (unresolved.length > 0) {
    throw new Error(`The ruleset's advice names ActivityDefinitions the service does not have: ${unresolved.map((a) => a.canonical).join(', ')}`);
  }
  return { questionnaire: index, ruleset: compiled, activityDefinitions };
}

function find<T extends Resource>(resources: readonly Resource[], resourceType: T['resourceType'], url: string): T {
  const found = resources.find((r) => r.resourceType === resourceType && (r as { url?: string }).url === url);
  if (!found) {
    throw new Error(`The service content has no ${resourceType} with url ${url}`);
  }
  return found as T;
}
